"""Threshold calibration: for each label a classifier rule covers, the lowest threshold whose
false-positive rate on benign rows stays within a target.

`negative_scores` runs the policy's own guards over the rows (I/O); the rest is pure.
Thresholds are per label, so a rule covering k labels may reach up to k times the target
on rows where different labels fire; calibrate the labels you enforce separately if that
matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guardrail.evaluate.metrics import rate_at, threshold_for_fpr
from guardrail.evaluate.runner import PROGRESS_MIN_ROWS, progress
from guardrail.guards.classifier import ClassifierGuard
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.types import CheckContext, Finding

BATCH_SIZE = 32

# rule -> label -> one score per benign row
Scores = dict[str, dict[str, list[float]]]


class CalibrationError(ValueError):
    """The rules asked for cannot be calibrated (unknown, or not on a classifier guard)."""


@dataclass(frozen=True)
class LabelThreshold:
    """The current and the proposed threshold of one (rule, label), with their FPRs."""

    rule: str
    label: str
    negatives: int
    current: float
    current_fpr: float
    proposed: float | None  # None: no threshold <= 1.0 meets the target
    proposed_fpr: float | None


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


def calibrate_rule(
    rule: CompiledRule, scores: Mapping[str, Sequence[float]], target_fpr: float
) -> list[LabelThreshold]:
    """Current and proposed threshold for each of the rule's labels."""
    results = []
    for label, values in scores.items():
        current = rule.threshold_for(label)
        proposed = threshold_for_fpr(values, target_fpr)
        results.append(
            LabelThreshold(
                rule=rule.name,
                label=label,
                negatives=len(values),
                current=current,
                current_fpr=rate_at(values, current),
                proposed=proposed,
                proposed_fpr=None if proposed is None else rate_at(values, proposed),
            )
        )
    return results


def updates(results: Sequence[LabelThreshold]) -> dict[str, dict[str, float]]:
    """rule -> label -> proposed threshold (labels without a reachable threshold left out)."""
    out: dict[str, dict[str, float]] = {}
    for r in results:
        if r.proposed is not None:
            out.setdefault(r.rule, {})[r.label] = r.proposed
    return out


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


async def negative_scores(
    policy: Policy, rules: Sequence[CompiledRule], texts: Sequence[str]
) -> Scores:
    """Score the benign texts once per guard; rule -> label -> score per text (0.0 if none)."""
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
