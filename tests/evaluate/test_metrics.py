"""Metrics: confusion rates, average precision (sklearn's step-wise AP), threshold for an FPR."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrail.evaluate.metrics import (
    Confusion,
    PRPoint,
    average_precision,
    confusion,
    percentile,
    pr_curve,
    rate_at,
    threshold_for_fpr,
)

T, F = True, False


@pytest.mark.parametrize(
    ("truth", "predicted", "counts", "rates"),
    [
        # tp fp tn fn ; precision recall f1 fpr
        ([T, T, F, F], [T, F, T, F], (1, 1, 1, 1), (0.5, 0.5, 0.5, 0.5)),
        ([T, T, T, F], [T, T, F, F], (2, 0, 1, 1), (1.0, 2 / 3, 0.8, 0.0)),
        # no positives: recall is 0 (zero_division=0), every prediction is a false positive
        ([F, F, F], [T, F, F], (0, 1, 2, 0), (0.0, 0.0, 0.0, 1 / 3)),
        # all positives: FPR has no negatives to divide by -> 0
        ([T, T], [T, F], (1, 0, 0, 1), (1.0, 0.5, 2 / 3, 0.0)),
        # nothing predicted: precision 0 (zero_division=0)
        ([T, F], [F, F], (0, 0, 1, 1), (0.0, 0.0, 0.0, 0.0)),
        ([], [], (0, 0, 0, 0), (0.0, 0.0, 0.0, 0.0)),
    ],
)
def test_confusion_counts_and_rates(
    truth: list[bool],
    predicted: list[bool],
    counts: tuple[int, int, int, int],
    rates: tuple[float, float, float, float],
) -> None:
    """Counts and precision/recall/F1/FPR match the hand-worked table, zero-division gives 0."""
    c = confusion(truth, predicted)
    assert (c.tp, c.fp, c.tn, c.fn) == counts
    assert (c.precision, c.recall, c.f1, c.fpr) == pytest.approx(rates)


def test_confusion_rejects_unequal_lengths() -> None:
    """Truth and predictions of different lengths are a caller error."""
    with pytest.raises(ValueError, match="2 truths but 1"):
        confusion([T, F], [T])


def test_as_dict_rounds_rates_and_keeps_counts() -> None:
    """The report form has the four counts and four rates rounded to 6 places."""
    assert Confusion(tp=1, fp=2, tn=3, fn=0).as_dict() == {
        "tp": 1,
        "fp": 2,
        "tn": 3,
        "fn": 0,
        "precision": 0.333333,
        "recall": 1.0,
        "f1": 0.5,
        "fpr": 0.4,
    }


@pytest.mark.parametrize(
    ("truth", "scores", "expected"),
    [
        ([T, T, F, F], [0.9, 0.8, 0.3, 0.1], 1.0),  # perfect ranking
        ([F, F, T, T], [0.9, 0.8, 0.3, 0.1], 0.5 * 1 / 3 + 0.5 * 0.5),  # worst ranking
        ([F, F, T, T], [0.1, 0.4, 0.35, 0.8], 0.5 * 1.0 + 0.5 * 2 / 3),  # sklearn's doc example
        ([T, F, T, F], [0.5, 0.5, 0.5, 0.5], 0.5),  # all tied: one point, P=0.5 at R=1
        ([T, F, T], [0.9, 0.9, 0.1], 0.5 * 0.5 + 0.5 * 2 / 3),  # a tie at the top moves together
        ([F, F], [0.9, 0.1], 0.0),  # no positives -> 0
        ([T, T], [0.9, 0.1], 1.0),  # all positives -> 1
        ([], [], 0.0),
    ],
)
def test_average_precision_matches_hand_worked_values(
    truth: list[bool], scores: list[float], expected: float
) -> None:
    """AP = sum((R_n - R_(n-1)) * P_n) over distinct thresholds, as sklearn computes it."""
    assert average_precision(truth, scores) == pytest.approx(expected)


def test_pr_curve_has_one_point_per_distinct_score_highest_first() -> None:
    """Tied scores form one point: a threshold cannot split them."""
    assert pr_curve([T, F, T, F], [0.9, 0.9, 0.4, 0.1]) == [
        PRPoint(0.9, 0.5, 0.5),
        PRPoint(0.4, 2 / 3, 1.0),
        PRPoint(0.1, 0.5, 1.0),
    ]


@pytest.mark.parametrize(
    ("negatives", "target", "expected"),
    [
        # 5 negatives, 20% -> 1 may fire; the 2nd highest (0.3) must not: just above 0.3
        ([0.05, 0.1, 0.2, 0.3, 0.9], 0.2, 0.3001),
        ([0.05, 0.1, 0.2, 0.3, 0.9], 0.0, 0.9001),
        ([0.05, 0.1, 0.2, 0.3, 0.9], 1.0, 0.0),  # everything may fire
        # ties cannot be split: allowing 1 of 3 tied at 0.5 means none of them
        ([0.5, 0.5, 0.5, 0.1], 0.25, 0.5001),
        ([0.99995, 0.2], 0.0, 1.0),  # rounds up to the top of the range
        ([1.0, 1.0, 0.2], 0.34, None),  # two negatives at 1.0: unreachable
        ([i / 100 for i in range(100)], 0.29, 0.7001),  # 0.29*100 is 28.999... in floats
    ],
)
def test_threshold_for_fpr_is_the_lowest_grid_value_meeting_the_target(
    negatives: list[float], target: float, expected: float | None
) -> None:
    """The lowest 4-decimal threshold whose FPR <= target, None when 1.0 is not enough."""
    assert threshold_for_fpr(negatives, target) == expected


@pytest.mark.parametrize(
    ("negatives", "target", "message"),
    [([0.1], -0.1, "between 0 and 1"), ([0.1], 1.5, "between 0 and 1"), ([], 0.1, "at least one")],
)
def test_threshold_for_fpr_rejects_bad_input(
    negatives: list[float], target: float, message: str
) -> None:
    """A target outside [0, 1] or no negatives is an error, not a silent threshold."""
    with pytest.raises(ValueError, match=message):
        threshold_for_fpr(negatives, target)


def test_rate_at_counts_ties_as_firing() -> None:
    """A rule fires at score >= threshold, so a score equal to the threshold counts."""
    assert rate_at([0.5, 0.5, 0.4, 0.9], 0.5) == 0.75
    assert rate_at([], 0.5) == 0.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, 0.0), ([7.0], 95, 7.0), ([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4], 95, 3.85)],
)
def test_percentile_interpolates_like_numpy(values: list[float], q: float, expected: float) -> None:
    """Linear interpolation between closest ranks (numpy's default); empty gives 0."""
    assert percentile(values, q) == pytest.approx(expected)


scored_rows = st.lists(st.tuples(st.booleans(), st.floats(0.0, 1.0)), max_size=60)


@given(scored_rows)
def test_average_precision_is_within_0_and_1(rows: list[tuple[bool, float]]) -> None:
    """AUPRC is a probability-like number for any labels and scores."""
    truth, scores = [t for t, _ in rows], [s for _, s in rows]
    assert 0.0 <= average_precision(truth, scores) <= 1.0


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60))
def test_confusion_rates_are_within_0_and_1(rows: list[tuple[bool, bool]]) -> None:
    """Precision, recall, F1 and FPR stay in [0, 1] and the counts add up."""
    c = confusion([t for t, _ in rows], [p for _, p in rows])
    assert c.tp + c.fp + c.tn + c.fn == len(rows)
    assert all(0.0 <= rate <= 1.0 for rate in (c.precision, c.recall, c.f1, c.fpr))


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60), st.floats(0.0, 1.0))
def test_threshold_for_fpr_meets_target_and_one_step_lower_does_not(
    negatives: list[float], target: float
) -> None:
    """The threshold meets the target; the grid value below it would not (it is the lowest)."""
    threshold = threshold_for_fpr(negatives, target)
    if threshold is None:
        assert rate_at(negatives, 1.0) > target
        return
    assert rate_at(negatives, threshold) <= target + 1e-9
    if threshold > 0.0:
        lower = float(Decimal(repr(threshold)) - Decimal("0.0001"))
        assert rate_at(negatives, lower) > target
