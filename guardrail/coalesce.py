"""Many small texts of one stage -> a few joined texts for a guard, and its findings back.

Guards pay a fixed cost per text (a classifier job and its futures, a loop over every
pattern), so a request of thousands of tiny content parts used to cost far more than one text
of the same size -- enough to hold the event loop and the inference pool for seconds (issue
#16: 50,000 parts of 3 characters held every other request for 9 s). When a stage has more
than `COALESCE_ABOVE` texts, consecutive texts are joined (with `JOIN` between them) into
chunks of up to `CHUNK_CHARS` characters -- about one classifier window -- so a guard's work
follows the number of characters, not the number of parts. Ordinary requests (a few texts)
are scanned exactly as before. The chunks go to a guard `SLICE` at a time, so that the
inference pool (which serves jobs in order) interleaves other requests' jobs with them.

Findings come back to the original texts: a span is cut at the text boundaries it crosses
(the parts in `JOIN` are dropped); a finding without spans (a classifier's score) is
reported for every non-blank text of its chunk, so a rule that blocks, redacts or rewrites
on it acts on each text it may be about. Guards that judge each text on its own
(`per_text = True`, e.g. the `length` guard) always get the texts as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from guardrail.types import Finding, Span

COALESCE_ABOVE = 64  # texts per stage; at or below this, texts are scanned one by one
CHUNK_CHARS = 1500  # a chunk stays within one 512-token classifier window for most text
JOIN = "\n\n"
SLICE = 2  # chunks handed to a guard at once: other requests' jobs queue behind at most these


@dataclass(frozen=True)
class Piece:
    """One original text inside a chunk: its index and where it starts in the chunk."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Coalesced:
    """The joined texts a guard scans, and which originals each one holds."""

    texts: list[str]
    pieces: list[list[Piece]]
    blank: frozenset[int]  # originals with no text to judge

    def findings(self, found: Iterable[Finding]) -> list[Finding]:
        """Findings on the joined texts, as findings on the original texts."""
        out: list[Finding] = []
        for finding in found:
            if not 0 <= finding.text_index < len(self.pieces):
                continue
            pieces = self.pieces[finding.text_index]
            out.extend(_split(finding, pieces) if finding.spans else self._spread(finding, pieces))
        return out

    def _spread(self, finding: Finding, pieces: list[Piece]) -> list[Finding]:
        return [
            finding.model_copy(update={"text_index": p.index})
            for p in pieces
            if p.index not in self.blank
        ]


def coalesce(texts: Sequence[str], *, above: int = COALESCE_ABOVE) -> Coalesced | None:
    """Chunks of `texts` (None when there are `above` texts or fewer: scan them as they are)."""
    if len(texts) <= above:
        return None
    chunks: list[list[str]] = []
    pieces: list[list[Piece]] = []
    size = 0
    for index, text in enumerate(texts):
        start = size + len(JOIN)
        if not pieces or start + len(text) > CHUNK_CHARS:  # a long text gets a chunk alone
            chunks.append([])
            pieces.append([])
            start = 0
        chunks[-1].append(text)
        pieces[-1].append(Piece(index, start, start + len(text)))
        size = start + len(text)
    blank = frozenset(i for i, text in enumerate(texts) if not text.strip())
    return Coalesced([JOIN.join(chunk) for chunk in chunks], pieces, blank)


def _split(finding: Finding, pieces: list[Piece]) -> list[Finding]:
    """A finding's spans, cut at text boundaries and moved into each original's offsets."""
    per_text: dict[int, list[Span]] = {}
    for span in finding.spans:
        for piece in pieces:
            start, end = max(span.start, piece.start), min(span.end, piece.end)
            if start < end:
                moved = span.model_copy(
                    update={"start": start - piece.start, "end": end - piece.start}
                )
                per_text.setdefault(piece.index, []).append(moved)
    return [
        finding.model_copy(update={"text_index": index, "spans": tuple(spans)})
        for index, spans in per_text.items()
    ]


def per_text(guard: object) -> bool:
    """Whether a guard must see each text alone (`per_text = True`, through any wrappers)."""
    while hasattr(guard, "inner"):
        if getattr(guard, "per_text", False) is True:
            return True
        guard = guard.inner
    return getattr(guard, "per_text", False) is True
