"""Fixtures for guard tests: build a guard as a policy would, scan texts, score labelled data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from guardrail.guards.base import Guard
from guardrail.guards.registry import BuildContext, get_kind
from guardrail.types import CheckContext, Finding, Stage

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

BuildGuard = Callable[..., Guard]
Scan = Callable[..., list[Finding]]
Found = Callable[[Guard, str], list[tuple[str, str]]]


def build(kind: str, name: str = "g", **params: Any) -> Guard:
    """Validate `params` with the kind's config model and build the guard."""
    guard_kind = get_kind(kind)
    config = guard_kind.config.model_validate({"kind": kind, **params})
    return guard_kind.build(config, BuildContext(name=name))


def scan_texts(guard: Guard, *texts: str) -> list[Finding]:
    """Run `guard.scan` on the texts of one input stage."""
    return asyncio.run(guard.scan(list(texts), CheckContext(stage=Stage.INPUT)))


def found_in(guard: Guard, text: str) -> list[tuple[str, str]]:
    """(label, spanned text) for every span found in `text`, in text order."""
    spans = [
        (s.start, f.label, text[s.start : s.end]) for f in scan_texts(guard, text) for s in f.spans
    ]
    return [(label, value) for _, label, value in sorted(spans)]


@pytest.fixture(scope="session")
def build_guard() -> BuildGuard:
    """Build a guard from a kind name and its YAML parameters."""
    return build


@pytest.fixture(scope="session")
def scan() -> Scan:
    """Scan texts with a guard and return its findings."""
    return scan_texts


@pytest.fixture(scope="session")
def found() -> Found:
    """(label, spanned text) pairs a guard finds in one text."""
    return found_in


@pytest.fixture(scope="session")
def config_error() -> Callable[..., str]:
    """The validation message for invalid parameters of a kind."""

    def error(kind: str, **params: Any) -> str:
        with pytest.raises(ValidationError) as info:
            get_kind(kind).config.model_validate({"kind": kind, **params})
        return str(info.value)

    return error


@pytest.fixture(scope="session")
def shared_jsonl() -> Callable[[str], list[dict[str, Any]]]:
    """Rows of a labelled data file under ../shared/data (the test skips when it is absent)."""

    def load(relative: str) -> list[dict[str, Any]]:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"labelled data not available: {relative}")
        with path.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]

    return load


@dataclass
class Tally:
    """Span-overlap counts for one label."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Share of predicted spans that overlap a gold span of the same label."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of gold spans that a predicted span of the same label overlaps."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


Labelled = tuple[int, int, str]


def _overlaps(a: Labelled, b: Labelled) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] == b[2]


def tally_spans(
    pairs: Iterable[tuple[Sequence[Labelled], Sequence[Labelled]]],
) -> dict[str, Tally]:
    """Per-label overlap counts over (gold spans, predicted spans) pairs of each text."""
    tallies: dict[str, Tally] = {}
    for gold, predicted in pairs:
        for span in gold:
            hit = any(_overlaps(span, p) for p in predicted)
            tally = tallies.setdefault(span[2], Tally())
            tally.tp, tally.fn = tally.tp + hit, tally.fn + (not hit)
        for span in predicted:
            if not any(_overlaps(span, g) for g in gold):
                tallies.setdefault(span[2], Tally()).fp += 1
    return tallies


@pytest.fixture(scope="session")
def span_tally() -> Callable[..., dict[str, Tally]]:
    """Per-label precision/recall counts by span overlap."""
    return tally_spans


SIGNATURE_POLICY = """
version: 1
guards:
  sig: {kind: injection_signatures}
rules:
  - {name: sig, guard: sig, stages: [input, tool], action: block}
"""


@pytest.fixture
def blocked_as_tool_result() -> Callable[[str], bool]:
    """Whether a policy of one `injection_signatures` rule (`sig`) blocks `text` as a tool
    result, through the pipeline (canonical text, rule names), naming that rule."""
    from guardrail.pipeline import Pipeline
    from guardrail.policy.load import load_policy_text
    from guardrail.types import Action

    pipeline = Pipeline(load_policy_text(SIGNATURE_POLICY))

    def blocked(text: str) -> bool:
        decision = asyncio.run(pipeline.check(Stage.TOOL, [text], pipeline.new_request()))
        return (
            decision.action is Action.BLOCK
            and decision.block is not None
            and decision.block.rule == "sig"
        )

    return blocked
