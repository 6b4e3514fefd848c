"""Request and stream limits through a real proxy and the real SDKs: over a limit is a clear
413 `limit_exceeded` naming the limit, never a 500 and never a silently shortened request; a
streamed answer over its limit ends cleanly with finish_reason `length`."""

from __future__ import annotations

import argparse
from typing import Any

import anthropic
import httpx
import openai
import pytest

from guardrail.cli import serve as serve_cli
from guardrail.server.limits import Limits, from_arguments
from guardrail.settings import Settings
from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import anthropic_client, openai_client
from tests.faults.conftest import Proxy

LIMITS = {
    "max_body_bytes": 4096,
    "max_messages": 3,
    "max_message_chars": 100,
    "max_request_chars": 250,
    "max_completion_chars": 40,
}


PARTS = {"role": "user", "content": [{"type": "text", "text": "z" * 60}] * 2}  # 120 chars


def user(text: str) -> dict[str, str]:
    """One user message."""
    return {"role": "user", "content": text}


@pytest.mark.parametrize(
    ("messages", "limit", "param"),
    [
        ([user("hi")] * 4, "max_messages", "messages"),
        ([user("x" * 101)], "max_message_chars", "messages[0]"),
        ([user("a"), user("y" * 40), PARTS], "max_message_chars", "messages[2]"),
        ([user("x" * 90)] * 3, "max_request_chars", "messages"),
        ([user("x" * 5000)], "max_body_bytes", None),
    ],
)
def test_openai_request_over_a_limit_is_413(
    proxy: Proxy, fake: FakeUpstream, messages: list[Any], limit: str, param: str | None
) -> None:
    """Each request limit answers 413 limit_exceeded naming the limit; nothing goes upstream."""
    client = openai_client(proxy(**LIMITS))
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="m", messages=messages)
    assert caught.value.status_code == 413
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "limit_exceeded"
    assert error["type"] == "invalid_request_error"
    assert error["limit"] == limit and limit in error["message"]
    assert error["param"] == param
    assert error["maximum"] == LIMITS[limit]
    assert fake.requests == []


def test_anthropic_request_over_a_limit_is_413(proxy: Proxy, fake: FakeUpstream) -> None:
    """The Anthropic route refuses the same way, in Anthropic's error shape."""
    client = anthropic_client(proxy(**LIMITS))
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(
            model="m",
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "text", "text": "x" * 101}]}],
        )
    assert caught.value.status_code == 413
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == "request_too_large"
    assert body["error"]["code"] == "limit_exceeded"
    assert body["error"]["limit"] == "max_message_chars"
    assert fake.requests == []


def test_legacy_prompt_list_counts_as_messages(proxy: Proxy, fake: FakeUpstream) -> None:
    """A legacy completions prompt list over max_messages is refused like messages."""
    response = httpx.post(
        proxy(**LIMITS) + "/v1/completions", json={"model": "m", "prompt": ["a", "b", "c", "d"]}
    )
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "prompt"
    assert fake.requests == []


def test_request_at_the_limits_passes(proxy: Proxy, fake: FakeUpstream) -> None:
    """A request exactly at every request limit is served unchanged (limits are inclusive)."""
    messages = [user("x" * 100), user("y" * 100), user("z" * 50)]
    answer = openai_client(proxy(**{**LIMITS, "max_completion_chars": 10_000})).chat.completions
    reply = answer.create(model="m", messages=messages)
    assert reply.choices[0].finish_reason == "stop"
    assert fake.last.body["messages"] == messages


def test_long_stream_ends_with_length(proxy: Proxy, fake: FakeUpstream) -> None:
    """A stream over max_completion_chars stops at the limit with finish_reason length."""
    fake.script(Reply(text="0123456789" * 20, chunk_chars=7))
    stream = openai_client(proxy(**LIMITS)).chat.completions.create(
        model="m", messages=[user("count")], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ("0123456789" * 20)[:40]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "length" and finishes.count("length") == 1


def test_long_stream_raw_has_done(proxy: Proxy, fake: FakeUpstream) -> None:
    """On the wire, the capped stream's last event is [DONE]."""
    fake.script(Reply(text="abcdefghij" * 10, chunk_chars=3))
    body = {"model": "m", "messages": [user("go")], "stream": True}
    response = httpx.post(proxy(**LIMITS) + "/v1/chat/completions", json=body)
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert '"finish_reason":"length"' in events[-2]


def test_long_anthropic_stream_stops_with_max_tokens(proxy: Proxy, fake: FakeUpstream) -> None:
    """Through the Anthropic route the capped stream ends with stop_reason max_tokens."""
    fake.script(Reply(text="abcdefghij" * 10, chunk_chars=6))
    with anthropic_client(proxy(**LIMITS)).messages.stream(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "max_tokens"
    assert message.content[0].type == "text"
    assert message.content[0].text == ("abcdefghij" * 10)[:40]


def test_legacy_completion_stream_is_capped(proxy: Proxy, fake: FakeUpstream) -> None:
    """Legacy text-completion streams are capped the same way."""
    fake.script(Reply(text="t" * 100, chunk_chars=9))
    stream = openai_client(proxy(**LIMITS)).completions.create(model="m", prompt="go", stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "t" * 40
    assert chunks[-1].choices[0].finish_reason == "length"


def test_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """GUARDRAIL_LIMITS_* environment variables set the limits; unset ones keep defaults."""
    monkeypatch.setenv("GUARDRAIL_LIMITS_MAX_MESSAGES", "7")
    limits = Limits.from_settings()
    assert limits.max_messages == 7
    assert limits.max_body_bytes == Settings.model_fields["limits_max_body_bytes"].default


def test_serve_flags_override_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """`guardrail serve --max-message-chars N` beats the environment."""
    monkeypatch.setenv("GUARDRAIL_LIMITS_MAX_MESSAGE_CHARS", "5")
    parser = argparse.ArgumentParser()
    serve_cli.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--policy", "p.yaml", "--max-message-chars", "123"])
    assert from_arguments(args).max_message_chars == 123
    args = parser.parse_args(["serve", "--policy", "p.yaml"])
    assert from_arguments(args).max_message_chars == 5
