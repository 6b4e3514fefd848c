"""Refuse requests whose body length is declared twice, before any route sees them.

A request with both `Content-Length` and `Transfer-Encoding` is read by h11 as chunked,
ignoring the length, and the connection stays open: whatever follows the chunked body in
the declared length runs as a second request that a proxy in front of guardrail never saw
(request smuggling). RFC 9112 §6.3 lets a server reject such a message; we do, with 400
`ambiguous_framing`, and close the connection so that no trailing bytes are read.

This is plain ASGI middleware: the raw header list (both headers, in the scope) is all it
needs; h11 has parsed the framing but not yet read the body.
"""

from __future__ import annotations

import json
from typing import Any

from guardrail.errors import AmbiguousFraming
from guardrail.server import routes_anthropic, routes_openai

Scope = dict[str, Any]


class FramingGuard:
    """ASGI middleware: 400 for `Content-Length` together with `Transfer-Encoding`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _ambiguous(scope["headers"]):
            await _refuse(scope, send)
            return
        await self.app(scope, receive, send)


def _ambiguous(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return b"content-length" in names and b"transfer-encoding" in names


async def _refuse(scope: Scope, send: Any) -> None:
    exc = AmbiguousFraming("the request has both Content-Length and Transfer-Encoding")
    anthropic = str(scope.get("path", "")).startswith("/v1/messages")
    shape = routes_anthropic.error_body if anthropic else routes_openai.error_body
    body = json.dumps(shape(exc, 400, {})).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # never read what follows on this connection
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
