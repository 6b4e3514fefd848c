"""Runs the guards of one stage concurrently, then `decide()`; writes the audit event.

This is the one place where guards meet timeouts, failures and the request's vault. It knows
nothing about HTTP: the proxy, the wrapper and the CLI all call `Pipeline.check`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrail.canonical import StageTexts
from guardrail.coalesce import SLICE, coalesce, per_text
from guardrail.guards.base import Guard
from guardrail.logging import get_logger
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.decide import decide
from guardrail.policy.load import load_policy
from guardrail.policy.redact import Vault
from guardrail.types import (
    PARTIAL_SCAN,
    WORK_OWNER,
    Action,
    CheckContext,
    Decision,
    Finding,
    GuardFailure,
    Stage,
)

log = get_logger("guardrail.pipeline")


@dataclass
class RequestState:
    """Everything one request carries between its stages. Never shared between requests."""

    request_id: str  # may come from the client (x-request-id): logs and audit only
    tenant: str = ""
    # Made here, never by the client: what per-request limits (the judge's budget) count on.
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    vault: Vault = field(default_factory=Vault)
    decisions: list[Decision] = field(default_factory=list)
    # Only the console's playground sets it: each check then appends what its guards found,
    # below the thresholds too (a Decision keeps only the hits), with spans on the raw texts.
    trace: list[StageTrace] | None = None
    # The request's `response_format` (see CheckContext.response_format); set by the flow.
    response_format: dict[str, Any] | None = None
    # False for a policy's own `tests:` examples (guardrail test, calibrate, the console's policy
    # view): they are not traffic, so they write no `policy.decided` audit line.
    audit: bool = True


@dataclass(frozen=True)
class StageTrace:
    """What the guards of one stage check reported, before `decide()` (see `trace`)."""

    stage: Stage
    texts: tuple[str, ...]  # as checked (before this stage's rewrites)
    findings: tuple[Finding, ...]
    failures: tuple[GuardFailure, ...]


class Pipeline:
    """A policy, ready to check texts stage by stage."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # Called with every Decision (tests, eval); keep them cheap and side-effect free.
        self.observers: list[Callable[[Decision, RequestState], None]] = []

    @classmethod
    def from_file(cls, path: str | Path, shared: dict[str, Any] | None = None) -> Pipeline:
        """Load and compile a policy file (raises `PolicyError`)."""
        return cls(load_policy(path, shared=shared))

    @property
    def stages(self) -> frozenset[Stage]:
        """Stages that have at least one rule (others need no work)."""
        return self.policy.stages

    def new_request(self, request_id: str | None = None, tenant: str = "") -> RequestState:
        """Fresh per-request state (empty vault)."""
        return RequestState(request_id=request_id or uuid.uuid4().hex, tenant=tenant)

    def restore(self, text: str, state: RequestState) -> str:
        """Put back the originals of placeholders that a `restore: true` rule made."""
        return state.vault.restore(text)

    async def check(self, stage: Stage, texts: Sequence[str], state: RequestState) -> Decision:
        """Run the stage's guards, decide, record the decision and return it."""
        rules = self.policy.rules_for(stage)
        if not rules or not any(texts):
            return Decision(stage=stage, action=Action.ALLOW, texts=tuple(texts))
        started = time.perf_counter()
        ctx = CheckContext(
            stage=stage,
            request_id=state.request_id,
            request_key=state.key,
            tenant=state.tenant,
            policy=self.policy.name,
            response_format=state.response_format,
        )
        owner = WORK_OWNER.set(state.key)  # the inference pool's turns are per request
        try:
            findings, failures = await self._scan(rules, texts, ctx)
        finally:
            WORK_OWNER.reset(owner)
        if state.trace is not None:
            state.trace.append(StageTrace(stage, tuple(texts), tuple(findings), tuple(failures)))
        decision, state.vault = decide(rules, stage, texts, findings, failures, state.vault)
        elapsed = (time.perf_counter() - started) * 1000
        decision = decision.model_copy(update={"guard_ms": round(elapsed, 3)})
        state.decisions.append(decision)
        if state.audit:
            self._audit(decision, state, texts)
        for observer in self.observers:
            observer(decision, state)
        return decision

    async def _scan(
        self, rules: Sequence[CompiledRule], texts: Sequence[str], ctx: CheckContext
    ) -> tuple[list[Finding], list[GuardFailure]]:
        chars = sum(len(text) for text in texts)  # the work: every guard reads every text
        timeouts: dict[str, float] = {}
        for rule in rules:  # a guard runs once per stage, under its most patient rule's budget
            timeouts[rule.guard] = max(timeouts.get(rule.guard, 0.0), rule.budget_ms(chars))
        names = list(timeouts)
        # Guards read the canonical text (what the model reads); their spans come back mapped
        # onto the original texts, which decide() edits. See guardrail/canonical.py.
        stage_texts, guards = StageTexts(texts), self.policy.guards
        await stage_texts.prepare()
        results = await asyncio.gather(
            *(
                _scan_one(guards[n], n, stage_texts.read_by(guards[n]), ctx, timeouts[n] / 1000)
                for n in names
            )
        )
        findings: list[Finding] = []
        failures: list[GuardFailure] = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, GuardFailure):
                failures.append(result)
            else:
                findings.extend(stage_texts.to_raw(guards[name], result))
        return findings, failures

    def _audit(self, decision: Decision, state: RequestState, texts: Sequence[str]) -> None:
        event: dict[str, Any] = {
            "policy": self.policy.name,
            "policy_hash": self.policy.content_hash,
            "request_id": state.request_id,
            "tenant": state.tenant,
            "stage": decision.stage.value,
            "action": decision.action.value,
            "rules": list(decision.rules_fired),
            "shadow_rules": sorted({h.rule for h in decision.shadow_hits}),
            "scores": _max_scores(decision),
            "unchecked": _unchecked(decision),
            "partial_scan": [_partial(f) for f in decision.partial],
            "escalations": [_escalation(f) for f in decision.escalations],
            "readings": _readings(decision),
            "block_code": decision.block.code if decision.block else None,
            "guard_ms": decision.guard_ms,
        }
        if self.policy.options.log_text:
            event.update(texts=list(texts), text_allowed=True)
        log.info("policy.decided", **event)


def _unchecked(decision: Decision) -> list[str]:
    """Guards that did not check the text, whether their rules failed open or closed."""
    closed = (h.guard for h in (*decision.hits, *decision.shadow_hits) if h.failed_closed)
    return sorted({*closed, *(f.guard for f in decision.unchecked)})


def _partial(finding: Finding) -> dict[str, Any]:
    """A partial_scan finding for the audit event: which guard and text, why, how much."""
    return {
        "guard": finding.guard,
        "text_index": finding.text_index,
        "reason": finding.reason,
        "unread": round(finding.score, 4),
    }


def _escalation(finding: Finding) -> dict[str, Any]:
    """A judged (or judge-declined) classifier label for the audit event: who decided, which
    judge model and prompt template, never the text or the verdict's reason."""
    record = finding.escalation
    assert record is not None  # Decision.escalations holds only escalated findings
    return {
        "guard": finding.guard,
        "label": finding.label,
        "text_index": finding.text_index,
        "decided_by": record.decided_by,
        **record.model_dump(include={"judge", "model", "prompt_hash", "reason", "band"}),
        **record.model_dump(include={"local_score", "result", "judge_label", "cached"}),
    }


def _max_scores(decision: Decision) -> dict[str, float]:
    scores: dict[str, float] = {}
    for hit in (*decision.hits, *decision.shadow_hits):
        scores[hit.rule] = round(max(scores.get(hit.rule, 0.0), hit.score), 4)
    return scores


def _readings(decision: Decision) -> list[dict[str, Any]]:
    """The hits scored on a reading rather than the text as sent: rule, label, text index and
    the reading's name ("decoded: base64", "respelled"), never text."""
    return [
        {"rule": h.rule, "label": h.label, "text_index": h.text_index, "reading": h.reading}
        for h in (*decision.hits, *decision.shadow_hits)
        if h.reading
    ]


def grace_s(timeout_s: float) -> float:
    """How long past its deadline a guard is waited for: a guard that reads in parts answers
    at the deadline with what it read, and needs a moment to hand that over."""
    return max(0.05, 0.1 * timeout_s)


async def _scan_one(
    guard: Guard, name: str, texts: Sequence[str], ctx: CheckContext, timeout_s: float
) -> list[Finding] | GuardFailure:
    ctx = ctx.model_copy(update={"deadline": time.monotonic() + timeout_s})
    try:
        # `asyncio.timeout`, not `wait_for`: the scan runs in the task `gather` made for this
        # guard instead of one more task per guard and stage (and one more event loop turn)
        async with asyncio.timeout(timeout_s + grace_s(timeout_s)):
            return await _scan_joined(guard, texts, ctx)
    except TimeoutError:
        log.warning("guard.failed", guard=name, reason="timeout", timeout_s=timeout_s)
        return GuardFailure(guard=name, reason="timeout")
    except Exception as exc:  # a broken guard must not break the request; its rule decides
        log.warning("guard.failed", guard=name, reason="error", error_type=type(exc).__name__)
        return GuardFailure(guard=name, reason="error", error_type=type(exc).__name__)


async def _scan_joined(guard: Guard, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
    """`guard.scan`, over joined chunks when a stage has many small texts (coalesce.py).

    The chunks go to the guard a few at a time: the inference pool serves jobs in order, so a
    request that queued all its chunks at once would make every later request wait for them.
    """
    joined = None if per_text(guard) else coalesce(texts)
    if joined is None:
        return await guard.scan(texts, ctx)
    found: list[Finding] = []
    for first in range(0, len(joined.texts), SLICE):
        if first and ctx.deadline is not None and time.monotonic() >= ctx.deadline:
            # out of time: the rest is unread (never a silent pass; the rule's fail mode
            # decides), and none of it is queued for work nobody waits for any more
            found += [_unread(guard, i) for i in range(first, len(joined.texts))]
            break
        part = await guard.scan(joined.texts[first : first + SLICE], ctx)
        found += [f.model_copy(update={"text_index": f.text_index + first}) for f in part]
    return joined.findings(found)


def _unread(guard: Guard, index: int) -> Finding:
    """A `partial_scan` finding for a chunk the guard had no time left to read."""
    return Finding(
        guard=guard.name, label=PARTIAL_SCAN, score=1.0, text_index=index, reason="budget"
    )
