"""Hold-back streaming: only checked text is released, whatever the chunk boundaries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.errors import UpstreamBadResponse
from guardrail.pipeline import Pipeline, RequestState
from guardrail.policy import load_policy_text
from guardrail.stream_fields import FieldGuard
from guardrail.streaming import CONTENT_FILTER, HOLD_LIMIT_RULE, Holdback, StreamGuard
from guardrail.types import Decision, Stage
from guardrail.upstream import shapes
from guardrail.upstream.formats import CHAT, TEXT, AnswerFormat

POLICY = """
version: 1
name: streaming
options: {stream_window_chars: 32}
guards:
  bad: {kind: keywords, keywords: [kaboom, detonate now]}
  pii: {kind: pii, entities: [EMAIL]}
rules:
  - {name: redact-pii-in, guard: pii, stages: [input], action: redact, restore: true}
  - {name: no-bad-out, guard: bad, stages: [output], action: block}
  - {name: mask-pii-out, guard: pii, stages: [output], action: redact}
"""
WINDOW = 32
BAD = ("kaboom", "detonate now")


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The streaming test policy, loaded once."""
    return Pipeline(load_policy_text(POLICY))


def holdback(pipeline: Pipeline, state: RequestState, *, check: bool = True) -> Holdback:
    """A holdback wired to the real pipeline, as the proxy builds it."""

    async def run_check(text: str) -> Decision:
        return await pipeline.check(Stage.OUTPUT, [text], state)

    return Holdback(
        run_check if check else None,
        lambda text: pipeline.restore(text, state),
        window=WINDOW,
        placeholder_len=lambda: state.vault.max_placeholder_len,
    )


async def stream_through(hb: Holdback, pieces: Sequence[str]) -> tuple[str, bool, int]:
    """Feed pieces; return (released text, blocked, most characters held at once)."""
    released: list[str] = []
    most_held = 0
    for piece in pieces:
        release = await hb.feed(piece)
        if release.blocked is not None:
            return "".join(released), True, most_held
        released.append(release.text)
        most_held = max(most_held, hb.held)
    final = await hb.close()
    if final.blocked is not None:
        return "".join(released), True, most_held
    return "".join(released) + final.text, False, most_held


def _unnumbered(text: str) -> str:
    return re.sub(r"<([A-Z_]+)_\d+>", r"<\1>", text)


def cut(text: str, sizes: Sequence[int]) -> list[str]:
    """`text` split into pieces of the given sizes (cycled)."""
    pieces, i, k = [], 0, 0
    while i < len(text):
        size = max(1, sizes[k % len(sizes)])
        pieces.append(text[i : i + size])
        i, k = i + size, k + 1
    return pieces


async def redacted_input(pipeline: Pipeline, text: str) -> RequestState:
    """A request state whose vault holds the placeholders of `text`'s input check."""
    state = pipeline.new_request("test")
    await pipeline.check(Stage.INPUT, [text], state)
    return state


sizes = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=8)
words = st.text(alphabet="abcdefghij lmnopqrstuvwxyz.,", min_size=0, max_size=120)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=words, split=sizes)
def test_clean_text_is_released_unchanged(pipeline: Pipeline, text: str, split: list[int]) -> None:
    """A clean stream comes out exactly as it went in, however it is chunked."""
    state = pipeline.new_request("t")
    out, blocked, _ = asyncio.run(stream_through(holdback(pipeline, state), cut(text, split)))
    assert not blocked
    assert out == text


@SETTINGS
@given(before=words, after=words, bad=st.sampled_from(BAD), split=sizes)
def test_violating_span_never_released(
    pipeline: Pipeline, before: str, after: str, bad: str, split: list[int]
) -> None:
    """No character of a blocked phrase reaches the client, wherever the chunks split it."""
    text = f"{before} {bad} {after}"
    state = pipeline.new_request("t")
    out, blocked, _ = asyncio.run(stream_through(holdback(pipeline, state), cut(text, split)))
    assert blocked
    assert text.startswith(out)
    assert len(out) <= len(before) + 1  # nothing from the phrase onwards


@pytest.mark.parametrize("bad", BAD)
def test_violation_at_the_very_end_in_one_char_chunks(pipeline: Pipeline, bad: str) -> None:
    """A phrase in the last characters of the stream is caught by the final check."""
    text = "All fine so far, and the last words are " + bad
    state = pipeline.new_request("t")
    out, blocked, _ = asyncio.run(stream_through(holdback(pipeline, state), list(text)))
    assert blocked
    assert bad[0] not in out[len("All fine so far, and the last words are") :]


@SETTINGS
@given(split=sizes, before=words)
def test_split_placeholders_are_restored_whole(
    pipeline: Pipeline, split: list[int], before: str
) -> None:
    """`<EMAIL_1>` arriving in pieces comes out as the original address."""
    state = asyncio.run(redacted_input(pipeline, "mail ann@example.com and bob@example.org"))
    upstream = f"{before}Sure, <EMAIL_1> and <EMAIL_2> are noted.<EMAIL_1>"
    out, blocked, _ = asyncio.run(
        stream_through(holdback(pipeline, state, check=False), cut(upstream, split))
    )
    assert not blocked
    assert out == f"{before}Sure, ann@example.com and bob@example.org are noted.ann@example.com"


@SETTINGS
@given(split=sizes, before=words)
def test_output_redaction_across_chunks_matches_whole_text(
    pipeline: Pipeline, split: list[int], before: str
) -> None:
    """An address the model writes is masked in the stream exactly as in a whole answer."""
    upstream = f"{before} write to carol@example.net today, or to dave@example.com later."
    whole = asyncio.run(pipeline.check(Stage.OUTPUT, [upstream], pipeline.new_request("w")))
    state = pipeline.new_request("t")
    out, blocked, _ = asyncio.run(stream_through(holdback(pipeline, state), cut(upstream, split)))
    assert not blocked
    assert "@" not in out
    # numbering may differ (a partial address seen early takes a number), the masking may not
    assert _unnumbered(out) == _unnumbered(whole.texts[0])


def test_hold_back_is_bounded_by_a_sentence_and_the_window(pipeline: Pipeline) -> None:
    """With one-character chunks, never more than a sentence, the look-ahead and a step wait."""
    state = pipeline.new_request("t")
    text = "a harmless sentence repeated. " * 20
    out, blocked, most_held = asyncio.run(stream_through(holdback(pipeline, state), list(text)))
    assert (out, blocked) == (text, False)
    lookahead = holdback(pipeline, state).lookahead
    assert most_held <= 30 + lookahead + WINDOW  # a sentence, the look-ahead, check steps


def test_run_on_text_is_released_at_word_boundaries(pipeline: Pipeline) -> None:
    """Text without a sentence end is still released, in whole words, once it is long."""
    state = pipeline.new_request("t")
    hb = holdback(pipeline, state)
    text = "words without any stop " * 40
    pieces: list[str] = []
    most_held = 0
    for char in text:
        release = asyncio.run(hb.feed(char))
        assert release.blocked is None
        pieces.append(release.text)
        most_held = max(most_held, hb.held)
    released = [p for p in pieces if p]
    assert released and all(p.endswith(" ") for p in released)  # cut between words only
    assert most_held <= (hb.max_unit + hb.lookahead) * 5 // 4 + WINDOW


def test_token_run_is_held_until_closed(pipeline: Pipeline) -> None:
    """A run without white space is not released in part, however long it grows (to the cap)."""
    state = pipeline.new_request("t")
    hb = holdback(pipeline, state)
    run = "x1" * 300
    released = "".join(asyncio.run(hb.feed(c)).text for c in "Run: " + run)
    assert released == "" or released == "Run: "
    final = asyncio.run(hb.close())
    assert final.blocked is None and released + final.text == "Run: " + run


def test_token_run_past_the_cap_fails_closed(pipeline: Pipeline) -> None:
    """A run longer than `max_held` stops the stream; none of it is released."""
    state = pipeline.new_request("t")
    hb = holdback(pipeline, state)
    blocked, released = None, ""
    for char in "Run: " + "y7" * hb.max_held:
        release = asyncio.run(hb.feed(char))
        released += release.text
        if release.blocked is not None:
            blocked = release.blocked
            break
    assert blocked is not None and blocked.block is not None
    assert blocked.block.rule == HOLD_LIMIT_RULE and blocked.block.code == "limit_exceeded"
    assert "y7" not in released


def test_long_number_run_is_released_not_blocked(pipeline: Pipeline) -> None:
    """A 5,000-character run of spaced numbers (a table, a hex dump) streams whole, in parts."""
    state = pipeline.new_request("t")
    hb = holdback(pipeline, state)
    text = " ".join(str(n) for n in range(1200))[:5000]
    released, blocked, most_held = asyncio.run(stream_through(hb, cut(text, [3, 7, 1])))
    assert not blocked and released == text
    assert most_held < hb.max_held


async def _aiter(chunks: Sequence[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for chunk in chunks:
        yield chunk


async def _guarded(
    pipeline: Pipeline,
    chunks: Sequence[dict[str, Any]],
    format: AnswerFormat = CHAT,
    refusal: str | None = None,
) -> list[dict[str, Any]]:
    state = pipeline.new_request("t")
    guard = StreamGuard(lambda: holdback(pipeline, state), format=format, refusal=refusal)
    return [c async for c in guard.guard(_aiter(chunks))]


def _content(chunks: Sequence[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


@pytest.mark.parametrize("kind", ["fields", "chat"])
@pytest.mark.parametrize("index", ["1", 1.5, [0], True, -1], ids=repr)
def test_non_integer_choice_index_is_upstream_bad_response(
    pipeline: Pipeline, kind: str, index: Any
) -> None:
    """A chunk whose choice index is no whole number >= 0 raises UpstreamBadResponse (the
    clean upstream-error ending), not ValueError/TypeError or a made-up index."""
    chunk = {"id": "c", "choices": [{"index": index, "delta": {"content": "Hi. "}}]}
    chunks = [{"id": "c", "choices": [{"delta": {"content": "Hello. "}}]}, chunk]
    if kind == "fields":
        state = pipeline.new_request("t")
        guard = FieldGuard(lambda: holdback(pipeline, state), format=CHAT)
        run = guard.guard(_aiter(chunks))
    else:
        run = StreamGuard(lambda: holdback(pipeline, pipeline.new_request("t"))).guard(
            _aiter(chunks)
        )

    async def drain() -> int:
        return len([c async for c in run])

    with pytest.raises(UpstreamBadResponse):
        asyncio.run(drain())


def test_chat_stream_block_ends_with_content_filter(pipeline: Pipeline) -> None:
    """A blocked chat stream ends with one final chunk whose finish_reason is content_filter."""
    text = "Here is the plan: step one, then kaboom, then more text after it."
    chunks = list(shapes.chat_chunks(list(text), model="m"))
    out = asyncio.run(_guarded(pipeline, chunks))
    assert out[-1]["choices"][0]["finish_reason"] == CONTENT_FILTER
    assert "k" not in _content(out)[len("Here is the plan: step one, then") :]
    assert sum(1 for c in out if c["choices"][0]["finish_reason"]) == 1


def test_chat_stream_refusal_text_in_final_chunk(pipeline: Pipeline) -> None:
    """Under on_block: refusal the final chunk carries the refusal message (and the block:
    rule, stage, code)."""
    chunks = list(shapes.chat_chunks(list("kaboom " * 10), model="m"))
    out = asyncio.run(_guarded(pipeline, chunks, refusal="No."))
    assert out[-1]["choices"][0] == {
        "index": 0,
        "logprobs": None,
        "finish_reason": CONTENT_FILTER,
        "delta": {"content": "No."},
        "guardrail": {"rule": "no-bad-out", "stage": "output", "code": "content_blocked"},
    }


def test_tool_call_arguments_are_held_and_checked(pipeline: Pipeline) -> None:
    """Tool-call arguments are a checked channel too: a blocked phrase in them stops the stream."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "run", "arguments": '{"cmd": "detonate now"}'},
    }
    chunks = list(shapes.chat_chunks([], model="m", tool_calls=[call], finish_reason="tool_calls"))
    out = asyncio.run(_guarded(pipeline, chunks))
    assert out[-1]["choices"][0]["finish_reason"] == CONTENT_FILTER
    released = "".join(
        (tc.get("function") or {}).get("arguments") or ""
        for c in out
        for tc in c["choices"][0]["delta"].get("tool_calls") or ()
    )
    assert "detonate" not in released


def test_clean_tool_call_passes_with_header_first(pipeline: Pipeline) -> None:
    """A clean tool call keeps its id and name, and its arguments arrive whole."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"city": "Paris"}'},
    }
    chunks = list(shapes.chat_chunks([], model="m", tool_calls=[call], finish_reason="tool_calls"))
    out = asyncio.run(_guarded(pipeline, chunks))
    calls = [tc for c in out for tc in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert calls[0]["id"] == "call_1"
    assert calls[0]["function"]["name"] == "lookup"
    assert "".join(tc["function"].get("arguments", "") for tc in calls) == '{"city": "Paris"}'
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_text_completion_stream_is_guarded(pipeline: Pipeline) -> None:
    """Legacy text-completion chunks are guarded the same way."""
    chunks = list(shapes.text_chunks(list("fine words then kaboom"), model="m"))
    out = asyncio.run(_guarded(pipeline, chunks, format=TEXT))
    assert out[-1]["choices"][0]["finish_reason"] == CONTENT_FILTER
    assert (
        "kaboom"[0] not in "".join(c["choices"][0]["text"] for c in out)[len("fine words then") :]
    )


def test_usage_chunk_passes_after_finish(pipeline: Pipeline) -> None:
    """The usage-only chunk at the end of a stream is passed on after the finish chunk."""
    chunks = list(shapes.chat_chunks(["hello ", "world"], model="m", include_usage=True))
    out = asyncio.run(_guarded(pipeline, chunks))
    assert _content(out) == "hello world"
    assert out[-2]["choices"][0]["finish_reason"] == "stop"
    assert out[-1]["choices"] == [] and out[-1]["usage"]["completion_tokens"] == 2
