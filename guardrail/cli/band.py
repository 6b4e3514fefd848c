"""`guardrail calibrate --band`: the narrowest escalation band that meets a target FPR and
recall on labelled rows, for each classifier rule whose guard escalates to a judge.

The classifier's own scores are measured (its escalation switched off for the run); the judge
is either replayed (`--judge-replay`: its recorded verdict per row) or assumed right on a
share `--judge-accuracy` of the rows it gets. Nothing is written; the band is printed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from guardrail.types import CheckContext

if TYPE_CHECKING:
    from guardrail.evaluate.cascade import BandProposal
    from guardrail.guards.classifier import ClassifierGuard
    from guardrail.guards.judge import Verdict
    from guardrail.policy.compile import CompiledRule, Policy

SCAN_BATCH = 16


def add_band_args(parser: argparse.ArgumentParser) -> None:
    """The options of `calibrate --band`."""
    parser.add_argument(
        "--band", action="store_true", help="propose an escalation band instead of thresholds"
    )
    parser.add_argument(
        "--target-recall", type=float, default=0.0, help="with --band: least recall (0-1)"
    )
    parser.add_argument(
        "--judge-accuracy",
        type=float,
        default=0.95,
        help="with --band: share of escalated rows the judge gets right (default 0.95)",
    )
    parser.add_argument(
        "--judge-replay", type=Path, metavar="FILE", help="with --band: recorded verdicts"
    )


def run_band(args: argparse.Namespace) -> int:
    """Print a band per escalating rule; exit 0, 1 when a rule has none, 2 on bad input."""
    from guardrail.cli.eval import EXIT_FAILED, EXIT_OK, _fail, _positive, _read
    from guardrail.errors import PolicyError
    from guardrail.evaluate.cascade import load_replay
    from guardrail.evaluate.data import DataError, is_positive
    from guardrail.pipeline import Pipeline

    if not 0.0 <= args.target_recall <= 1.0 or not 0.0 <= args.judge_accuracy <= 1.0:
        return _fail("calibrate", "--target-recall and --judge-accuracy are between 0 and 1")
    try:
        policy = Pipeline.from_file(args.policy).policy
        rows = [e for path in args.benign for e in _read(path, args).rows if e.label]
        replay = load_replay(args.judge_replay) if args.judge_replay else None
    except (PolicyError, DataError) as exc:
        return _fail("calibrate", exc)
    rules = _escalating_rules(policy, args.rule)
    if not rules or not rows:
        return _fail("calibrate", "no labelled rows" if rules else "no escalating rule")
    truth = [is_positive(e.label, _positive(args)) for e in rows]
    texts = [e.text for e in rows]
    status = EXIT_OK
    for rule in rules:
        try:
            proposal = asyncio.run(_propose(policy, rule, texts, truth, replay, args))
        except DataError as exc:
            return _fail("calibrate", exc)
        print(_describe(rule.name, proposal, len(texts)))
        status = status if proposal else EXIT_FAILED
    return status


def _escalating_rules(policy: Policy, names: Sequence[str]) -> list[CompiledRule]:
    from guardrail.guards.classifier import ClassifierGuard

    return [
        r
        for r in policy.rules
        if (not names or r.name in names)
        and isinstance(guard := policy.guards[r.guard], ClassifierGuard)
        and guard.escalator is not None
    ]


async def _propose(
    policy: Policy,
    rule: CompiledRule,
    texts: list[str],
    truth: list[bool],
    replay: dict[str, Verdict] | None,
    args: argparse.Namespace,
) -> BandProposal | None:
    from guardrail.evaluate.cascade import propose_band

    guard: ClassifierGuard = policy.guards[rule.guard]  # type: ignore[assignment]
    labels = rule.labels or frozenset(guard.labels)
    scores = await _local_scores(guard, sorted(rule.stages)[0], texts, labels)
    if replay is None:
        right = [args.judge_accuracy] * len(texts)
    else:
        right = [float(_flags(replay, t, labels) == truth[i]) for i, t in enumerate(texts)]
    return propose_band(scores, truth, right, args.target_fpr, args.target_recall)


async def _local_scores(
    guard: ClassifierGuard, stage: object, texts: list[str], labels: frozenset[str]
) -> list[float]:
    """The classifier's own score per text (highest over `labels`), escalation off."""
    from guardrail.types import Stage

    escalator, guard.escalator = guard.escalator, None
    try:
        scores = [0.0] * len(texts)
        ctx = CheckContext(stage=Stage(str(stage)))
        for first in range(0, len(texts), SCAN_BATCH):
            for f in await guard.scan(texts[first : first + SCAN_BATCH], ctx):
                if f.label in labels:
                    at = first + f.text_index
                    scores[at] = max(scores[at], f.score)
        return scores
    finally:
        guard.escalator = escalator


def _flags(replay: dict[str, Verdict], text: str, labels: frozenset[str]) -> bool:
    """Whether the recorded verdict for `text` names one of `labels`."""
    from guardrail.canonical import canonical
    from guardrail.evaluate.data import DataError
    from guardrail.guards.judge import text_key

    # recorded files key the text as the judge read it: its canonical form
    verdict = replay.get(text_key(text)) or replay.get(text_key(canonical(text).text))
    if verdict is None:
        raise DataError("--judge-replay has no verdict for a row (keys: sha256 of the text)")
    return verdict.label in labels


def _describe(rule: str, proposal: BandProposal | None, rows: int) -> str:
    if proposal is None:
        return f"rule {rule!r}: no band meets the targets on these {rows} rows"
    p = proposal
    return (
        f"rule {rule!r}: between: [{p.low:g}, {p.high:g}]  escalation rate {p.escalation_rate:.4f}"
        f"  expected fpr {p.fpr:.4f} recall {p.recall:.4f}"
        f"  (decided locally: fp {p.local_fpr:.4f} of negatives, fn {p.local_fnr:.4f} of "
        f"positives; {rows} rows)"
    )
