"""The request flow for in-process callers: `wrap()` and the litellm plug-in.

An `Edge` makes the same decisions as the proxy because it drives the same `Flow`
(`guardrail/flow.py`) after the proxy's request limits: input stages, the upstream call
(alongside the checks under `parallel_input`), the output stage or the stream's hold-back
window, the restore. Only the edges differ: the caller makes the upstream call itself (with
its own SDK) and turns a block into `ContentBlocked` or a refusal answer.

    edge = Edge.of("policy.yaml")
    call = edge.open(body, CHAT)                # parse; nothing checked yet
    answer = await edge.run(call, send, close)  # input stages, then send(checked body)
    if call.block: ...                          # edge.blocked_error(call) / refusal_answer
    edits = await edge.check_answer(call, answer_dict)   # output stage + restore
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from guardrail.conversation import Conversation, strip_stage_marks
from guardrail.errors import ContentBlocked
from guardrail.flow import Edit, Flow, Outcome, blocked_error
from guardrail.pipeline import Pipeline, RequestState
from guardrail.server.limits import Limits, reject_lone_surrogates
from guardrail.server.metrics import Metrics
from guardrail.streaming import StreamGuard
from guardrail.types import Block
from guardrail.upstream.formats import AnswerFormat
from guardrail.wire import Json, copy_json

__all__ = ["Call", "Edge", "Edit", "Json", "PolicyLike", "apply_edits", "plain"]

PolicyLike = Pipeline | str | os.PathLike[str]
T = TypeVar("T")


@dataclass
class Call:
    """One request on its way through an edge: what was sent, checked and decided."""

    format: AnswerFormat  # the OpenAI format of the request and its answer
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
        return _upstream_body(self.conversation.body)


class Edge:
    """A policy, ready to guard calls that the caller makes itself."""

    def __init__(self, pipeline: Pipeline, *, scan_system: bool = False) -> None:
        self.pipeline = pipeline
        self.scan_system = scan_system
        self.metrics = Metrics()
        self.limits = Limits.from_settings()  # the proxy's defaults (GUARDRAIL_LIMITS_*)
        self.flow = Flow(pipeline, self.metrics)

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
        return self.flow.refusal

    def open(self, body: Json, format: AnswerFormat, *, request_id: str | None = None) -> Call:
        """Parse a request body (of `format`) and apply the proxy's request limits.

        Raises `RequestError` / `LimitExceeded` as the proxy would; runs no guard yet.
        """
        limits = self.limits
        limits.check_counts(body)  # cheap, so first, as in the proxy
        reject_lone_surrogates(body)
        conversation = format.parse_request(body, scan_system=self.scan_system)
        limits.check_text(conversation)
        return Call(format, conversation, self.pipeline.new_request(request_id=request_id))

    async def check_input(self, call: Call) -> None:
        """The input stages, as the proxy runs them; a block lands in `call.block`."""
        await self.flow.check_input(call.conversation, call.state, call.outcome)

    async def run(
        self,
        call: Call,
        send: Callable[[Json], Awaitable[T]],
        discard: Callable[[T], Awaitable[None]],
    ) -> T | None:
        """Input checks, then `send(checked body)`; None when the input was blocked.

        Under `parallel_input` `send` starts at once with the unchecked body; a block cancels
        it and `discard`s what it already returned (`Flow.call`), as in the proxy.
        """

        async def sending(body: Json) -> T:
            return await send(self.flow.with_system_text(_upstream_body(body), call.state))

        return await self.flow.call(call.conversation, call.state, call.outcome, sending, discard)

    async def check_answer(self, call: Call, answer: Json) -> list[Edit]:
        """Output stage and restore on a whole answer (edited in place); a block -> `call.block`.

        Returns the texts that changed, for callers that hold the answer as an object.
        """
        edits = await self.flow.check_output(call.format, answer, call.state, call.outcome)
        return [] if edits is None else edits

    async def check_object(self, call: Call, answer: T, dump: Callable[[T], Json]) -> T | None:
        """`check_answer` on an SDK's answer object (`dump` gives its JSON): the edits are
        written into it (`apply_edits`); None when the output stage blocked (`call.block`)."""
        edits = await self.check_answer(call, dump(answer))
        if call.block is not None:
            return None
        apply_edits(answer, edits)
        return answer

    def guard_stream(self, call: Call, chunks: AsyncIterator[Json]) -> AsyncIterator[Json]:
        """The stream as the proxy sends it on: capped, then through the hold-back window.

        A violation ends the stream with a `content_filter` chunk (carrying the refusal text
        under `on_block: refusal`) and closes `chunks`; it never raises. Past the proxy's
        `max_completion_chars` the stream ends with `finish_reason: length`.
        """
        limit = self.limits.max_completion_chars
        guarded, call.stream_guard = self.flow.guard_stream(call.state, call.format, chunks, limit)
        return guarded

    def blocked_error(self, call: Call) -> ContentBlocked:
        """The exception for a blocked call."""
        if call.block is None:
            raise ValueError("the call was not blocked")
        return blocked_error(call.block)

    def refusal_answer(self, call: Call) -> Json:
        """A whole refusing answer (`finish_reason: content_filter`), as the proxy sends it."""
        return self.flow.refusal_answer(call.format, call.model)

    def refusal_chunks(self, call: Call) -> list[Json]:
        """A refusing answer as stream chunks."""
        return self.flow.refusal_chunks(call.format, call.model)


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


def _upstream_body(body: Json) -> Json:
    """A copy of a checked body as it may go upstream: no `guardrail_stage` marks."""
    return strip_stage_marks(copy_json(body))
