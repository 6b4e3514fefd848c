"""`responses.create` on a `guardrail.wrap()`-ed client: the Responses API, guarded in-process.

It runs as the proxy's `/v1/responses` does: the request is read in the Responses format
(what guardrail cannot check -- images, files, reasoning and other item types, built-in
tools, `previous_response_id` -- raises `UncheckableInput`, never goes out), translated to
a chat completion request, sent through the wrapper's guarded `chat.completions.create`
(input stages, upstream, output stage or stream hold-back, restore), and its answer or
stream translated back into the SDK's own `Response` object or `ResponseStreamEvent`s. So
the upstream is called on `chat.completions`, not on `responses`: a model that only the
Responses API serves is not reachable through the wrapper.

A block raises `ContentBlocked` (or, under `on_block: refusal`, is a response that is
`incomplete` with reason `content_filter`), as for chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import openai
from openai._models import construct_type
from openai.types.responses import Response, ResponseStreamEvent

from guardrail.integrations.edge import plain
from guardrail.server.responses_format import StreamEncoder, to_response
from guardrail.server.responses_request import parse_responses, to_chat_request
from guardrail.wire import Json

# the SDK's per-call options: they go to the chat call as they are, never into the body
_OPTIONS = ("extra_headers", "extra_query", "timeout")


def _split(kwargs: dict[str, Any]) -> tuple[Json, dict[str, Any]]:
    """(the Responses body, the SDK options). `extra_body` is part of the body, so that what
    it carries is checked too."""
    given = {k: v for k, v in kwargs.items() if not isinstance(v, openai.NotGiven | openai.Omit)}
    options = {k: given.pop(k) for k in _OPTIONS if k in given}
    extra = given.pop("extra_body", None) or {}
    body: Json = plain({**given, **extra})
    return body, options


def _chat_kwargs(kwargs: dict[str, Any]) -> tuple[Json, dict[str, Any], bool]:
    """(the Responses body, the chat call's arguments, whether it streams)."""
    body, options = _split(kwargs)
    parse_responses(body)  # refuses what cannot be checked before anything is sent
    chat = to_chat_request(body)
    return body, {**chat, **options}, chat.get("stream") is True


def _response(answer: Any, body: Json) -> Response:
    data = to_response(answer.model_dump(mode="json", warnings=False), body)
    response: Response = _construct(Response, data)
    return response


def _construct(type_: Any, value: Json) -> Any:
    """The SDK's own model for a JSON value, built as the SDK builds answers it receives."""
    return construct_type(type_=type_, value=value)


def sync_create(chat_create: Callable[..., Any]) -> Callable[..., Any]:
    """`responses.create` on top of the wrapper's guarded (sync) `chat.completions.create`."""

    def create(**kwargs: Any) -> Any:
        body, chat, stream = _chat_kwargs(kwargs)
        answer = chat_create(**chat)
        return EventStream(answer, body) if stream else _response(answer, body)

    return create


def async_create(chat_create: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`responses.create` on top of the wrapper's guarded async `chat.completions.create`."""

    async def create(**kwargs: Any) -> Any:
        body, chat, stream = _chat_kwargs(kwargs)
        answer = await chat_create(**chat)
        return AsyncEventStream(answer, body) if stream else _response(answer, body)

    return create


def _chunk(chunk: Any) -> Json:
    data: Json = chunk.model_dump(mode="json", warnings=False)
    return data


class EventStream:
    """A guarded chat stream as Responses events, with the SDK stream's interface."""

    def __init__(self, chunks: Any, body: Json) -> None:
        self._chunks = chunks
        self.response = getattr(chunks, "response", None)
        self._events = self._generate(StreamEncoder(body))

    def _generate(self, encoder: StreamEncoder) -> Iterator[Any]:
        for chunk in self._chunks:
            for _, data in encoder.feed(_chunk(chunk)):
                yield _construct(ResponseStreamEvent, data)
        for _, data in encoder.finish():
            yield _construct(ResponseStreamEvent, data)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop early: closes the upstream response."""
        self._chunks.close()


class AsyncEventStream:
    """A guarded async chat stream as Responses events: `async for`, `async with`, `close()`."""

    def __init__(self, chunks: Any, body: Json) -> None:
        self._chunks = chunks
        self.response = getattr(chunks, "response", None)
        self._events = self._generate(StreamEncoder(body))

    async def _generate(self, encoder: StreamEncoder) -> AsyncIterator[Any]:
        async for chunk in self._chunks:
            for _, data in encoder.feed(_chunk(chunk)):
                yield _construct(ResponseStreamEvent, data)
        for _, data in encoder.finish():
            yield _construct(ResponseStreamEvent, data)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await anext(self._events)

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop early: closes the upstream response."""
        await self._chunks.close()
