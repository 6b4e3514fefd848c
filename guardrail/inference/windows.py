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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Row = list[int]
CHARS_PER_TOKEN = 8  # generous (English is ~4-5): a slice rarely runs short of a full window


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
        prefix, suffix = list(self.prefix), list(self.suffix)
        return [
            [*prefix, *ids[start : start + self.content], *suffix]
            for start in self.starts(len(ids))
        ]

    def text_rows(self, text: str, encode: Callable[[str], Sequence[int]]) -> list[Row]:
        """The rows for a text, tokenising at most `max_windows` slices of a huge one."""
        if len(text) <= self.slice_above_chars:
            return self.rows(encode(text))
        span = self.content * CHARS_PER_TOKEN
        starts = select(
            window_starts(len(text), span, self.stride * CHARS_PER_TOKEN),
            self.max_windows,
            self.edge,
        )
        last = len(text) - span
        rows = []
        for start in starts:
            ids = encode(text[start : start + span])
            part = ids[-self.content :] if start == last else ids[: self.content]
            rows.append([*self.prefix, *part, *self.suffix])
        return rows


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
