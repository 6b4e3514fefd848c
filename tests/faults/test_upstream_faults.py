"""Upstream faults through a real proxy, a real misbehaving upstream and the real SDKs: each
fault becomes the documented client error (docs/robustness.md), in OpenAI and Anthropic
shapes, and a stream that already started ends with an error event -- never a hang, never a
500 and never a silently shortened answer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any, Literal

import anthropic
import httpx
import openai
import pytest
import structlog

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import FakeUpstream, Reply, serve_app, wait_until
from tests.e2e.clients import anthropic_client, openai_client
from tests.faults.conftest import RULES, Proxy, upstream_for

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
MESSAGES = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]}


def post(base: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """One raw call to the proxy (bounded: a hang fails the test instead of blocking it)."""
    return httpx.post(base + path, json=body, timeout=30)


def sse_data(response: httpx.Response) -> list[str]:
    """The `data:` payloads of an event stream, in order."""
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def error_event(response: httpx.Response) -> dict[str, Any]:
    """The error object of the stream's final event (OpenAI or Anthropic shape)."""
    last = json.loads(sse_data(response)[-1])
    error: dict[str, Any] = last["error"]
    return error


@pytest.fixture
def free_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, not listening: connects are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


# ----------------------------------------------------------------------------- timeouts


def test_timeout_is_504(proxy: Proxy, fake: FakeUpstream, via: str) -> None:
    """An upstream that does not answer in time is 504 upstream_timeout (OpenAI SDK)."""
    fake.script(Reply(text="late", delay_s=20))
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client(proxy(via)).chat.completions.create(**CHAT)
    assert caught.value.status_code == 504
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "upstream_timeout"


def test_timeout_before_stream_is_504_anthropic(proxy: Proxy, fake: FakeUpstream) -> None:
    """A stream whose first byte never comes is a 504 in Anthropic's shape, before it starts."""
    fake.script(Reply(text="late", delay_s=20))
    with pytest.raises(anthropic.InternalServerError) as caught:
        anthropic_client(proxy()).messages.create(**MESSAGES, stream=True)
    assert caught.value.status_code == 504
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "upstream_timeout"


def test_stall_mid_stream_ends_with_error_event(proxy: Proxy, fake: FakeUpstream, via: str) -> None:
    """A stream that stalls after it started ends with an upstream_timeout error event."""
    fake.script(Reply(text="one two three four", chunk_chars=4, fault="stall", stall_s=20))
    response = post(proxy(via), "/v1/chat/completions", {**CHAT, "stream": True})
    assert response.status_code == 200
    assert error_event(response)["code"] == "upstream_timeout"
    fake.script(Reply(text="one two three four", chunk_chars=4, fault="stall", stall_s=20))
    with pytest.raises(openai.APIError):
        list(openai_client(proxy(via)).chat.completions.create(**CHAT, stream=True))


# ------------------------------------------------------------------ refused and retried


@pytest.mark.parametrize("stream", [False, True])
def test_refused_connection_is_502(proxy: Proxy, free_port: int, via: str, stream: bool) -> None:
    """Nobody listening upstream is 502 upstream_unavailable, streamed or not."""
    base = proxy(via, upstream_url=f"http://127.0.0.1:{free_port}/v1")
    response = post(base, "/v1/chat/completions", {**CHAT, "stream": stream})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    anthropic_response = post(base, "/v1/messages", {**MESSAGES, "stream": stream})
    assert anthropic_response.status_code == 502
    assert anthropic_response.json()["error"]["type"] == "api_error"
    assert anthropic_response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize("stream", [False, True])
def test_refused_connection_is_retried(via: str, stream: bool) -> None:
    """A call refused before sending is retried and succeeds once the upstream listens."""
    fake = FakeUpstream()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))  # bound, not listening: refused until the fake takes it
    port = holder.getsockname()[1]
    upstream = upstream_for(f"http://127.0.0.1:{port}/v1", via, retries=8)
    app = create_app(Pipeline.from_file(RULES), upstream)
    result: dict[str, httpx.Response] = {}
    with structlog.testing.capture_logs() as logs, serve_app(app) as proxy_server:
        body = {**CHAT, "stream": stream}
        call = threading.Thread(
            target=lambda: result.update(r=post(proxy_server.url, "/v1/chat/completions", body))
        )
        call.start()
        assert wait_until(lambda: any(e["event"] == "upstream.retry" for e in logs), timeout_s=20)
        holder.close()
        with serve_app(fake.app, port=port):
            call.join(timeout=30)
    assert result["r"].status_code == 200
    assert "echo: hello" in result["r"].text
    assert len(fake.requests) == 1  # retried until it arrived, and sent once


# ----------------------------------------------------------------- dropped and cut short


def test_dropped_connection_is_502(proxy: Proxy, fake: FakeUpstream, via: str) -> None:
    """A connection dropped half-way through a whole answer is 502 upstream_unavailable."""
    fake.script(Reply(text="a whole answer that never arrives", fault="drop"))
    response = post(proxy(via), "/v1/chat/completions", CHAT)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize("fault", ["drop", "cut"])
def test_stream_broken_mid_way_ends_with_error_event(
    proxy: Proxy, fake: FakeUpstream, via: str, fault: Literal["drop", "cut"]
) -> None:
    """A dropped or cut-short stream ends with an error event and no end marker."""
    base = proxy(via)
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)):
        fake.script(Reply(text="part one, part two", chunk_chars=5, fault=fault, fault_after=2))
        response = post(base, path, {**body, "stream": True})
        assert response.status_code == 200
        assert error_event(response)["code"] == "upstream_unavailable"
        assert "[DONE]" not in sse_data(response)
        assert "message_stop" not in response.text


def test_broken_stream_raises_in_the_sdks(proxy: Proxy, fake: FakeUpstream) -> None:
    """The real SDKs raise on the error event instead of returning a short answer."""
    fake.script(Reply(text="part one, part two", chunk_chars=5, fault="cut", fault_after=2))
    with pytest.raises(openai.APIError):
        list(openai_client(proxy()).chat.completions.create(**CHAT, stream=True))
    fake.script(Reply(text="part one, part two", chunk_chars=5, fault="cut", fault_after=2))
    with (
        pytest.raises(anthropic.APIError),
        anthropic_client(proxy()).messages.stream(**MESSAGES) as stream,
    ):
        stream.get_final_message()


# ------------------------------------------------------------------------ error statuses


@pytest.mark.parametrize(
    ("upstream_status", "status"),
    [(400, 400), (401, 401), (404, 404), (429, 429), (500, 502), (503, 502)],
)
def test_upstream_status_is_mapped(
    proxy: Proxy, fake: FakeUpstream, via: str, upstream_status: int, status: int
) -> None:
    """Upstream 4xx pass through, 5xx become 502; upstream_error with the provider's text."""
    fake.script(Reply(status=upstream_status, error="provider says no"))
    response = post(proxy(via), "/v1/chat/completions", CHAT)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "provider says no" in error["message"]


def test_upstream_status_on_stream_in_anthropic_shape(proxy: Proxy, fake: FakeUpstream) -> None:
    """An upstream 429 on a stream is an Anthropic RateLimitError before it starts."""
    fake.script(Reply(status=429, error="slow down"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        anthropic_client(proxy()).messages.create(**MESSAGES, stream=True)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "upstream_error"


# ---------------------------------------------------------------------- malformed answers


@pytest.mark.parametrize(
    "raw",
    [
        b'{"choices": [',
        b"not json at all",
        b'["a", "list"]',
        b'{"choices": 5}',
        b'{"choices": [{"message": "text"}]}',
        b'{"choices": [{"message": {"content": 7}}]}',
        b'{"error": {"message": "hidden failure"}}',
    ],
)
def test_malformed_answer_is_502(proxy: Proxy, fake: FakeUpstream, raw: bytes) -> None:
    """An answer that is not a chat completion is 502, never a 500 or a 200 with garbage."""
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)):
        fake.script(Reply(raw=raw))
        response = post(proxy(), path, body)
        assert response.status_code == 502, response.text
        assert response.json()["error"]["code"] in ("upstream_bad_response", "upstream_error")


def test_malformed_answer_is_502_via_litellm(proxy: Proxy, fake: FakeUpstream) -> None:
    """Through litellm an unreadable answer is a 502 as well."""
    fake.script(Reply(text="x", fault="malformed"))
    response = post(proxy("litellm"), "/v1/chat/completions", CHAT)
    assert response.status_code == 502
    assert response.json()["error"]["code"].startswith("upstream")


@pytest.mark.parametrize("after", [0, 2])
def test_malformed_stream_event(proxy: Proxy, fake: FakeUpstream, via: str, after: int) -> None:
    """A bad first event is 502 before the stream; a later one ends it with an error event."""
    fake.script(Reply(text="some text here", chunk_chars=3, fault="malformed", fault_after=after))
    response = post(proxy(via), "/v1/chat/completions", {**CHAT, "stream": True})
    if after == 0:
        assert response.status_code == 502
        assert response.json()["error"]["code"].startswith("upstream")
    else:
        assert response.status_code == 200
        assert error_event(response)["code"].startswith("upstream")


@pytest.mark.parametrize(
    "event",
    [
        b'data: {"choices": "x"}\n\n',
        b'data: {"choices": [{"index": 0, "delta": "text"}]}\n\n',
        b'data: {"choices": [{"index": "0", "delta": {"content": "a"}}]}\n\n',
        b'data: {"error": {"message": "overloaded"}}\n\n',
    ],
)
def test_odd_stream_chunks_are_502(proxy: Proxy, fake: FakeUpstream, event: bytes) -> None:
    """Stream chunks of the wrong shape are upstream errors, never a crash mid-stream."""
    fake.script(Reply(raw=event + b"data: [DONE]\n\n"))
    response = post(proxy(), "/v1/chat/completions", {**CHAT, "stream": True})
    assert response.status_code == 502
    assert response.json()["error"]["code"].startswith("upstream")


# ------------------------------------------------------------------------------ Unicode


def test_unescaped_line_separators_in_stream_survive(
    proxy: Proxy, fake: FakeUpstream, via: str
) -> None:
    """Unescaped U+2028/U+2029/U+0085 in upstream events reach the client intact."""
    text = "line\u2028sep\u2029para\x85next é"
    fake.script(Reply(text=text, chunk_chars=5, raw_unicode=True))
    stream = openai_client(proxy(via)).chat.completions.create(**CHAT, stream=True)
    got = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert got == text
    response = post(proxy(via), "/v1/chat/completions", {**CHAT, "stream": True})
    for line in httpx.Response(200, content=response.content).iter_lines():
        assert not line or line.startswith("data: ")  # also for str.splitlines readers


def test_upstream_lone_surrogates_become_replacement_characters(
    proxy: Proxy, fake: FakeUpstream
) -> None:
    """A lone surrogate in the upstream's JSON is answered as U+FFFD, not a 500."""
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "a\\ud800b"}}]}
    fake.script(Reply(raw=json.dumps(answer).replace("\\\\", "\\").encode()))
    response = post(proxy(), "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "a\ufffdb"
