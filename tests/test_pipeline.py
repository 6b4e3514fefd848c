"""Pipeline.check: guards run concurrently under timeouts; failures follow fail modes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence

import pytest
import structlog

from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.model import Options
from guardrail.types import Action, CheckContext, FailMode, Finding, Mode, Span, Stage


class SlowGuard:
    """Answers after `delay` seconds with one hit per text."""

    def __init__(self, name: str, delay: float = 0.0, fail: bool = False) -> None:
        self.name, self.delay, self.fail = name, delay, fail

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom")
        return [
            Finding(guard=self.name, label="hit", score=1.0, text_index=i)
            for i, t in enumerate(texts)
            if "bad" in t
        ]


class EmailGuard:
    """Finds x@y.z tokens (a tiny stand-in for the pii guard)."""

    name = "pii"

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        out = []
        for i, text in enumerate(texts):
            pos = 0
            for word in text.split(" "):
                if "@" in word:
                    span = Span(start=pos, end=pos + len(word), entity="EMAIL")
                    out.append(
                        Finding(guard="pii", label="EMAIL", score=1.0, text_index=i, spans=(span,))
                    )
                pos += len(word) + 1
        return out


def make_rule(
    name: str,
    guard: str,
    action: Action,
    fail: FailMode = FailMode.CLOSED,
    timeout_ms: int = 200,
    restore: bool = False,
) -> CompiledRule:
    return CompiledRule(
        name=name,
        guard=guard,
        stages=frozenset({Stage.INPUT}),
        action=action,
        mode=Mode.ENFORCE,
        fail=fail,
        timeout_ms=timeout_ms,
        message="no",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=None,
        restore=restore,
    )


def pipeline(
    rules: list[CompiledRule], guards: dict[str, object], options: Options | None = None
) -> Pipeline:
    policy = Policy(
        name="t",
        path=None,
        content_hash="0",
        options=options or Options(),
        rules=tuple(rules),
        guards=guards,
    )  # type: ignore[arg-type]
    return Pipeline(policy)


async def test_guard_timeout_fails_closed() -> None:
    """A guard slower than its rule's timeout blocks under fail: closed."""
    p = pipeline(
        [make_rule("r", "slow", Action.WARN, timeout_ms=20)], {"slow": SlowGuard("slow", delay=1.0)}
    )
    decision = await p.check(Stage.INPUT, ["fine"], p.new_request())
    assert decision.block is not None and decision.block.code == "guard_unavailable"


async def test_guard_error_fails_open_and_is_recorded_unchecked() -> None:
    """A raising guard under fail: open lets the text through and says it was not checked."""
    p = pipeline(
        [make_rule("r", "bad", Action.BLOCK, fail=FailMode.OPEN)],
        {"bad": SlowGuard("bad", fail=True)},
    )
    decision = await p.check(Stage.INPUT, ["bad text"], p.new_request())
    assert decision.action is Action.ALLOW
    assert [(u.guard, u.reason, u.error_type) for u in decision.unchecked] == [
        ("bad", "error", "RuntimeError")
    ]


class BarrierGuard:
    """Answers only after every guard sharing `barrier` has started scanning."""

    def __init__(self, name: str, barrier: asyncio.Barrier) -> None:
        self.name, self.barrier = name, barrier

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        await self.barrier.wait()  # never returns if the guards ran one after the other
        return [Finding(guard=self.name, label="hit", score=1.0)]


async def test_guards_run_concurrently() -> None:
    """Two guards that each wait for the other both answer: they run at the same time."""
    barrier = asyncio.Barrier(2)
    p = pipeline(
        [
            make_rule("a", "g1", Action.WARN, timeout_ms=5000),
            make_rule("b", "g2", Action.WARN, timeout_ms=5000),
        ],
        {"g1": BarrierGuard("g1", barrier), "g2": BarrierGuard("g2", barrier)},
    )
    decision = await p.check(Stage.INPUT, ["bad"], p.new_request())
    assert decision.action is Action.WARN and set(decision.rules_fired) == {"a", "b"}


async def test_vault_is_per_request_and_restores() -> None:
    """Each request numbers its own placeholders; restore uses only that request's values."""
    p = pipeline([make_rule("r", "pii", Action.REDACT, restore=True)], {"pii": EmailGuard()})
    one, two = p.new_request(), p.new_request()
    d1 = await p.check(Stage.INPUT, ["mail a@x.io"], one)
    d2 = await p.check(Stage.INPUT, ["mail b@y.io"], two)
    assert d1.texts == d2.texts == ("mail <EMAIL_1>",)
    assert p.restore("to <EMAIL_1>", one) == "to a@x.io"
    assert p.restore("to <EMAIL_1>", two) == "to b@y.io"


async def test_stage_without_rules_is_allowed_without_scanning() -> None:
    """No rule for a stage: texts pass through untouched."""
    p = pipeline([make_rule("r", "g", Action.BLOCK)], {"g": SlowGuard("g")})
    decision = await p.check(Stage.OUTPUT, ["bad"], p.new_request())
    assert decision.action is Action.ALLOW and decision.texts == ("bad",)


@pytest.mark.parametrize(("log_text", "present"), [(False, False), (True, True)])
async def test_audit_event_has_no_text_unless_policy_asks(log_text: bool, present: bool) -> None:
    """policy.decided carries rules and scores; the text only with options.log_text."""
    p = pipeline(
        [make_rule("r", "g", Action.BLOCK)], {"g": SlowGuard("g")}, Options(log_text=log_text)
    )
    from guardrail.logging import drop_sensitive

    with structlog.testing.capture_logs(processors=[]) as logs:
        await p.check(Stage.INPUT, ["a bad secret sentence"], p.new_request())

    (event,) = [dict(e) for e in logs if e["event"] == "policy.decided"]
    event = dict(drop_sensitive(None, "info", event))
    assert event["rules"] == ["r"] and event["action"] == "block"
    assert ("a bad secret sentence" in json.dumps(event)) is present
