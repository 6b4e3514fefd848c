"""The shipped test doubles (guardrail.testing) behave as documented."""

from __future__ import annotations

from guardrail.pipeline import Pipeline
from guardrail.testing import StaticGuard, capture_decisions
from guardrail.types import Action, Stage
from tests.helpers.policies import one_rule_pipeline


def _pipeline(action: Action) -> Pipeline:
    return one_rule_pipeline(StaticGuard("g", "secret", label="WORD"), action, timeout_ms=500)


async def test_static_guard_spans_every_occurrence() -> None:
    """StaticGuard reports one finding per text with a span for each trigger occurrence."""
    p = _pipeline(Action.REDACT)
    decision = await p.check(Stage.INPUT, ["a secret and a secret", "none"], p.new_request())
    assert decision.texts == ("a <WORD_1> and a <WORD_1>", "none")


async def test_capture_decisions_collects_inside_block_only() -> None:
    """capture_decisions sees decisions made inside the with-block and none after it."""
    p = _pipeline(Action.BLOCK)
    with capture_decisions(p) as seen:
        await p.check(Stage.INPUT, ["secret"], p.new_request())
    await p.check(Stage.INPUT, ["secret"], p.new_request())
    assert [d.block.rule if d.block else None for d in seen] == ["r"]
