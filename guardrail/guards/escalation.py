"""Escalation band: a classifier decides what it is sure of and asks a judge about the rest.

    guards:
      injection:
        kind: classifier
        bundle: guard-minilm
        head: injection
        escalate:
          to: judge                      # a `judge` guard of the same policy
          between: [0.2, 0.8]            # every label's band (scores inside go to the judge)
          labels: {jailbreak: [0.01, 0.5]}   # a label's own band
          when: [not_english, classifier_timeout]

For each text, a label whose score falls inside its band (low <= score <= high) is asked
about; `when: not_english` asks about every label of a text that `guardrail.language` does
not read as English, and `when: classifier_timeout` about every label of a text the classifier
could not read whole in its time budget. One judge call per text serves all of its labels: a
label asked about gets score 1.0 when the verdict names it and 0.0 otherwise, so the judge's
answer decides under any threshold; except that a label asked about only for a `when` signal
keeps a local score already at/over the guard's threshold (the classifier was sure, the
signal was no doubt about that score: a judge "safe" must not cancel a confident hit).
Scores outside every band are the classifier's, except that a verdict naming another label
of the head sets that label to 1.0 too (the judge read the text; a jailbreak it recognises
is not allowed because only `injection` was in band).

A judge failure (timeout, bad answer, call error) fails the classifier's scan: the rule's fail
mode applies (`on_judge_error: local` keeps the classifier's own scores for that text instead,
recorded as result `judge_error`). A judge that declines (over its call budget, text too
long) leaves the classifier's own scores. Every asked label's finding carries an
`Escalation` record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guardrail.errors import GuardError
from guardrail.guards.base import Guard
from guardrail.guards.judge import JudgeDeclined, JudgeGuard, JudgeResult
from guardrail.language import is_english
from guardrail.types import (
    PARTIAL_SCAN,
    CheckContext,
    Escalation,
    EscalationReason,
    EscalationResult,
    Finding,
)

Band = tuple[float, float]
_DECLINED: dict[str, EscalationResult] = {"too_long": "too_long", "judge_error": "judge_error"}
WHEN = ("not_english", "classifier_timeout")


class EscalateConfig(BaseModel):
    """A classifier's `escalate:` block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str = Field(description="the judge guard (kind: judge) of this policy")
    between: Band | None = Field(default=None, description="[low, high] for every label")
    labels: dict[str, Band] = Field(default_factory=dict, description="a label's own band")
    when: list[str] = Field(default_factory=list, description="not_english, classifier_timeout")
    on_judge_error: Literal["fail", "local"] = Field(
        default="fail",
        description="fail: a judge error fails the guard (the rule's fail mode applies); "
        "local: the classifier's own scores stand for that text",
    )

    @model_validator(mode="after")
    def _check(self) -> EscalateConfig:
        bands = [*([self.between] if self.between else []), *self.labels.values()]
        for low, high in bands:
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"a band is [low, high] with 0 <= low <= high <= 1: {low, high}")
        for signal in self.when:
            if signal not in WHEN:
                raise ValueError(f"when: {signal!r} is not one of {', '.join(WHEN)}")
        if not bands and not self.when:
            raise ValueError("escalate needs `between`, `labels` or `when`")
        return self


class Escalator:
    """Re-decides a classifier's uncertain findings with its judge."""

    def __init__(self, config: EscalateConfig, guard: str, labels: Sequence[str]) -> None:
        unknown = set(config.labels) - set(labels)
        if unknown:
            raise ValueError(f"escalate.labels: guard {guard!r} reports no {sorted(unknown)}")
        self.config = config
        self.guard = guard
        self.labels = tuple(labels)
        self.judge: JudgeGuard | None = None

    def bind(self, guards: Mapping[str, Guard]) -> None:
        """Find the judge guard (ValueError when it is missing or lacks a label)."""
        judge = guards.get(self.config.to)
        if not isinstance(judge, JudgeGuard):
            raise ValueError(f"escalate.to: {self.config.to!r} is not a judge guard")
        missing = [label for label in self.labels if label not in judge.config.labels]
        if missing:
            raise ValueError(f"escalate.to: judge {judge.name!r} has no label {missing}")
        self.judge = judge

    def reserve_s(self) -> float:
        """Time to keep for the judge out of the classifier's budget."""
        judge = self.judge
        return 0.0 if judge is None else judge.config.timeout_ms / 1000 * (judge.config.retries + 1)

    def band(self, label: str) -> Band | None:
        """The band of `label`: its own, else the head's."""
        return self.config.labels.get(label, self.config.between)

    def reasons(self, text: str, group: Sequence[Finding]) -> dict[str, EscalationReason]:
        """Which labels of one text to ask about, and why."""
        cut = any(f.partial and f.reason == "budget" for f in group)
        if cut and "classifier_timeout" in self.config.when:
            return dict.fromkeys(self.labels, "classifier_timeout")
        if "not_english" in self.config.when and not is_english(text):
            return dict.fromkeys(self.labels, "not_english")
        out: dict[str, EscalationReason] = {}
        for f in group:
            band = None if f.partial else self.band(f.label)
            if band is not None and band[0] <= f.score <= band[1]:
                out[f.label] = "band"
        return out

    async def review(
        self,
        texts: Sequence[str],
        findings: Sequence[Finding],
        ctx: CheckContext,
        thresholds: Mapping[str, float],
        shown: Mapping[int, str] | None = None,
    ) -> list[Finding]:
        """The findings, with each uncertain text's labels decided by the judge; `shown`: what
        the judge gets instead of a text (the text with what the guard decoded from it)."""
        groups: dict[int, list[Finding]] = {}
        for f in findings:
            groups.setdefault(f.text_index, []).append(f)
        jobs = [(i, g, self.reasons(texts[i], g)) for i, g in groups.items()]
        shown = shown or {}
        done = await asyncio.gather(
            *(self._one(shown.get(i, texts[i]), g, r, ctx, thresholds) for i, g, r in jobs if r)
        )
        out = [f for _, g, r in jobs if not r for f in g]
        return out + [f for group in done for f in group]

    async def _one(
        self,
        text: str,
        group: Sequence[Finding],
        reasons: Mapping[str, EscalationReason],
        ctx: CheckContext,
        thresholds: Mapping[str, float],
    ) -> list[Finding]:
        assert self.judge is not None  # bound at policy load
        started = time.perf_counter()
        try:
            result: JudgeResult | None = await self.judge.verdict(text, ctx)
            declined = ""
        except JudgeDeclined as exc:
            result, declined = None, exc.reason
        except GuardError:
            if self.config.on_judge_error == "fail":
                raise
            result, declined = None, "judge_error"
        named = "" if result is None else result.verdict.label
        if named in self.labels and named not in reasons:  # the judge named another label of
            reasons = {**reasons, named: next(iter(reasons.values()))}  # the head: it counts
        out: list[Finding] = []
        for f in group:
            if f.label == PARTIAL_SCAN and result is not None and reasons:
                continue  # the judge read the whole text
            reason = reasons.get(f.label)
            if reason is None:
                out.append(f)
                continue
            record = self._record(f, reason, result, declined, thresholds)
            record = record.model_copy(update={"judge_ms": _ms(started, result)})
            score = f.score if result is None else float(result.verdict.label == f.label)
            if reason != "band" and f.score >= thresholds.get(f.label, 0.5):
                score = max(score, f.score)  # a signal, not doubt: the judge only adds hits
            out.append(f.model_copy(update={"score": score, "escalation": record}))
        return out

    def _record(
        self,
        finding: Finding,
        reason: EscalationReason,
        result: JudgeResult | None,
        declined: str,
        thresholds: Mapping[str, float],
    ) -> Escalation:
        judge = self.judge
        assert judge is not None
        declined_result: EscalationResult = _DECLINED.get(declined, "over_budget")
        record = Escalation(
            judge=judge.name,
            model=judge.model,
            prompt_hash=judge.prompt_hash,
            reason=reason,
            band=self.band(finding.label) if reason == "band" else None,
            local_score=finding.score,
            result=declined_result,
        )
        if result is None:
            return record
        positive = result.verdict.label == finding.label
        local = finding.score >= thresholds.get(finding.label, 0.5)
        return record.model_copy(
            update={
                "result": "positive" if positive else "negative",
                "judge_label": result.verdict.label,
                "agrees": positive == local,
                "cached": result.cached,
            }
        )


def _ms(started: float, result: JudgeResult | None) -> float:
    if result is None or result.cached:
        return 0.0
    return round(result.ms, 3)
