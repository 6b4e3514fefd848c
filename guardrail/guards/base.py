"""The Guard protocol: detect and report, never decide, log or know HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from guardrail.types import CheckContext, Finding


@runtime_checkable
class Guard(Protocol):
    """A detector. Built once per policy load; `scan` is called per stage of a request.

    `scan` gets all texts of one stage (e.g. each user message) and returns findings whose
    `text_index` points into `texts`. Scores are in [0, 1]; rule guards use 1.0.
    """

    name: str

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """Per-label thresholds used when a rule does not set its own (may be empty)."""
        ...

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """Scan the texts of one stage."""
        ...
