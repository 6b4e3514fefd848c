"""Classification metrics for evaluating a policy. Pure: no I/O, no numpy, no sklearn.

Conventions follow scikit-learn with `zero_division=0`: a ratio whose denominator is zero is
0.0 (precision when nothing was predicted positive, recall when there is no positive, FPR when
there is no negative). Average precision is the step-wise sum `sum((R_n - R_{n-1}) * P_n)` over
the distinct score thresholds, highest first, as `sklearn.metrics.average_precision_score`
computes it (no interpolation); it is 0.0 when there is no positive.

A rule fires when `score >= threshold`, so every "at threshold" here counts ties as fired.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

# Room for float error when turning a target rate into a count (0.29 * 100 = 28.999...).
_COUNT_EPSILON = 1e-9


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary prediction against the truth."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        """Share of predicted positives that are positive."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """Share of positives that were predicted positive (true-positive rate)."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall: 2TP / (2TP + FP + FN)."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def fpr(self) -> float:
        """Share of negatives that were predicted positive (false-positive rate)."""
        return _ratio(self.fp, self.fp + self.tn)

    def as_dict(self) -> dict[str, int | float]:
        """Counts and rates, rates rounded to 6 places (for reports)."""
        rates = {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "fpr": self.fpr,
        }
        counts = {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}
        return {**counts, **{k: round(v, 6) for k, v in rates.items()}}


def confusion(truth: Sequence[bool], predicted: Sequence[bool]) -> Confusion:
    """The confusion counts of `predicted` against `truth` (same length)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} truths but {len(predicted)} predictions")
    pairs = list(zip(truth, predicted, strict=True))
    return Confusion(
        tp=sum(t and p for t, p in pairs),
        fp=sum(not t and p for t, p in pairs),
        tn=sum(not t and not p for t, p in pairs),
        fn=sum(t and not p for t, p in pairs),
    )


@dataclass(frozen=True)
class PRPoint:
    """Precision and recall when firing at `score >= threshold`."""

    threshold: float
    precision: float
    recall: float


def pr_curve(truth: Sequence[bool], scores: Sequence[float]) -> list[PRPoint]:
    """One point per distinct score, highest threshold first (tied scores move together)."""
    if len(truth) != len(scores):
        raise ValueError(f"{len(truth)} truths but {len(scores)} scores")
    positives = sum(truth)
    ranked = sorted(zip(scores, truth, strict=True), key=lambda pair: -pair[0])
    points: list[PRPoint] = []
    tp = fp = 0
    for index, (score, is_positive) in enumerate(ranked):
        tp, fp = tp + is_positive, fp + (not is_positive)
        last_of_tie = index + 1 == len(ranked) or ranked[index + 1][0] != score
        if last_of_tie:
            points.append(PRPoint(score, _ratio(tp, tp + fp), _ratio(tp, positives)))
    return points


def average_precision(truth: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the precision-recall curve, step-wise (sklearn's average precision)."""
    if not any(truth):
        return 0.0
    total, previous_recall = 0.0, 0.0
    for point in pr_curve(truth, scores):
        total += (point.recall - previous_recall) * point.precision
        previous_recall = point.recall
    return min(1.0, max(0.0, total))


def rate_at(scores: Sequence[float], threshold: float) -> float:
    """Share of `scores` that reach `threshold` (the FPR when they are negatives' scores)."""
    return _ratio(sum(score >= threshold for score in scores), len(scores))


def threshold_for_fpr(
    negative_scores: Sequence[float], target_fpr: float, decimals: int = 4
) -> float | None:
    """The lowest threshold on a `10**-decimals` grid with FPR <= target on these negatives.

    None when no threshold <= 1.0 meets the target (too many negatives score 1.0).
    """
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target FPR must be between 0 and 1, got {target_fpr}")
    if not negative_scores:
        raise ValueError("need at least one negative score")
    allowed = allowed_count(target_fpr, len(negative_scores))
    return threshold_for_count(sorted(negative_scores, reverse=True), allowed, decimals)


def allowed_count(target_fpr: float, negatives: int) -> int:
    """How many of `negatives` rows may fire at `target_fpr` (rounded down)."""
    return math.floor(target_fpr * negatives + _COUNT_EPSILON)


def threshold_for_count(
    descending: Sequence[float], allowed: int, decimals: int = 4
) -> float | None:
    """The lowest grid threshold that at most `allowed` of these scores (highest first) reach.

    None when even 1.0 lets more through (more than `allowed` scores are 1.0).
    """
    if allowed >= len(descending):
        return 0.0
    # The (allowed+1)-th highest score must stay below the threshold.
    threshold = _grid_above(descending[allowed], decimals)
    return threshold if threshold <= 1.0 else None


def union_count(scores: Mapping[str, Sequence[float]], thresholds: Mapping[str, float]) -> int:
    """How many rows have any label reach its threshold (the rows a rule fires on).

    `scores` is label -> one score per row, every label the same rows in the same order.
    """
    columns = [(scores[label], limit) for label, limit in thresholds.items()]
    rows = len(columns[0][0]) if columns else 0
    return sum(any(col[i] >= limit for col, limit in columns) for i in range(rows))


def union_rate(scores: Mapping[str, Sequence[float]], thresholds: Mapping[str, float]) -> float:
    """Share of rows on which any label reaches its threshold (a rule's firing rate)."""
    rows = len(next(iter(scores.values()), []))
    return _ratio(union_count(scores, thresholds), rows)


def _grid_above(value: float, decimals: int) -> float:
    """The smallest multiple of `10**-decimals` whose float is strictly greater than `value`."""
    step = Decimal(1).scaleb(-decimals)
    candidate = Decimal(value).quantize(step, rounding=ROUND_FLOOR) + step
    # 0.3 as a float is 0.29999999999999998890: the grid value 0.3 rounds back onto it.
    while float(candidate) <= value:
        candidate += step
    return float(candidate)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between ranks (as numpy does); 0.0 if empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
