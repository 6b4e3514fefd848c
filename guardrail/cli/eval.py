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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.types import Action, Stage

if TYPE_CHECKING:
    from guardrail.evaluate.calibrate import RuleCalibration, Scores
    from guardrail.evaluate.data import Example, Examples
    from guardrail.pipeline import Pipeline
    from guardrail.policy.compile import CompiledRule, Policy

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

CALIBRATE_DESCRIPTION = """\
Set each classifier rule's thresholds so that the rule (any of its labels firing) flags at
most --target-fpr of the benign rows. Nothing is proposed, and nothing written, when:
  - the rows are too few: rows x target must be at least 10, and at least 5 per label the
    rule covers (exit 2, before any scoring);
  - thresholds fit on alternate rows do not hold on the other half within sampling noise,
    or benign rows scoring 1.0 alone exceed the target (exit 1);
  - the proposal fails the policy's own `tests:` (exit 1; --allow-failing-tests overrides,
    and the failures are still listed).
Exit 0 when done. See docs/evaluate.md.
"""


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
    ev.add_argument(
        "--by",
        metavar="FIELD",
        help="also break the result down by this JSON field of each row (a string, or a list "
        "of strings such as categories: the row counts in each)",
    )
    ev.add_argument("--json", type=Path, metavar="OUT", help="also write the report as JSON")
    ev.add_argument("--plot", type=Path, metavar="OUT.png", help="write precision-recall curves")
    ev.add_argument(
        "--judge-replay",
        type=Path,
        metavar="FILE",
        help="recorded judge verdicts (JSONL) instead of calling the judge model",
    )
    ev.add_argument(
        "--judge-record",
        type=Path,
        metavar="FILE",
        help="write the judge's verdicts of this run as a --judge-replay file",
    )
    ev.set_defaults(func=run_eval)
    cal = subparsers.add_parser(
        "calibrate",
        help="pick classifier thresholds for a target FPR",
        description=CALIBRATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(cal)
    cal.add_argument(
        "--benign",
        required=True,
        nargs="+",
        type=Path,
        metavar="FILE",
        help="rows to calibrate on (.jsonl[.gz]); rows with a positive label are left out of "
        "the FPR and used to report recall (--limit/--sample apply per file)",
    )
    cal.add_argument(
        "--target-fpr",
        required=True,
        type=float,
        help="most share of benign rows a rule may flag, e.g. 0.01 (needs 1,000+ rows)",
    )
    cal.add_argument("--rule", nargs="+", default=[], metavar="NAME", help="only these rules")
    cal.add_argument("--write", action="store_true", help="update the policy file in place")
    cal.add_argument(
        "--allow-failing-tests",
        action="store_true",
        help="accept a proposal that fails the policy's own tests (they are still listed)",
    )
    from guardrail.cli.band import add_band_args

    add_band_args(cal)
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
    by = getattr(args, "by", None)  # `eval` only
    examples = read_examples(path, args.text_field, args.label_field, args.limit, by)
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
        if args.judge_replay is not None:
            from guardrail.evaluate.cascade import load_replay, use_replay

            use_replay(pipeline.policy, load_replay(args.judge_replay))
        if args.judge_record is not None:
            from guardrail.evaluate.cascade import start_recording

            record = start_recording(pipeline.policy)
        examples = _read(args.data, args)
    except (PolicyError, DataError, PlotUnavailable) as exc:
        return _fail("eval", exc)
    labelled = [e for e in examples.rows if e.label is not None]
    if not labelled:
        return _fail("eval", f"no row of {args.data} has a {args.label_field!r} label")
    skipped = examples.skipped + len(examples.rows) - len(labelled)
    try:
        _emit_eval(_eval(pipeline, labelled, args) | {"skipped_rows": skipped}, args)
        if args.judge_record is not None:
            from guardrail.evaluate.cascade import write_replay

            write_replay(args.judge_record, record)
    except (PlotUnavailable, OSError) as exc:
        return _fail("eval", exc)
    return EXIT_OK


def _eval(pipeline: Pipeline, rows: list[Example], args: argparse.Namespace) -> dict[str, Any]:
    from guardrail.evaluate.report import build_report, operating_points, pr_curves, rule_infos
    from guardrail.evaluate.runner import evaluate

    stage = Stage(args.stage)
    outcomes = asyncio.run(evaluate(pipeline, rows, stage, _positive(args)))
    rules = rule_infos(pipeline.policy, stage)
    predict = frozenset(Action(a) for a in args.predict)
    report = build_report(outcomes, rules, predict)
    from guardrail.evaluate.cascade import cascade_section, escalating

    if escalating(pipeline.policy):
        report["cascade"] = cascade_section(outcomes, predict)
    if args.by is not None:
        from guardrail.evaluate.report import group_section

        report["by"] = {"field": args.by, "groups": group_section(outcomes, rows, predict)}
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
    if "cascade" in report:
        from guardrail.evaluate.cascade import format_cascade

        print(format_cascade(report["cascade"]))
    if "by" in report:
        from guardrail.evaluate.report import format_groups

        print()
        print(format_groups(report["by"]["field"], report["by"]["groups"]))
    if report["skipped_rows"]:
        print(f"skipped {report['skipped_rows']} rows without text or label")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.plot is not None:
        print(f"wrote {args.plot}")


def run_calibrate(args: argparse.Namespace) -> int:
    """Print proposed thresholds; with --write, set them in the policy file.

    Exit 0 when done, 1 when a rule cannot be calibrated on these rows or the proposal fails
    the policy's own tests (nothing is written), 2 on a bad policy, data file or option, too
    few rows for the target, or when the written file does not load (the original is restored).
    """
    from guardrail.errors import PolicyError
    from guardrail.evaluate.calibrate import CalibrationError, classifier_rules
    from guardrail.evaluate.data import DataError, is_positive
    from guardrail.pipeline import Pipeline

    if not 0.0 <= args.target_fpr <= 1.0:
        return _fail("calibrate", "--target-fpr must be between 0 and 1")
    if args.band:
        from guardrail.cli.band import run_band

        return run_band(args)
    try:
        policy = Pipeline.from_file(args.policy).policy
        rules = classifier_rules(policy, args.rule)
        rows = [(str(path), e) for path in args.benign for e in _read(path, args).rows]
    except (PolicyError, DataError, CalibrationError) as exc:
        return _fail("calibrate", exc)
    negatives = [(path, e.text) for path, e in rows if not is_positive(e.label, _positive(args))]
    texts, sources = [text for _, text in negatives], [path for path, _ in negatives]
    positives = [e for _, e in rows if is_positive(e.label, _positive(args))]
    if positives:
        print(f"left out {len(positives)} rows with a positive label (recall is measured on them)")
    if not rules or not texts:
        what = "classifier rules in the policy" if not rules else "benign rows in --benign"
        return _fail("calibrate", f"no {what}")
    if problem := _too_few_rows(policy, rules, len(texts), args.target_fpr):
        return _fail("calibrate", f"{problem}; nothing calibrated")
    return asyncio.run(_calibrate(policy, rules, (texts, sources), positives, args))


def _too_few_rows(policy: Policy, rules: list[CompiledRule], rows: int, target: float) -> str:
    """Why the rows cannot set some rule's threshold at this target ('' when they can)."""
    from guardrail.evaluate.calibrate import data_problem, rule_labels

    for rule in rules:
        if problem := data_problem(rows, target, len(rule_labels(policy, rule))):
            return f"rule {rule.name!r}: {problem}"
    return ""


async def _calibrate(
    policy: Policy,
    rules: list[CompiledRule],
    negatives: tuple[list[str], list[str]],
    positives: list[Example],
    args: argparse.Namespace,
) -> int:
    """Score the negatives (texts, the file of each), propose, check, maybe write."""
    from guardrail.evaluate.calibrate import calibrate_rule, score_rows, updates

    texts, sources = negatives
    scores = await score_rows(policy, rules, texts)
    results = [calibrate_rule(rule, scores[rule.name], args.target_fpr) for rule in rules]
    _print_calibration(results, scores, args.target_fpr, sources)
    if positives:
        await _print_recall(policy, rules, results, positives)
    if refused := [r.rule for r in results if r.problem]:
        print(f"nothing written: no safe proposal for {', '.join(refused)}")
        return EXIT_FAILED
    changes = updates(results)
    if not changes:
        print("every threshold already is the proposal: nothing to change")
        return EXIT_OK
    if await _tests_fail(policy, changes):
        if not args.allow_failing_tests:
            print("nothing written: the proposal fails the policy's own tests (listed above)")
            return EXIT_FAILED
        print("WARNING accepting a proposal that fails the policy's tests (--allow-failing-tests)")
    return _write_thresholds(args.policy, changes) if args.write else EXIT_OK


def _print_calibration(
    results: list[RuleCalibration], scores: Scores, target: float, sources: list[str]
) -> None:
    rows = results[0].negatives
    print(f"{rows} benign rows, target FPR {target:g} per rule (any of its labels firing)")
    for r in results:
        print(_calibration_line(r))
        for label, current in r.current.items():
            proposed = "-" if r.proposed is None else f"{r.proposed[label]:.4f}"
            print(f"  {label}: {current:.4f} -> {proposed}")
        if len(set(sources)) > 1:
            _print_sources(r, scores[r.rule], sources)
        if r.problem:
            print(f"  NOT CALIBRATED: {r.problem}")
    if len(results) > 1 and all(r.proposed is not None for r in results):
        _print_combined(results, scores)


def _print_sources(
    r: RuleCalibration, scores: Mapping[str, list[float]], sources: list[str]
) -> None:
    """Each --benign file's FPR: a target held on the mix can be far off on one kind of row."""
    from guardrail.evaluate.metrics import union_rate

    for source in dict.fromkeys(sources):
        keep = [i for i, s in enumerate(sources) if s == source]
        part = {label: [values[i] for i in keep] for label, values in scores.items()}
        new = "-" if r.proposed is None else f"{union_rate(part, r.proposed):.4f}"
        print(f"  on {source} ({len(keep)} rows): FPR {union_rate(part, r.current):.4f} -> {new}")


def _print_combined(results: list[RuleCalibration], scores: Scores) -> None:
    """Rules calibrated together add up: say how much, though only each rule is held."""
    from guardrail.evaluate.calibrate import combined_rate

    now = combined_rate(scores, {r.rule: r.current for r in results})
    new = combined_rate(scores, {r.rule: r.proposed or {} for r in results})
    together = f"the {len(results)} rules together (not held to the target)"
    print(f"{together}: FPR {now:.4f} -> {new:.4f}")


def _calibration_line(r: RuleCalibration) -> str:
    now = f"{r.rule}: FPR now {r.current_fpr:.4f}"
    if r.proposed_fpr is None:
        return f"{now} -> no proposal"
    held = ""
    if r.held_out is not None:
        first, second = r.held_out
        held = f" (held-out halves {first:.4f}, {second:.4f}; limit {r.held_out_limit:.4f})"
    return f"{now} -> {r.proposed_fpr:.4f}{held}"


async def _print_recall(
    policy: Policy, rules: list[CompiledRule], results: list[RuleCalibration], rows: list[Example]
) -> None:
    """Recall of each rule, now and as proposed, on the positive rows of each label."""
    from guardrail.evaluate.calibrate import score_rows
    from guardrail.evaluate.metrics import union_rate

    by_label: dict[str, list[str]] = {}
    for row in rows:
        by_label.setdefault(row.label or "", []).append(row.text)
    print("recall on the positive rows, now -> proposed:")
    for label, texts in sorted(by_label.items()):
        scores = await score_rows(policy, rules, texts)
        for r in results:
            now = union_rate(scores[r.rule], r.current)
            new = "-" if r.proposed is None else f"{union_rate(scores[r.rule], r.proposed):.4f}"
            print(f"  {r.rule} on {label!r} ({len(texts)} rows): {now:.4f} -> {new}")


async def _tests_fail(policy: Policy, changes: dict[str, dict[str, float]]) -> bool:
    """Run the policy's `tests:` with the proposed thresholds; print failures; True if any."""
    from guardrail.cli.check import run_policy_tests
    from guardrail.evaluate.calibrate import with_thresholds
    from guardrail.pipeline import Pipeline

    if not policy.tests:
        print("the policy has no tests: nothing to check the proposal against")
        return False
    results = await run_policy_tests(Pipeline(with_thresholds(policy, changes)))
    failed = [(i, test, problem) for i, test, problem in results if problem is not None]
    print(
        f"policy tests with the proposed thresholds: {len(results) - len(failed)} passed, "
        f"{len(failed)} failed"
    )
    if failed:  # say which ones the proposal broke and which were failing already
        before = {i for i, _, problem in await run_policy_tests(Pipeline(policy)) if problem}
        for index, test, problem in failed:
            name = f" ({test.name})" if test.name else ""
            also = " (fails with the current thresholds too)" if index in before else ""
            print(f"  tests[{index}]{name} FAILED: {test.stage.value}: {problem}{also}")
    return bool(failed)


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
