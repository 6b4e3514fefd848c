"""The built-in local upstream: deterministic answers a test or demo can script."""

from __future__ import annotations

import asyncio
from typing import Any

from guardrail.upstream.base import UpstreamRequest
from guardrail.upstream.formats import TEXT
from guardrail.upstream.local import CHUNK_HEADER, REPLY_HEADER, LocalUpstream


def chat(text: str, **directives: str) -> UpstreamRequest:
    """A chat request with one user message and the given directives."""
    body = {"model": "local", "messages": [{"role": "user", "content": text}]}
    return UpstreamRequest(body, directives=directives)


async def collect(upstream: LocalUpstream, request: UpstreamRequest) -> list[dict[str, Any]]:
    """Every chunk of a stream."""
    return [chunk async for chunk in upstream.stream(request)]


def test_echoes_the_last_user_message() -> None:
    """Without directives the answer echoes what reached the upstream."""
    answer = asyncio.run(LocalUpstream().complete(chat("hi <EMAIL_1>")))
    assert answer["choices"][0]["message"]["content"] == "You said: hi <EMAIL_1>"
    assert answer["object"] == "chat.completion"


def test_reply_header_wins_and_is_percent_decoded() -> None:
    """The x-guardrail-local-reply header sets the answer verbatim (percent-encoding allowed)."""
    request = chat("anything", **{REPLY_HEADER: "caf%C3%A9 kaboom"})
    assert LocalUpstream().reply(request) == "café kaboom"


def test_scripted_table() -> None:
    """The first scripted key found in the prompt picks the answer."""
    upstream = LocalUpstream({"weather": "Sunny.", "time": "Noon."})
    assert upstream.reply(chat("what time is it")) == "Noon."
    assert upstream.reply(chat("hello")) == "You said: hello"


def test_streams_in_small_chunks() -> None:
    """Streams come in pieces of chunk_chars characters (the header overrides it)."""
    chunks = asyncio.run(collect(LocalUpstream(chunk_chars=3), chat("abcdefg")))
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]]
    assert "".join(pieces) == "You said: abcdefg"
    assert all(len(p) <= 3 for p in pieces)
    chunks = asyncio.run(collect(LocalUpstream(), chat("ab", **{CHUNK_HEADER: "1"})))
    assert len(chunks) == len("You said: ab") + 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_legacy_text_completion() -> None:
    """Legacy completions echo the prompt as a text_completion."""
    request = UpstreamRequest({"model": "local", "prompt": "once upon"}, format=TEXT)
    answer = asyncio.run(LocalUpstream().complete(request))
    assert answer["choices"][0]["text"] == "You said: once upon"
