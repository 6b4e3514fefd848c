"""The proxy as a drop-in for the Anthropic SDK (`/v1/messages`): only `base_url` changes."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import anthropic_client
from tests.e2e.conftest import ProxyFactory

EMAIL = "ann.lee@example.org"


def test_benign_message_passes(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """A benign message is translated for the upstream and answered as an Anthropic message."""
    message = anthropic_client(proxy_url("rules", via)).messages.create(
        model="claude-test",
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "Name a colour."}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: Name a colour."
    assert message.stop_reason == "end_turn"
    assert fake.last.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
    ]
    assert fake.last.body["max_tokens"] == 64


def test_blocked_message_is_anthropic_error(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A blocked prompt is an Anthropic-shaped 400 naming the rule and stage."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(proxy_url()).messages.create(
            model="claude-test",
            max_tokens=64,
            messages=[{"role": "user", "content": "the forbidden phrase please"}],
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert (body["error"]["rule"], body["error"]["stage"]) == ("no-banned-input", "input")
    assert fake.requests == []


def test_pii_redacted_and_restored(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """The upstream sees a placeholder; the Anthropic client gets the original back."""
    message = anthropic_client(proxy_url("rules", via)).messages.create(
        model="claude-test",
        max_tokens=64,
        messages=[{"role": "user", "content": [{"type": "text", "text": f"Reply to {EMAIL}"}]}],
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert message.content[0].type == "text"
    assert message.content[0].text == f"echo: Reply to {EMAIL}"


def test_streamed_message_restores_pii(
    proxy_url: ProxyFactory, fake: FakeUpstream, via: str
) -> None:
    """A streamed answer arrives as Anthropic events with the placeholder restored."""
    fake.script(Reply(text="I wrote to <EMAIL_1>, as you asked. " * 3, chunk_chars=2))
    client = anthropic_client(proxy_url("rules", via))
    with client.messages.stream(
        model="claude-test",
        max_tokens=64,
        messages=[{"role": "user", "content": f"Write to {EMAIL}"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == f"I wrote to {EMAIL}, as you asked. " * 3
    assert final.stop_reason == "end_turn"
    assert EMAIL not in json.dumps(fake.last.body)


def test_streamed_output_block_stops_with_refusal(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A banned phrase in a streamed answer ends the message with stop_reason refusal."""
    fake.script(Reply(chunks=list("Step one is easy. Step two: detonate now. Step three.")))
    with anthropic_client(proxy_url()).messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "steps?"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert "d" not in text[len("Step one is easy. Step two:") :]


def test_tool_use_round_trip(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """tool_use / tool_result blocks become OpenAI tool calls and a tool message upstream,
    and an upstream tool call comes back as a tool_use block."""
    call = {
        "id": "call_7",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
    }
    fake.script(Reply(tool_calls=[call]))
    tools = [
        {
            "name": "weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    message = anthropic_client(proxy_url()).messages.create(
        model="claude-test",
        max_tokens=64,
        tools=tools,  # type: ignore[arg-type]
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {"city": "Oslo"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny, 21C"}
                ],
            },
        ],
    )
    sent = fake.last.body
    assert sent["tools"][0]["function"]["name"] == "weather"
    assert sent["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert sent["messages"][2] == {
        "role": "tool",
        "tool_call_id": "toolu_1",
        "content": "Sunny, 21C",
    }
    block = message.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("weather", {"city": "Oslo"})
    assert message.stop_reason == "tool_use"


def test_tool_result_blocked_at_tool_stage(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A tool_result block is checked at the tool stage."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(proxy_url()).messages.create(
            model="claude-test",
            max_tokens=64,
            messages=[
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "fetch", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "kaboom"}
                    ],
                },
            ],
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["stage"] == "tool"


def test_document_block_is_retrieved_stage(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A text document block is checked at the retrieved stage."""
    document: Any = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "Annual report... kaboom."},
    }
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(proxy_url()).messages.create(
            model="claude-test",
            max_tokens=64,
            messages=[{"role": "user", "content": [document, {"type": "text", "text": "Sum up"}]}],
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["stage"] == "retrieved"


def test_refusal_mode_message(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """Under on_block: refusal a blocked message answers the refusal with stop_reason refusal."""
    message = anthropic_client(proxy_url("refusal")).messages.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "kaboom"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Sorry, that is against the policy."
    assert message.stop_reason == "refusal"


def test_malformed_json_is_anthropic_400(proxy_url: ProxyFactory) -> None:
    """A body that is not JSON gets an Anthropic-shaped 400."""
    response = httpx.post(
        proxy_url() + "/v1/messages", content=b"[1, 2", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"
