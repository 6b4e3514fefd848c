"""A direct OpenAI-compatible upstream over httpx: the fast path for `--upstream URL`.

When every model goes to one OpenAI-compatible base URL there is nothing to translate, and
skipping litellm saves ~4-5 ms per call and ~0.5 ms per streamed chunk (measured by
`bench/bench_proxy.py`). Other providers go through `upstream/litellm.py`. httpx's errors are
translated to `guardrail.errors.Upstream*` here, in `_request_error` and `_status_error`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from guardrail.errors import (
    NotSupported,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from guardrail.upstream.base import UpstreamRequest
from guardrail.upstream.formats import AnswerFormat
from guardrail.upstream.retry import with_retries


class OpenAIHttpUpstream:
    """Sends OpenAI wire-format bodies to `{base_url}/chat/completions` as they are."""

    name = "openai-http"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
        retries: int = 2,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self._api_key = api_key
        self.retries = retries  # of calls that failed before sending (see upstream/retry.py)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
        )

    def _headers(self, request: UpstreamRequest) -> dict[str, str]:
        return self._auth(request.api_key)

    def _auth(self, client_key: str | None) -> dict[str, str]:
        key = self._api_key or client_key
        return {"authorization": f"Bearer {key}"} if key else {}

    async def _send(
        self, request: UpstreamRequest, body: dict[str, Any], *, stream: bool, path: str = ""
    ) -> httpx.Response:
        """POST `body` (to `path`, default: the request format's); calls refused before sending
        are retried (`retries`)."""
        built = self._client.build_request(
            "POST", path or request.format.path, json=body, headers=self._headers(request)
        )
        return await with_retries(
            lambda: self._client.send(built, stream=stream), self.retries, self.name
        )

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        """One whole answer."""
        try:
            response = await self._send(request, request.body, stream=False)
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc
        if response.status_code >= 400:
            raise _status_error(response.status_code, response.content)
        return check_answer(_json_object(response.content), request.format)

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        """The answer as chunk dicts, read from the upstream's server-sent events.

        A stream that ends without `[DONE]` and before any choice finished was cut short:
        UpstreamUnavailable, never a silently shortened answer.
        """
        body = {**request.body, "stream": True}
        finished = False
        try:
            response = await self._send(request, body, stream=True)
            try:
                if response.status_code >= 400:
                    raise _status_error(response.status_code, await response.aread())
                async for line in sse_lines(response.aiter_bytes()):
                    chunk = parse_sse_data(line)
                    if chunk is None:
                        continue
                    if chunk is DONE:
                        return
                    finished |= _finishes(check_chunk(chunk))
                    yield chunk
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc
        if not finished:
            raise UpstreamUnavailable("upstream stream ended early (no [DONE], no finish_reason)")

    async def embed(self, request: UpstreamRequest) -> dict[str, Any]:
        """POST the body to `{base_url}/embeddings`; the answer must carry a `data` array."""
        try:
            response = await self._send(request, request.body, stream=False, path="embeddings")
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc
        if response.status_code >= 400:
            raise _status_error(response.status_code, response.content)
        answer = _json_object(response.content)
        if not isinstance(answer.get("data"), list):
            raise UpstreamBadResponse("upstream embeddings answer has no data array")
        return answer

    async def count_tokens(self, request: UpstreamRequest) -> dict[str, Any]:
        """Not here: an OpenAI-compatible server cannot count Claude's tokens."""
        raise NotSupported(
            "count_tokens needs an Anthropic upstream (a --config route to an anthropic/ "
            "model); an OpenAI-compatible upstream cannot count Claude's tokens"
        )

    async def models(self, api_key: str | None = None) -> list[str]:
        """The upstream's own model list, asked with the same key as a completion.

        404 (a server without a model list) is an empty list; any other refusal (401, 403,
        5xx) or an unreadable answer is an UpstreamError, so that a missing key is not
        mistaken for a provider without models.
        """
        try:
            response = await self._client.get("models", headers=self._auth(api_key))
        except httpx.HTTPError as exc:
            raise _request_error(exc) from exc
        if response.status_code == 404:
            return []
        if response.status_code >= 400:
            raise _status_error(response.status_code, response.content)
        data = _json_object(response.content).get("data")
        if not isinstance(data, list):
            raise UpstreamBadResponse("upstream model list has no data array")
        return [str(m.get("id")) for m in data if isinstance(m, dict)]

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


DONE: dict[str, Any] = {}
"""Sentinel returned by `parse_sse_data` for `data: [DONE]`."""
MAX_SSE_LINE_BYTES = 16 * 1024 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


async def sse_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The lines of an event stream, split only where the SSE format splits them.

    `httpx`'s `aiter_lines` also splits at U+2028, U+0085 and the like (`str.splitlines`),
    which servers may send unescaped inside JSON strings; SSE ends lines only at CR, LF and
    CRLF. A line longer than `MAX_SSE_LINE_BYTES` is UpstreamBadResponse.
    """
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk and b"\r" not in chunk:
            if len(buffer) > MAX_SSE_LINE_BYTES:
                raise UpstreamBadResponse("upstream sent an event line that is too long")
            continue
        data = bytes(buffer)
        held = data.endswith(b"\r")  # maybe the first half of a CRLF: wait for the next byte
        *lines, rest = _LINE_END.split(data[:-1] if held else data)
        buffer = bytearray(rest + (b"\r" if held else b""))
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    for line in _LINE_END.split(bytes(buffer)):
        if line:
            yield line.decode("utf-8", errors="replace")


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
    # Bytes that are not UTF-8 and lone surrogates (`"\\ud800"`) become U+FFFD, as a
    # decoder would: they are not text, and the client's answer could not be encoded.
    text = content.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
        if _ESCAPED_SURROGATE.search(text):
            value = _scrub(value)
    except (ValueError, RecursionError) as exc:
        raise UpstreamBadResponse("upstream answered with invalid JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamBadResponse("upstream answered with JSON that is not an object")
    return value


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def check_answer(answer: dict[str, Any], format: AnswerFormat) -> dict[str, Any]:
    """`answer` if it has the shape of an OpenAI completion; else UpstreamBadResponse."""
    if "error" in answer and "choices" not in answer:
        raise _status_error(502, json.dumps(answer).encode())
    choices = answer.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise UpstreamBadResponse("upstream answer has no list of choices")
    for choice in choices:
        value = choice.get(format.choice_key)
        if value is not None and not isinstance(value, format.choice_type):
            raise UpstreamBadResponse(f"upstream answer has {format.choice_problem}")
        message = choice.get("message")
        if isinstance(message, dict) and not _is_content(message.get("content")):
            raise UpstreamBadResponse("upstream answer has message content of an unknown type")
    return answer


def check_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """`chunk` if it has the shape of an OpenAI stream chunk; else UpstreamBadResponse."""
    choices = chunk.get("choices")
    if choices is None:
        return chunk  # usage-only / keep-alive chunks
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise UpstreamBadResponse("upstream chunk has no list of choices")
    for choice in choices:
        delta = choice.get("delta")
        if delta is not None and not isinstance(delta, dict):
            raise UpstreamBadResponse("upstream chunk has a delta that is not an object")
        if isinstance(delta, dict) and not _is_content(delta.get("content")):
            raise UpstreamBadResponse("upstream chunk has content of an unknown type")
        if not isinstance(choice.get("index"), int | None):
            raise UpstreamBadResponse("upstream chunk has a choice index that is not a number")
    return chunk


def _is_content(content: Any) -> bool:
    if content is None or isinstance(content, str):
        return True
    return isinstance(content, list) and all(isinstance(p, dict) for p in content)


def _finishes(chunk: dict[str, Any]) -> bool:
    return any(c.get("finish_reason") for c in chunk.get("choices") or ())


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
