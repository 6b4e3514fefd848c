"""Issue #16 class 7: wire oddities.

- A request with both `Content-Length` and `Transfer-Encoding: chunked` is refused (400
  `ambiguous_framing`) and its connection closed, so bytes after the chunked body can never
  run as a second request (request smuggling). Sent through a raw socket: no HTTP client
  library would write such a request.
- An Anthropic answer built from an upstream answer whose content is a list of parts has a
  string `text`, never a list.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from guardrail.testing import FakeUpstream, Reply

ProxyFactory = Callable[..., str]


def _request(path: str, body: bytes, headers: bytes) -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: guardrail\r\nContent-Type: application/json\r\n%s\r\n%s" % (
        path.encode(),
        headers,
        body,
    )


def _read_all(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """Everything the server sends; True if it closed the connection within `seconds`."""
    sock.settimeout(0.5)
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            part = sock.recv(65536)
        except TimeoutError:
            continue
        if not part:
            return data, True
        data += part
    return data, False


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_content_length_with_chunked_is_refused_and_closed(
    attack_proxy: ProxyFactory, fake: FakeUpstream, path: str
) -> None:
    """CL + TE: one 400 `ambiguous_framing`, the connection closes, the smuggled request
    after the chunked body never runs and nothing reaches the upstream."""
    first = json.dumps(
        {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]}
    )
    second = first.replace("hi", "smuggled").encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(first), first.encode())
    smuggled = _request(path, second, b"Content-Length: %d\r\n" % len(second))
    framing = b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(chunked)
    url = urlparse(attack_proxy())
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(_request(path, chunked, framing) + smuggled)
        data, closed = _read_all(sock, seconds=10)
    assert closed
    assert data.count(b"HTTP/1.1 ") == 1
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"]["code"] == "ambiguous_framing"
    assert fake.requests == []


def test_anthropic_answer_from_content_parts_has_string_text(
    attack_proxy: ProxyFactory, fake: FakeUpstream
) -> None:
    """An upstream answer whose content is a list of parts comes back as one Anthropic text
    block with string `text`, never a list."""
    parts: Any = [{"type": "text", "text": "Paris is "}, {"type": "text", "text": "the capital."}]
    fake.script(Reply(text="Paris is the capital.", message={"content": parts}))
    body = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "Capital?"}]}
    with httpx.Client(base_url=attack_proxy(), timeout=60) as client:
        response = client.post("/v1/messages", json=body)
    assert response.status_code == 200, response.text
    content = response.json()["content"]
    assert content == [{"type": "text", "text": "Paris is the capital."}]
