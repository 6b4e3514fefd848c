"""`guardrail eval` (a policy's precision/recall on labelled rows) and `guardrail calibrate`
(classifier thresholds for a target false-positive rate on benign rows).

Both read JSON Lines; rows are never printed, only counts and metrics. Heavy modules are
imported inside the commands so that `guardrail --help` stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.types import Action, Stage

if TYPE_CHECKING:
    from guardrail.evaluate.calibrate import LabelThreshold
    from guardrail.evaluate.data import Example, Examples
    from guardrail.pipeline import Pipeline
    from guardrail.policy.compile import CompiledRule, Policy

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, type=Path, help="policy file")
    parser.add_argument("--text-field", default="text", help="JSON field with the text")
    parser.add_argument("--label-field", default="label", help="JSON field with the label")
    parser.add_argument(
        "--positive",
        nargs="+",
        metavar="LABEL",
        help="labels that count as positive (default: any but benign/safe/no_pii/no_secret)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use the first N rows only")
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="use a random N rows, in file order (seeded: the same rows every run)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")


def register(subparsers: Any) -> None:
    """Add `eval` and `calibrate`."""
    ev = subparsers.add_parser("eval", help="measure a policy on labelled JSONL rows")
    _add_data_args(ev)
    ev.add_argument("--data", required=True, type=Path, help="labelled rows (.jsonl[.gz])")
    ev.add_argument("--stage", default="input", choices=[s.value for s in Stage])
    ev.add_argument(
        "--predict",
        nargs="+",
        default=["block"],
        choices=[a.value for a in Action if a is not Action.ALLOW],
        help="decision actions that count as predicted positive overall (default: block)",
    )
    ev.add_argument("--json", type=Path, metavar="OUT", help="also write the report as JSON")
    ev.add_argument("--plot", type=Path, metavar="OUT.png", help="write precision-recall curves")
    ev.set_defaults(func=run_eval)
    cal = subparsers.add_parser("calibrate", help="pick classifier thresholds for a target FPR")
    _add_data_args(cal)
    cal.add_argument("--benign", required=True, type=Path, help="benign rows (.jsonl[.gz])")
    cal.add_argument("--target-fpr", required=True, type=float, help="e.g. 0.01")
    cal.add_argument("--rule", nargs="+", default=[], metavar="NAME", help="only these rules")
    cal.add_argument("--write", action="store_true", help="update the policy file in place")
    cal.set_defaults(func=run_calibrate)


def _fail(command: str, message: object) -> int:
    print(f"guardrail {command}: {message}", file=sys.stderr)
    return EXIT_USAGE


def _read(path: Path, args: argparse.Namespace) -> Examples:
    """The rows to use: --limit first, then --sample (raises `DataError`)."""
    from guardrail.evaluate.data import DataError, read_examples, sample

    for option in ("limit", "sample"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise DataError(f"--{option} must be at least 1, got {value}")
    examples = read_examples(path, args.text_field, args.label_field, args.limit)
    return examples if args.sample is None else sample(examples, args.sample, args.seed)


def _positive(args: argparse.Namespace) -> frozenset[str] | None:
    return frozenset(args.positive) if args.positive else None


def run_eval(args: argparse.Namespace) -> int:
    """Print the report; exit 0, or 2 on a bad policy, data file or option."""
    from guardrail.errors import PolicyError
    from guardrail.evaluate.data import DataError
    from guardrail.evaluate.plot import PlotUnavailable, require_matplotlib
    from guardrail.pipeline import Pipeline

    try:
        if args.plot is not None:
            require_matplotlib()
        pipeline = Pipeline.from_file(args.policy)
        examples = _read(args.data, args)
    except (PolicyError, DataError, PlotUnavailable) as exc:
        return _fail("eval", exc)
    labelled = [e for e in examples.rows if e.label is not None]
    if not labelled:
        return _fail("eval", f"no row of {args.data} has a {args.label_field!r} label")
    skipped = examples.skipped + len(examples.rows) - len(labelled)
    try:
        _emit_eval(_eval(pipeline, labelled, args) | {"skipped_rows": skipped}, args)
    except (PlotUnavailable, OSError) as exc:
        return _fail("eval", exc)
    return EXIT_OK


def _eval(pipeline: Pipeline, rows: list[Example], args: argparse.Namespace) -> dict[str, Any]:
    from guardrail.evaluate.report import build_report, operating_points, pr_curves, rule_infos
    from guardrail.evaluate.runner import evaluate

    stage = Stage(args.stage)
    outcomes = asyncio.run(evaluate(pipeline, rows, stage, _positive(args)))
    rules = rule_infos(pipeline.policy, stage)
    report = build_report(outcomes, rules, frozenset(Action(a) for a in args.predict))
    report = {
        "policy": pipeline.policy.name,
        "data": str(args.data),
        "stage": stage.value,
        "positive_labels": sorted(args.positive) if args.positive else None,
        **report,
    }
    if args.plot is not None:
        from guardrail.evaluate.plot import write_pr_plot

        title = f"{pipeline.policy.name} on {args.data.name} ({stage.value})"
        write_pr_plot(args.plot, pr_curves(outcomes, rules), operating_points(report), title)
    return report


def _emit_eval(report: dict[str, Any], args: argparse.Namespace) -> None:
    from guardrail.evaluate.report import format_report

    print(f"policy {report['policy']!r} on {report['data']} (stage {report['stage']})")
    print(format_report(report))
    if report["skipped_rows"]:
        print(f"skipped {report['skipped_rows']} rows without text or label")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.plot is not None:
        print(f"wrote {args.plot}")


def run_calibrate(args: argparse.Namespace) -> int:
    """Print proposed thresholds; with --write, set them in the policy file.

    Exit 0 when every label meets the target, 1 when some cannot (nothing is written then),
    2 on a bad policy, data file or option, or when the written file does not load (the
    original is restored).
    """
    from guardrail.errors import PolicyError
    from guardrail.evaluate.calibrate import CalibrationError, classifier_rules
    from guardrail.evaluate.data import DataError, is_positive
    from guardrail.pipeline import Pipeline

    if not 0.0 <= args.target_fpr <= 1.0:
        return _fail("calibrate", "--target-fpr must be between 0 and 1")
    try:
        policy = Pipeline.from_file(args.policy).policy
        rules = classifier_rules(policy, args.rule)
        examples = _read(args.benign, args)
    except (PolicyError, DataError, CalibrationError) as exc:
        return _fail("calibrate", exc)
    texts = [e.text for e in examples.rows if not is_positive(e.label, _positive(args))]
    if left_out := len(examples.rows) - len(texts):
        print(f"left out {left_out} rows with a positive label")
    if not rules or not texts:
        what = "classifier rules in the policy" if not rules else f"benign rows in {args.benign}"
        return _fail("calibrate", f"no {what}")
    return _calibrate(policy, rules, texts, args)


def _calibrate(
    policy: Policy, rules: list[CompiledRule], texts: list[str], args: argparse.Namespace
) -> int:
    from guardrail.evaluate.calibrate import calibrate_rule, negative_scores, updates

    scores = asyncio.run(negative_scores(policy, rules, texts))
    results = [
        r for rule in rules for r in calibrate_rule(rule, scores[rule.name], args.target_fpr)
    ]
    print(f"{len(texts)} benign rows, target FPR {args.target_fpr:g} per label")
    for r in results:
        print(_calibration_line(r))
    if any(r.proposed is None for r in results):
        print("some labels cannot meet the target (benign rows score 1.0); nothing written")
        return EXIT_FAILED
    if args.write:
        return _write_thresholds(args.policy, updates(results))
    return EXIT_OK


def _calibration_line(r: LabelThreshold) -> str:
    now = f"{r.current:.4f} (FPR {r.current_fpr:.4f})"
    if r.proposed is None:
        return f"{r.rule} [{r.label}]: now {now} -> unreachable"
    return f"{r.rule} [{r.label}]: now {now} -> {r.proposed:.4f} (FPR {r.proposed_fpr:.4f})"


def _write_thresholds(path: Path, thresholds: dict[str, dict[str, float]]) -> int:
    from guardrail.errors import PolicyError
    from guardrail.evaluate.policy_edit import PolicyEditError, edit_thresholds, write_checked

    try:
        text = edit_thresholds(path.read_text(encoding="utf-8"), thresholds)
        write_checked(path, text, lambda p: _check_written(p, thresholds))
    except (PolicyEditError, PolicyError, ThresholdMismatch, OSError) as exc:
        return _fail("calibrate", f"{path} not changed: {exc}")
    print(f"wrote thresholds to {path}")
    return EXIT_OK


class ThresholdMismatch(ValueError):
    """The rewritten policy loads but does not apply the thresholds that were written."""


def _check_written(path: Path, thresholds: dict[str, dict[str, float]]) -> None:
    from guardrail.policy.load import load_policy

    rules = {rule.name: rule for rule in load_policy(path).rules}
    for name, values in thresholds.items():
        for label, value in values.items():
            rule = rules.get(name)
            if rule is None or rule.threshold_for(label) != value:
                raise ThresholdMismatch(f"rule {name!r} label {label!r} did not take {value}")
