"""The Guard protocol: detect and report, never decide, log or know HTTP."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from guardrail.types import CheckContext, Finding, Stage


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


@runtime_checkable
class ReportsLabels(Protocol):
    """A guard that knows every label it can report: policy loading checks a rule's `labels`
    and `thresholds` keys against them, since a misspelt one would never match a finding."""

    @property
    def reported_labels(self) -> frozenset[str]:
        """Every label a finding of this guard can carry."""
        ...


@runtime_checkable
class StagedThresholds(Protocol):
    """A guard whose default thresholds differ per stage (classifiers calibrated per channel)."""

    def thresholds_for_stages(self, stages: Iterable[Stage]) -> Mapping[str, float]:
        """Per-label defaults for a rule that runs on `stages`."""
        ...


@runtime_checkable
class ReservesTime(Protocol):
    """A guard that calls out after its own work (a classifier asking its judge model): each
    of its rules' time budget grows by `reserve_ms`, which the guard keeps for that call, so
    the rule's `timeout_ms` stays the guard's own budget."""

    @property
    def reserve_ms(self) -> float:
        """Milliseconds to add to the guard's time budget (0: none)."""
        ...


@runtime_checkable
class AddsSystemText(Protocol):
    """A guard that puts a line of its own into the system prompt sent upstream (the canary
    guard's per-request token): the flow asks once per request, before the upstream call."""

    def system_text(self, request_key: str) -> str | None:
        """The text to add for the request with this server-made key (None: nothing)."""
        ...


class NoThresholds:
    """Base for guards whose findings are facts scored 1.0 (rule guards): a rule fires on any
    finding, so there are no per-label default thresholds."""

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """None: findings score 1.0."""
        return {}
