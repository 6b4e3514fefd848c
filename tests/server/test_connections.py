"""Slow and idle clients against `guardrail serve` as a real process (issue #16, class 4):
idle sockets cannot lock out other clients, a head that trickles in and a body that stalls
are cut off, and the server logs such events once, not once per connection."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from guardrail.testing import wait_until
from tests.e2e.conftest import POLICIES
from tests.helpers.servers import free_port, ready

MAX_CONNECTIONS = 50
IDLE_SOCKETS = 200
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


@dataclass
class Served:
    """The server's base URL, port and the file its stderr goes to."""

    url: str
    port: int
    stderr: Path

    def log_lines(self) -> list[str]:
        """What the server wrote to stderr so far."""
        return self.stderr.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`guardrail serve` with a cap of 50 connections, 1 s for a head and 1 s for a body."""
    port = free_port()
    stderr = tmp_path_factory.mktemp("serve") / "stderr.log"
    command = [sys.executable, "-m", "guardrail", "serve", "--policy", str(POLICIES / "rules.yaml")]
    command += ["--port", str(port), "--upstream", "local", "--max-body-seconds", "1"]
    command += ["--max-connections", str(MAX_CONNECTIONS), "--header-timeout", "1"]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            if not wait_until(lambda: ready(url) or process.poll() is not None, timeout_s=60):
                pytest.fail("guardrail serve did not become ready")
            assert process.poll() is None, stderr.read_text()
            yield Served(url, port, stderr)
        finally:
            process.terminate()
            process.wait(timeout=20)


def connect(port: int) -> socket.socket:
    """A TCP connection to the server that sends nothing."""
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def closed_by_server(sock: socket.socket, *, trickle: bytes = b"", rounds: int = 100) -> bool:
    """Whether the server closes `sock` within `rounds` waits of 0.2 s (sending one byte of
    `trickle` before each, as a slow client would)."""
    sock.settimeout(0.2)
    for i in range(rounds):
        try:
            if i < len(trickle):
                sock.sendall(trickle[i : i + 1])
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed
            return True
    return False


def test_idle_connections_do_not_lock_out_a_client(served: Served) -> None:
    """200 idle sockets (4x the cap): a normal request still answers; the evictions are
    logged once, not once per connection."""
    before = len(served.log_lines())
    with ExitStack() as stack:
        for _ in range(IDLE_SOCKETS):
            stack.callback(stack.enter_context(connect(served.port)).close)
        response = httpx.post(served.url + "/v1/chat/completions", json=CHAT, timeout=30)
        assert response.status_code == 200
        assert httpx.get(served.url + "/healthz", timeout=30).status_code == 200
    lines = served.log_lines()[before:]
    evicted = [line for line in lines if "server.connection_evicted" in line]
    assert len(evicted) == 1, lines  # one line with a count, not 150
    assert len(lines) < 10, lines


def test_a_head_that_trickles_in_is_cut_off(served: Served) -> None:
    """A client sending its head one byte at a time is closed once the header time is up."""
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"x-pad: " + b"a" * 200
    with connect(served.port) as sock:
        assert closed_by_server(sock, trickle=head)


def test_a_body_that_stalls_gets_408(served: Served) -> None:
    """A body that stops arriving is answered 408 `body_timeout` after max_body_seconds."""
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with connect(served.port) as sock:
        sock.sendall(head + b'{"model": "m", ')
        sock.settimeout(30)
        answer = b""
        deadline = time.monotonic() + 30
        while b"body_timeout" not in answer and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"body_timeout" in answer
