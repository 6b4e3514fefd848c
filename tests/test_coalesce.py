"""Many small texts of a stage are scanned as a few joined chunks; findings come back to the
texts they are about (issue #16, class 4: guard work follows characters, not parts)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from guardrail.coalesce import CHUNK_CHARS, COALESCE_ABOVE, JOIN, coalesce, per_text
from guardrail.guards.length import LengthGuard
from guardrail.guards.regex import RegexGuard
from guardrail.pipeline import _scan_joined
from guardrail.types import PARTIAL_SCAN, CheckContext, Finding, Span, Stage

CTX = CheckContext(stage=Stage.INPUT, request_id="r", tenant="", policy="p")


def test_few_texts_are_scanned_as_they_are() -> None:
    """At or below COALESCE_ABOVE texts nothing is joined (ordinary requests are unchanged)."""
    assert coalesce(["a"] * COALESCE_ABOVE) is None
    joined = coalesce(["a"] * (COALESCE_ABOVE + 1))
    assert joined is not None and joined.texts == [JOIN.join(["a"] * (COALESCE_ABOVE + 1))]


def test_chunks_stay_under_the_size_and_long_texts_stand_alone() -> None:
    """Chunks hold at most CHUNK_CHARS; a text longer than that is its own chunk."""
    texts = ["x" * 100] * 100 + ["y" * (CHUNK_CHARS * 2)] + ["z" * 10] * 10
    joined = coalesce(texts)
    assert joined is not None
    assert all(len(t) <= CHUNK_CHARS for t in joined.texts if "y" not in t)
    assert "y" * (CHUNK_CHARS * 2) in joined.texts
    assert sorted(p.index for ps in joined.pieces for p in ps) == list(range(len(texts)))


def test_spans_are_cut_at_text_boundaries_and_moved() -> None:
    """A span over two joined texts becomes one span in each, in that text's offsets."""
    texts = ["ab"] * 70
    joined = coalesce(texts)
    assert joined is not None
    across = Span(start=1, end=5, entity="X")  # "b" of text 0, JOIN, "a" of text 1
    found = joined.findings([Finding(guard="g", label="X", score=1.0, spans=(across,))])
    assert {(f.text_index, f.spans[0].start, f.spans[0].end) for f in found} == {
        (0, 1, 2),
        (1, 0, 1),
    }


def test_scores_without_spans_go_to_every_non_blank_text_of_the_chunk() -> None:
    """A classifier-style finding on a chunk is reported for each non-blank text in it."""
    texts = ["hi", "  ", *["there"] * 70]
    joined = coalesce(texts)
    assert joined is not None
    found = joined.findings([Finding(guard="g", label="unsafe", score=0.9, text_index=0)])
    assert [f.text_index for f in found] == [0, *range(2, len(texts))]


class Recording:
    """A real guard, recording how many texts each scan call got."""

    def __init__(self, inner: RegexGuard) -> None:
        self.inner, self.name = inner, inner.name
        self.calls: list[int] = []

    @property
    def default_thresholds(self) -> dict[str, float]:
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        self.calls.append(len(texts))
        return await self.inner.scan(texts, ctx)


def test_a_guard_sees_few_chunks_and_finds_what_each_text_holds() -> None:
    """4,000 parts reach the regex guard as a handful of chunks, two at a time; its spans
    land on the right parts."""
    guard = Recording(RegexGuard("ids", {"ID": re.compile(r"ID-\d+")}))
    texts = [f"part {i}" for i in range(4000)]
    texts[1234] = "see ID-42 here"
    found = asyncio.run(_scan_joined(guard, texts, CTX))
    assert max(guard.calls) <= 2 and sum(guard.calls) < 100
    assert [(f.text_index, f.spans[0].start, f.spans[0].end) for f in found] == [(1234, 4, 9)]


def test_the_length_guard_always_sees_each_text() -> None:
    """`per_text` guards (length) are never given joined texts."""
    assert per_text(LengthGuard("size", 10, None))
    found = asyncio.run(_scan_joined(LengthGuard("size", 10, None), ["tiny"] * 100, CTX))
    assert found == []


def test_chunks_left_when_time_is_up_are_unread_not_clean() -> None:
    """Past the deadline no more chunks are handed to the guard (none is queued for nobody);
    each text left gets a `partial_scan` finding, so its rule's fail mode decides."""
    guard = Recording(RegexGuard("ids", {"ID": re.compile(r"ID-\d+")}))
    texts = [f"part {i} " * 30 for i in range(400)]  # ~100 chunks
    late = CTX.model_copy(update={"deadline": time.monotonic() - 1})
    found = asyncio.run(_scan_joined(guard, texts, late))
    assert guard.calls == [2]  # the first slice only
    unread = {f.text_index for f in found if f.label == PARTIAL_SCAN and f.reason == "budget"}
    joined = coalesce(texts)
    assert joined is not None
    first_slice = {p.index for pieces in joined.pieces[:2] for p in pieces}
    assert unread == set(range(len(texts))) - first_slice and len(unread) > 350
