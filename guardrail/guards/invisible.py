"""`invisible_text` guard: characters a reader cannot see but a model reads.

Classes (each is a label and a span entity):

- `tags`: Unicode tag characters U+E0000–U+E007F ("ASCII smuggling");
- `tag_text`: the text's tag characters, read in order as the ASCII they stand for (flag
  specs aside), hold a message (`TAG_TEXT_MIN` printable characters, three of them letters);
  reported over every run of them, besides `tags`, for a rule that blocks hidden messages;
- `selectors`: a variation selector (U+FE00–U+FE0F, U+E0100–U+E01EF) that selects nothing: one
  after an ASCII letter or space, another selector or an invisible character, or an ideographic
  one (U+E0100+) after anything but a CJK ideograph. One after an emoji, a symbol or a kanji
  selects its glyph and is left alone;
- `selector_text`: the text's variation selectors, read in order as bytes ("emoji smuggling":
  byte b is U+FE00 + b below 16, else U+E0100 + b - 16), decode to a message; reported over
  every run of them, besides `selectors`;
- `ignorable`: the other default-ignorable characters the canonical text drops (combining
  grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation selectors
  not after a Mongolian letter, unassigned ones such as U+E0080–U+E00FF and U+E01F0–U+E0FFF):
  invisible, never read by the classifiers, so a byte channel of its own;
- `zero_width`: U+200B–U+200D, U+2060, U+FEFF (not a byte-order mark at offset 0);
- `bidi`: U+200E/F, U+061C, U+202A–U+202E, U+2066–U+2069 (reordering, "trojan source");
- `other_format`: every other format character (general category Cf), e.g. soft hyphen.

Legitimate uses are left alone: the three recommended subdivision flags (U+1F3F4 + tag letters
+ U+E007F: England, Scotland, Wales; any other flag's tag letters are stripped, and no flag's
count towards a message), a single ZWJ/ZWNJ between two non-ASCII letters, marks or symbols
(emoji sequences, Persian, Indic scripts), a variation selector on a base it can select.
Every invisible character the canonical text drops (format characters, tags, variation
selectors, the other default-ignorables; not control characters, which are not invisible) is
in some class, so a `rewrite` that strips them all leaves nothing hidden the classifiers did
not read but the legitimate uses above, and stripping cannot join two separated selectors into
a run it missed. Each run of one class is one span with `replacement=""`, so a
`rewrite` rule strips it. Content is never decoded or returned, only where it is.

The character class is built from Python's `unicodedata` (its Unicode version) with the
stdlib `re`: a single character class cannot backtrack, and it keeps one Unicode table.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import cache
from itertools import groupby
from typing import Final, Literal, get_args

from pydantic import ConfigDict, Field, field_validator

from guardrail.canonical import _IGNORABLE_RANGES
from guardrail.guards._spans import Hit, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

InvisibleClass = Literal[
    "tags",
    "tag_text",
    "selectors",
    "selector_text",
    "ignorable",
    "zero_width",
    "bidi",
    "other_format",
]
ALL_CLASSES: tuple[InvisibleClass, ...] = get_args(InvisibleClass)

TAGS = range(0xE0000, 0xE0080)
TAG_TEXT_MIN = 4  # "hi" hidden in a flag-less run is noise; "rm -rf" is a message
_HIDDEN_CHANNELS = re.compile("[\U000e0000-\U000e007f\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# the default-ignorable code points the canonical text drops, but tags and selectors (classes
# of their own) and format characters (the Cf runs above); Mongolian free variation selectors
# are kept after a Mongolian letter
_IGNORABLE = re.compile(
    "["
    + "".join(
        re.escape(chr(code))
        for low, high in _IGNORABLE_RANGES
        for code in range(low, high + 1)
        if not _HIDDEN_CHANNELS.match(chr(code)) and unicodedata.category(chr(code)) != "Cf"
    )
    + "]+"
)
_MONGOLIAN_FVS = frozenset("\u180b\u180c\u180d\u180f")
# a black flag, a tag spec in the form of a subdivision code, the cancel tag
_FLAG = re.compile(
    "\U0001f3f4[\U000e0061-\U000e007a]{2}[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,4}"
    "\U000e007f"
)
_MESSAGE = re.compile(f"[ -~]{{{TAG_TEXT_MIN},}}")  # printable ASCII
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
BIDI = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JOINERS = frozenset("\u200c\u200d")
BLACK_FLAG, CANCEL_TAG = "\U0001f3f4", "\U000e007f"
# The subdivision flags Unicode recommends (RGI): England, Scotland, Wales. Any other tag spec
# after a black flag renders as a bare flag nearly everywhere, and carries up to 7 characters
# of hidden text per "flag" (ASCII smuggling under a flag cover), so it is not left alone.
FLAG_SPECS = frozenset(
    "".join(chr(0xE0000 + ord(c)) for c in code) for code in ("gbeng", "gbsct", "gbwls")
)


def class_of(char: str) -> InvisibleClass:
    """Which class an invisible character belongs to."""
    if ord(char) in TAGS:
        return "tags"
    if char in ZERO_WIDTH:
        return "zero_width"
    return "bidi" if char in BIDI else "other_format"


@cache
def invisible_runs() -> re.Pattern[str]:
    """Runs of tag or Cf characters (built once: a scan of the code space takes ~0.1 s)."""
    format_chars = (
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and code not in TAGS
    )
    members = "".join(re.escape(char) for char in format_chars)
    return re.compile(f"[{members}\U000e0000-\U000e007f]+")


def _is_message(decoded: str) -> bool:
    """TAG_TEXT_MIN printable ASCII characters in a row, with three different letters (one
    tag letter after every character of a word, `aaaa`, is a spelling trick the canonical
    text undoes, not a message)."""
    return any(
        len({c.lower() for c in m.group(0) if c.isalpha()}) >= 3 for m in _MESSAGE.finditer(decoded)
    )


def _selector_byte(char: str) -> int:
    code = ord(char)
    return code - 0xFE00 if code <= 0xFE0F else code - 0xE0100 + 16


def _spans_of(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Runs of consecutive positions, as (start, end)."""
    spans: list[tuple[int, int]] = []
    for i in positions:
        if spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def _is_ideograph(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x323AF
    )


def _selects(text: str, i: int) -> bool:
    """Whether the selector at `i` selects a glyph of the character before it: an ideographic
    selector after a CJK ideograph; another after a visible non-ASCII character (an emoji, a
    symbol, a letter with standardized variants) or a keycap's digit, `#` or `*`. Selectors
    U+FE00-U+FE0F stand for bytes 0-15, all control characters, so the ones left alone can
    never spell a message between them."""
    if i == 0:
        return False
    base = text[i - 1]
    if ord(text[i]) >= 0xE0100:
        return _is_ideograph(base)
    if base in "0123456789#*":
        return True
    return not base.isascii() and unicodedata.category(base)[0] in "LNPS"  # not a selector


def _joinable(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char)[0] in "LMS"


def _is_benign(text: str, start: int, end: int) -> bool:
    """An emoji tag sequence, or a lone joiner inside non-ASCII words or emoji."""
    if text[start] in JOINERS and end - start == 1:
        inside = start > 0 and end < len(text)
        return inside and _joinable(text[start - 1]) and _joinable(text[end])
    if text[start - 1 : start] == BLACK_FLAG and text[end - 1] == CANCEL_TAG:
        return text[start : end - 1] in FLAG_SPECS
    return False


class InvisibleTextConfig(GuardConfig):
    """`classes`: which kinds of invisible characters to report (default: all)."""

    model_config = ConfigDict(strict=True)

    kind: Literal["invisible_text"] = "invisible_text"
    classes: list[InvisibleClass] = Field(default=list(ALL_CLASSES), min_length=1)

    @field_validator("classes")
    @classmethod
    def _unique(cls, value: list[InvisibleClass]) -> list[InvisibleClass]:
        if len(set(value)) != len(value):
            raise ValueError("classes must not repeat")
        return value


class InvisibleTextGuard(NoThresholds):
    """Reports runs of invisible characters of the chosen classes, as strippable spans."""

    text_form: Final = "raw"  # it judges the very characters the canonical text removes

    def __init__(self, name: str, classes: frozenset[str]) -> None:
        self.name = name
        self._classes = classes
        self._runs = invisible_runs()

    @property
    def reported_labels(self) -> frozenset[str]:
        """The configured character classes."""
        return frozenset(self._classes)

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, class) with a span (replacement "") per run."""
        return await scan_hits(self.name, texts, self._hits, replacement="")

    def _hits(self, text: str) -> list[Hit]:
        first = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is not hidden text
        hits: list[Hit] = []
        for run in self._runs.finditer(text, first):
            hits += self._split(text, run.start(), run.end())
        if text.isascii():
            return hits
        if "ignorable" in self._classes:
            hits += [
                Hit(run.start(), run.end(), "ignorable")
                for run in _IGNORABLE.finditer(text)
                if not (  # a free variation selector on a Mongolian letter
                    run.end() - run.start() == 1
                    and run.group(0) in _MONGOLIAN_FVS
                    and "\u1820" <= text[run.start() - 1 : run.start()] <= "\u18aa"
                )
            ]
        tags: list[int] = []
        selectors: list[int] = []
        flags = {i for m in _FLAG.finditer(text) for i in range(m.start() + 1, m.end())}
        for match in _HIDDEN_CHANNELS.finditer(text):
            i = match.start()
            if ord(text[i]) in TAGS:
                if i not in flags:  # a flag's tag letters never count towards a message
                    tags.append(i)
            else:
                selectors.append(i)
        if "selectors" in self._classes:
            idle = [i for i in selectors if not _selects(text, i)]
            hits += [Hit(start, end, "selectors") for start, end in _spans_of(idle)]
        # the hidden characters of the whole text, in order: a message split into short
        # runs, or spread over many bases, is still one message
        if "tag_text" in self._classes and _is_message(
            "".join(chr(ord(text[i]) - 0xE0000) for i in tags)
        ):
            hits += [Hit(start, end, "tag_text") for start, end in _spans_of(tags)]
        if "selector_text" in self._classes and _is_message(
            bytes(_selector_byte(text[i]) for i in selectors).decode("utf-8", errors="ignore")
        ):
            hits += [Hit(start, end, "selector_text") for start, end in _spans_of(selectors)]
        return hits

    def _split(self, text: str, start: int, end: int) -> list[Hit]:
        hits: list[Hit] = []
        for label, chars in groupby(range(start, end), key=lambda i: class_of(text[i])):
            positions = list(chars)
            hit = Hit(positions[0], positions[-1] + 1, label)
            if label in self._classes and not _is_benign(text, hit.start, hit.end):
                hits.append(hit)
        return hits


def build(config: InvisibleTextConfig, context: BuildContext) -> InvisibleTextGuard:
    """Compile the character class once per process."""
    return InvisibleTextGuard(context.name, frozenset(config.classes))


KIND = GuardKind(config=InvisibleTextConfig, build=build)
