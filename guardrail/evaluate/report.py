"""Row outcomes -> the evaluation report (a JSON-ready dict) and its text rendering. Pure.

Overall, a row is predicted positive when the decision's action is in `predict`; per rule,
when the rule fired (enforced or shadow). Rules on classifier guards also get AUPRC, from the
rule's score on each row: its highest score over the labels it covers (0.0 when the guard
reported nothing), i.e. the curve of one threshold swept over all of the rule's labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.evaluate.data import Example
from guardrail.evaluate.metrics import (
    Confusion,
    PRPoint,
    average_precision,
    confusion,
    percentile,
    pr_curve,
)
from guardrail.evaluate.runner import RowOutcome
from guardrail.guards.classifier import ClassifierGuard
from guardrail.policy.compile import Policy
from guardrail.types import Action, Stage


@dataclass(frozen=True)
class RuleInfo:
    """What the report needs to know about a rule."""

    name: str
    guard: str
    mode: str
    action: str
    scored: bool  # the guard reports graded scores (a classifier), so AUPRC means something


def rule_infos(policy: Policy, stage: Stage) -> list[RuleInfo]:
    """The rules that apply to `stage`, in policy order."""
    return [
        RuleInfo(
            name=rule.name,
            guard=rule.guard,
            mode=rule.mode.value,
            action=rule.action.value,
            scored=isinstance(policy.guards[rule.guard], ClassifierGuard),
        )
        for rule in policy.rules_for(stage)
    ]


def rule_score(outcome: RowOutcome, rule: str, label: str | None = None) -> float:
    """The rule's score on a row: for one label, or the highest over its labels."""
    scores = outcome.scores.get(rule, {})
    if label is not None:
        return scores.get(label, 0.0)
    return max(scores.values(), default=0.0)


def _labels_seen(outcomes: Iterable[RowOutcome], rule: str) -> list[str]:
    return sorted({label for o in outcomes for label in o.scores.get(rule, {})})


def _auprc(outcomes: Sequence[RowOutcome], rule: str) -> dict[str, Any]:
    truth = [o.positive for o in outcomes]
    by_label = {
        label: round(average_precision(truth, [rule_score(o, rule, label) for o in outcomes]), 6)
        for label in _labels_seen(outcomes, rule)
    }
    overall = average_precision(truth, [rule_score(o, rule) for o in outcomes])
    return {"auprc": round(overall, 6), "auprc_by_label": by_label}


def rule_confusion(outcomes: Sequence[RowOutcome], rule: str) -> Confusion:
    """Confusion of "the rule fired" against the rows' labels."""
    return confusion([o.positive for o in outcomes], [rule in o.fired for o in outcomes])


def overall_confusion(outcomes: Sequence[RowOutcome], predict: frozenset[Action]) -> Confusion:
    """Confusion of "the decision's action is in `predict`" against the rows' labels."""
    return confusion([o.positive for o in outcomes], [o.action in predict for o in outcomes])


def _rule_section(outcomes: Sequence[RowOutcome], rule: RuleInfo) -> dict[str, Any]:
    section: dict[str, Any] = {"guard": rule.guard, "mode": rule.mode, "action": rule.action}
    section.update(rule_confusion(outcomes, rule.name).as_dict())
    if rule.scored:
        section.update(_auprc(outcomes, rule.name))
    else:
        section.update(auprc=None, auprc_by_label={})
    return section


def _label_section(
    outcomes: Sequence[RowOutcome], predict: frozenset[Action]
) -> dict[str, dict[str, Any]]:
    rows = Counter(o.label for o in outcomes)
    hits = Counter(o.label for o in outcomes if o.action in predict)
    return {
        label: {"rows": rows[label], "predicted_positive": hits[label], "positive": positive}
        for label, positive in sorted({(o.label, o.positive) for o in outcomes})
    }


def _latency(outcomes: Sequence[RowOutcome]) -> dict[str, float]:
    values = [o.latency_ms for o in outcomes]
    return {f"p{q}": round(percentile(values, q), 3) for q in (50, 95)}


def build_report(
    outcomes: Sequence[RowOutcome], rules: Sequence[RuleInfo], predict: frozenset[Action]
) -> dict[str, Any]:
    """Per-rule and overall metrics, per-label counts, latency and guard failures."""
    positives = sum(o.positive for o in outcomes)
    return {
        "rows": len(outcomes),
        "positives": positives,
        "negatives": len(outcomes) - positives,
        "predict": sorted(a.value for a in predict),
        "overall": overall_confusion(outcomes, predict).as_dict(),
        "rules": {rule.name: _rule_section(outcomes, rule) for rule in rules},
        "labels": _label_section(outcomes, predict),
        "latency_ms": _latency(outcomes),
        "guard_failures": dict(sorted(Counter(g for o in outcomes for g in o.failed).items())),
    }


def group_section(
    outcomes: Sequence[RowOutcome], examples: Sequence[Example], predict: frozenset[Action]
) -> dict[str, dict[str, Any]]:
    """Per value of the `--by` field (a row with several counts in each): its rows, how many
    of its positives and of its negatives the policy predicted positive, and the two rates."""
    counts: dict[str, Counter[str]] = {}
    for outcome, example in zip(outcomes, examples, strict=True):
        kind = "positive" if outcome.positive else "negative"
        for group in example.groups:
            c = counts.setdefault(group, Counter())
            c["rows"] += 1
            c[f"{kind}s"] += 1
            c[f"{kind}s_predicted"] += outcome.action in predict
    return {
        group: {
            "rows": c["rows"],
            "positives": c["positives"],
            "positives_predicted": c["positives_predicted"],
            "recall": _share(c["positives_predicted"], c["positives"]),
            "negatives": c["negatives"],
            "negatives_predicted": c["negatives_predicted"],
            "fpr": _share(c["negatives_predicted"], c["negatives"]),
        }
        for group, c in sorted(counts.items())
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def format_groups(field: str, section: dict[str, dict[str, Any]]) -> str:
    """The `--by` section as a table: per group, positives and negatives predicted positive."""
    width = max([len(field), *(len(g) for g in section)])
    lines = [
        f"{f'by {field}':<{width}}  {'rows':>6}  {'positives predicted':>22}  "
        f"{'negatives predicted':>22}"
    ]
    for group, s in section.items():
        cells = [
            "-" if not s[k + "s"] else f"{s[k + 's_predicted']}/{s[k + 's']} ({s[r]:.3f})"
            for k, r in (("positive", "recall"), ("negative", "fpr"))
        ]
        lines.append(f"{group:<{width}}  {s['rows']:>6}  {cells[0]:>22}  {cells[1]:>22}")
    return "\n".join(lines)


def pr_curves(
    outcomes: Sequence[RowOutcome], rules: Sequence[RuleInfo]
) -> dict[str, list[PRPoint]]:
    """The precision-recall curve of each scored rule."""
    truth = [o.positive for o in outcomes]
    return {
        rule.name: pr_curve(truth, [rule_score(o, rule.name) for o in outcomes])
        for rule in rules
        if rule.scored
    }


def operating_points(report: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(recall, precision) of each rule as configured and of the whole policy.

    Rules that never fired are left out: their precision is undefined (0/0).
    """
    sections = {**report["rules"], "policy": report["overall"]}
    return {
        name: (s["recall"], s["precision"]) for name, s in sections.items() if s["tp"] + s["fp"] > 0
    }


_COLUMNS = ("TP", "FP", "TN", "FN", "precision", "recall", "F1", "FPR", "AUPRC")


def _row(name: str, mode: str, s: dict[str, Any], width: int) -> str:
    counts = "".join(f"{s[k]:>7}" for k in ("tp", "fp", "tn", "fn"))
    rates = "".join(f"{s[k]:>11.3f}" for k in ("precision", "recall", "f1", "fpr"))
    auprc = s.get("auprc")
    return f"{name:<{width}} {mode:<8}{counts}{rates}{'-' if auprc is None else f'{auprc:.3f}':>11}"


def _header(width: int) -> str:
    counts = "".join(f"{c:>7}" for c in _COLUMNS[:4])
    rates = "".join(f"{c:>11}" for c in _COLUMNS[4:])
    return f"{'rule':<{width}} {'mode':<8}{counts}{rates}"


def format_report(report: dict[str, Any]) -> str:
    """The report as a fixed-width table plus latency, per-label and failure lines."""
    width = max([len("overall"), *(len(n) for n in report["rules"])])
    lines = [
        f"rows {report['rows']} ({report['positives']} positive, {report['negatives']} negative)"
        f"; overall predicted positive = action in {{{', '.join(report['predict'])}}}",
        "",
        _header(width),
        *(_row(name, s["mode"], s, width) for name, s in report["rules"].items()),
        _row("overall", "", report["overall"], width),
        "",
        "latency per row: p50 {p50:.2f} ms, p95 {p95:.2f} ms".format(**report["latency_ms"]),
    ]
    for label, s in report["labels"].items():
        kind = "positive" if s["positive"] else "negative"
        lines.append(
            f"label {label!r} ({kind}): {s['rows']} rows, "
            f"{s['predicted_positive']} predicted positive"
        )
    for guard, count in report["guard_failures"].items():
        lines.append(f"WARNING guard {guard!r} failed (error/timeout) on {count} rows")
    return "\n".join(lines)
