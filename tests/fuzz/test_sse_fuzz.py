"""Property tests of the event-stream code: reading an upstream's SSE (any split of the bytes,
any line ending, awkward Unicode), writing our own events, translating chunk streams to
Anthropic events, and capping a stream at `max_completion_chars`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.errors import UpstreamBadResponse, UpstreamError
from guardrail.server.anthropic_format import StreamEncoder
from guardrail.server.sse import data_event, named_event
from guardrail.stream_limit import cap_completion
from guardrail.upstream import shapes
from guardrail.upstream.formats import FORMATS
from guardrail.upstream.openai_http import DONE, parse_sse_data, sse_lines
from tests.fuzz.strategies import EXAMPLES, json_values, text

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
payloads = st.builds(lambda v: {"choices": [], "v": v}, json_values)
line_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


async def _bytes(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def read_events(stream: bytes, cuts: list[int]) -> list[Any]:
    """What the upstream reader makes of `stream` delivered in pieces cut at `cuts`."""
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]

    async def go() -> list[Any]:
        out: list[Any] = []
        async for line in sse_lines(_bytes(pieces)):
            chunk = parse_sse_data(line)
            if chunk is DONE:
                break
            if chunk is not None:
                out.append(chunk)
        return out

    return asyncio.run(go())


@FUZZ
@given(
    events=st.lists(st.tuples(payloads, st.booleans(), line_ends), max_size=6),
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
def test_upstream_events_survive_any_split(
    events: list[tuple[dict[str, Any], bool, bytes]], cuts: list[int]
) -> None:
    """Upstream events come out whole and in order for any byte split and line ending."""
    stream = b": keep-alive\n\n"
    for payload, escaped, end in events:
        data = json.dumps(payload, ensure_ascii=escaped)
        stream += b"event: chunk" + end + b"data: " + data.encode() + end + end
    stream += b"data: [DONE]\n\n"
    assert read_events(stream, cuts) == [payload for payload, _, _ in events]


@FUZZ
@given(line=text)
def test_parse_sse_data_returns_or_raises_upstream_error(line: str) -> None:
    """Any line: a JSON object, DONE, None -- or an UpstreamError, nothing else."""
    for candidate in (line, "data:" + line, "data: {" + line):
        try:
            result = parse_sse_data(candidate)
        except UpstreamError:
            continue
        assert result is None or isinstance(result, dict)


@FUZZ
@given(raw=st.binary(max_size=200), cuts=st.lists(st.integers(min_value=0), max_size=5))
def test_sse_lines_reads_any_bytes(raw: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes (invalid UTF-8 included) give lines without CR/LF, never an error."""
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]

    async def go() -> list[str]:
        return [line async for line in sse_lines(_bytes(pieces))]

    try:
        lines = asyncio.run(go())
    except UpstreamBadResponse:  # only for lines over the size limit
        raise AssertionError("a short input was refused") from None
    assert all("\n" not in line and "\r" not in line for line in lines)


@FUZZ
@given(payload=st.dictionaries(text, json_values, max_size=4), name=st.sampled_from(["a", "b"]))
def test_our_events_are_one_line_each(payload: dict[str, Any], name: str) -> None:
    """Our events read back as written, even by readers that split like str.splitlines."""
    event = data_event(payload).decode()
    assert event.splitlines() == [event[:-2], ""]
    assert json.loads(event[6:]) == payload
    lines = named_event(name, payload).decode().splitlines()
    assert len(lines) == 3 and lines[0] == f"event: {name}" and lines[2] == ""
    assert json.loads(lines[1][6:]) == payload


def _chunk_stream(pieces: list[str], finish: str | None) -> list[dict[str, Any]]:
    chunks = list(shapes.chat_chunks(pieces, model="m", finish_reason=finish or "stop"))
    if finish is None:  # a stream whose finish chunk never came
        chunks = [c for c in chunks if not c["choices"] or not c["choices"][0]["finish_reason"]]
    return chunks


async def _aiter(items: Iterable[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


@FUZZ
@given(
    pieces=st.lists(text, max_size=6),
    finish=st.sampled_from([None, "stop", "length", "content_filter", "tool_calls"]),
)
def test_anthropic_event_sequence_is_well_formed(pieces: list[str], finish: str | None) -> None:
    """Any chunk stream becomes a well-formed Anthropic event sequence, text intact."""

    async def go() -> list[tuple[str, dict[str, Any]]]:
        encoder = StreamEncoder(model="m")
        return [e async for e in encoder.encode(_aiter(_chunk_stream(pieces, finish)))]

    events = asyncio.run(go())
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop")
    deltas = [d["delta"].get("text", "") for n, d in events if n == "content_block_delta"]
    assert "".join(deltas) == "".join(pieces)


@FUZZ
@given(
    pieces=st.lists(text, max_size=8),
    limit=st.integers(min_value=1, max_value=80),
    kind=st.sampled_from(["chat", "text"]),
)
def test_cap_completion_cuts_at_the_limit(pieces: list[str], limit: int, kind: str) -> None:
    """The capped stream carries exactly the first `limit` characters and one finish."""
    if kind == "chat":
        chunks = list(shapes.chat_chunks(pieces, model="m"))
    else:
        chunks = list(shapes.text_chunks(pieces, model="m"))

    async def go() -> list[dict[str, Any]]:
        return [c async for c in cap_completion(_aiter(chunks), limit, format=FORMATS[kind])]

    out = asyncio.run(go())
    choices = [c for chunk in out for c in chunk["choices"]]
    texts = [c.get("text") or (c.get("delta") or {}).get("content") or "" for c in choices]
    whole = "".join(pieces)
    assert "".join(texts) == whole[:limit]
    finishes = [c["finish_reason"] for c in choices if c.get("finish_reason")]
    assert finishes == (["length"] if len(whole) > limit else ["stop"])
