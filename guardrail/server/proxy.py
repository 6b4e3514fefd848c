"""The proxy: the HTTP edge of the request flow (`guardrail/flow.py`, DESIGN.md §1).

read JSON -> limits -> Conversation -> `Flow` (input stages, upstream, output stage or the
stream's hold-back window, restore) -> the answer, an error or a refusal in the client's format.

A `Wire` (one per endpoint, registered in `wires.py`) says how to read its requests and
write its answers; this module never looks at a wire format itself, and
holds no step of the flow: it reads the request, calls the upstream client and writes HTTP.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from guardrail.conversation import Conversation
from guardrail.errors import (
    GUARD_UNAVAILABLE,
    BodyTimeout,
    GuardrailError,
    LimitExceeded,
    NotSupported,
    RequestError,
)
from guardrail.flow import Flow, Outcome, blocked_error
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline, RequestState
from guardrail.server import client_values
from guardrail.server.limits import Limits, reject_lone_surrogates
from guardrail.server.metrics import Metrics
from guardrail.server.sse import sse_response
from guardrail.streaming import StreamGuard
from guardrail.upstream import shapes
from guardrail.upstream.base import LOCAL_HEADER_PREFIX, Upstream, UpstreamRequest
from guardrail.upstream.formats import AnswerFormat
from guardrail.wire import Json

log = get_logger("guardrail.server")

Chunks = AsyncIterator[Json]

_BODY = "max_body_bytes"


class ErrorShape(Protocol):
    """How one endpoint names itself (metrics, logs) and writes errors."""

    route: str

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        """An error answer in the client's format."""
        ...


class Served(ErrorShape, Protocol):
    """A registered wire shape (`server/wires.py`): where it is served, what it reads (a
    TypedDict of `guardrail/wire.py`, for the OpenAPI description) and how it answers."""

    path: str
    method: str
    summary: str
    answers: str  # "flow": answer or stream through the flow; "passed": the upstream's JSON

    @property
    def request(self) -> type | None:
        """The request body's type (None: no body)."""
        ...

    @property
    def error_type(self) -> type:
        """The error answer's type."""
        ...

    async def endpoint(self, request: Request) -> Response:
        """The route's handler."""
        ...


class FlowEndpoint:
    """Served through the whole flow (`Proxy.handle`): an answer, or a stream."""

    method = "POST"
    answers = "flow"

    async def endpoint(self, request: Request) -> Response:
        """`POST`, streamed or not."""
        response: Response = await request.app.state.guardrail.handle(request, self)
        return response


class PassEndpoint:
    """Input stages, then the upstream's answer as it came (`Proxy.pass_through`)."""

    method = "POST"
    answers = "passed"

    async def endpoint(self, request: Request) -> Response:
        """`POST`: input stages, then the upstream's JSON answer."""
        holder = request.app.state.guardrail
        response: Response = await holder.call(
            request, self, lambda proxy: proxy.pass_through(request, self)
        )
        return response


Work = Callable[[str, "Outcome"], Awaitable[Response]]
"""The part of a call inside `Proxy.run`: (request id, outcome so far) -> the answer."""


class PassWire(ErrorShape, Protocol):
    """An endpoint whose request is checked at the input stages and whose answer carries
    no text to check or restore (embeddings, token counts): `Proxy.pass_through`."""

    count_keys: tuple[str, ...]  # the body's arrays `max_messages` / `max_parts` bound

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        """The request's segments (on a copy of the body)."""
        ...

    async def send(self, upstream: Upstream, request: UpstreamRequest) -> Json:
        """The checked request to the upstream; its answer, for the client as it is."""
        ...


class Wire(Protocol):
    """How one endpoint reads requests and writes answers."""

    route: str
    format: AnswerFormat  # what the upstream is asked for: chat or legacy text completions

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        """The request's segments (on a copy of the body)."""
        ...

    def upstream_body(self, body: Json) -> Json:
        """The checked request body, in the OpenAI format the upstream speaks."""
        ...

    def client_body(self, response: Json, request: Json) -> Json:
        """An OpenAI-format answer, in the client's format."""
        ...

    def encode_stream(self, chunks: Chunks, request: Json) -> AsyncIterator[bytes]:
        """OpenAI-format chunks as the client's SSE events, end marker included."""
        ...

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        """An error answer in the client's format."""
        ...

    def stream_error(self, exc: GuardrailError) -> bytes:
        """An error event for a stream that already started."""
        ...


async def prime(chunks: Chunks) -> Chunks:
    """Pull the first chunk now, so that upstream errors happen before the response starts."""
    iterator = aiter(chunks)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        return shapes.as_stream(())
    except BaseException:
        await _aclose(iterator)
        raise
    return _chain(first, iterator)


async def _chain(first: Json, rest: Chunks) -> Chunks:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await _aclose(rest)


async def _aclose(value: Any) -> None:
    close = getattr(value, "aclose", None)
    if close is not None:
        with suppress(Exception):
            await close()


class Proxy:
    """One policy, one upstream, the flow between them."""

    def __init__(
        self,
        pipeline: Pipeline,
        upstream: Upstream,
        metrics: Metrics,
        *,
        scan_system: bool = False,
        max_body_bytes: int | None = None,
        limits: Limits | None = None,
        tenant: str = "",
        forward_client_key: bool = True,
    ) -> None:
        self.pipeline = pipeline
        self.tenant = tenant  # "" without proxy keys; a metric label and audit field
        # False when callers authenticate with proxy keys: those must never reach the provider
        self.forward_client_key = forward_client_key
        self.upstream = upstream
        self.metrics = metrics
        self.scan_system = scan_system
        self.limits = limits or Limits.from_settings()
        if max_body_bytes is not None:  # an explicit argument beats the settings
            self.limits = replace(self.limits, max_body_bytes=max_body_bytes)
        self.max_body_bytes = self.limits.max_body_bytes
        self.flow = Flow(pipeline, metrics, tenant=tenant)

    # ------------------------------------------------------------------ entry point

    async def handle(self, request: Request, wire: Wire) -> Response:
        """One proxied call, start to finish; never raises."""

        async def work(request_id: str, outcome: Outcome) -> Response:
            body = await read_json(request, self.max_body_bytes, self.limits.max_body_seconds)
            return await self._handle(request, wire, body, request_id, outcome)

        return await self.run(request, wire, work)

    async def pass_through(self, request: Request, wire: PassWire) -> Response:
        """Input stages, then the upstream; its answer goes back as it came (no output
        stage: there is no text in it). Limits and field rules are those of chat. A block is
        always an error here: there is no answer a refusal could stand in for."""

        async def work(request_id: str, outcome: Outcome) -> Response:
            body = await read_json(request, self.max_body_bytes, self.limits.max_body_seconds)
            self.limits.check_counts(body, wire.count_keys)
            reject_lone_surrogates(body)
            conv = wire.parse(body, scan_system=self.scan_system)
            self.limits.check_text(conv)
            state = self.pipeline.new_request(request_id=request_id, tenant=self.tenant)
            await self.flow.check_input(conv, state, outcome)
            if outcome.block is not None:
                return self._block_error(wire, outcome)
            checked = UpstreamRequest(
                conv.body, api_key=self.upstream_key(request), directives=_directives(request)
            )
            answer = await wire.send(self.upstream, checked)
            return JSONResponse(answer, headers=outcome.headers())

        return await self.run(request, wire, work)

    async def run(self, request: Request, wire: ErrorShape, work: Work) -> Response:
        """`work` inside what every call shares: request id, in-flight gauge, errors in the
        client's format, metrics and the audit log line; never raises."""
        started = time.perf_counter()
        request_id = _request_id(request)
        self.metrics.in_flight.inc()
        outcome = Outcome()
        try:
            response = await work(request_id, outcome)
        except GuardrailError as exc:
            response = self._error(wire, exc)
        except Exception as exc:  # a bug must still answer in the client's format
            # no traceback: exception messages may quote request text
            log.error("server.request_failed", error_type=type(exc).__name__, request_id=request_id)
            response = self._error(wire, GuardrailError("internal error in guardrail"))
        finally:
            self.metrics.in_flight.dec()
        response.headers["x-request-id"] = request_id
        self._record(wire.route, response.status_code, outcome, started, request_id)
        return response

    def _record(
        self, route: str, status: int, outcome: Outcome, started: float, request_id: str
    ) -> None:
        seconds = time.perf_counter() - started
        result = "blocked" if outcome.block else ("ok" if status < 400 else f"error_{status}")
        self.metrics.requests.labels(route, result, self.tenant).inc()
        self.metrics.request_seconds.labels(route).observe(seconds)
        log.info(
            "request.completed",
            route=route,
            status=status,
            request_id=request_id,
            decision=outcome.action.value,
            rules=[r for d in outcome.decisions for r in d.rules_fired],
            ms=round(seconds * 1000, 3),
        )

    def upstream_key(self, request: Request) -> str | None:
        """The key the upstream is asked with: the client's, unless callers authenticate
        with proxy keys (those never reach the provider; the route's own key is used)."""
        return _client_key(request) if self.forward_client_key else None

    def _error(self, wire: ErrorShape, exc: GuardrailError) -> Response:
        status = exc.http_status
        upstream_status = getattr(exc, "status", None)
        if isinstance(upstream_status, int) and 400 <= upstream_status < 500:
            status = upstream_status  # the provider's own client errors pass through
        if exc.code.startswith("upstream"):
            self.metrics.upstream_errors.labels(exc.code).inc()
        response = wire.error(exc, status, exc.details() if isinstance(exc, LimitExceeded) else {})
        if isinstance(exc, NotSupported):  # the SDKs retry a 5xx unless told it cannot help
            response.headers["x-should-retry"] = "false"
        return response

    async def _handle(
        self, request: Request, wire: Wire, body: Json, request_id: str, outcome: Outcome
    ) -> Response:
        stream = body.get("stream") is True
        self.limits.check_counts(body)  # cheap, so first: an over-limit body is walked no more
        reject_lone_surrogates(body)
        conv = wire.parse(body, scan_system=self.scan_system)
        self.limits.check_text(conv)
        state = self.pipeline.new_request(request_id=request_id, tenant=self.tenant)
        key = self.upstream_key(request)
        directives = _directives(request)

        def build(checked: Json) -> UpstreamRequest:
            body = self.flow.with_system_text(wire.upstream_body(checked), state)
            return UpstreamRequest(body, wire.format, key, directives)

        async def open_stream(checked: Json) -> Chunks:
            return await prime(self.upstream.stream(build(checked)))

        async def complete(checked: Json) -> Json:
            return await self.upstream.complete(build(checked))

        if stream:
            chunks = await self.flow.call(conv, state, outcome, open_stream, _aclose)
            if chunks is None:
                return self._blocked(wire, outcome, body, stream=True)
            return self._stream(wire, chunks, state, outcome, body)
        answer = await self.flow.call(conv, state, outcome, complete, _ignore)
        if answer is None:
            return self._blocked(wire, outcome, body, stream=False)
        return await self._answer(wire, answer, state, outcome, body)

    # ---------------------------------------------------------------- output stage

    async def _answer(
        self, wire: Wire, answer: Json, state: RequestState, outcome: Outcome, body: Json
    ) -> Response:
        if await self.flow.check_output(wire.format, answer, state, outcome) is None:
            return self._blocked(wire, outcome, body, stream=False)
        return JSONResponse(wire.client_body(answer, body), headers=outcome.headers())

    def _stream(
        self, wire: Wire, chunks: Chunks, state: RequestState, outcome: Outcome, body: Json
    ) -> Response:
        max_chars = self.limits.max_completion_chars
        guarded, guard = self.flow.guard_stream(state, wire.format, chunks, max_chars)
        events = self._events(wire, guarded, body, guard, state.request_id)
        return sse_response(events, outcome.headers())

    async def _events(
        self, wire: Wire, chunks: Chunks, body: Json, guard: StreamGuard | None, request_id: str
    ) -> AsyncIterator[bytes]:
        try:
            async for event in wire.encode_stream(chunks, body):
                yield event
        except GuardrailError as exc:
            if exc.code.startswith("upstream"):
                self.metrics.upstream_errors.labels(exc.code).inc()
            yield wire.stream_error(exc)
        except Exception as exc:  # a bug must still end the stream with an error event
            log.error("stream.failed", error_type=type(exc).__name__, request_id=request_id)
            yield wire.stream_error(GuardrailError("internal error in guardrail"))
        finally:
            await _aclose(chunks)
            blocked = guard.blocked if guard is not None else None
            if blocked is not None and blocked.block is not None:
                log.info(
                    "stream.blocked",
                    request_id=request_id,
                    rule=blocked.block.rule,
                    route=wire.route,
                )

    # ------------------------------------------------------------------- blocks

    def _block_error(self, wire: ErrorShape, outcome: Outcome) -> Response:
        """The block as an error answer naming the rule, stage and code."""
        block = outcome.block
        assert block is not None
        exc = blocked_error(block)
        # a guard that could not run (fail: closed) is our outage, not the client's fault
        status = 503 if block.code == GUARD_UNAVAILABLE else exc.http_status
        extra = {"rule": block.rule, "stage": block.stage.value, "code": block.code}
        response = wire.error(exc, status, extra)
        response.headers.update(outcome.headers())
        return response

    def _blocked(self, wire: Wire, outcome: Outcome, body: Json, *, stream: bool) -> Response:
        """A block, as an error or (`on_block: refusal`) as an ordinary refusing answer."""
        if self.flow.refusal is None:
            return self._block_error(wire, outcome)
        headers = outcome.headers()
        model = str(body.get("model") or "")
        if stream:
            chunks = shapes.as_stream(self.flow.refusal_chunks(wire.format, model))
            return sse_response(wire.encode_stream(chunks, body), headers)
        answer = self.flow.refusal_answer(wire.format, model)
        return JSONResponse(wire.client_body(answer, body), headers=headers)


# ------------------------------------------------------------------------- helpers


async def read_json(request: Request, max_bytes: int, max_seconds: float | None = None) -> Json:
    """The request body as a JSON object; RequestError (400) / LimitExceeded (413) if not,
    BodyTimeout (408) if it takes longer than `max_seconds` to arrive."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise LimitExceeded("request body bytes", int(declared), max_bytes, name=_BODY)
    try:
        async with asyncio.timeout(max_seconds):
            raw = await _read_body(request, max_bytes)
    except TimeoutError as exc:
        raise BodyTimeout(f"the request body did not arrive within {max_seconds:g} s") from exc
    try:
        body = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except RecursionError as exc:
        raise RequestError("request body is nested too deeply") from exc
    except ValueError as exc:
        raise RequestError(f"request body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    return body  # lone surrogates are refused after the counts (`Proxy._handle`)


async def _read_body(request: Request, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():  # stop reading as soon as the limit is passed
        size += len(part)
        if size > max_bytes:
            raise LimitExceeded("request body bytes", size, max_bytes, name=_BODY)
        parts.append(part)
    return b"".join(parts)


def _not_json(constant: str) -> Any:
    """`NaN` / `Infinity`: Python reads them, JSON does not have them (nor does the upstream)."""
    raise ValueError(f"{constant} is not a JSON value")


def _finite(literal: str) -> float:
    """A JSON number as a float; `1e400` would be infinity, which cannot be sent on."""
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number {literal[:20]} is out of range")
    return value


def _request_id(request: Request) -> str:
    # client-chosen: kept only when id-shaped and not secret-like, else hashed (never logged)
    return client_values.request_id(request.headers.get("x-request-id", ""))


def _client_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _directives(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.startswith(LOCAL_HEADER_PREFIX)}


async def _ignore(_: Any) -> None:
    return None
