"""Long texts -> overlapping windows of token ids, each wrapped in the model's special tokens.

A text of `n` content tokens (no [CLS]/[SEP]) is cut into windows of `content` tokens, one
starting every `stride` tokens, the last one aligned to the end of the text so that every
window is full. The caller scores each window and keeps, per label, the highest score.

Bounded work: at most `max_windows` windows are scored per text. When a text has more, the
first `edge` and the last `edge` windows are always kept (instructions tend to sit at the
start or the end) and the remaining budget is spread evenly over the middle. Text between the
chosen middle windows is NOT scored; the cap is the `GUARDRAIL_INFERENCE_MAX_WINDOWS` setting.
With MiniLM (512 tokens, stride 384) and the default 16 windows, texts of up to ~6,000 tokens
(~25,000 characters of English) are scored completely.

Bounded tokenisation: a text longer than `slice_above_chars` characters
(`GUARDRAIL_INFERENCE_SLICE_ABOVE_CHARS`) is not tokenised whole (1 MB of text costs about a
second). The same choice (edges + evenly spaced) is made over character slices of about
`content * CHARS_PER_TOKEN` characters, and each slice is tokenised alone and gives one window.

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


@dataclass(frozen=True)
class Windowing:
    """How one model's inputs are cut: window size, stride, special tokens and the cap."""

    max_length: int  # tokens per window, special tokens included
    stride: int
    prefix: tuple[int, ...] = ()  # e.g. ([CLS],)
    suffix: tuple[int, ...] = ()  # e.g. ([SEP],)
    max_windows: int = 16
    edge: int = 4
    slice_above_chars: int = 50_000

    def __post_init__(self) -> None:
        if self.content < 1:
            raise ValueError("max_length leaves no room for content between special tokens")
        if self.stride < 1 or self.max_windows < 1 or self.edge < 0:
            raise ValueError("stride and max_windows must be >= 1, edge >= 0")

    @property
    def content(self) -> int:
        """Content tokens per window (max_length minus the special tokens)."""
        return self.max_length - len(self.prefix) - len(self.suffix)

    def starts(self, n: int) -> list[int]:
        """Start offsets of the windows that are scored for a text of `n` content tokens."""
        return select(window_starts(n, self.content, self.stride), self.max_windows, self.edge)

    def rows(self, ids: Sequence[int]) -> list[Row]:
        """The model inputs for a text's content token ids: one row per scored window."""
        return [w.row for w in self.windows(Encoded(ids))]

    def windows(self, encoded: Encoded, shift: int = 0) -> list[Window]:
        """One window per scored start; offsets are moved by `shift` characters."""
        n = len(encoded.ids)
        return [
            self._window(encoded, start, start + self.content, shift) for start in self.starts(n)
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
        """The rows for a text, tokenising at most `max_windows` slices of a huge one."""
        return [w.row for w in self.text_windows(text, lambda part: Encoded(encode(part)))]

    def text_windows(self, text: str, encode: Callable[[str], Encoded]) -> list[Window]:
        """The windows for a text, tokenising at most `max_windows` slices of a huge one."""
        if len(text) <= self.slice_above_chars:
            return self.windows(encode(text))
        span = self.content * CHARS_PER_TOKEN
        starts = select(
            window_starts(len(text), span, self.stride * CHARS_PER_TOKEN),
            self.max_windows,
            self.edge,
        )
        last = len(text) - span
        windows = []
        for start in starts:
            encoded = encode(text[start : start + span])
            first = max(0, len(encoded.ids) - self.content) if start == last else 0
            windows.append(self._window(encoded, first, first + self.content, start))
        return windows


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
