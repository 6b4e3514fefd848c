"""A one-rule pipeline around a guard object, for tests that need no policy file."""

from __future__ import annotations

from guardrail.guards.base import Guard
from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.model import Options
from guardrail.types import Action, FailMode, Mode, Stage


def one_rule_pipeline(guard: Guard, action: Action, timeout_ms: int = 1000) -> Pipeline:
    """`guard` under one enforced input rule with `action` (restore on, fail closed)."""
    rule = CompiledRule(
        name="r",
        guard=guard.name,
        stages=frozenset({Stage.INPUT}),
        action=action,
        mode=Mode.ENFORCE,
        fail=FailMode.CLOSED,
        timeout_ms=timeout_ms,
        message="m",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=None,
        restore=True,
    )
    policy = Policy(
        name="t",
        path=None,
        content_hash="0",
        options=Options(),
        rules=(rule,),
        guards={guard.name: guard},
    )
    return Pipeline(policy)
