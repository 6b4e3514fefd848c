"""Calibration maths: the rule's union FPR is held, too few rows and unstable halves refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from guardrail.evaluate.calibrate import (
    MIN_EXPECTED_FP,
    MIN_LABEL_FP,
    calibrate_rule,
    data_problem,
    held_out_limit,
    held_out_rates,
    union_thresholds,
)
from guardrail.evaluate.metrics import threshold_for_fpr, union_count, union_rate
from guardrail.policy.compile import CompiledRule
from guardrail.types import Action, FailMode, Mode, Stage


def _rule(threshold: float = 0.5) -> CompiledRule:
    return CompiledRule(
        name="r",
        guard="g",
        stages=frozenset({Stage.INPUT}),
        action=Action.BLOCK,
        mode=Mode.ENFORCE,
        fail=FailMode.CLOSED,
        timeout_ms=100,
        message="m",
        code="c",
        labels=None,
        thresholds={},
        threshold=threshold,
        restore=False,
    )


def _disjoint(rows: int = 100) -> dict[str, list[float]]:
    """Label a scores high on rows 0-9, label b on rows 10-19; every other score is low."""
    low = [0.01 + i / 10_000 for i in range(rows)]
    a = [0.9 - i / 1000 if i < 10 else low[i] for i in range(rows)]
    b = [0.8 - i / 1000 if 10 <= i < 20 else low[i] for i in range(rows)]
    return {"a": a, "b": b}


def test_union_thresholds_hold_the_rule_where_per_label_targets_double_it() -> None:
    """Labels firing on different rows: per-label targets flag 2x the target, the union 1x."""
    scores = _disjoint()
    per_label = {label: threshold_for_fpr(v, 0.1) or 1.0 for label, v in scores.items()}
    assert union_rate(scores, per_label) == 0.2
    chosen = union_thresholds(scores, 0.1)
    assert chosen is not None
    assert union_rate(scores, chosen) == 0.1


def test_union_thresholds_let_each_label_through_the_same_number_of_rows() -> None:
    """The labels share the target: on disjoint rows each label lets 5 of the 10 through."""
    scores = _disjoint()
    chosen = union_thresholds(scores, 0.1)
    assert chosen is not None
    assert [union_count({k: scores[k]}, {k: chosen[k]}) for k in ("a", "b")] == [5, 5]


def test_union_thresholds_none_when_rows_at_one_exceed_the_target() -> None:
    """Rows scoring 1.0 fire at any threshold: more of them than allowed means no proposal."""
    scores = {"a": [1.0, 1.0] + [0.1] * 8, "b": [0.2] * 10}
    assert union_thresholds(scores, 0.1) is None
    assert union_thresholds(scores, 0.2) is not None


@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=1, max_size=80),
    st.floats(0.0, 1.0),
)
def test_union_thresholds_never_exceed_the_target(
    rows: list[tuple[float, float]], target: float
) -> None:
    """Whatever the scores, the proposed thresholds flag at most the target share of rows."""
    scores = {"a": [a for a, _ in rows], "b": [b for _, b in rows]}
    chosen = union_thresholds(scores, target)
    if chosen is not None:
        assert union_rate(scores, chosen) <= target + 1e-9


def test_too_few_rows_for_the_target_are_a_problem() -> None:
    """rows x target below the minimum count (overall, then per label) names what is needed."""
    problem = data_problem(30, 0.1, 1)
    assert problem is not None
    assert f"fewer than the {MIN_EXPECTED_FP}" in problem and "at least 100 rows" in problem
    assert data_problem(100, 0.1, 1) is None
    per_label = data_problem(100, 0.1, 3)
    assert per_label is not None
    assert f"({MIN_LABEL_FP} per label, 3 labels)" in per_label and "at least 150 rows" in per_label
    assert "a target above 0" in (data_problem(10_000, 0.0, 1) or "")


def test_calibrate_rule_refuses_when_halves_disagree() -> None:
    """Even rows low, odd rows high: thresholds fit on one half flag most of the other."""
    rows = 400
    scores = {"x": [i / 10_000 if i % 2 == 0 else 0.5 + i / 10_000 for i in range(rows)]}
    held = held_out_rates(scores, 0.1)
    assert held is not None and max(held) > held_out_limit(0.1, rows // 2)
    result = calibrate_rule(_rule(), scores, 0.1)
    assert result.problem is not None and "held-out limit" in result.problem
    assert result.proposed_fpr is not None and result.proposed_fpr <= 0.1  # fine on all rows


def test_calibrate_rule_proposes_when_halves_agree() -> None:
    """Alternate rows from one spread of scores: the proposal holds out and is offered."""
    rows = 400
    scores = {"x": [((i * 7919) % rows) / rows for i in range(rows)]}
    result = calibrate_rule(_rule(0.99), scores, 0.1)
    assert result.problem is None and result.changed
    assert result.current_fpr < 0.1 and result.proposed_fpr == 0.1
    assert result.held_out is not None
    assert max(result.held_out) <= result.held_out_limit
