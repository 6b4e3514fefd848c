"""`regex` guard: user patterns, matched with RE2 so that no pattern can hang the process.

RE2 runs in time linear in the text and refuses what would need backtracking (backreferences,
lookahead/lookbehind); such a pattern is a validation error naming it. Note that RE2's `\\w`,
`\\d` and `\\b` are ASCII-only: use `\\p{L}` / `\\p{N}` for other scripts.
Each match is a span; the finding's label is the pattern's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from guardrail.guards._spans import Hit, compile_re2, longest_per_label, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding


def runnable(pattern: str) -> str:
    """The pattern, if RE2 compiles it and it cannot match the empty string."""
    if compile_re2(pattern).fullmatch("") is not None:
        raise ValueError(f"{pattern!r} matches the empty string")
    return pattern


Name = Annotated[str, Field(min_length=1)]
Pattern = Annotated[str, Field(min_length=1), AfterValidator(runnable)]


class RegexConfig(GuardConfig):
    """`patterns` as `{name: pattern}` or a list of `{name, pattern}`; labels are the names.

    Each pattern is checked on its own, so an error's location names the pattern.
    """

    model_config = ConfigDict(strict=True)

    kind: Literal["regex"] = "regex"
    patterns: dict[Name, Pattern] = Field(min_length=1)
    ignore_case: bool = False

    @field_validator("patterns", mode="before")
    @classmethod
    def _list_to_mapping(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        if not all(isinstance(item, dict) and set(item) == {"name", "pattern"} for item in value):
            # A bare string has no name, and the name is the finding's label: show both forms.
            raise ValueError(
                "each list entry needs exactly the keys `name` and `pattern` (the name is the "
                "finding's label), e.g. `- {name: order_id, pattern: 'ORD-[0-9]{6}'}`; or write "
                "a mapping: `patterns: {order_id: 'ORD-[0-9]{6}'}`"
            )
        names = [item["name"] for item in value]
        duplicates = sorted({str(n) for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate pattern names: {', '.join(duplicates)}")
        return {item["name"]: item["pattern"] for item in value}


class RegexGuard(NoThresholds):
    """Reports every non-overlapping match of each named pattern."""

    def __init__(self, name: str, patterns: Mapping[str, Any]) -> None:
        self.name = name
        self._patterns = dict(patterns)

    @property
    def reported_labels(self) -> frozenset[str]:
        """The pattern names."""
        return frozenset(self._patterns)

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, pattern name) that matched, with a span per match."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        hits = [
            Hit(match.start(), match.end(), label)
            for label, compiled in self._patterns.items()
            for match in compiled.finditer(text)
            if match.end() > match.start()
        ]
        return longest_per_label(hits)


def build(config: RegexConfig, context: BuildContext) -> RegexGuard:
    """Compile the validated patterns once."""
    patterns = {
        name: compile_re2(pattern, ignore_case=config.ignore_case, name=name)
        for name, pattern in config.patterns.items()
    }
    return RegexGuard(context.name, patterns)


KIND = GuardKind(config=RegexConfig, build=build)
