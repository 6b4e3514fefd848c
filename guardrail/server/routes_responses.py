"""OpenAI Responses API wire shape: `POST /v1/responses`, streamed or not (registered in
`wires.py`).

The request is checked in its own format (`responses_request.parse_responses`: segments
point into the Responses body, and what guardrail cannot check is refused), translated to
chat completions for the upstream, and the checked answer or guarded stream is translated
back (`responses_format`). Errors are OpenAI-shaped, as on the chat endpoints; a block
names its `rule` and `stage`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from guardrail.conversation import Conversation
from guardrail.errors import GuardrailError
from guardrail.server.proxy import FlowEndpoint
from guardrail.server.responses_format import StreamEncoder, to_response
from guardrail.server.responses_request import parse_responses, to_chat_request
from guardrail.server.routes_openai import error_body
from guardrail.server.sse import named_event
from guardrail.upstream.formats import CHAT
from guardrail.wire import Json, OpenAIError, ResponsesRequest


class ResponsesWire(FlowEndpoint):
    """`POST /v1/responses`."""

    route = "openai.responses"
    path = "/v1/responses"
    summary = "OpenAI Responses API"
    request = ResponsesRequest
    error_type = OpenAIError
    format = CHAT

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_responses(body, scan_system=scan_system)

    def upstream_body(self, body: Json) -> Json:
        return to_chat_request(body)

    def client_body(self, response: Json, request: Json) -> Json:
        return to_response(response, request)

    async def encode_stream(
        self, chunks: AsyncIterator[Json], request: Json
    ) -> AsyncIterator[bytes]:
        async for event, data in StreamEncoder(request).encode(chunks):
            yield named_event(event, data)

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        return JSONResponse(error_body(exc, status, extra), status_code=status)

    def stream_error(self, exc: GuardrailError) -> bytes:
        """An `error` event; its `error` object (as in a JSON error answer) makes the OpenAI
        SDK raise `APIError` with the code, as it does for chat streams."""
        error = error_body(exc, exc.http_status, {})["error"]
        data = {"type": "error", "code": exc.code, "message": error["message"], "param": None}
        return named_event("error", {**data, "error": error})


RESPONSES = ResponsesWire()
