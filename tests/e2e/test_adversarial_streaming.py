"""Adversarial streams through the real proxy: not one violating character reaches a client."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import ProxyFactory

BANNED = "detonate now"
EMAIL = "zoe.quinn@example.com"


def split(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def openai_stream(base: str, prompt: str) -> tuple[str, str | None]:
    """Stream a chat completion; return the text the client saw and the last finish_reason."""
    stream = openai_client(base).chat.completions.create(
        model="gpt-test", stream=True, messages=[{"role": "user", "content": prompt}]
    )
    text, finish = [], None
    for chunk in stream:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    return "".join(text), finish


def anthropic_stream(base: str, prompt: str) -> tuple[str, str | None]:
    """Stream an Anthropic message; return the text the client saw and the stop_reason."""
    with anthropic_client(base).messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        text = "".join(stream.text_stream)
        return text, stream.get_final_message().stop_reason


def leaked(seen: str, clean_prefix: str) -> str:
    """What the client saw beyond the clean text before the violation."""
    assert seen.startswith(clean_prefix[: len(seen)]), "released text differs from upstream"
    return seen[len(clean_prefix) :]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_openai_split_violation_never_released(
    proxy_url: ProxyFactory, fake: FakeUpstream, size: int
) -> None:
    """A banned phrase split into tiny chunks: 0 of its characters reach the OpenAI client."""
    prefix = "Here is a long and harmless introduction to the topic. Then: "
    fake.script(Reply(chunks=split(prefix + BANNED + " and a tail after it.", size)))
    seen, finish = openai_stream(proxy_url(), "go")
    assert leaked(seen, prefix) == ""
    assert finish == "content_filter"


@pytest.mark.parametrize("size", [1, 3])
def test_anthropic_split_violation_never_released(
    proxy_url: ProxyFactory, fake: FakeUpstream, size: int
) -> None:
    """The same through /v1/messages: stop_reason refusal and no banned character."""
    prefix = "A harmless opening paragraph that goes on for a while. Then: "
    fake.script(Reply(chunks=split(prefix + BANNED + " and more.", size)))
    seen, stop = anthropic_stream(proxy_url(), "go")
    assert leaked(seen, prefix) == ""
    assert stop == "refusal"


@pytest.mark.parametrize(
    "pieces",
    [
        ["Contact <EMA", "IL_1> now: deto", "nate now!"],
        ["Contact <", "EMAIL_1", "> now: ", *BANNED, "!"],
        ["Contact <EMAIL_1", "> now: detonate", " now!"],
    ],
    ids=["mid-placeholder", "char-by-char", "placeholder-then-phrase"],
)
def test_violation_across_placeholder_boundaries(
    proxy_url: ProxyFactory, fake: FakeUpstream, pieces: Sequence[str]
) -> None:
    """A placeholder split over chunks is restored whole, and the banned phrase right after
    it still never reaches the client."""
    fake.script(Reply(chunks=list(pieces)))
    seen, finish = openai_stream(proxy_url(), f"My address is {EMAIL}")
    assert EMAIL not in json.dumps(fake.last.body)
    assert finish == "content_filter"
    assert "<EMA" not in seen  # never a half placeholder
    restored_prefix = f"Contact {EMAIL} now: "
    assert leaked(seen, restored_prefix) == ""


@pytest.mark.parametrize("size", [1, 4])
def test_violation_at_the_very_end(proxy_url: ProxyFactory, fake: FakeUpstream, size: int) -> None:
    """A banned phrase as the last characters of the stream is caught before release."""
    prefix = "Everything up to here is fine, and the final words are: "
    fake.script(Reply(chunks=split(prefix + BANNED, size)))
    seen, finish = openai_stream(proxy_url(), "go")
    assert leaked(seen, prefix) == ""
    assert finish == "content_filter"


def test_split_placeholder_restored_without_violation(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """Placeholders split at every position are restored exactly in a clean stream."""
    reply = "Noted: <EMAIL_1>. I will write to <EMAIL_1> again tomorrow."
    fake.script(Reply(chunks=list(reply)))
    seen, finish = openai_stream(proxy_url(), f"Remember {EMAIL}")
    assert seen == reply.replace("<EMAIL_1>", EMAIL)
    assert finish == "stop"
