"""The ASGI app through httpx.ASGITransport: errors, limits, readiness and stream failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guardrail.errors import UpstreamTimeout
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import serve_app
from guardrail.upstream.base import UpstreamRequest
from guardrail.upstream.local import REPLY_HEADER, LocalUpstream

POLICY = Path(__file__).parents[1] / "e2e" / "policies" / "rules.yaml"
CHAT = {"model": "local", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The rules-only end-to-end policy."""
    return Pipeline.from_file(POLICY)


def call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to an ASGI app, in memory."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "must be a JSON object"),
        (b'{"model": "m"}', "messages must be an array"),
        (b'{"messages": [{"role": "user", "content": 5}]}', "must be an array"),
        ('{"messages": "\u00e9"'.encode(), "not valid JSON"),
    ],
)
def test_bad_bodies_are_400(pipeline: Pipeline, content: bytes, message: str) -> None:
    """Bodies we cannot read are 400 invalid_request with a reason, never 500."""
    response = call(create_app(pipeline), "POST", "/v1/chat/completions", content=content)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert message in response.json()["error"]["message"]


def test_body_limit_is_413(pipeline: Pipeline) -> None:
    """A body over max_body_bytes is 413 limit_exceeded."""
    app = create_app(pipeline, max_body_bytes=64)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 200}]}
    response = call(app, "POST", "/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "limit_exceeded"


def test_request_id_is_echoed(pipeline: Pipeline) -> None:
    """A well-formed x-request-id from the client is kept; others are replaced."""
    app = create_app(pipeline)
    kept = call(app, "POST", "/v1/chat/completions", json=CHAT, headers={"x-request-id": "abc-1"})
    assert kept.headers["x-request-id"] == "abc-1"
    odd = call(app, "POST", "/v1/chat/completions", json=CHAT, headers={"x-request-id": "a b"})
    assert odd.headers["x-request-id"] != "a b"


def test_not_ready_until_policy_loaded() -> None:
    """With a policy path and no start-up yet, /readyz and the routes answer 503 + Retry-After."""
    app = create_app(POLICY)
    assert call(app, "GET", "/healthz").status_code == 200
    assert call(app, "GET", "/readyz").status_code == 503
    response = call(app, "POST", "/v1/chat/completions", json=CHAT)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "not_ready")
    assert response.headers["retry-after"] == "1"


def test_policy_path_loads_at_startup() -> None:
    """Served for real, a policy path is loaded at start-up and /readyz turns 200."""
    with serve_app(create_app(POLICY)) as server:
        ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["upstream"] == "local"


def test_local_reply_header_drives_output_guard(pipeline: Pipeline) -> None:
    """The local upstream's reply header lets a test make the model say a banned phrase."""
    app = create_app(pipeline, LocalUpstream())
    response = call(
        app, "POST", "/v1/chat/completions", json=CHAT, headers={REPLY_HEADER: "the secret sauce"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["stage"] == "output"


class _FailingUpstream:
    """An upstream whose stream breaks after its first chunk."""

    name = "failing"

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        raise UpstreamTimeout("too slow")

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        yield {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "partial "}, "finish_reason": None}],
        }
        raise UpstreamTimeout("too slow")

    async def models(self, api_key: str | None = None) -> list[str]:
        return []

    async def aclose(self) -> None:
        return None


def test_upstream_timeout_is_504(pipeline: Pipeline) -> None:
    """An upstream timeout is a 504 upstream_timeout."""
    response = call(
        create_app(pipeline, _FailingUpstream()), "POST", "/v1/chat/completions", json=CHAT
    )
    assert (response.status_code, response.json()["error"]["code"]) == (504, "upstream_timeout")


@pytest.mark.parametrize(
    ("path", "marker"), [("/v1/chat/completions", "data: "), ("/v1/messages", "event: error")]
)
def test_stream_failure_ends_with_error_event(pipeline: Pipeline, path: str, marker: str) -> None:
    """A stream that breaks after it started ends with an error event in the client's format."""
    body = {**CHAT, "stream": True, "max_tokens": 5}
    response = call(create_app(pipeline, _FailingUpstream()), "POST", path, json=body)
    assert response.status_code == 200
    last = [line for line in response.text.splitlines() if line.startswith("data: ")][-1]
    assert "upstream_timeout" in json.loads(last[6:])["error"]["code"]
    assert marker in response.text
