"""`guardrail.wrap()`: `responses.create` of the real OpenAI SDK, guarded in-process against a
real fake (chat-completions) upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from guardrail.client import wrap
from guardrail.errors import ContentBlocked, UncheckableInput
from guardrail.pipeline import Pipeline
from guardrail.testing import FakeUpstream, Reply
from tests.integrations.support import EMAIL, POLICIES, base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]  # fixtures used here

CALL = {
    "id": "call_7",
    "type": "function",
    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
}
TOOL: Any = {
    "type": "function",
    "name": "weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def rules() -> Pipeline:
    """The rules policy, loaded once."""
    return Pipeline.from_file(POLICIES / "rules.yaml")


@pytest.fixture
def client(base_url: str, rules: Pipeline) -> Iterator[openai.OpenAI]:
    """A wrapped sync client under the rules policy (closed after the test)."""
    raw = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    yield wrap(raw, policy=rules)
    raw.close()


@pytest.fixture
async def aclient(base_url: str, rules: Pipeline) -> AsyncIterator[openai.AsyncOpenAI]:
    """A wrapped async client under the rules policy (closed after the test)."""
    raw = openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)
    yield wrap(raw, policy=rules)
    await raw.close()


def _text(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def test_create_answers_a_response(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """`responses.create` is sent as a checked chat call and answered as the SDK's Response."""
    response = client.responses.create(model="gpt-test", input="Name a colour.", instructions="Hi")
    assert isinstance(response, openai.types.responses.Response)
    assert response.output_text == "echo: Name a colour."
    assert fake.last.path.endswith("/chat/completions")
    assert fake.last.body["messages"] == [
        {"role": "system", "content": "Hi"},
        {"role": "user", "content": "Name a colour."},
    ]


def test_pii_is_redacted_and_restored(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """PII in an input item is a placeholder upstream and is restored in the answer."""
    response = client.responses.create(
        model="gpt-test", input=[{"role": "user", "content": f"Reply to {EMAIL}"}]
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert response.output_text == f"echo: Reply to {EMAIL}"


def test_block_raises_content_blocked(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A blocked prompt raises ContentBlocked naming the rule; nothing is sent."""
    with pytest.raises(ContentBlocked) as caught:
        client.responses.create(model="gpt-test", input="the forbidden phrase")
    assert (caught.value.rule, caught.value.stage) == ("no-banned-input", "input")
    assert fake.requests == []


def test_uncheckable_input_raises_before_sending(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """What guardrail cannot check (an image part, a built-in tool) raises, nothing is sent."""
    image: Any = {"type": "input_image", "image_url": "https://example.org/cat.png"}
    with pytest.raises(UncheckableInput):
        client.responses.create(model="gpt-test", input=[{"role": "user", "content": [image]}])
    with pytest.raises(UncheckableInput):
        client.responses.create(model="gpt-test", input="news?", tools=[{"type": "web_search"}])
    with pytest.raises(UncheckableInput):
        client.responses.create(
            model="gpt-test", input="hi", extra_body={"previous_response_id": "r"}
        )
    assert fake.requests == []


def test_stream_restores_and_holds_back(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A stream is the SDK's typed events with PII restored; a banned phrase later on ends it
    `incomplete` without the phrase ever reaching the caller."""
    fake.script(Reply(text="Mailed <EMAIL_1>. All done. ", chunk_chars=3))
    with client.responses.create(model="gpt-test", input=f"Mail {EMAIL}", stream=True) as stream:
        events = list(stream)
    assert _text(events) == f"Mailed {EMAIL}. All done. "
    assert events[-1].type == "response.completed"
    fake.script(Reply(chunks=list("Step one is easy. Step two: detonate now. Step three.")))
    with client.responses.create(model="gpt-test", input="steps?", stream=True) as stream:
        events = list(stream)
    assert "detonate" not in json.dumps([e.model_dump() for e in events])
    assert events[-1].type == "response.incomplete"


def test_refusal_policy_answers_incomplete(base_url: str, fake: FakeUpstream) -> None:
    """Under `on_block: refusal` a blocked call is a response (or stream) with the refusal
    text, `incomplete` with reason content_filter; nothing is sent upstream."""
    raw = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    client = wrap(raw, policy=POLICIES / "refusal.yaml")
    response = client.responses.create(model="gpt-test", input="kaboom")
    assert response.status == "incomplete"
    assert response.output_text == "Sorry, that is against the policy."
    with client.responses.create(model="gpt-test", input="kaboom", stream=True) as stream:
        events = list(stream)
    assert _text(events) == "Sorry, that is against the policy."
    assert events[-1].type == "response.incomplete"
    assert fake.requests == []
    raw.close()


def test_function_call_round_trip(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Function call items go upstream as a tool call and a tool message; the model's call
    comes back as a function_call output item."""
    fake.script(Reply(tool_calls=[CALL]))
    response = client.responses.create(
        model="gpt-test",
        tools=[TOOL],
        input=[
            {"role": "user", "content": "Weather?"},
            {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
        ],
    )
    assert fake.last.body["messages"][2] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "Sunny",
    }
    call = response.output[-1]
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("weather", '{"city": "Oslo"}')


def test_unguarded_responses_calls_refuse(client: openai.OpenAI) -> None:
    """Calls that would return text the policy never checked raise NotImplementedError."""
    with pytest.raises(NotImplementedError):
        client.responses.retrieve("resp_1")
    with pytest.raises(NotImplementedError):
        client.responses.stream(model="gpt-test", input="hi")


async def test_async_create_and_stream(aclient: openai.AsyncOpenAI, fake: FakeUpstream) -> None:
    """The async client: a whole response and a stream, PII restored in both."""
    response = await aclient.responses.create(model="gpt-test", input=f"Reply to {EMAIL}")
    assert response.output_text == f"echo: Reply to {EMAIL}"
    fake.script(Reply(text="Mailed <EMAIL_1>. Done. ", chunk_chars=3))
    stream = await aclient.responses.create(model="gpt-test", input=f"Mail {EMAIL}", stream=True)
    async with stream:
        events = [event async for event in stream]
    assert _text(events) == f"Mailed {EMAIL}. Done. "
    assert events[-1].response.output_text == f"Mailed {EMAIL}. Done. "
    with pytest.raises(ContentBlocked):
        await aclient.responses.create(model="gpt-test", input="kaboom")
