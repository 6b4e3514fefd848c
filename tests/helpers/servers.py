"""Shared pieces for tests that run real servers on 127.0.0.1."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx

from guardrail.testing import FakeUpstream


@dataclass
class FakeServer:
    """The fake upstream app and its base URL (`.../v1` is the OpenAI root)."""

    fake: FakeUpstream
    url: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ready(url: str) -> bool:
    """True once a guardrail server at `url` answers /readyz with 200."""
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
