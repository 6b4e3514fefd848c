"""`shouting`: a third-party guard kind, registered through the `guardrail.guards` entry point.

A guard kind is a config model (the YAML parameters, validated strictly) and a factory that
builds the guard once per policy load. The guard only detects and reports `Finding`s; the
policy's rules decide what happens (block, warn, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding


class ShoutingConfig(GuardConfig):
    """`min_letters`: shorter texts are never shouting ("OK", "USA")."""

    kind: Literal["shouting"] = "shouting"
    min_letters: int = Field(default=12, ge=1)


class ShoutingGuard:
    """Scores a text by the share of its letters that are capitals."""

    def __init__(self, name: str, config: ShoutingConfig) -> None:
        self.name = name
        self.min_letters = config.min_letters

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """Fires at 80 % capitals unless a rule sets its own threshold."""
        return {"shouting": 0.8}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per text with enough letters; score = share of capitals."""
        findings = []
        for index, text in enumerate(texts):
            letters = [c for c in text if c.isalpha()]
            if len(letters) >= self.min_letters:
                score = sum(c.isupper() for c in letters) / len(letters)
                findings.append(
                    Finding(guard=self.name, label="shouting", score=score, text_index=index)
                )
        return findings


def build(config: ShoutingConfig, context: BuildContext) -> ShoutingGuard:
    """The factory guardrail calls once per policy load."""
    return ShoutingGuard(context.name, config)


KIND = GuardKind(config=ShoutingConfig, build=build)
