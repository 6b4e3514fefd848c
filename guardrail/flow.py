"""The request flow, transport-free: the one copy every edge drives (DESIGN.md §1).

    input stages (input, retrieved, tool) -> upstream call (alone, or alongside the input
    checks under `parallel_input`: cancelled on a block, re-sent after a rewrite) -> output
    stage on the whole answer, or the stream's hold-back window -> restore -> `Outcome`

The edges translate their world into it and back: the proxy (`server/proxy.py`: HTTP in,
an upstream client out), the in-process wrapper (`client.py`, through `integrations/edge.py`:
the caller's own SDK call) and the litellm plug-in (`integrations/litellm.py`: litellm's hooks).
This module knows nothing about HTTP, the openai SDK or litellm: requests and answers are
OpenAI-format JSON (a `Conversation` and dicts), the upstream is a callable, a block is a
value in the `Outcome` (each edge decides what it becomes: an error, an exception, a refusal).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from guardrail.conversation import Conversation, WirePath, forget_mirrors
from guardrail.errors import ContentBlocked
from guardrail.guards.base import AddsSystemText
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline, RequestState
from guardrail.stream_fields import FieldGuard
from guardrail.stream_limit import cap_completion
from guardrail.streaming import CONTENT_FILTER, Holdback, StreamGuard
from guardrail.types import SEVERITY, Action, Block, Decision, Mode, Stage
from guardrail.upstream.formats import AnswerFormat
from guardrail.wire import Json, copy_json

log = get_logger("guardrail.flow")

Chunks = AsyncIterator[Json]
Edit = tuple[WirePath, str | None]  # None: a field the output check cannot see, cleared
"""A changed output text: where it lives in the answer and its new value."""
T = TypeVar("T")

INPUT_STAGES = (Stage.INPUT, Stage.RETRIEVED, Stage.TOOL)


@dataclass
class Outcome:
    """The stage decisions of one request so far."""

    decisions: list[Decision] = field(default_factory=list)
    rewrote: bool = False  # an input stage changed the text

    @property
    def block(self) -> Block | None:
        """The first block, if any."""
        return next((d.block for d in self.decisions if d.block is not None), None)

    @property
    def action(self) -> Action:
        """The most severe action of all stages."""
        actions = [d.action for d in self.decisions] or [Action.ALLOW]
        return max(actions, key=lambda a: SEVERITY[a])

    def headers(self) -> dict[str, str]:
        """`x-guardrail-*` response headers (no text, only names and numbers)."""
        rules = dict.fromkeys(r for d in self.decisions for r in d.rules_fired)
        shadow = dict.fromkeys(h.rule for d in self.decisions for h in d.shadow_hits)
        guard_ms = sum(d.guard_ms for d in self.decisions)
        return {
            "x-guardrail-decision": self.action.value,
            "x-guardrail-rules": ",".join(rules),
            "x-guardrail-shadow-rules": ",".join(shadow),  # would have fired; not enforced
            "x-guardrail-guard-ms": f"{guard_ms:.2f}",
        }


class DecisionCounter(Protocol):
    """Where a flow counts its decisions (guardrail/server/metrics.py `Metrics` in practice;
    the flow needs nothing else of it)."""

    def record(self, decision: Decision, tenant: str = "", policy: str = "") -> None:
        """Count one stage decision."""
        ...


class Flow:
    """One policy's flow between a caller and an upstream; the edges drive it."""

    def __init__(self, pipeline: Pipeline, metrics: DecisionCounter, *, tenant: str = "") -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.tenant = tenant  # "" without proxy keys; a metric label
        self.options = pipeline.policy.options
        self.parallel_input = self.options.parallel_input and not _input_rewrites(pipeline)
        # guards that add a line to the system prompt sent upstream (canary `inject`)
        # (the server times each guard in a telemetry.TimedGuard: look at the guard inside)
        guards = [getattr(g, "inner", g) for g in pipeline.policy.guards.values()]
        self._system_texts = [g for g in guards if isinstance(g, AddsSystemText)]
        if self.options.parallel_input and not self.parallel_input:
            # the upstream would see the text before it is redacted: run the checks first
            log.warning("server.parallel_input_disabled", reason="input redact/rewrite rules")

    @property
    def refusal(self) -> str | None:
        """The refusal text under `on_block: refusal` (None: blocks are errors)."""
        return self.options.refusal_message if self.options.on_block == "refusal" else None

    def _record(self, decision: Decision, outcome: Outcome | None = None) -> Decision:
        self.metrics.record(decision, self.tenant, self.pipeline.policy.name)
        if outcome is not None:
            outcome.decisions.append(decision)
        return decision

    # ----------------------------------------------------------------- input stages

    async def check_input(self, conv: Conversation, state: RequestState, outcome: Outcome) -> None:
        """Run the input stages in order; rewrites go back into the conversation's body."""
        state.response_format = requested_format(conv.body)  # for output guards (json_schema)
        for stage in INPUT_STAGES:
            texts = conv.texts(stage)
            if stage not in self.pipeline.stages or not texts:
                continue
            decision = self._record(await self.pipeline.check(stage, texts, state), outcome)
            if decision.blocked:
                return
            outcome.rewrote |= conv.replace(stage, decision.texts)

    async def call(
        self,
        conv: Conversation,
        state: RequestState,
        outcome: Outcome,
        send: Callable[[Json], Awaitable[T]],
        discard: Callable[[T], Awaitable[None]],
    ) -> T | None:
        """Input checks, then `send(checked body)` -- or both at once under `parallel_input`;
        None when the input was blocked (`outcome.block`).

        `send` gets the conversation's body (a copy when sent early) and must not keep it.
        In parallel, a block cancels the early call and `discard`s what it already returned,
        so its answer is never released; a rewrite (not expected: redacting policies turn
        parallelism off) re-sends the call with the checked body.
        """
        if not self.parallel_input:
            await self.check_input(conv, state, outcome)
            return None if outcome.block else await send(conv.body)
        early = asyncio.ensure_future(send(copy_json(conv.body)))
        try:
            await self.check_input(conv, state, outcome)
        except BaseException:
            await _cancel(early, discard)
            raise
        if outcome.block or outcome.rewrote:
            await _cancel(early, discard)
            return None if outcome.block else await send(conv.body)
        return await early

    def with_system_text(self, body: Json, state: RequestState) -> Json:
        """The OpenAI-format body an edge sends upstream, with the guards' system lines for
        this request (canary `inject`) as a new first system message (a copy; as it is when
        no guard adds one, or for a body without `messages`). Edges call it on the body in
        the upstream's format, after any translation from the client's."""
        lines = [t for g in self._system_texts if (t := g.system_text(state.key))]
        return with_system_message(body, "\n".join(lines)) if lines else body

    # ---------------------------------------------------------------- output stage

    async def check_output(
        self, format: AnswerFormat, answer: Json, state: RequestState, outcome: Outcome
    ) -> list[Edit] | None:
        """Output stage and restore on a whole OpenAI-format answer, edited in place.

        Returns what changed (for edges that hold the answer as an object, not a dict), or
        None when the output stage blocked (`outcome.block`).
        """
        checks_output = Stage.OUTPUT in self.pipeline.stages
        cleared: list[Edit] = []
        if checks_output:  # what the check cannot see does not reach the client
            cleared = [(path, None) for path in format.clean_answer(answer)]
        out = format.parse_answer(answer)
        before = list(out.segments)
        texts = out.texts(Stage.OUTPUT)
        if checks_output and texts:
            decision = self._record(await self.pipeline.check(Stage.OUTPUT, texts, state), outcome)
            if decision.blocked:
                return None
            out.replace(Stage.OUTPUT, decision.texts)
            cleared += [(path, None) for path in forget_mirrors(answer, before, out)]
        restored = [self.pipeline.restore(t, state) for t in out.texts(Stage.OUTPUT)]
        out.replace(Stage.OUTPUT, restored)
        after = zip(out.segments, before, strict=True)
        changed = [(s.path, s.text) for s, old in after if s.text != old.text]
        return [*cleared, *changed]

    # ----------------------------------------------------------------------- streams

    def guard_stream(
        self, state: RequestState, format: AnswerFormat, chunks: Chunks, max_chars: int
    ) -> tuple[Chunks, StreamGuard | None]:
        """A streamed answer as it may reach the client: capped at `max_chars`, side fields
        checked, text through the hold-back window and restored. A violation ends it with a
        `content_filter` chunk (the guard, returned too, then holds the block)."""
        capped = cap_completion(chunks, max_chars, format=format, request_id=state.request_id)
        guard = self.stream_guard(state, format)
        if guard is None:
            return capped, None
        if Stage.OUTPUT in self.pipeline.stages:
            # refusal, reasoning, transcripts, tool names: checked too; unknown keys dropped
            fields = FieldGuard(
                guard.make_holdback, refusal=guard.refusal, format=format, on_block=guard.adopt
            )
            capped = fields.guard(capped)
        return guard.guard(capped), guard

    def stream_guard(self, state: RequestState, format: AnswerFormat) -> StreamGuard | None:
        """The hold-back guard for a streamed answer (None: nothing to check or restore)."""
        checks_output = Stage.OUTPUT in self.pipeline.stages
        if not checks_output and state.vault.max_placeholder_len == 0:
            return None

        async def check(text: str) -> Decision:
            return self._record(await self.pipeline.check(Stage.OUTPUT, [text], state))

        def make() -> Holdback:
            return Holdback(
                check if checks_output else None,
                lambda text: self.pipeline.restore(text, state),
                window=self.options.stream_window_chars,
                placeholder_len=lambda: state.vault.max_placeholder_len,
            )

        return StreamGuard(make, format=format, refusal=self.refusal)

    # ------------------------------------------------------------------------ blocks

    def refusal_answer(self, format: AnswerFormat, model: str) -> Json:
        """A whole refusing answer (`finish_reason: content_filter`) in `format`."""
        return format.answer(self.refusal or "", model=model, finish_reason=CONTENT_FILTER)

    def refusal_chunks(self, format: AnswerFormat, model: str) -> list[Json]:
        """A refusing answer as stream chunks of `format`."""
        pieces = [self.refusal or ""]
        return list(format.chunks(pieces, model=model, finish_reason=CONTENT_FILTER))


def with_system_message(body: Json, text: str) -> Json:
    """A copy of an OpenAI chat body with `text` as a first system message (others: as is).
    Inserted, not merged into the app's own system message, so that the input checks' paths
    into the body, and the app's prompt, stay as they were."""
    if not isinstance(body.get("messages"), list):
        return body
    copied = copy_json(body)
    copied["messages"].insert(0, {"role": "system", "content": text})
    return copied


def requested_format(body: Json) -> dict[str, Any] | None:
    """The body's `response_format` object, if it has one (OpenAI chat requests)."""
    value = body.get("response_format")
    return value if isinstance(value, dict) else None


def blocked_error(block: Block) -> ContentBlocked:
    """The exception (or error body) for a block: rule, stage, code and message."""
    return ContentBlocked(block.rule, block.stage.value, block.message, code=block.code)


def _input_rewrites(pipeline: Pipeline) -> bool:
    """Whether an enforced input-side rule may change the text (redact / rewrite)."""
    return any(
        rule.action in (Action.REDACT, Action.REWRITE)
        and rule.mode is Mode.ENFORCE
        and rule.stages & set(INPUT_STAGES)
        for rule in pipeline.policy.rules
    )


async def _cancel(task: asyncio.Future[T], discard: Callable[[T], Awaitable[None]]) -> None:
    """Cancel an early upstream call; close what it opened if it already finished."""
    task.cancel()
    await asyncio.wait([task])  # does not raise the task's error; our own cancel still works
    if not task.cancelled() and task.exception() is None:
        await discard(task.result())
