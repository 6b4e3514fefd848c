"""Partial reads and time budgets in the policy: `partial_scan` findings and
`timeout_ms_per_1k_chars`."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.errors import PolicyError
from guardrail.policy.compile import CompiledRule
from guardrail.policy.decide import GUARD_UNAVAILABLE, decide
from guardrail.policy.load import load_policy
from guardrail.policy.redact import Vault
from guardrail.types import (
    PARTIAL_SCAN,
    Action,
    Decision,
    FailMode,
    Finding,
    Mode,
    PartialReason,
    Stage,
)


def rule(fail: FailMode, mode: Mode = Mode.ENFORCE) -> CompiledRule:
    return CompiledRule(
        name="no-injection",
        guard="injection",
        stages=frozenset({Stage.RETRIEVED}),
        action=Action.BLOCK,
        mode=mode,
        fail=fail,
        timeout_ms=250,
        message="injection",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=0.5,
        restore=False,
    )


def partial(reason: PartialReason, unread: float = 0.4) -> Finding:
    return Finding(guard="injection", label=PARTIAL_SCAN, score=unread, reason=reason)


def score(value: float) -> Finding:
    return Finding(guard="injection", label="injection", score=value)


def run(fail: FailMode, *findings: Finding, mode: Mode = Mode.ENFORCE) -> Decision:
    decision, _ = decide([rule(fail, mode)], Stage.RETRIEVED, ["doc"], findings, [], Vault())
    return decision


def test_out_of_budget_read_fails_closed_with_guard_unavailable() -> None:
    """fail: closed + a text not read whole in time -> block with code guard_unavailable."""
    decision = run(FailMode.CLOSED, score(0.1), partial("budget"))
    assert decision.block is not None and decision.block.code == GUARD_UNAVAILABLE
    assert "whole text" in decision.block.message
    assert [f.reason for f in decision.partial] == ["budget"]


def test_out_of_budget_read_fails_open_only_with_the_partial_finding_recorded() -> None:
    """fail: open + a text not read whole in time -> allowed, and the decision says so."""
    decision = run(FailMode.OPEN, score(0.1), partial("budget", 0.7))
    assert decision.action is Action.ALLOW
    (found,) = decision.partial
    assert (found.label, found.reason, found.score) == (PARTIAL_SCAN, "budget", 0.7)


def test_what_a_partial_read_found_still_blocks_with_the_rules_own_code() -> None:
    """An injection in the part that was read blocks as content, before the budget failure."""
    for fail in FailMode:
        decision = run(fail, score(0.99), partial("budget"))
        assert decision.block is not None and decision.block.code == "content_blocked"


def test_sampled_read_is_recorded_but_is_not_a_failure() -> None:
    """long_text: sample was the policy's choice: recorded, no fail mode applied."""
    decision = run(FailMode.CLOSED, score(0.1), partial("sampled"))
    assert decision.action is Action.ALLOW
    assert [f.reason for f in decision.partial] == ["sampled"]


def test_partial_scan_is_never_matched_as_a_label() -> None:
    """A rule with threshold 0 does not fire on the partial_scan label itself."""
    decision = run(FailMode.OPEN, partial("sampled", 1.0))
    assert decision.hits == ()


def test_shadow_rule_records_the_budget_failure_without_enforcing() -> None:
    """A shadow rule's budget failure is a shadow hit, never a block."""
    decision = run(FailMode.CLOSED, partial("budget"), mode=Mode.SHADOW)
    assert decision.block is None
    assert [h.label for h in decision.shadow_hits] == [PARTIAL_SCAN]


POLICY = """\
version: 1
defaults: {{timeout_ms: 200{per_1k}}}
guards:
  size: {{kind: length, max_chars: 100}}
rules:
  - {{name: a, guard: size, stages: [input], action: block}}
  - {{name: b, guard: size, stages: [input], action: block, timeout_ms_per_1k_chars: 7.5}}
"""


def test_budget_is_floor_plus_per_1k_chars_and_rules_override_the_default(
    tmp_path: Path,
) -> None:
    """timeout_ms is the floor; timeout_ms_per_1k_chars adds per 1,000 characters read."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(per_1k=", timeout_ms_per_1k_chars: 50"))
    a, b = load_policy(path).rules
    assert a.budget_ms(0) == 200 and a.budget_ms(20_000) == 200 + 50 * 20
    assert b.budget_ms(2_000) == 200 + 15


def test_budget_scales_by_default(tmp_path: Path) -> None:
    """Without the key a policy still scales its budget (200 ms per 1,000 characters)."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(per_1k=""))
    assert load_policy(path).rules[0].budget_ms(10_000) == 200 + 2000


@pytest.mark.parametrize("value", ["-1", "10001", "soon"])
def test_bad_per_1k_budget_is_a_policy_error(tmp_path: Path, value: str) -> None:
    """A negative, huge or non-numeric timeout_ms_per_1k_chars names the field."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(per_1k=f", timeout_ms_per_1k_chars: {value}"))
    with pytest.raises(PolicyError, match="timeout_ms_per_1k_chars"):
        load_policy(path)
