"""The language and json_schema guard kinds of issue #23 through the real proxy and the real
OpenAI SDK (policies: tests/e2e/policies/guard_kinds_more.yaml and json_answers.yaml)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

POLICY = "guard_kinds_more"
JSON_POLICY = "json_answers"
ORDER = '{"order_id": "ORD-123456", "status": "shipped"}'
# What an app sends with structured outputs; the guard validates against the policy's schema.
RESPONSE_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "order", "schema": {"type": "object"}},
}


def _chat(proxy_url: ProxyFactory, prompt: str) -> str:
    answer = openai_client(proxy_url(POLICY)).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    return answer.choices[0].message.content or ""


@pytest.mark.parametrize(
    "prompt",
    [
        "我的订单还没有到，我想要退款。",
        "¿Cómo puedo cambiar la contraseña de mi cuenta?",
    ],
)
def test_language_outside_the_allow_list_is_blocked(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str
) -> None:
    """Chinese and Spanish prompts get the rule's own code and message; the upstream sees
    nothing."""
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(proxy_url, prompt)
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["rule"]) == ("language_not_supported", "our-languages-only")
    assert body["message"] == "Please write in English, French or German."
    assert fake.requests == []


@pytest.mark.parametrize(
    "prompt",
    [
        "Comment est-ce que je peux changer le mot de passe de mon compte ?",
        "Wie kann ich das Passwort für mein Konto ändern?",
        "How do I reset the password for my account?",
        "ok",
    ],
)
def test_allowed_and_undetermined_languages_pass(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str
) -> None:
    """French, German, English and a too-short text reach the upstream unchanged."""
    assert _chat(proxy_url, prompt) == f"echo: {prompt}"


def _json_answer(proxy_url: ProxyFactory) -> str:
    answer = openai_client(proxy_url(JSON_POLICY)).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Where is my order?"}],
        response_format=RESPONSE_FORMAT,
    )
    return answer.choices[0].message.content or ""


def _json_stream(proxy_url: ProxyFactory) -> tuple[list[str], str | None]:
    """The streamed text pieces the client got, and the last finish_reason."""
    stream = openai_client(proxy_url(JSON_POLICY)).chat.completions.create(
        model="gpt-test", stream=True, messages=[{"role": "user", "content": "Where is it?"}]
    )
    chunks = [c for c in stream if c.choices]
    return [c.choices[0].delta.content or "" for c in chunks], chunks[-1].choices[0].finish_reason


def test_valid_json_answer_passes(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """An answer that matches the policy's schema reaches the client unchanged."""
    fake.script(Reply(text=ORDER))
    assert json.loads(_json_answer(proxy_url)) == json.loads(ORDER)
    assert fake.requests[0].body["response_format"] == RESPONSE_FORMAT


@pytest.mark.parametrize(
    "answer",
    [
        "Your order ORD-123456 has shipped!",
        '{"order_id": "ORD-123456", "status": "lost"}',
        '{"order_id": "ORD-123456", "status": "shipped", "card": "4111"}',
    ],
)
def test_answer_off_the_schema_is_blocked(
    proxy_url: ProxyFactory, fake: FakeUpstream, answer: str
) -> None:
    """Prose, a value outside the enum and an extra key are blocked at output with the
    rule's code."""
    fake.script(Reply(text=answer))
    with pytest.raises(openai.BadRequestError) as caught:
        _json_answer(proxy_url)
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["rule"], body["stage"]) == (
        "invalid_answer_format",
        "answer-is-an-order",
        "output",
    )


def test_streamed_json_is_held_whole_and_released_once_valid(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A streamed answer shorter than the window is held until it ends, validated whole,
    then released: the client gets all of it, at once, after the last upstream chunk."""
    fake.script(Reply(text=ORDER, chunk_chars=4))
    pieces, finish = _json_stream(proxy_url)
    assert "".join(pieces) == ORDER and finish == "stop"
    assert [p for p in pieces if p] == [ORDER]


def test_streamed_json_off_the_schema_is_never_released(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A streamed answer that breaks the schema ends with content_filter and none of it."""
    fake.script(Reply(text='{"order_id": "ORD-123456", "status": "lost"}', chunk_chars=4))
    pieces, finish = _json_stream(proxy_url)
    assert finish == "content_filter"
    assert "ORD-123456" not in "".join(pieces)


def test_streamed_json_longer_than_the_window_is_refused(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A valid streamed answer longer than `stream_window_chars` cannot be validated whole
    (each window is a piece of the document), so the rule fails it closed, before any of
    it is released."""
    long_order = json.dumps({"order_id": "ORD-123456", "status": "shipped", "note": "x " * 400})
    fake.script(Reply(text=long_order, chunk_chars=16))
    pieces, finish = _json_stream(proxy_url)
    assert finish == "content_filter"
    assert "".join(pieces) == ""
