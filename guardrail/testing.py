"""Test doubles we use ourselves and ship: a scriptable fake upstream and a server runner.

`FakeUpstream` is a real ASGI app (an OpenAI-compatible server: chat completions, legacy
completions, embeddings, models; plain JSON and SSE). It records every request it receives
-- so a test can assert what the model provider saw, e.g. that redacted PII never arrived --
and answers either by echoing the last user message or from a queue of scripted `Reply`s
(embeddings: `FakeUpstream.vector` of each input).

`DelayedGuard` wraps a real guard and answers later: it makes the timing of guard checks
explicit (e.g. that an upstream call is already in flight when an input block lands).

`serve_app(app)` runs any ASGI app with uvicorn on 127.0.0.1 in a background thread, on a
port the OS picks, and stops it on exit:

    fake = FakeUpstream()
    with serve_app(fake.app) as upstream, serve_app(create_app(pipeline,
            OpenAIHttpUpstream(upstream.url + "/v1"))) as proxy:
        fake.script(Reply(chunks=list("split into one-character chunks")))
        openai.OpenAI(base_url=proxy.url + "/v1", api_key="x").chat.completions.create(...)
        assert fake.requests[-1].body["messages"] ...
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from guardrail.guards.base import Guard
from guardrail.pipeline import Pipeline, RequestState
from guardrail.server.anthropic_format import StreamEncoder, to_anthropic_response
from guardrail.server.sse import named_event
from guardrail.types import CheckContext, Decision, Finding, Span
from guardrail.upstream import shapes
from guardrail.upstream.formats import CHAT, TEXT, AnswerFormat
from guardrail.wire import Json

__all__ = [
    "DelayedGuard",
    "FakeUpstream",
    "Received",
    "Reply",
    "ServerThread",
    "StaticGuard",
    "capture_decisions",
    "serve_app",
    "wait_until",
]


@dataclass(frozen=True)
class Reply:
    """What the fake upstream answers to one request.

    `text` is the whole answer; `chunks` (for streams) says exactly how it is split (default:
    `text` in pieces of `chunk_chars`). `status` >= 400 answers with an OpenAI error body.
    `delay_s` waits before answering (the wait ends early if the client goes away).

    Faults, for robustness tests: `fault` goes wrong after `fault_after` stream chunks (a
    whole answer: half-way through its JSON):

    - `"malformed"`: the body, or the next event, is not JSON;
    - `"cut"`: the response ends cleanly but early (no finish chunk, no `[DONE]`);
    - `"drop"`: the connection is closed with the HTTP body incomplete;
    - `"stall"`: the stream pauses `stall_s` seconds (a read timeout mid-stream).

    `raw_unicode` sends non-ASCII characters unescaped in the JSON, as many servers do.
    `raw` answers with exactly these bytes (status 200; streamed: as the event stream).

    Extra wire fields, for tests of what reaches the client: `message` is merged into a whole
    chat answer's message (`{"refusal": ...}`, `{"content": [parts]}`), `choice` into each
    choice of a whole answer and of every stream chunk (`{"logprobs": ...}`), and each of
    `deltas` is sent as one more stream chunk's delta after the text pieces.
    """

    text: str | None = None
    chunks: Sequence[str] | None = None
    chunk_chars: int = 4
    tool_calls: Sequence[Json] = ()
    finish_reason: str | None = None
    status: int = 200
    error: str = "scripted failure"
    delay_s: float = 0.0
    fault: Literal["malformed", "cut", "drop", "stall"] | None = None
    fault_after: int = 1
    stall_s: float = 30.0
    raw_unicode: bool = False
    raw: bytes | None = None
    message: Mapping[str, Any] = field(default_factory=dict)
    choice: Mapping[str, Any] = field(default_factory=dict)
    deltas: Sequence[Json] = ()

    def pieces(self) -> list[str]:
        """The stream pieces of the answer."""
        if self.chunks is not None:
            return list(self.chunks)
        return shapes.split(self.text or "", self.chunk_chars)

    def whole(self) -> str:
        """The whole answer text."""
        return self.text if self.text is not None else "".join(self.chunks or ())


@dataclass
class Received:
    """One request the fake upstream received."""

    path: str
    body: Json
    headers: dict[str, str]
    disconnected: bool = False  # the caller went away before the answer was complete
    done: bool = False  # the whole answer was sent


@dataclass
class FakeUpstream:
    """A scriptable OpenAI-compatible server that records what it receives."""

    model: str = "fake-model"
    echo_prefix: str = "echo: "
    echo_chunk_chars: int = 4  # stream pieces of an echoed answer
    # When set, every endpoint wants `Authorization: Bearer <api_key>` (or Anthropic's
    # `x-api-key: <api_key>`) and answers others with a 401 `invalid_api_key`.
    api_key: str | None = None
    requests: list[Received] = field(default_factory=list)
    _replies: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(
            middleware=[Middleware(_KeyCheck, fake=self)],
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/completions", self._text, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                # Anthropic's own API, for routes to `anthropic/` models (litellm calls it)
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ],
        )

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one (then it echoes again)."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget received requests and queued replies."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()

    @property
    def last(self) -> Received:
        """The most recent request."""
        with self._lock:
            return self.requests[-1]

    def _next(self, body: Json, format: AnswerFormat) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        text = self.echo_prefix + format.prompt(body)
        return Reply(text=text, chunk_chars=self.echo_chunk_chars)

    async def _record(self, request: Request) -> tuple[Received, Json]:
        body = json.loads(await request.body())
        received = Received(request.url.path, body, dict(request.headers))
        with self._lock:
            self.requests.append(received)
        return received, body

    async def _chat(self, request: Request) -> Response:
        received, body = await self._record(request)
        reply = self._next(body, CHAT)
        return await self._answer(request, received, body, reply, _CHAT)

    async def _text(self, request: Request) -> Response:
        received, body = await self._record(request)
        reply = self._next(body, TEXT)
        return await self._answer(request, received, body, reply, _TEXT)

    async def _embeddings(self, request: Request) -> Response:
        """`vector(text)` for each input string; a scripted reply's error status is used."""
        _, body = await self._record(request)
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        if reply is not None and reply.status >= 400:
            error = {"message": reply.error, "type": "api_error", "code": None, "param": None}
            return JSONResponse({"error": error}, status_code=reply.status)
        value = body.get("input")
        texts = [value] if isinstance(value, str) else list(value or [])
        asked = body.get("dimensions")
        dims = min(max(asked, 1), 4096) if isinstance(asked, int) else 8  # bounded work
        encode = _base64_floats if body.get("encoding_format") == "base64" else list
        data = [
            {"object": "embedding", "index": i, "embedding": encode(self.vector(str(t), dims))}
            for i, t in enumerate(texts)
        ]
        tokens = sum(shapes.count_tokens(str(t)) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = str(body.get("model") or self.model)
        return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})

    async def _messages(self, request: Request) -> Response:
        """Anthropic's Messages API, native: the scripted reply's text (else an echo of the
        last user text) as a `message`, or streamed as Anthropic's named events -- the
        proxy's own translators (server/anthropic_format.py) applied to the chat answer.
        Scripted tool calls and faults are chat-only; a scripted error status answers in
        Anthropic's error shape."""
        _, body = await self._record(request)
        reply = self._next(body, CHAT)
        if reply.status >= 400:
            error = {"type": "api_error", "message": reply.error}
            return JSONResponse({"type": "error", "error": error}, status_code=reply.status)
        model = str(body.get("model") or self.model)
        if body.get("stream"):
            encoder = StreamEncoder(model=model)
            chunks = shapes.as_stream(shapes.chat_chunks(reply.pieces(), model=model))
            events = (named_event(e, d) async for e, d in encoder.encode(chunks))
            return StreamingResponse(events, media_type="text/event-stream")
        answer = shapes.chat_response(reply.whole(), model=model)
        return JSONResponse(to_anthropic_response(answer, model))

    async def _count_tokens(self, request: Request) -> Response:
        """`{"input_tokens": n}`: the words (`shapes.count_tokens`) of the texts in `system`
        and `messages`, so a test can tell which text was counted (a fake's count, not
        Claude's tokenizer)."""
        _, body = await self._record(request)
        texts = [*_strings(body.get("system")), *_strings(body.get("messages"))]
        return JSONResponse({"input_tokens": sum(shapes.count_tokens(t) for t in texts)})

    @staticmethod
    def vector(text: str, dims: int = 8) -> list[float]:
        """The fake's embedding of `text`: `dims` numbers in [-1, 1] from its SHA-256, so a
        test can tell which text the upstream embedded (float32-exact values)."""
        digest = b""
        while len(digest) < dims:
            digest += hashlib.sha256(digest + text.encode()).digest()
        return [(b - 128) / 128 for b in digest[:dims]]

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}],
            }
        )

    async def _answer(
        self, request: Request, received: Received, body: Json, reply: Reply, route: _Route
    ) -> Response:
        if reply.delay_s and not await _wait_or_disconnect(request, reply.delay_s):
            received.disconnected = True
            return Response(status_code=499)
        if reply.status >= 400:
            error = {"message": reply.error, "type": "api_error", "code": None, "param": None}
            return JSONResponse({"error": error}, status_code=reply.status)
        model = str(body.get("model") or self.model)
        if reply.raw is not None:
            stream = body.get("stream") is True
            media = "text/event-stream" if stream else "application/json"
            return Response(reply.raw, media_type=media)
        if body.get("stream") is True:
            events = self._sse(received, body, reply, route, model)
            if reply.fault == "drop":
                return _Unfinished(events, "text/event-stream")
            return StreamingResponse(events, media_type="text/event-stream")
        if reply.fault is not None:
            return _faulty_whole(_dumps(route.whole(reply, model), reply), reply.fault)
        received.done = True
        return Response(_dumps(route.whole(reply, model), reply), media_type="application/json")

    async def _sse(
        self, received: Received, body: Json, reply: Reply, route: _Route, model: str
    ) -> AsyncIterator[bytes]:
        try:
            for sent, chunk in enumerate(route.chunks(reply, body, model)):
                if reply.fault is not None and sent == reply.fault_after:
                    if reply.fault == "malformed":
                        yield b'data: {"choices": [{"delta": \n\n'
                    elif reply.fault == "stall":
                        await asyncio.sleep(reply.stall_s)
                    else:  # cut: end here, cleanly; drop: `_Unfinished` leaves the body open
                        return
                yield b"data: " + _dumps(chunk, reply) + b"\n\n"
                await asyncio.sleep(0)
            yield b"data: [DONE]\n\n"
            received.done = True
        except (asyncio.CancelledError, GeneratorExit):
            received.disconnected = True
            raise


class _KeyCheck:
    """ASGI middleware: 401 for a call without the fake's `api_key` (when it has one)."""

    def __init__(self, app: Any, fake: FakeUpstream) -> None:
        self.app, self.fake = app, fake

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        wanted = self.fake.api_key
        if scope["type"] != "http" or wanted is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        bearer = headers.get(b"authorization", b"").decode("latin-1") == f"Bearer {wanted}"
        if bearer or headers.get(b"x-api-key", b"").decode("latin-1") == wanted:
            await self.app(scope, receive, send)
            return
        error = {
            "message": "Incorrect API key provided",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }
        await JSONResponse({"error": error}, status_code=401)(scope, receive, send)


def _strings(value: Any) -> Iterator[str]:
    """Every string value below `value` but `role` and `type` (enums, not text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("role", "type"):
                yield from _strings(item)


def _base64_floats(values: list[float]) -> str:
    """Little-endian float32s in base64: the SDKs' default `encoding_format`."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _dumps(value: Json, reply: Reply) -> bytes:
    return json.dumps(value, ensure_ascii=not reply.raw_unicode).encode()


def _faulty_whole(body: bytes, fault: str) -> Response:
    half = body[: len(body) // 2]
    if fault == "drop":  # announce the whole length, send half, close
        return _Unfinished(_once(half), "application/json", length=len(body))
    if fault == "stall":
        return Response(body, media_type="application/json")  # use delay_s for whole answers
    return Response(half, media_type="application/json")  # malformed / cut: half the JSON


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _Unfinished(Response):
    """Sends the response start and what `parts` yields, then stops: uvicorn closes the
    connection with the body incomplete, which the client sees as a dropped connection."""

    def __init__(
        self, parts: AsyncIterator[bytes], media_type: str, length: int | None = None
    ) -> None:
        super().__init__(media_type=media_type)
        self._parts = parts
        self._media = media_type
        self._length = length

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", self._media.encode())]
        if self._length is not None:
            headers.append((b"content-length", str(self._length).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for part in self._parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _whole_text(reply: Reply, model: str) -> Json:
    answer = shapes.text_response(
        reply.whole(), model=model, id="cmpl-fake", finish_reason=_finish(reply)
    )
    answer["choices"][0].update(reply.choice)
    return answer


def _whole_chat(reply: Reply, model: str) -> Json:
    answer = shapes.chat_response(
        reply.whole() if reply.text is not None or reply.chunks else None,
        model=model,
        id="chatcmpl-fake",
        finish_reason=_finish(reply),
        tool_calls=reply.tool_calls,
    )
    answer["choices"][0]["message"].update(reply.message)
    answer["choices"][0].update(reply.choice)
    return answer


def _with_extras(reply: Reply, chunks: Iterator[Json], model: str) -> Iterator[Json]:
    """`chunks` with `reply.choice` merged into each choice and `reply.deltas` sent before
    the finish chunk."""
    pending = list(reply.deltas)
    for chunk in chunks:
        choices = chunk.get("choices") or []
        if pending and choices and choices[0].get("finish_reason") is not None:
            for delta in pending:
                extra = shapes.chat_chunk(dict(delta), model=model, id="chatcmpl-fake")
                extra["choices"][0].update(reply.choice)
                yield extra
            pending = []
        for choice in choices:
            choice.update(reply.choice)
        yield chunk


def _chunks_text(reply: Reply, body: Json, model: str) -> Iterator[Json]:
    finish = _finish(reply)
    pieces = shapes.text_chunks(reply.pieces(), model=model, id="cmpl-fake", finish_reason=finish)
    return _with_extras(reply, pieces, model)


def _chunks_chat(reply: Reply, body: Json, model: str) -> Iterator[Json]:
    finish = _finish(reply)
    options = body.get("stream_options")
    usage = isinstance(options, dict) and options.get("include_usage") is True
    chunks = shapes.chat_chunks(
        reply.pieces(),
        model=model,
        id="chatcmpl-fake",
        finish_reason=finish,
        tool_calls=reply.tool_calls,
        include_usage=usage,
    )
    return _with_extras(reply, chunks, model)


@dataclass(frozen=True)
class _Route:
    """How one of the fake's OpenAI endpoints builds its answers (whole and streamed)."""

    whole: Callable[[Reply, str], Json]
    chunks: Callable[[Reply, Json, str], Iterator[Json]]


_CHAT = _Route(_whole_chat, _chunks_chat)
_TEXT = _Route(_whole_text, _chunks_text)


async def _wait_or_disconnect(request: Request, seconds: float) -> bool:
    """Sleep `seconds`; False as soon as the client disconnects."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait_for(asyncio.shield(watcher), timeout=seconds)
    except TimeoutError:
        return True
    finally:
        watcher.cancel()
    return False


# -------------------------------------------------------------------------- guards


class DelayedGuard:
    """A real guard that answers `delay_s` seconds later (same findings)."""

    def __init__(self, guard: Guard, delay_s: float) -> None:
        self.name = guard.name
        self.inner = guard  # a wrapper names its guard `inner`: it reads the text that one reads
        self.delay_s = delay_s

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The wrapped guard's thresholds."""
        return self.inner.default_thresholds

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """Wait, then scan with the wrapped guard."""
        await asyncio.sleep(self.delay_s)
        return await self.inner.scan(texts, ctx)


class StaticGuard:
    """A guard that reports `label` wherever `trigger` occurs (a span per occurrence).

    Build policies around it in your own tests to pin how your app handles a block, a
    redaction or a guard failure, without depending on a classifier's scores.
    """

    def __init__(self, name: str, trigger: str, label: str = "hit", score: float = 1.0) -> None:
        self.name, self.trigger, self.label, self.score = name, trigger, label, score

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """No defaults: rules use their own threshold (0.5 when unset)."""
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per text that contains the trigger."""
        findings = []
        for index, text in enumerate(texts):
            spans = tuple(
                Span(start=i, end=i + len(self.trigger), entity=self.label)
                for i in _occurrences(text, self.trigger)
            )
            if spans:
                findings.append(
                    Finding(
                        guard=self.name,
                        label=self.label,
                        score=self.score,
                        text_index=index,
                        spans=spans,
                    )
                )
        return findings


def _occurrences(text: str, needle: str) -> Iterator[int]:
    start = text.find(needle) if needle else -1
    while start >= 0:
        yield start
        start = text.find(needle, start + len(needle))


@contextmanager
def capture_decisions(pipeline: Pipeline) -> Iterator[list[Decision]]:
    """Collect every Decision `pipeline` makes inside the `with` block."""
    decisions: list[Decision] = []

    def observe(decision: Decision, state: RequestState) -> None:
        decisions.append(decision)

    pipeline.observers.append(observe)
    try:
        yield decisions
    finally:
        pipeline.observers.remove(observe)


# ------------------------------------------------------------------------- servers


@dataclass
class ServerThread:
    """A uvicorn server running in a background thread."""

    host: str
    port: int
    server: Any
    thread: threading.Thread

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"


@contextmanager
def serve_app(
    app: Any, *, startup_timeout_s: float = 30.0, port: int = 0
) -> Iterator[ServerThread]:
    """Run `app` with uvicorn on 127.0.0.1 and a free port (or `port`) for the `with` block."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if (
            not wait_until(
                lambda: bool(server.started) or not thread.is_alive(), timeout_s=startup_timeout_s
            )
            or not server.started
        ):
            raise RuntimeError("the server did not start")
        yield ServerThread("127.0.0.1", port, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_until(
    predicate: Callable[[], bool], *, timeout_s: float = 10.0, interval_s: float = 0.01
) -> bool:
    """Poll `predicate` until it is true or `timeout_s` passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()
