"""The proxy's flow for in-process callers: `wrap()` and the litellm plug-in.

An `Edge` makes the same decisions as the proxy because it runs the proxy's own steps: its
request limits, the input stages through `Proxy.check_input`, a streamed answer through
`cap_completion` and `Proxy.stream_guard` (the hold-back window), a whole answer through the
output stage and then `restore`, exactly as `Proxy._answer` does. Only the edges differ: the
caller makes the upstream call itself (with its own SDK) and turns a block into
`ContentBlocked` or a refusal answer.

    edge = Edge.of("policy.yaml")
    call = edge.open(body, "chat")              # parse; nothing checked yet
    answer = await edge.run(call, send, close)  # input stages, then send(checked body)
    if call.block: ...                          # edge.blocked_error(call) / refusal_answer
    edits = await edge.check_answer(call, answer_dict)   # output stage + restore
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from guardrail.conversation import (
    Conversation,
    WirePath,
    clean_chat_response,
    clean_completion_response,
    parse_openai_chat,
    parse_openai_chat_response,
    parse_openai_completion,
    parse_openai_completion_response,
    strip_stage_marks,
)
from guardrail.errors import ContentBlocked
from guardrail.pipeline import Pipeline, RequestState
from guardrail.server.limits import cap_completion, reject_lone_surrogates
from guardrail.server.metrics import Metrics
from guardrail.server.proxy import Outcome, Proxy
from guardrail.streaming import StreamGuard
from guardrail.types import Block, Stage
from guardrail.upstream import shapes
from guardrail.upstream.base import Kind, UpstreamRequest

Json = dict[str, Any]
Edit = tuple[WirePath, str | None]  # None: a field the output check cannot see, cleared
"""A changed output text: where it lives in the answer and its new value."""
PolicyLike = Pipeline | str | os.PathLike[str]
T = TypeVar("T")

CONTENT_FILTER = "content_filter"


@dataclass
class Call:
    """One request on its way through an edge: what was sent, checked and decided."""

    kind: Kind
    conversation: Conversation  # the request's segments; rewrites land in its body
    state: RequestState
    outcome: Outcome = field(default_factory=Outcome)
    stream_guard: StreamGuard | None = None

    @property
    def model(self) -> str:
        """The model the caller asked for."""
        return str(self.conversation.body.get("model") or "")

    @property
    def stream(self) -> bool:
        """Whether the caller asked for a stream."""
        return self.conversation.body.get("stream") is True

    @property
    def block(self) -> Block | None:
        """The block of an input or output stage, if any (stream blocks: `stream_guard`)."""
        return self.outcome.block

    def upstream_body(self) -> Json:
        """The request as it may go upstream: rewritten texts, no `guardrail_stage` marks."""
        copied: Json = json.loads(json.dumps(self.conversation.body))
        return strip_stage_marks(copied)


class Edge:
    """A policy, ready to guard calls that the caller makes itself."""

    def __init__(self, pipeline: Pipeline, *, scan_system: bool = False) -> None:
        self.pipeline = pipeline
        self.scan_system = scan_system
        self.metrics = Metrics()
        # The proxy's own flow; the upstream is the caller's, so the proxy never calls one.
        self._proxy = Proxy(pipeline, _CallerUpstream(), self.metrics, scan_system=scan_system)

    @classmethod
    def of(cls, policy: PolicyLike | Edge, *, scan_system: bool = False) -> Edge:
        """An edge for a policy path, a loaded `Pipeline`, or an existing edge (returned)."""
        if isinstance(policy, Edge):
            return policy
        pipeline = policy if isinstance(policy, Pipeline) else Pipeline.from_file(Path(policy))
        return cls(pipeline, scan_system=scan_system)

    @property
    def refusal(self) -> str | None:
        """The refusal text under `on_block: refusal` (None: blocks are errors)."""
        options = self.pipeline.policy.options
        return options.refusal_message if options.on_block == "refusal" else None

    @property
    def parallel_input(self) -> bool:
        """Whether input checks run alongside the upstream call (as the proxy decides)."""
        return self._proxy.parallel_input

    def open(self, body: Json, kind: Kind, *, request_id: str | None = None) -> Call:
        """Parse a request body (OpenAI format) and apply the proxy's request limits.

        Raises `RequestError` / `LimitExceeded` as the proxy would; runs no guard yet.
        """
        reject_lone_surrogates(body)
        limits = self._proxy.limits
        limits.check_counts(body)
        if kind == "text":
            conversation = parse_openai_completion(body)
        else:
            conversation = parse_openai_chat(body, scan_system=self.scan_system)
        limits.check_text(conversation)
        return Call(kind, conversation, self.pipeline.new_request(request_id=request_id))

    async def check_input(self, call: Call) -> None:
        """The input stages, as the proxy runs them; a block lands in `call.block`."""
        await self._proxy.check_input(call.conversation, call.state, call.outcome)

    async def run(
        self,
        call: Call,
        send: Callable[[Json], Awaitable[T]],
        discard: Callable[[T], Awaitable[None]],
    ) -> T | None:
        """Input checks, then `send(checked body)`; None when the input was blocked.

        Under `parallel_input` (and only when no input rule may rewrite the text) `send`
        starts at once with the unchecked body; a block cancels it and `discard`s what it
        already returned, so its answer is never released -- as in the proxy.
        """
        if not self.parallel_input:
            await self.check_input(call)
            return None if call.block else await send(call.upstream_body())
        early = asyncio.ensure_future(send(call.upstream_body()))
        try:
            await self.check_input(call)
        except BaseException:
            await _cancel(early, discard)
            raise
        if call.block or call.outcome.rewrote:
            await _cancel(early, discard)
            return None if call.block else await send(call.upstream_body())
        return await early

    async def check_answer(self, call: Call, answer: Json) -> list[Edit]:
        """Output stage and restore on a whole answer (edited in place); a block -> `call.block`.

        Returns the texts that changed, for callers that hold the answer as an object.
        """
        cleared: list[Edit] = []
        if Stage.OUTPUT in self.pipeline.stages:  # as the proxy does (docs/fields.md)
            clean = clean_completion_response if call.kind == "text" else clean_chat_response
            cleared = [(path, None) for path in clean(answer)]
        out = _output(call.kind, answer)
        before = [segment.text for segment in out.segments]
        texts = out.texts(Stage.OUTPUT)
        if Stage.OUTPUT in self.pipeline.stages and texts:
            decision = await self.pipeline.check(Stage.OUTPUT, texts, call.state)
            self.metrics.record(decision, "", self.pipeline.policy.name)
            call.outcome.decisions.append(decision)
            if decision.blocked:
                return []
            out.replace(Stage.OUTPUT, decision.texts)
        restored = [self.pipeline.restore(t, call.state) for t in out.texts(Stage.OUTPUT)]
        out.replace(Stage.OUTPUT, restored)
        after = out.segments
        changed = [(s.path, s.text) for s, old in zip(after, before, strict=True) if s.text != old]
        return [*cleared, *changed]

    def guard_stream(self, call: Call, chunks: AsyncIterator[Json]) -> AsyncIterator[Json]:
        """The stream as the proxy sends it on: capped, then through the hold-back window.

        A violation ends the stream with a `content_filter` chunk (carrying the refusal text
        under `on_block: refusal`) and closes `chunks`; it never raises. Past the proxy's
        `max_completion_chars` the stream ends with `finish_reason: length`.
        """
        limit = self._proxy.limits.max_completion_chars
        capped = cap_completion(chunks, limit, kind=call.kind, request_id=call.state.request_id)
        guard = self._proxy.stream_guard(call.state, call.kind)
        if guard is None:
            return capped
        call.stream_guard = guard
        return self._proxy.guard_chunks(guard, capped, call.kind)

    def blocked_error(self, call: Call) -> ContentBlocked:
        """The exception for a blocked call."""
        block = call.block
        if block is None:
            raise ValueError("the call was not blocked")
        return ContentBlocked(block.rule, block.stage.value, block.message, code=block.code)

    def refusal_answer(self, call: Call) -> Json:
        """A whole refusing answer (`finish_reason: content_filter`), as the proxy sends it."""
        text = self.refusal or ""
        if call.kind == "text":
            return shapes.text_response(text, model=call.model, finish_reason=CONTENT_FILTER)
        return shapes.chat_response(text, model=call.model, finish_reason=CONTENT_FILTER)

    def refusal_chunks(self, call: Call) -> list[Json]:
        """A refusing answer as stream chunks."""
        pieces = [self.refusal or ""]
        if call.kind == "text":
            chunks = shapes.text_chunks(pieces, model=call.model, finish_reason=CONTENT_FILTER)
        else:
            chunks = shapes.chat_chunks(pieces, model=call.model, finish_reason=CONTENT_FILTER)
        return list(chunks)


def plain(value: Any) -> Any:
    """JSON-shaped data from what SDKs accept (pydantic objects, any iterable)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, Iterable):
        return [plain(v) for v in value]
    return value


def apply_edits(answer: Any, edits: Iterable[Edit]) -> None:
    """Write changed texts into an SDK's answer object (dicts, pydantic or litellm objects)."""
    for path, text in edits:
        node = answer
        for key in path[:-1]:
            node = (
                node[key] if isinstance(key, int) or isinstance(node, dict) else getattr(node, key)
            )
        last = path[-1]
        if isinstance(last, int) or isinstance(node, dict):
            node[last] = text
        else:
            setattr(node, last, text)


def _output(kind: Kind, answer: Json) -> Conversation:
    if kind == "text":
        return parse_openai_completion_response(answer)
    return parse_openai_chat_response(answer)


async def _cancel(task: asyncio.Future[T], discard: Callable[[T], Awaitable[None]]) -> None:
    """Cancel an early upstream call; close what it opened if it already finished."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is None:
        await discard(task.result())


class _CallerUpstream:
    """Stands in for the proxy's upstream: in-process, the caller's SDK makes the call."""

    name = "caller"

    async def complete(self, request: UpstreamRequest) -> Json:
        raise RuntimeError("an in-process edge never calls an upstream itself")

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[Json]:
        raise RuntimeError("an in-process edge never calls an upstream itself")
        yield {}  # an async generator, as the protocol expects

    async def embed(self, request: UpstreamRequest) -> Json:
        raise RuntimeError("an in-process edge never calls an upstream itself")

    async def count_tokens(self, request: UpstreamRequest) -> Json:
        raise RuntimeError("an in-process edge never calls an upstream itself")

    async def models(self, api_key: str | None = None) -> list[str]:
        return []

    async def aclose(self) -> None:
        return None
