"""OpenAI-compatible wire shapes: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
`/v1/models` (registered in `wires.py`).

Requests go upstream as they came (unknown fields included) once checked; only our
`guardrail_stage` extension keys are removed. Errors are OpenAI-shaped:
`{"error": {"message", "type", "code", "param"}}`, plus `rule` and `stage` for blocks.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from guardrail.conversation import (
    Conversation,
    parse_openai_embeddings,
    strip_stage_marks,
)
from guardrail.errors import GuardrailError
from guardrail.flow import Outcome
from guardrail.server.proxy import FlowEndpoint, PassEndpoint, Proxy
from guardrail.server.sse import DONE, data_event
from guardrail.upstream import formats
from guardrail.upstream.base import Upstream, UpstreamRequest
from guardrail.wire import (
    ChatRequest,
    CompletionRequest,
    EmbeddingsRequest,
    Json,
    OpenAIError,
)


def error_type(exc: GuardrailError, status: int) -> str:
    """OpenAI's error `type` for one of our errors."""
    if status == 401:
        return "authentication_error"
    if 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"


def error_body(exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Json:
    """`{"error": {...}}` in OpenAI's shape."""
    message = getattr(exc, "message", None) or str(exc)
    error = {
        "message": message,
        "type": error_type(exc, status),
        "code": exc.code,
        "param": None,
        **extra,
    }
    return {"error": error}


class _OpenAIWire:
    route = ""
    format = formats.CHAT
    error_type: type = OpenAIError

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        return self.format.parse_request(body, scan_system=scan_system)

    def upstream_body(self, body: Json) -> Json:
        return strip_stage_marks(body)

    def client_body(self, response: Json, request: Json) -> Json:
        return response

    async def encode_stream(
        self, chunks: AsyncIterator[Json], request: Json
    ) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield data_event(chunk)
        yield DONE

    def error(self, exc: GuardrailError, status: int, extra: Mapping[str, Any]) -> Response:
        return JSONResponse(error_body(exc, status, extra), status_code=status)

    def stream_error(self, exc: GuardrailError) -> bytes:
        return data_event(error_body(exc, exc.http_status, {}))


class ChatWire(FlowEndpoint, _OpenAIWire):
    """`POST /v1/chat/completions`."""

    route = "openai.chat"
    path = "/v1/chat/completions"
    summary = "OpenAI chat completions"
    request = ChatRequest
    format = formats.CHAT


class CompletionWire(FlowEndpoint, _OpenAIWire):
    """`POST /v1/completions` (legacy text completions)."""

    route = "openai.completions"
    path = "/v1/completions"
    summary = "OpenAI legacy completions"
    request = CompletionRequest
    format = formats.TEXT


CHAT = ChatWire()
COMPLETION = CompletionWire()


class EmbeddingsWire(PassEndpoint, _OpenAIWire):
    """`POST /v1/embeddings`: every string of `input` is checked like a user message."""

    route = "openai.embeddings"
    path = "/v1/embeddings"
    summary = "OpenAI embeddings (inputs checked like user messages)"
    request = EmbeddingsRequest
    count_keys = ("input",)

    def parse(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_openai_embeddings(body)

    async def send(self, upstream: Upstream, request: UpstreamRequest) -> Json:
        return await upstream.embed(request)


EMBEDDINGS = EmbeddingsWire()


class ModelsWire(_OpenAIWire):
    """`GET /v1/models`: what the upstream serves (for a valid key, when keys are set),
    asked with the key a completion would carry; its refusals answer as OpenAI errors."""

    route = "openai.models"
    path = "/v1/models"
    method = "GET"
    summary = "models of the upstream"
    request = None
    answers = "models"

    async def endpoint(self, request: Request) -> Response:
        """`GET /v1/models`."""

        async def entry(proxy: Proxy) -> Response:
            async def work(request_id: str, outcome: Outcome) -> Response:
                names = await proxy.upstream.models(proxy.upstream_key(request))
                return JSONResponse(_model_list(names))

            return await proxy.run(request, self, work)

        response: Response = await request.app.state.guardrail.call(request, self, entry)
        return response


MODELS = ModelsWire()


def _model_list(names: list[str]) -> Json:
    created = int(time.time())
    data = [
        {"id": n, "object": "model", "created": created, "owned_by": "guardrail"} for n in names
    ]
    return {"object": "list", "data": data}
