"""Long texts -> overlapping windows of token ids, each wrapped in the model's special tokens.

A text of `n` content tokens (no [CLS]/[SEP]) is cut into windows of `content` tokens, one
starting every `stride` tokens, the last one aligned to the end of the text so that every
window is full. The caller scores each window and keeps, per label, the highest score.

Coverage: by default every token of a text is in at least one scored window, however long the
text (the policy's size limit bounds the work, and the pipeline's time budget scales with it;
see docs/robustness.md "Long texts"). A guard reads less only when its policy says
`long_text: sample`: then (`sample=True` here) at most `max_windows` windows are scored per
text -- the first `edge` and the last `edge` windows and an even spread of the middle. Text
between the chosen middle windows is NOT scored, and `Sampled.unread` says how much of the
text that was, so the decision can carry a `partial_scan` finding.

Sampling also bounds tokenisation: a sampled text longer than `slice_above_chars` characters
is not tokenised whole (1 MB costs about a second). The same choice (edges + evenly spaced) is
made over character slices of about `content * CHARS_PER_TOKEN` characters, and each slice is
tokenised alone and gives one window. A whole read tokenises the whole text once.

For token (span) heads, `text_windows` also carries each position's character offsets in the
text (slices shifted back by their start) and word ids, so entities map to the original text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Row = list[int]
Offset = tuple[int, int]
CHARS_PER_TOKEN = 8  # generous (English is ~4-5): a slice rarely runs short of a full window


@dataclass(frozen=True)
class Encoded:
    """A text's content tokens: ids and, when asked for, character offsets and word ids."""

    ids: Sequence[int]
    offsets: Sequence[Offset] = ()
    words: Sequence[int | None] = ()


@dataclass(frozen=True)
class Window:
    """One model input row and, per position, where it sits in the text (None = special)."""

    row: Row
    offsets: tuple[Offset | None, ...] = ()  # empty when offsets were not asked for
    words: tuple[int | None, ...] = ()
    part: int = 0  # which tokenization (a huge text's slice start): word ids are per part
    focused: bool = False  # a sub-window of a suspicious window (inference/focus.py)


@dataclass(frozen=True)
class Sampled:
    """The windows a sampled read scores, and the share of the text they leave unread."""

    windows: list[Window]
    unread: float  # 0.0 = every token scored; estimated from characters for sliced texts


@dataclass(frozen=True)
class Windowing:
    """How one model's inputs are cut: window size, stride, special tokens, sampling cap."""

    max_length: int  # tokens per window, special tokens included
    stride: int
    prefix: tuple[int, ...] = ()  # e.g. ([CLS],)
    suffix: tuple[int, ...] = ()  # e.g. ([SEP],)
    max_windows: int = 16  # only for sampled reads
    edge: int = 4
    slice_above_chars: int = 50_000  # only for sampled reads

    def __post_init__(self) -> None:
        if self.content < 1:
            raise ValueError("max_length leaves no room for content between special tokens")
        if self.stride < 1 or self.max_windows < 1 or self.edge < 0:
            raise ValueError("stride and max_windows must be >= 1, edge >= 0")

    @property
    def content(self) -> int:
        """Content tokens per window (max_length minus the special tokens)."""
        return self.max_length - len(self.prefix) - len(self.suffix)

    def starts(self, n: int, sample: bool = False) -> list[int]:
        """Start offsets of the windows scored for `n` content tokens (all, unless sampled)."""
        every = window_starts(n, self.content, self.stride)
        return select(every, self.max_windows, self.edge) if sample else every

    def rows(self, ids: Sequence[int], sample: bool = False) -> list[Row]:
        """The model inputs for a text's content token ids: one row per scored window."""
        return [w.row for w in self.windows(Encoded(ids), sample=sample)]

    def windows(self, encoded: Encoded, shift: int = 0, sample: bool = False) -> list[Window]:
        """One window per scored start; offsets are moved by `shift` characters."""
        n = len(encoded.ids)
        return [
            self._window(encoded, start, start + self.content, shift)
            for start in self.starts(n, sample)
        ]

    def _window(self, encoded: Encoded, start: int, stop: int, shift: int) -> Window:
        specials = len(self.prefix), len(self.suffix)
        row = [*self.prefix, *encoded.ids[start:stop], *self.suffix]
        offsets: tuple[Offset | None, ...] = ()
        words: tuple[int | None, ...] = ()
        if encoded.offsets:
            moved = [(a + shift, b + shift) for a, b in encoded.offsets[start:stop]]
            offsets = (*[None] * specials[0], *moved, *[None] * specials[1])
            words = (*[None] * specials[0], *encoded.words[start:stop], *[None] * specials[1])
        return Window(row, offsets, words, shift)

    def text_rows(self, text: str, encode: Callable[[str], Sequence[int]]) -> list[Row]:
        """The rows for every window of a text (the whole text is tokenised once)."""
        return [w.row for w in self.windows(Encoded(encode(text)))]

    def text_windows(self, text: str, encode: Callable[[str], Encoded]) -> list[Window]:
        """Every window of a text, with offsets when `encode` gives them."""
        return self.windows(encode(text))

    def sampled_rows(self, text: str, encode: Callable[[str], Sequence[int]]) -> Sampled:
        """`sampled_windows` for an `encode` that gives token ids only."""
        return self.sampled_windows(text, lambda part: Encoded(encode(part)))

    def sampled_windows(self, text: str, encode: Callable[[str], Encoded]) -> Sampled:
        """At most `max_windows` windows of a text, tokenising only slices of a huge one."""
        if len(text) <= self.slice_above_chars:
            encoded = encode(text)
            starts = self.starts(len(encoded.ids), sample=True)
            windows = [self._window(encoded, s, s + self.content, 0) for s in starts]
            return Sampled(windows, unread_share(starts, len(encoded.ids), self.content))
        span = self.content * CHARS_PER_TOKEN
        every = window_starts(len(text), span, self.stride * CHARS_PER_TOKEN)
        starts = select(every, self.max_windows, self.edge)
        last = len(text) - span
        windows, read = [], []
        for start in starts:
            encoded = encode(text[start : start + span])
            first = max(0, len(encoded.ids) - self.content) if start == last else 0
            windows.append(self._window(encoded, first, first + self.content, start))
            # characters this window reads, estimated by its share of the slice's tokens
            share = min(1.0, self.content / max(1, len(encoded.ids)))
            read.append((start, int(span * share)))
        return Sampled(windows, unread_chars(read, len(text)))


def window_starts(n: int, content: int, stride: int) -> list[int]:
    """Every window start for `n` tokens; the last window ends at the text's end."""
    if n <= content:
        return [0]
    step = min(stride, content)  # a stride wider than a window would skip tokens
    last = n - content
    return [*range(0, last, step), last]


def select(starts: list[int], max_windows: int, edge: int) -> list[int]:
    """At most `max_windows` of `starts`: `edge` at each end, the rest evenly in between."""
    count = len(starts)
    if count <= max_windows:
        return starts
    edge = min(edge, max_windows // 2)
    middle = starts[edge : count - edge]
    slots = max_windows - 2 * edge
    # `slots` < len(middle) here, so the picked indices are distinct and increasing.
    picked = [middle[int((i + 0.5) * len(middle) / slots)] for i in range(slots)]
    return [*starts[:edge], *picked, *starts[count - edge :]]


def unread_share(starts: Sequence[int], n: int, content: int) -> float:
    """Share of `n` tokens that no window of `content` tokens at `starts` covers."""
    return unread_chars([(s, content) for s in starts], n)


def unread_chars(read: Sequence[tuple[int, int]], n: int) -> float:
    """Share of `[0, n)` outside every `(start, length)` range of `read`."""
    if n <= 0:
        return 0.0
    covered, reach = 0, 0
    for start, length in sorted(read):
        end = min(n, start + length)
        covered += max(0, end - max(start, reach))
        reach = max(reach, end)
    return 1.0 - covered / n
