"""Threshold calibration: thresholds for a classifier rule such that the rule (any of its
labels firing) flags at most a target share of benign rows.

`score_rows` runs the policy's own guards over the rows (I/O); the rest is pure.

The target holds for the rule, not per label: the labels share it. Each label's threshold lets
through the same number of benign rows, as many as keeps the rule's firing rate (the union over
its labels) within the target. A rule gets no proposal (`problem` says why) when:
- the rows are too few: a target p on n rows is set by the n*p highest-scoring rows, and under
  MIN_EXPECTED_FP of them (or MIN_LABEL_FP per label) the threshold is mostly noise;
- more benign rows score 1.0 than the target allows;
- thresholds chosen on one half of the rows (alternate rows) flag more of the other half than
  the target plus HOLDOUT_Z standard errors: they would not hold on new rows either.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from guardrail.evaluate.metrics import allowed_count, threshold_for_count, union_count, union_rate
from guardrail.evaluate.runner import PROGRESS_MIN_ROWS, progress
from guardrail.guards.classifier import ClassifierGuard
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.types import CheckContext, Finding

BATCH_SIZE = 32
MIN_EXPECTED_FP = 10  # rows * target must reach this: the threshold rests on that many rows
MIN_LABEL_FP = 5  # ... and this many per label the rule covers
HOLDOUT_Z = 3.0  # standard errors a held-out half may exceed the target by

# rule -> label -> one score per row
Scores = dict[str, dict[str, list[float]]]


class CalibrationError(ValueError):
    """The rules asked for cannot be calibrated (unknown, or not on a classifier guard)."""


@dataclass(frozen=True)
class RuleCalibration:
    """A rule's current and proposed thresholds (label -> value) and its FPR under each."""

    rule: str
    negatives: int
    current: Mapping[str, float]
    current_fpr: float
    proposed: Mapping[str, float] | None  # None: nothing reaches the target
    proposed_fpr: float | None
    held_out: tuple[float, float] | None  # each half's FPR at thresholds fit on the other
    held_out_limit: float
    problem: str | None  # set: this proposal must not be written

    @property
    def changed(self) -> bool:
        """Whether the proposal differs from the current thresholds."""
        return self.proposed is not None and dict(self.proposed) != dict(self.current)


def classifier_rules(policy: Policy, names: Sequence[str] = ()) -> list[CompiledRule]:
    """The named rules (default: every rule on a classifier guard), checked to be calibratable."""
    by_name = {rule.name: rule for rule in policy.rules}
    for name in names:
        if name not in by_name:
            raise CalibrationError(f"no rule {name!r} (rules: {', '.join(by_name)})")
        if not isinstance(policy.guards[by_name[name].guard], ClassifierGuard):
            raise CalibrationError(f"rule {name!r} is not on a classifier guard: no scores")
    if names:
        return [by_name[name] for name in dict.fromkeys(names)]
    return [r for r in policy.rules if isinstance(policy.guards[r.guard], ClassifierGuard)]


def covered_labels(rule: CompiledRule, guard: ClassifierGuard) -> tuple[str, ...]:
    """The labels a rule can fire on: the guard's reported labels, narrowed by `labels:`."""
    return tuple(label for label in guard.labels if rule.labels is None or label in rule.labels)


def rule_labels(policy: Policy, rule: CompiledRule) -> tuple[str, ...]:
    """The labels `rule` covers ('()' when its guard is not a classifier)."""
    guard = policy.guards[rule.guard]
    return covered_labels(rule, guard) if isinstance(guard, ClassifierGuard) else ()


def with_thresholds(policy: Policy, changes: Mapping[str, Mapping[str, float]]) -> Policy:
    """The policy as it runs once rule -> label -> threshold `changes` are written."""
    rules = tuple(
        replace(r, thresholds={**r.thresholds, **changes[r.name]}) if r.name in changes else r
        for r in policy.rules
    )
    return replace(policy, rules=rules)


def data_problem(negatives: int, target_fpr: float, labels: int) -> str | None:
    """Why `negatives` benign rows cannot estimate `target_fpr` for `labels` labels, or None."""
    expected = negatives * target_fpr
    need = max(MIN_EXPECTED_FP, MIN_LABEL_FP * labels)
    if labels and expected + 1e-9 >= need:
        return None
    if not labels:
        return "the rule covers none of its guard's labels"
    rows = math.ceil(need / target_fpr - 1e-9) if target_fpr > 0 else None
    per_label = f" ({MIN_LABEL_FP} per label, {labels} labels)" if need > MIN_EXPECTED_FP else ""
    enough = f"at least {rows} rows for this target" if rows else "a target above 0"
    return (
        f"{negatives} benign rows x target {target_fpr:g} = {expected:g} expected false "
        f"positives, fewer than the {need}{per_label} a threshold needs: use {enough}"
    )


def _thresholds_at(ranked: Mapping[str, Sequence[float]], count: int) -> dict[str, float] | None:
    """Each label's lowest threshold that at most `count` of its scores (highest first) reach."""
    out: dict[str, float] = {}
    for label, values in ranked.items():
        threshold = threshold_for_count(values, count)
        if threshold is None:  # more than `count` rows score 1.0
            return None
        out[label] = threshold
    return out


def union_thresholds(
    scores: Mapping[str, Sequence[float]], target_fpr: float
) -> dict[str, float] | None:
    """label -> threshold such that rows where any label fires are at most `target_fpr`.

    Every label lets through the same number of rows, the largest that keeps the union within
    the target (the union only grows with that number, so a binary search finds it). None when
    rows scoring 1.0 alone exceed the target.
    """
    ranked = {label: sorted(values, reverse=True) for label, values in scores.items()}
    rows = len(next(iter(ranked.values())))
    allowed = allowed_count(target_fpr, rows)
    low = max(sum(s >= 1.0 for s in values) for values in ranked.values())  # 1.0 always fires

    def fits(count: int) -> bool:
        chosen = _thresholds_at(ranked, count)
        return chosen is not None and union_count(scores, chosen) <= allowed

    if low > allowed or not fits(low):
        return None
    high = allowed
    while low < high:  # invariant: fits(low)
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return _thresholds_at(ranked, low)


def held_out_limit(target_fpr: float, half: int) -> float:
    """The most a half may be flagged at thresholds fit on the other half.

    Both the fitted threshold and the other half's count are binomial estimates, so the
    standard error of the difference is about sqrt(2 p (1 - p) / half).
    """
    return target_fpr + HOLDOUT_Z * math.sqrt(2 * target_fpr * (1 - target_fpr) / max(half, 1))


def held_out_rates(
    scores: Mapping[str, Sequence[float]], target_fpr: float
) -> tuple[float, float] | None:
    """FPR of the odd rows at thresholds fit on the even rows, and the other way round."""
    halves = [{label: list(v[start::2]) for label, v in scores.items()} for start in (0, 1)]
    rates = []
    for fit, check in ((halves[0], halves[1]), (halves[1], halves[0])):
        chosen = union_thresholds(fit, target_fpr)
        if chosen is None:
            return None
        rates.append(union_rate(check, chosen))
    return rates[0], rates[1]


def calibrate_rule(
    rule: CompiledRule, scores: Mapping[str, Sequence[float]], target_fpr: float
) -> RuleCalibration:
    """The rule's current and proposed thresholds, checked for data size and on held-out rows."""
    current = {label: rule.threshold_for(label) for label in scores}
    negatives = len(next(iter(scores.values()), []))
    limit = held_out_limit(target_fpr, negatives // 2)
    current_fpr = union_rate(scores, current)
    problem = data_problem(negatives, target_fpr, len(scores))
    proposed = held = None
    if problem is None:
        proposed = union_thresholds(scores, target_fpr)
        held = held_out_rates(scores, target_fpr)
        problem = _fit_problem(proposed, held, limit)
    return RuleCalibration(
        rule=rule.name,
        negatives=negatives,
        current=current,
        current_fpr=current_fpr,
        proposed=proposed,
        proposed_fpr=None if proposed is None else union_rate(scores, proposed),
        held_out=held,
        held_out_limit=limit,
        problem=problem,
    )


def _fit_problem(
    proposed: Mapping[str, float] | None, held: tuple[float, float] | None, limit: float
) -> str | None:
    if proposed is None or held is None:
        return "more benign rows (of all, or of one half) score 1.0 than the target allows"
    if max(held) > limit:
        return (
            f"thresholds fit on one half of the rows flag {max(held):.4f} of the other half, "
            f"above the held-out limit {limit:.4f}: these rows do not pin the threshold down "
            "(use more, or more varied, benign rows)"
        )
    return None


def updates(results: Sequence[RuleCalibration]) -> dict[str, dict[str, float]]:
    """rule -> label -> proposed threshold, for rules whose proposal changes something."""
    return {r.rule: dict(r.proposed) for r in results if r.changed and r.proposed is not None}


def combined_rate(scores: Scores, thresholds: Mapping[str, Mapping[str, float]]) -> float:
    """Share of rows on which any of the rules fires (rule -> label -> threshold)."""
    flat = {
        f"{rule}\0{label}": scores[rule][label] for rule in thresholds for label in scores[rule]
    }
    limits = {
        f"{rule}\0{label}": thresholds[rule][label] for rule in thresholds for label in scores[rule]
    }
    return union_rate(flat, limits)


def _per_text(findings: Sequence[Finding], count: int) -> list[dict[str, float]]:
    """label -> score for each of `count` texts (empty where the guard reported nothing)."""
    rows: list[dict[str, float]] = [{} for _ in range(count)]
    for f in findings:
        row = rows[f.text_index]
        row[f.label] = max(row.get(f.label, 0.0), f.score)
    return rows


async def _scan_all(
    guards: Mapping[str, ClassifierGuard], texts: Sequence[str], ctx: CheckContext
) -> dict[str, list[dict[str, float]]]:
    """guard -> label scores per text; the guards of one batch run together."""
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in guards}
    starts = range(0, len(texts), BATCH_SIZE)
    bar = progress(starts, len(starts), "calibrate", show=len(texts) >= PROGRESS_MIN_ROWS)
    for start in bar:
        batch = texts[start : start + BATCH_SIZE]
        found = await asyncio.gather(*(g.scan(batch, ctx) for g in guards.values()))
        for name, findings in zip(guards, found, strict=True):
            rows[name] += _per_text(findings, len(batch))
    return rows


async def score_rows(policy: Policy, rules: Sequence[CompiledRule], texts: Sequence[str]) -> Scores:
    """Score the texts once per guard; rule -> label -> score per text (0.0 if none)."""
    guards = {r.guard: policy.guards[r.guard] for r in rules}
    classifiers = {n: g for n, g in guards.items() if isinstance(g, ClassifierGuard)}
    stage = min(stage for rule in rules for stage in rule.stages)
    ctx = CheckContext(stage=stage, policy=policy.name, request_id="calibrate")
    by_guard = await _scan_all(classifiers, texts, ctx)
    return {
        rule.name: {
            label: [row.get(label, 0.0) for row in by_guard[rule.guard]]
            for label in covered_labels(rule, classifiers[rule.guard])
        }
        for rule in rules
    }
