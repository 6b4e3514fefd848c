"""Runs a policy over labelled rows through `Pipeline.check`, exactly as production does.

To also learn the scores a rule did NOT fire on (for precision-recall curves), each guard of
the policy is wrapped in a `RecordingGuard` that passes the scan through unchanged and keeps
its findings per request. The rules, thresholds, timeouts and `decide()` are the policy's own.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from guardrail.evaluate.data import Example, is_positive
from guardrail.guards.base import Guard
from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule
from guardrail.types import Action, CheckContext, Decision, Finding, Stage

# Checked once before timing starts, so lazily built sessions do not count as row latency.
WARM_UP_TEXT = "Warm-up text for the evaluation run."
PROGRESS_MIN_ROWS = 200  # show a progress bar from this many rows on

T = TypeVar("T")


class RecordingGuard:
    """Passes scans through to a guard and keeps every finding, per request id."""

    def __init__(self, guard: Guard) -> None:
        self.name = guard.name
        self.inner = guard
        self._findings: dict[str, list[Finding]] = {}

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The wrapped guard's thresholds."""
        return self.inner.default_thresholds

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """The wrapped guard's findings, unchanged (and remembered)."""
        findings = await self.inner.scan(texts, ctx)
        self._findings.setdefault(ctx.request_id, []).extend(findings)
        return findings

    def pop(self, request_id: str) -> list[Finding]:
        """Forget and return what was found for one request."""
        return self._findings.pop(request_id, [])


def recording_pipeline(pipeline: Pipeline) -> tuple[Pipeline, dict[str, RecordingGuard]]:
    """The same policy with every guard wrapped in a `RecordingGuard`."""
    recorders = {name: RecordingGuard(guard) for name, guard in pipeline.policy.guards.items()}
    policy = dataclasses.replace(pipeline.policy, guards=recorders)
    return Pipeline(policy), recorders


@dataclass(frozen=True)
class RowOutcome:
    """What the policy did with one labelled row (no text: reports only count these)."""

    label: str
    positive: bool
    action: Action
    fired: frozenset[str]  # rules that fired, enforced or shadow
    scores: Mapping[str, Mapping[str, float]]  # rule -> label -> highest score it could use
    failed: tuple[str, ...]  # guards that errored or timed out
    latency_ms: float
    escalated: bool = False  # a judge decided some classifier label of the row


def rule_scores(
    rules: Sequence[CompiledRule], findings: Sequence[Finding]
) -> dict[str, dict[str, float]]:
    """For each rule, the highest score per label among findings it looks at (any score)."""
    scores: dict[str, dict[str, float]] = {}
    for rule in rules:
        mine = scores.setdefault(rule.name, {})
        for f in findings:
            if f.guard == rule.guard and (rule.labels is None or f.label in rule.labels):
                mine[f.label] = max(mine.get(f.label, 0.0), f.score)
    return scores


def failed_guards(decision: Decision) -> tuple[str, ...]:
    """Guards that could not answer, whether their rules fail open or closed."""
    closed = (h.guard for h in (*decision.hits, *decision.shadow_hits) if h.failed_closed)
    opened = (f.guard for f in decision.unchecked)
    return tuple(sorted({*closed, *opened}))


def outcome(
    example: Example,
    positive: frozenset[str] | None,
    decision: Decision,
    scores: Mapping[str, Mapping[str, float]],
    latency_ms: float,
) -> RowOutcome:
    """The row's outcome from its decision and the recorded scores."""
    return RowOutcome(
        label=example.label or "",
        positive=is_positive(example.label, positive),
        action=decision.action,
        fired=frozenset(h.rule for h in (*decision.hits, *decision.shadow_hits)),
        scores=scores,
        failed=failed_guards(decision),
        latency_ms=latency_ms,
        escalated=any(
            f.escalation is not None and f.escalation.decided_by == "judge"
            for f in decision.escalations
        ),
    )


def progress(items: Iterable[T], total: int, desc: str, show: bool) -> Iterator[T]:
    """`items`, with a tqdm bar on stderr when `show` and stderr is a terminal."""
    from tqdm import tqdm

    # disable=None: tqdm turns itself off when stderr is not a terminal.
    yield from tqdm(items, total=total, desc=desc, file=sys.stderr, disable=None if show else True)


async def _check_row(
    pipeline: Pipeline, recorders: Mapping[str, RecordingGuard], stage: Stage, text: str
) -> tuple[Decision, list[Finding], float]:
    state = pipeline.new_request()
    started = time.perf_counter()
    decision = await pipeline.check(stage, [text], state)
    latency_ms = (time.perf_counter() - started) * 1000
    findings = [f for recorder in recorders.values() for f in recorder.pop(state.request_id)]
    return decision, findings, latency_ms


async def evaluate(
    pipeline: Pipeline,
    examples: Sequence[Example],
    stage: Stage,
    positive: frozenset[str] | None = None,
) -> list[RowOutcome]:
    """Check each row (one at a time, so latencies are per row) and collect its outcome."""
    recording, recorders = recording_pipeline(pipeline)
    rules = pipeline.policy.rules_for(stage)
    await _check_row(recording, recorders, stage, WARM_UP_TEXT)
    outcomes: list[RowOutcome] = []
    long_run = len(examples) >= PROGRESS_MIN_ROWS
    for example in progress(examples, len(examples), "eval", show=long_run):
        decision, findings, latency_ms = await _check_row(recording, recorders, stage, example.text)
        scores = rule_scores(rules, findings)
        outcomes.append(outcome(example, positive, decision, scores, latency_ms))
    return outcomes
