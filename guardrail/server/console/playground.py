"""The console's playground: one text (at a stage) or a whole chat request through a
tenant's policy, with everything the guards said on the way.

It runs the code real requests run: `Pipeline.check` for a text (as `guardrail check`
does), and `Flow.check_input` for a chat request (as the proxy does: stages from roles,
a block stops the later stages, rewrites go back into the body). The pipeline is a copy over
the same policy and the same guard objects (loaded classifiers included), with each guard
behind a stopwatch; its decisions reach no metrics, observers or live view (the audit log
line is written, with a request id that starts with `console-`). What a
`Decision` leaves out -- scores under the thresholds, spans -- comes from the request's
`trace` (pipeline.py), which `check` fills before deciding.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from guardrail.conversation import Conversation, parse_openai_chat
from guardrail.errors import LimitExceeded, RequestError
from guardrail.flow import Flow, Outcome
from guardrail.pipeline import Pipeline, StageTrace
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.server.limits import Limits, reject_lone_surrogates
from guardrail.telemetry import unwrap_guard
from guardrail.types import CheckContext, Decision, Finding, Stage
from guardrail.wire import Json


class Stopwatch:
    """A guard, timed per stage into `times` (the pipeline finds `inner` through it)."""

    def __init__(self, guard: Any, times: dict[tuple[str, str], float]) -> None:
        self.name = guard.name
        self.inner = guard
        self._times = times

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The wrapped guard's thresholds."""
        thresholds: Mapping[str, float] = self.inner.default_thresholds
        return thresholds

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """The wrapped guard's scan; its time is added to (stage, guard)."""
        started = time.perf_counter()
        try:
            found: list[Finding] = await self.inner.scan(texts, ctx)
            return found
        finally:
            key = (ctx.stage.value, self.name)
            self._times[key] += (time.perf_counter() - started) * 1000


class Decisions:
    """A `DecisionCounter` that only keeps the decisions (nothing is counted anywhere)."""

    def __init__(self) -> None:
        self.seen: list[Decision] = []

    def record(self, decision: Decision, tenant: str = "", policy: str = "") -> None:
        """Keep one decision."""
        self.seen.append(decision)


def timed_copy(pipeline: Pipeline, times: dict[tuple[str, str], float]) -> Pipeline:
    """A pipeline over the same policy and guard objects, each guard behind a stopwatch."""
    policy = pipeline.policy
    guards = {name: Stopwatch(unwrap_guard(g), times) for name, g in policy.guards.items()}
    return Pipeline(replace(policy, guards=guards))


async def run(
    pipeline: Pipeline, tenant: str, body: Json, limits: Limits, *, scan_system: bool = False
) -> Json:
    """Check `{"text", "stage"}` or `{"request": chat body}`; the page's JSON.

    `limits` and `scan_system` are the tenant proxy's: the playground refuses what the proxy
    would refuse (`LimitExceeded`, lone surrogates) and checks the system prompt when it
    does, so its answer is the one real traffic gets."""
    times: dict[tuple[str, str], float] = defaultdict(float)
    copy = timed_copy(pipeline, times)
    # the audit line of a playground check says so in its request id
    state = copy.new_request(f"console-{uuid.uuid4().hex}", tenant=tenant)
    state.trace = []
    outcome = Outcome()
    if "request" in body:
        conv = _conversation(_mapping(body["request"], "request"), limits, scan_system)
        await Flow(copy, Decisions(), tenant=tenant).check_input(conv, state, outcome)
    else:
        text, stage = _text(body, limits), _stage(body.get("stage", "input"))
        outcome.decisions.append(await copy.check(stage, [text], state))
    stages = [
        _stage_view(copy.policy, trace, decision, times)
        for trace, decision in zip(state.trace, state.decisions, strict=True)
    ]
    return {
        "policy": copy.policy.name,
        "tenant": tenant,
        "action": outcome.action.value,
        "block": outcome.block.model_dump(mode="json") if outcome.block else None,
        "stages": stages,
    }


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"`{what}` must be a JSON object (a chat completions request)")
    return value


def _conversation(request: Json, limits: Limits, scan_system: bool) -> Conversation:
    """The chat request parsed as the proxy parses it, after the same checks."""
    limits.check_counts(request)
    reject_lone_surrogates(request)
    conv = parse_openai_chat(request, scan_system=scan_system)
    limits.check_text(conv)
    return conv


def _text(body: Json, limits: Limits) -> str:
    """The text, held to the limit one message of a proxied request is held to."""
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise RequestError("give a non-empty `text` (or a chat `request`)")
    reject_lone_surrogates(text)
    most, name = min(
        (limits.max_message_chars, "max_message_chars"),
        (limits.max_request_chars, "max_request_chars"),
    )
    if len(text) > most:
        raise LimitExceeded("characters in text", len(text), most, name=name, param="text")
    return text


def _stage(value: Any) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        names = ", ".join(s.value for s in Stage)
        raise RequestError(f"`stage` must be one of {names}") from None


def _stage_view(
    policy: Policy, trace: StageTrace, decision: Decision, times: Mapping[tuple[str, str], float]
) -> Json:
    stage = trace.stage
    guards = dict.fromkeys(r.guard for r in policy.rules_for(stage))
    return {
        "stage": stage.value,
        "texts": list(trace.texts),
        "action": decision.action.value,
        "block": decision.block.model_dump(mode="json") if decision.block else None,
        "rules_fired": list(decision.rules_fired),
        "shadow_rules": sorted({h.rule for h in decision.shadow_hits}),
        "rewritten": list(decision.texts) if decision.texts != trace.texts else None,
        "guard_ms": decision.guard_ms,
        "rules": [_rule_view(rule, trace.findings, decision) for rule in policy.rules_for(stage)],
        "spans": _spans(trace.findings),
        "failures": [f.model_dump(mode="json") for f in trace.failures],
        "guards": [{"guard": g, "ms": round(times.get((stage.value, g), 0.0), 3)} for g in guards],
    }


def _rule_view(rule: CompiledRule, findings: Sequence[Finding], decision: Decision) -> Json:
    """The rule's labels: the highest score of each against the rule's threshold for it."""
    best: dict[str, float] = {}
    for f in findings:
        if f.guard != rule.guard or f.partial:
            continue
        if rule.labels is None or f.label in rule.labels:
            best[f.label] = max(best.get(f.label, 0.0), f.score)
    hits = [h for h in (*decision.hits, *decision.shadow_hits) if h.rule == rule.name]
    labels = [
        {"label": label, "score": round(score, 4), "threshold": rule.threshold_for(label)}
        for label, score in sorted(best.items())
    ]
    return {
        "rule": rule.name,
        "guard": rule.guard,
        "action": rule.action.value,
        "mode": rule.mode.value,
        "fired": bool(hits),
        "failed_closed": any(h.failed_closed for h in hits),
        "labels": labels,
    }


def _spans(findings: Sequence[Finding]) -> list[Json]:
    spans = [
        {
            "text_index": f.text_index,
            "start": s.start,
            "end": s.end,
            "entity": s.entity,
            "guard": f.guard,
        }
        for f in findings
        for s in f.spans
    ]
    return sorted(spans, key=lambda s: (s["text_index"], s["start"], -s["end"]))
