"""`guardrail.wrap(client, policy=...)`: an OpenAI SDK client, guarded in-process.

    client = guardrail.wrap(openai.OpenAI(), policy="policy.yaml")
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])

`chat.completions.create`, `completions.create` and `responses.create` (streamed or not)
of `openai.OpenAI` and `openai.AsyncOpenAI` (and their subclasses, e.g. the Azure clients)
go through the same flow as the proxy (`integrations/edge.py`): input stages, the upstream
call with the checked (maybe redacted) request, the output stage -- on a stream through the
hold-back window -- and the restore of redacted values. A block raises `ContentBlocked`
(rule, stage, `block_code`, message), or under `options.on_block: refusal` returns the SDK's own
completion (or stream) with the refusal text and `finish_reason="content_filter"`. A stream
that turns violating is cut with a `content_filter` chunk, as the proxy does.

The wrapped client is a copy of `client` (it shares its connection pool) of the same type;
every other attribute passes through unchanged and `with_options()` / `copy()` return
wrapped clients. `responses.create` is translated to a guarded chat call and back, as the
proxy's `/v1/responses` does (`guardrail/client_responses.py`). Not guarded -- use the proxy
where every path must be checked: other endpoints (`beta.*`, `realtime`, raw
`client.post`). `chat.completions.parse` and `.stream`, `responses.parse`, `.stream`,
`.retrieve`, `.input_items`, `.compact` and `.connect`, and the `with_raw_response` /
`with_streaming_response` variants of the guarded calls would look guarded and are not, so
they raise `NotImplementedError`.

The sync client runs the async pipeline on a private loop in a helper thread
(`integrations/loop.py`), so it also works when called from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import openai
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from guardrail import client_responses
from guardrail.integrations.edge import Call, Edge, PolicyLike, plain
from guardrail.integrations.loop import BackgroundLoop, background_loop, wait
from guardrail.upstream import shapes
from guardrail.upstream.formats import CHAT, TEXT, AnswerFormat
from guardrail.wire import Json

__all__ = ["AsyncGuardedStream", "GuardedStream", "wrap"]

ClientT = TypeVar("ClientT", bound="openai.OpenAI | openai.AsyncOpenAI")
ModelT = TypeVar("ModelT", bound=BaseModel)

EDGE_ATTR = "_guardrail_edge"
# the SDK's (answer, chunk) types per answer format
_SDK_TYPES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    CHAT.name: (ChatCompletion, ChatCompletionChunk),
    TEXT.name: (Completion, Completion),
}
_RAW_HEADER = "x-stainless-raw-response"
# `responses` calls that would return text the policy never checked, or look guarded
_RESPONSES_REFUSED = ("parse", "stream", "retrieve", "input_items", "compact", "connect")


def wrap(client: ClientT, policy: PolicyLike | Edge, *, scan_system: bool = False) -> ClientT:
    """A guarded copy of an `openai.OpenAI` / `openai.AsyncOpenAI` client.

    `policy` is a policy file or a loaded `Pipeline` (pass one `Pipeline` to several clients
    to load the policy once). `scan_system` also checks system/developer prompts.
    """
    edge = Edge.of(policy, scan_system=scan_system)
    if isinstance(client, openai.AsyncOpenAI):
        is_async = True
    elif isinstance(client, openai.OpenAI):
        is_async = False
    else:
        raise TypeError(f"wrap() takes openai.OpenAI or AsyncOpenAI, not {type(client).__name__}")
    guarded = client.with_options()  # a new client object sharing the connection pool
    create = _async_create if is_async else _sync_create
    chat: Any = guarded.chat
    completions: Any = guarded.completions
    chat_create = create(chat.completions.create, edge, CHAT)
    guarded_chat_completions = _Resource(
        chat.completions,
        create=chat_create,
        parse=_refuse("chat.completions.parse"),
        stream=_refuse("chat.completions.stream"),
    )
    guarded_completions = _Resource(completions, create=create(completions.create, edge, TEXT))
    guarded_chat = _Resource(chat, completions=guarded_chat_completions)
    guarded_responses = _responses(guarded.responses, chat_create, is_async=is_async)
    for resource in (guarded_chat, guarded_chat_completions, guarded_completions):
        resource.wrap_variants()
    guarded_responses.wrap_variants()
    attrs = vars(guarded)  # instance attributes shadow the SDK's cached properties
    attrs["chat"] = guarded_chat
    attrs["completions"] = guarded_completions
    attrs["responses"] = guarded_responses
    attrs["copy"] = attrs["with_options"] = partial(_rewrap, client, edge)
    attrs[EDGE_ATTR] = edge
    return cast(ClientT, guarded)


def _responses(responses: Any, chat_create: Any, *, is_async: bool) -> _Resource:
    """`responses`: `create` runs through the guarded chat call (`client_responses`); the
    calls that read text guardrail never checked (stored responses, their items) refuse."""
    create = (client_responses.async_create if is_async else client_responses.sync_create)(
        chat_create
    )
    refused = {name: _refuse(f"responses.{name}") for name in _RESPONSES_REFUSED}
    return _Resource(responses, create=create, **refused)


def _rewrap(client: ClientT, edge: Edge, **options: Any) -> ClientT:
    return wrap(cast(ClientT, client.copy(**options)), edge)


class _Resource:
    """A resource of the wrapped client: its own guarded methods, the rest passes through."""

    def __init__(self, inner: Any, **own: Any) -> None:
        self._inner = inner
        vars(self).update(own)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def wrap_variants(self) -> None:
        """`with_raw_response` / `with_streaming_response` built on this guarded resource."""
        for name in ("with_raw_response", "with_streaming_response"):
            variant = getattr(self._inner, name, None)
            if variant is not None:
                vars(self)[name] = type(variant)(self)

    def __repr__(self) -> str:
        return f"<guarded {self._inner!r}>"


def _refuse(name: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{name} is not guarded by guardrail.wrap(); use .create(), or the proxy"
        )

    return refused


# ------------------------------------------------------------------------ requests


class _Request:
    """The caller's keyword arguments and the OpenAI body that the policy checks."""

    def __init__(self, kwargs: Mapping[str, Any], format: AnswerFormat) -> None:
        self.format = format
        self.kwargs = {k: v for k, v in kwargs.items() if not _unset(v)}
        headers = self.kwargs.get("extra_headers")
        if isinstance(headers, Mapping) and any(str(h).lower() == _RAW_HEADER for h in headers):
            _refuse("with_raw_response / with_streaming_response")()
        self.body: Json = {}
        extra = self._extra_body()
        for key in ("model", "stream", *format.text_keys):
            source = extra if key in extra else self.kwargs  # extra_body wins, as in the SDK
            if key in source:
                self.body[key] = plain(_drop_unset(source[key]))
        # read-only, for output guards (json_schema `from_request`); never written back
        requested = (extra if "response_format" in extra else self.kwargs).get("response_format")
        if isinstance(requested, Mapping):
            self.body["response_format"] = plain(_drop_unset(requested))

    def _extra_body(self) -> dict[str, Any]:
        extra = self.kwargs.get("extra_body")
        return dict(extra) if isinstance(extra, Mapping) else {}

    def kwargs_for(self, checked: Json) -> dict[str, Any]:
        """The caller's arguments with the checked texts in place of the originals."""
        kwargs = dict(self.kwargs)
        extra = self._extra_body()
        for key in self.format.text_keys:
            if key in extra:
                extra[key] = checked[key]
            elif key in checked:
                kwargs[key] = checked[key]
        if extra:
            kwargs["extra_body"] = extra
        return kwargs


def _unset(value: Any) -> bool:
    return isinstance(value, openai.NotGiven | openai.Omit)


def _drop_unset(value: Any) -> Any:
    """Message dicts may carry the SDK's `omit` sentinels; they are not JSON."""
    if isinstance(value, Mapping):
        return {k: _drop_unset(v) for k, v in value.items() if not _unset(v)}
    if isinstance(value, list | tuple):
        return [_drop_unset(v) for v in value]
    return value


def _models(format: AnswerFormat) -> tuple[type[BaseModel], type[BaseModel]]:
    """The SDK's (answer, chunk) types for an answer format."""
    return _SDK_TYPES[format.name]


def _dump(model: Any) -> Json:
    data: Json = model.model_dump(mode="json", exclude_unset=True)
    return data


def _refusal(edge: Edge, call: Call) -> Any:
    """A blocked, non-streamed call: raise, or the SDK's refusal completion."""
    if edge.refusal is None:
        raise edge.blocked_error(call)
    return _models(call.format)[0].model_validate(edge.refusal_answer(call))


# ---------------------------------------------------------------------- sync client


def _sync_create(inner: Callable[..., Any], edge: Edge, format: AnswerFormat) -> Callable[..., Any]:
    def create(**kwargs: Any) -> Any:
        request = _Request(kwargs, format)
        call = edge.open(request.body, format)
        loop = background_loop()
        answer = _sync_send(loop, edge, call, lambda body: inner(**request.kwargs_for(body)))
        if call.block is not None:
            if call.stream and edge.refusal is not None:
                return GuardedStream(iter(edge.refusal_chunks(call)), _models(format)[1])
            return _refusal(edge, call)
        if call.stream:
            return _sync_stream(loop, edge, call, answer)
        checked = loop.run(edge.check_object(call, answer, _dump))
        return _refusal(edge, call) if checked is None else checked

    return create


def _sync_send(loop: BackgroundLoop, edge: Edge, call: Call, send: Callable[[Json], Any]) -> Any:
    """`Edge.run` (the flow) on the loop, while each upstream call it asks for is made here,
    in the caller's thread, as an unwrapped sync client makes it; under `parallel_input` the
    checks run on the loop meanwhile. The flow's cancel becomes: the answer is closed here."""
    jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()

    async def post(body: Json) -> Any:
        handoff: Future[Any] = Future()
        jobs.put(partial(_fill, handoff, send, body))
        return await asyncio.wrap_future(handoff)  # cancelling this cancels `handoff`

    async def discard(answer: Any) -> None:
        jobs.put(partial(_close, answer))

    flow = loop.submit(edge.run(call, post, discard))
    flow.add_done_callback(lambda _: jobs.put(None))
    try:
        while (job := jobs.get()) is not None:  # at most two calls and their closes
            job()
    except BaseException:
        flow.cancel()
        raise
    return wait(flow)


def _fill(handoff: Future[Any], send: Callable[[Json], Any], body: Json) -> None:
    """Make one upstream call for the flow; an answer it no longer wants is closed."""
    if handoff.cancelled():
        return
    try:
        answer = send(body)
    except Exception as exc:
        with suppress(InvalidStateError):  # cancelled meanwhile: the flow ignores it
            handoff.set_exception(exc)
        return
    try:
        handoff.set_result(answer)
    except InvalidStateError:  # cancelled meanwhile (a block): never released
        _close(answer)


def _close(answer: Any) -> None:
    close = getattr(answer, "close", None)
    if callable(close):
        close()


def _sync_stream(loop: BackgroundLoop, edge: Edge, call: Call, stream: Any) -> Any:
    puller = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardrail-stream")
    guarded = edge.guard_stream(call, _pull(stream, puller))
    return GuardedStream(loop.iterate(guarded), _models(call.format)[1], stream.response)


async def _pull(stream: Any, puller: ThreadPoolExecutor) -> AsyncIterator[Json]:
    """A sync SDK stream as async chunk dicts; the blocking reads run on `puller`."""
    loop = asyncio.get_running_loop()
    iterator = iter(stream)
    try:
        while (chunk := await loop.run_in_executor(puller, next, iterator, None)) is not None:
            yield _dump(chunk)
    finally:
        stream.close()
        puller.shutdown(wait=False)


class GuardedStream(Generic[ModelT]):
    """A guarded stream with the SDK stream's interface: iterate, `with`, `close()`."""

    def __init__(self, chunks: Iterator[Json], model: type[ModelT], response: Any = None) -> None:
        self._chunks = chunks
        self._model = model
        self.response = response  # the upstream HTTP response (None for a refusal)

    def __iter__(self) -> Iterator[ModelT]:
        return self

    def __next__(self) -> ModelT:
        return self._model.model_construct(**next(self._chunks))

    def __enter__(self) -> GuardedStream[ModelT]:
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
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


# --------------------------------------------------------------------- async client


def _async_create(
    inner: Callable[..., Awaitable[Any]], edge: Edge, format: AnswerFormat
) -> Callable[..., Awaitable[Any]]:
    async def create(**kwargs: Any) -> Any:
        request = _Request(kwargs, format)
        call = edge.open(request.body, format)
        answer = await edge.run(call, lambda body: inner(**request.kwargs_for(body)), _aclose)
        if call.block is not None:
            if call.stream and edge.refusal is not None:
                refusal = shapes.as_stream(edge.refusal_chunks(call))
                return AsyncGuardedStream(refusal, _models(format)[1])
            return _refusal(edge, call)
        if call.stream:
            guarded = edge.guard_stream(call, _apull(answer))
            response = getattr(answer, "response", None)
            return AsyncGuardedStream(guarded, _models(format)[1], response)
        checked = await edge.check_object(call, answer, _dump)
        return _refusal(edge, call) if checked is None else checked

    return create


async def _aclose(answer: Any) -> None:
    close = getattr(answer, "close", None)
    if callable(close):
        result = close()
        if asyncio.iscoroutine(result):
            await result


async def _apull(stream: Any) -> AsyncIterator[Json]:
    try:
        async for chunk in stream:
            yield _dump(chunk)
    finally:
        await stream.close()


class AsyncGuardedStream(Generic[ModelT]):
    """A guarded async stream with the SDK's interface: `async for`, `async with`, `close()`."""

    def __init__(
        self, chunks: AsyncIterator[Json], model: type[ModelT], response: Any = None
    ) -> None:
        self._chunks = chunks
        self._model = model
        self.response = response

    def __aiter__(self) -> AsyncIterator[ModelT]:
        return self

    async def __anext__(self) -> ModelT:
        return self._model.model_construct(**(await anext(self._chunks)))

    async def __aenter__(self) -> AsyncGuardedStream[ModelT]:
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
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()

    async def aclose(self) -> None:
        """Alias of `close()`, as on the SDK's stream."""
        await self.close()
