"""Pipeline time budgets scale with the text a guard reads; partial reads are never silent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

import structlog

from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.model import Options
from guardrail.server.metrics import Metrics
from guardrail.types import PARTIAL_SCAN, Action, CheckContext, FailMode, Finding, Mode, Stage


class TimedGuard:
    """Takes `delay` seconds, records the deadline it was given, reports `findings`."""

    def __init__(self, delay: float = 0.0, findings: Sequence[Finding] = ()) -> None:
        self.name, self.delay, self.findings = "g", delay, list(findings)
        self.budgets: list[float] = []

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        assert ctx.deadline is not None
        self.budgets.append(ctx.deadline - time.monotonic())
        await asyncio.sleep(self.delay)
        return self.findings


def pipeline(guard: TimedGuard, per_1k: float, fail: FailMode = FailMode.CLOSED) -> Pipeline:
    rule = CompiledRule(
        name="r",
        guard="g",
        stages=frozenset({Stage.RETRIEVED}),
        action=Action.BLOCK,
        mode=Mode.ENFORCE,
        fail=fail,
        timeout_ms=50,
        message="no",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=0.5,
        restore=False,
        timeout_ms_per_1k_chars=per_1k,
    )
    policy = Policy("t", None, "0", Options(), (rule,), {"g": guard})
    return Pipeline(policy)


async def test_budget_grows_with_the_text_so_slow_reading_of_a_long_text_passes() -> None:
    """A guard needing 0.3 s on 10k characters fails a flat 50 ms budget but passes
    50 ms + 100 ms per 1,000 characters (about 1 s); the deadline it sees says so."""
    texts = ["a quiet paragraph about tides. " * 200, "x" * 4000]  # ~10k characters together
    flat, scaled = TimedGuard(0.3), TimedGuard(0.3)
    short, long = pipeline(flat, 0), pipeline(scaled, 100)
    blocked = await short.check(Stage.RETRIEVED, texts, short.new_request())
    allowed = await long.check(Stage.RETRIEVED, texts, long.new_request())
    assert blocked.block is not None and blocked.block.code == "guard_unavailable"
    assert allowed.action is Action.ALLOW
    expected = (50 + 100 * sum(map(len, texts)) / 1000) / 1000
    assert flat.budgets[0] <= 0.05 < expected - 0.2 < scaled.budgets[0] <= expected


async def test_partial_scan_is_in_the_decision_the_audit_event_and_the_metrics() -> None:
    """A fail-open partial read is allowed, and all three records say which guard, why and
    how much it did not read."""
    found = [
        Finding(guard="g", label="injection", score=0.1),
        Finding(guard="g", label=PARTIAL_SCAN, score=0.25, reason="budget"),
    ]
    p = pipeline(TimedGuard(findings=found), 0, fail=FailMode.OPEN)
    with structlog.testing.capture_logs(processors=[]) as logs:
        decision = await p.check(Stage.RETRIEVED, ["doc"], p.new_request())
    assert decision.action is Action.ALLOW
    assert [(f.guard, f.reason, f.score) for f in decision.partial] == [("g", "budget", 0.25)]
    (event,) = [e for e in logs if e["event"] == "policy.decided"]
    assert event["partial_scan"] == [
        {"guard": "g", "text_index": 0, "reason": "budget", "unread": 0.25}
    ]
    metrics = Metrics()
    metrics.record(decision, policy="t")
    exposed = metrics.render().decode()
    assert (
        'guardrail_partial_scans_total{guard="g",policy="t",reason="budget",stage="retrieved"'
        in exposed
    )
