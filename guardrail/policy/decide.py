"""`decide()`: findings + rules -> Decision. Pure: no I/O, no await, no logging.

Merging is deterministic: block beats redact/rewrite beats warn beats allow; the first
blocking rule in policy order names the block. Shadow rules are recorded, never enforced.
A guard that failed makes its rules fail open (recorded as unchecked) or closed (block).
A guard that read a text only in part (a `partial_scan` finding) is never taken as having
passed it: what it did read still fires rules, a `budget` one (out of time) applies the rule's
fail mode as a failure does, and every one is recorded in `Decision.partial`.
"""

from __future__ import annotations

from collections.abc import Sequence

from guardrail.errors import GUARD_UNAVAILABLE
from guardrail.policy.compile import CompiledRule
from guardrail.policy.redact import Edit, Vault, apply_edits
from guardrail.types import (
    PARTIAL_SCAN,
    SEVERITY,
    Action,
    Block,
    Decision,
    FailMode,
    Finding,
    GuardFailure,
    Mode,
    RuleHit,
    Span,
    Stage,
)


def _failure_hits(rule: CompiledRule, reason: str) -> list[RuleHit]:
    if rule.fail is FailMode.OPEN:
        return []
    return [
        RuleHit(
            rule=rule.name,
            guard=rule.guard,
            action=Action.BLOCK,
            mode=rule.mode,
            label=reason,
            score=1.0,
            failed_closed=True,
        )
    ]


def _finding_hits(rule: CompiledRule, findings: Sequence[Finding]) -> list[RuleHit]:
    return [
        RuleHit(
            rule=rule.name,
            guard=rule.guard,
            action=rule.action,
            mode=rule.mode,
            label=f.label,
            score=f.score,
            text_index=f.text_index,
            escalation=f.escalation,
            reading=f.reading,
        )
        for f in findings
        if f.guard == rule.guard and rule.matches(f.label, f.score)
    ]


def _block(rules: Sequence[CompiledRule], hits: Sequence[RuleHit], stage: Stage) -> Block | None:
    blocking = [h for h in hits if h.action is Action.BLOCK]
    if not blocking:
        return None
    first = blocking[0]  # hits are collected in policy order
    rule = next(r for r in rules if r.name == first.rule)
    if first.failed_closed and first.label == PARTIAL_SCAN:
        message = (
            f"Guard {rule.guard!r} could not read the whole text in its time budget "
            f"(rule {rule.name!r})."
        )
        return Block(rule=rule.name, stage=stage, code=GUARD_UNAVAILABLE, message=message)
    if first.failed_closed:
        message = f"Guard {rule.guard!r} could not check the text (rule {rule.name!r})."
        return Block(rule=rule.name, stage=stage, code=GUARD_UNAVAILABLE, message=message)
    return Block(rule=rule.name, stage=stage, code=rule.code, message=rule.message)


def _edits(
    rules: Sequence[CompiledRule], findings: Sequence[Finding], texts: Sequence[str]
) -> dict[int, list[Edit]]:
    """Span edits of the enforced redact/rewrite rules that fired, per text index."""
    edits: dict[int, list[Edit]] = {}
    for rule in rules:
        if rule.mode is not Mode.ENFORCE or rule.action not in (Action.REDACT, Action.REWRITE):
            continue
        for f in findings:
            if f.guard != rule.guard or not rule.matches(f.label, f.score):
                continue
            # A finding without spans (e.g. a classifier) covers the whole text.
            spans = f.spans or (Span(start=0, end=len(texts[f.text_index]), entity=f.label),)
            edits.setdefault(f.text_index, []).extend(
                Edit(span=s, redact=rule.action is Action.REDACT, restore=rule.restore)
                for s in spans
            )
    return edits


def decide(
    rules: Sequence[CompiledRule],
    stage: Stage,
    texts: Sequence[str],
    findings: Sequence[Finding],
    failures: Sequence[GuardFailure],
    vault: Vault,
) -> tuple[Decision, Vault]:
    """Turn one stage's findings into a Decision and the request's updated vault."""
    applicable = [r for r in rules if stage in r.stages]
    failed = {f.guard: f for f in failures}
    partial = [f for f in findings if f.partial and any(r.guard == f.guard for r in applicable)]
    findings = [f for f in findings if not f.partial]
    guarded = {r.guard for r in applicable}
    escalated = [f for f in findings if f.escalation is not None and f.guard in guarded]
    over_budget = {f.guard for f in partial if f.reason == "budget"}
    all_hits: list[RuleHit] = []
    unchecked: list[GuardFailure] = []
    for rule in applicable:
        failure = failed.get(rule.guard)
        if failure is not None:
            all_hits += _failure_hits(rule, failure.reason)
            if rule.fail is FailMode.OPEN and failure not in unchecked:
                unchecked.append(failure)
            continue
        all_hits += _finding_hits(rule, findings)
        if rule.guard in over_budget:  # after its own hits: what it did find names the block
            all_hits += _failure_hits(rule, PARTIAL_SCAN)
    hits = [h for h in all_hits if h.mode is Mode.ENFORCE]
    shadow = [h for h in all_hits if h.mode is Mode.SHADOW]
    action = max((h.action for h in hits), key=SEVERITY.__getitem__, default=Action.ALLOW)
    block = _block(applicable, hits, stage)
    new_texts = list(texts)
    if block is None:
        checked = [r for r in applicable if r.guard not in failed]
        for index, edits in sorted(_edits(checked, findings, texts).items()):
            new_texts[index], vault = apply_edits(new_texts[index], edits, vault)
    decision = Decision(
        stage=stage,
        action=action,
        texts=tuple(new_texts),
        hits=tuple(hits),
        shadow_hits=tuple(shadow),
        block=block,
        unchecked=tuple(unchecked),
        partial=tuple(partial),
        escalations=tuple(escalated),
    )
    return decision, vault
