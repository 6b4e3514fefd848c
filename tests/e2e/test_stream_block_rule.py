"""A stream cut by a block names the rule, stage and code, as a block error does (chat,
legacy completions, Responses, Anthropic messages)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import ProxyFactory

BANNED = list("Step one is easy. Step two: detonate now. Step three.")
RULE = {"rule": "no-banned-output", "stage": "output", "code": "content_blocked"}


def _sse_data(base: str, path: str, body: dict[str, Any]) -> list[Any]:
    """The `data:` payloads of a streamed call, raw (what any client reads)."""
    with httpx.stream("POST", base + path, json=body, timeout=30) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    return [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]


def test_responses_stream_block_names_the_rule(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A Responses stream cut mid-way ends `response.incomplete` whose incomplete_details
    carry the rule, stage and code next to reason content_filter (the SDK reads them)."""
    fake.script(Reply(chunks=BANNED))
    stream = openai_client(proxy_url()).responses.create(
        model="gpt-test", input="steps?", stream=True
    )
    with stream:
        events = list(stream)
    details = events[-1].response.incomplete_details
    assert events[-1].type == "response.incomplete"
    assert details.model_dump() == {"reason": "content_filter", **RULE}


def test_chat_stream_block_names_the_rule(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A chat stream cut mid-way ends with a content_filter choice that carries `guardrail`:
    the rule, stage and code; no earlier choice carries it."""
    fake.script(Reply(chunks=BANNED))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "steps?"}]}
    chunks = _sse_data(proxy_url(), "/v1/chat/completions", body)
    choices = [c for chunk in chunks for c in chunk["choices"]]
    assert choices[-1]["finish_reason"] == "content_filter"
    assert choices[-1]["guardrail"] == RULE
    assert not any("guardrail" in c for c in choices[:-1])


def test_legacy_stream_block_names_the_rule(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A legacy text-completion stream cut mid-way names the rule the same way."""
    fake.script(Reply(chunks=BANNED))
    body = {"model": "m", "stream": True, "prompt": "steps?"}
    chunks = _sse_data(proxy_url(), "/v1/completions", body)
    last = chunks[-1]["choices"][-1]
    assert (last["finish_reason"], last["guardrail"]) == ("content_filter", RULE)


def test_side_field_block_names_the_rule(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A block on a side field (the model's `refusal` text) cuts the stream naming the rule
    too: the side-field guard's block reaches the final choice."""
    fake.script(Reply(chunks=["Fine. "], deltas=[{"refusal": "I will not detonate now."}]))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "steps?"}]}
    chunks = _sse_data(proxy_url(), "/v1/chat/completions", body)
    last = chunks[-1]["choices"][-1]
    assert (last["finish_reason"], last["guardrail"]) == ("content_filter", RULE)
    assert "detonate" not in json.dumps(chunks)


def test_anthropic_stream_block_names_the_rule(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """An Anthropic stream cut mid-way ends with stop_reason refusal, and its message_delta
    carries `guardrail` (rule, stage, code); the Anthropic SDK's event keeps it."""
    fake.script(Reply(chunks=BANNED))
    events = list(
        anthropic_client(proxy_url()).messages.create(
            model="claude-test",
            max_tokens=64,
            stream=True,
            messages=[{"role": "user", "content": "steps?"}],
        )
    )
    delta = next(e for e in events if e.type == "message_delta").delta
    assert delta.stop_reason == "refusal"
    assert (delta.model_extra or {}).get("guardrail") == RULE
