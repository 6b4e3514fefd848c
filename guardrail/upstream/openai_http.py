"""A direct OpenAI-compatible upstream over httpx: the fast path for `--upstream URL`.

When every model goes to one OpenAI-compatible base URL there is nothing to translate, and
skipping litellm saves ~4-5 ms per call and ~0.5 ms per streamed chunk (measured by
`bench/bench_proxy.py`). Other providers go through `upstream/litellm.py`. httpx's errors are
translated to `guardrail.errors.Upstream*` here, in `_request_error` and `_status_error`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from guardrail.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from guardrail.upstream.base import UpstreamRequest

_PATHS = {"chat": "chat/completions", "text": "completions"}


class OpenAIHttpUpstream:
    """Sends OpenAI wire-format bodies to `{base_url}/chat/completions` as they are."""

    name = "openai-http"

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 600.0):
        self.base_url = base_url.rstrip("/") + "/"
        self._api_key = api_key
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
        )

    def _headers(self, request: UpstreamRequest) -> dict[str, str]:
        key = self._api_key or request.api_key
        return {"authorization": f"Bearer {key}"} if key else {}

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        """One whole answer."""
        try:
            response = await self._client.post(
                _PATHS[request.kind], json=request.body, headers=self._headers(request)
            )
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc
        if response.status_code >= 400:
            raise _status_error(response.status_code, response.content)
        return _json_object(response.content)

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        """The answer as chunk dicts, read from the upstream's server-sent events."""
        body = {**request.body, "stream": True}
        try:
            async with self._client.stream(
                "POST", _PATHS[request.kind], json=body, headers=self._headers(request)
            ) as response:
                if response.status_code >= 400:
                    raise _status_error(response.status_code, await response.aread())
                async for line in response.aiter_lines():
                    chunk = parse_sse_data(line)
                    if chunk is None:
                        continue
                    if chunk is DONE:
                        return
                    yield chunk
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc

    async def models(self) -> list[str]:
        """The upstream's own model list (empty when it has none)."""
        try:
            response = await self._client.get("models")
            data = response.json().get("data") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return []
        return [str(m.get("id")) for m in data or [] if isinstance(m, dict)]

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


DONE: dict[str, Any] = {}
"""Sentinel returned by `parse_sse_data` for `data: [DONE]`."""


def parse_sse_data(line: str) -> dict[str, Any] | None:
    """One SSE line -> the JSON object it carries, `DONE`, or None (comments, blank, event)."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return DONE
    chunk = _json_object(data.encode())
    if "error" in chunk and "choices" not in chunk:
        raise _status_error(502, data.encode())
    return chunk


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError as exc:
        raise UpstreamBadResponse("upstream answered with invalid JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamBadResponse("upstream answered with JSON that is not an object")
    return value


def _status_error(status: int, content: bytes) -> UpstreamError:
    message = f"upstream answered HTTP {status}"
    try:
        error = json.loads(content).get("error")
        detail = error.get("message") if isinstance(error, dict) else error
        if detail:
            message = f"{message}: {detail}"
    except (ValueError, AttributeError):
        pass
    return UpstreamError(message, status=status)


def _request_error(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"upstream timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return UpstreamUnavailable(f"upstream unreachable ({type(exc).__name__})")
    return UpstreamError(f"upstream call failed ({type(exc).__name__})")
