"""Server-sent events: encoding OpenAI and Anthropic streams, and the streaming response."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import StreamingResponse

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


# Line breaks to `str.splitlines` (which some SSE readers use, httpx's `aiter_lines` among
# them) but not to JSON: escaped, so that one event never reads as two lines.
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _dumps(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_LINE_BREAKS) if not text.isascii() else text


def data_event(data: Mapping[str, Any]) -> bytes:
    """`data: {json}` (OpenAI style: no event name)."""
    return f"data: {_dumps(data)}\n\n".encode()


def named_event(event: str, data: Mapping[str, Any]) -> bytes:
    """`event: name` + `data: {json}` (Anthropic style)."""
    return f"event: {event}\ndata: {_dumps(data)}\n\n".encode()


def sse_response(body: AsyncIterator[bytes], headers: Mapping[str, str]) -> StreamingResponse:
    """A `text/event-stream` response around already-encoded events."""
    return StreamingResponse(
        body, media_type="text/event-stream", headers={**SSE_HEADERS, **headers}
    )
