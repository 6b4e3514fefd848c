"""Anthropic-compatible wire shapes: `POST /v1/messages`, streamed or not, and
`POST /v1/messages/count_tokens` (registered in `wires.py`).

The request is checked in its own format (segments point into the Anthropic body), then
translated to the OpenAI format for the upstream (`anthropic_format`); answers and streams
are translated back. Errors are Anthropic-shaped: `{"type": "error", "error": {"type",
"message"}}`, plus `code`, and `rule` and `stage` for blocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from guardrail.conversation import Conversation, parse_anthropic
from guardrail.errors import GuardrailError
from guardrail.server.anthropic_format import (
    StreamEncoder,
    to_anthropic_response,
    to_openai_request,
)
from guardrail.server.proxy import FlowEndpoint, PassEndpoint
from guardrail.server.sse import named_event
from guardrail.upstream.base import Upstream, UpstreamRequest
from guardrail.upstream.formats import CHAT
from guardrail.wire import AnthropicError, CountTokensRequest, Json, MessagesRequest

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error_body(exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Json:
    """`{"type": "error", "error": {...}}` in Anthropic's shape."""
    message = getattr(exc, "message", None) or str(exc)
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": message, "code": exc.code, **extra}}


class MessagesWire(FlowEndpoint):
    """`POST /v1/messages`."""

    route = "anthropic.messages"
    path = "/v1/messages"
    summary = "Anthropic messages"
    request = MessagesRequest
    error_type = AnthropicError
    format = CHAT

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_anthropic(body, scan_system=scan_system)

    def upstream_body(self, body: Json) -> Json:
        return to_openai_request(body)

    def client_body(self, response: Json, request: Json) -> Json:
        return to_anthropic_response(response, str(request.get("model") or ""))

    async def encode_stream(
        self, chunks: AsyncIterator[Json], request: Json
    ) -> AsyncIterator[bytes]:
        encoder = StreamEncoder(model=str(request.get("model") or ""))
        async for event, data in encoder.encode(chunks):
            yield named_event(event, data)

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        return JSONResponse(error_body(exc, status, extra), status_code=status)

    def stream_error(self, exc: GuardrailError) -> bytes:
        return named_event("error", error_body(exc, exc.http_status, {}))


MESSAGES = MessagesWire()


class CountTokensWire(PassEndpoint):
    """`POST /v1/messages/count_tokens`: the texts would reach the provider, so they are
    checked as a `/v1/messages` request is (same parser and field table); the count comes
    from an Anthropic upstream, never from a local estimate (`upstream/anthropic_tokens.py`)."""

    route = "anthropic.count_tokens"
    path = "/v1/messages/count_tokens"
    summary = "Anthropic token count (texts checked as for messages; needs an Anthropic route)"
    request = CountTokensRequest
    error_type = AnthropicError
    count_keys = ("messages",)

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_anthropic(body, scan_system=scan_system)

    async def send(self, upstream: Upstream, request: UpstreamRequest) -> Json:
        return await upstream.count_tokens(request)

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        return JSONResponse(error_body(exc, status, extra), status_code=status)


COUNT_TOKENS = CountTokensWire()
