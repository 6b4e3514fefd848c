"""`guardrail.wrap()` and the request-aware guards of issue #23, as through the proxy: the
wrapped SDK call's own `response_format` reaches json_schema `from_request`, and a canary
`inject` policy adds its system message to the call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from guardrail.client import wrap
from guardrail.errors import ContentBlocked
from guardrail.testing import FakeUpstream, Reply
from tests.integrations.support import base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]  # fixtures used here

POLICY = Path(__file__).parent / "e2e" / "policies" / "json_from_request.yaml"
FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "n", "schema": {"type": "object", "required": ["n"]}},
}


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    """A wrapped sync client under the from_request policy."""
    raw = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    yield wrap(raw, policy=POLICY)
    raw.close()


def test_wrapped_call_is_checked_against_its_response_format(
    client: openai.OpenAI, fake: FakeUpstream
) -> None:
    """An answer without the required key raises; one with it is returned; the same answer
    without a response_format is not checked."""
    fake.script(Reply(text='{"m": 1}'), Reply(text='{"n": 1}'), Reply(text='{"m": 1}'))
    messages: list[dict[str, str]] = [{"role": "user", "content": "a number, please"}]
    with pytest.raises(ContentBlocked) as caught:
        client.chat.completions.create(
            model="gpt-test",
            messages=messages,
            response_format=FORMAT,  # type: ignore[arg-type]
        )
    assert (caught.value.rule, caught.value.stage) == ("answer-matches-request", "output")
    answer = client.chat.completions.create(
        model="gpt-test",
        messages=messages,
        response_format=FORMAT,  # type: ignore[arg-type]
    )
    assert answer.choices[0].message.content == '{"n": 1}'
    plain = client.chat.completions.create(model="gpt-test", messages=messages)  # type: ignore[arg-type]
    assert plain.choices[0].message.content == '{"m": 1}'


CANARY_POLICY = Path(__file__).parent / "e2e" / "policies" / "canary_inject.yaml"


def test_wrapped_call_sends_the_per_request_canary(base_url: str, fake: FakeUpstream) -> None:
    """wrap() with a canary `inject` policy: the SDK call goes out with the canary system
    message first (the caller's messages follow unchanged)."""
    raw = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    try:
        client = wrap(raw, policy=CANARY_POLICY)
        messages: list[dict[str, str]] = [{"role": "user", "content": "hello"}]
        answer = client.chat.completions.create(model="gpt-test", messages=messages)  # type: ignore[arg-type]
    finally:
        raw.close()
    assert answer.choices[0].message.content == "echo: hello"
    sent = fake.requests[0].body["messages"]
    assert sent[0]["role"] == "system" and "gr-" in sent[0]["content"]
    assert sent[1:] == messages
