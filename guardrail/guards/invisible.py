"""`invisible_text` guard: characters a reader cannot see but a model reads.

Classes (each is a label and a span entity):

- `tags`: Unicode tag characters U+E0000–U+E007F ("ASCII smuggling");
- `tag_text`: a run of invisible characters whose tag characters spell a message (at least
  `TAG_TEXT_MIN` printable ASCII characters, U+E0020–U+E007E): reported besides `tags`, over
  the same run, for a rule that blocks hidden messages instead of stripping them;
- `selectors`: two or more variation selectors in a row (U+FE00–U+FE0F, U+E0100–U+E01EF).
  One selects a glyph (an emoji's VS16, a kanji's variant); a run of them is a byte channel
  ("emoji smuggling": byte b written as U+FE00 + b below 16, else U+E0100 + b - 16);
- `selector_text`: such a run whose bytes read as UTF-8 text with `TAG_TEXT_MIN` printable
  characters, reported besides `selectors`;
- `zero_width`: U+200B–U+200D, U+2060, U+FEFF (not a byte-order mark at offset 0);
- `bidi`: U+200E/F, U+061C, U+202A–U+202E, U+2066–U+2069 (reordering, "trojan source");
- `other_format`: every other format character (general category Cf), e.g. soft hyphen.

Legitimate uses are left alone: an emoji subdivision flag (U+1F3F4 + tag letters + U+E007F)
and a single ZWJ/ZWNJ between two non-ASCII letters, marks or symbols (emoji sequences,
Persian, Indic scripts). Each run of one class is one span with `replacement=""`, so a
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
from typing import Final, Literal

from pydantic import ConfigDict, Field, field_validator

from guardrail.guards._spans import Hit, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

InvisibleClass = Literal[
    "tags", "tag_text", "selectors", "selector_text", "zero_width", "bidi", "other_format"
]
ALL_CLASSES: tuple[InvisibleClass, ...] = (
    "tags",
    "tag_text",
    "selectors",
    "selector_text",
    "zero_width",
    "bidi",
    "other_format",
)
_SELECTOR_RUNS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")

TAGS = range(0xE0000, 0xE0080)
TAG_PRINTABLE = range(0xE0020, 0xE007F)  # the tag forms of " " .. "~"
TAG_TEXT_MIN = 4  # "hi" hidden in a flag-less run is noise; "rm -rf" is a message
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


def _spells_text(text: str, start: int, end: int) -> bool:
    """Whether the run's tag characters spell a message (other invisible characters between
    them do not break it; the tag letters of an emoji flag, and what follows a flag, such as a
    bidi mark or a zero-width space, are not one)."""
    printable = 0
    for label, chars in groupby(range(start, end), key=lambda i: class_of(text[i])):
        positions = list(chars)
        if label == "tags" and not _is_benign(text, positions[0], positions[-1] + 1):
            printable += sum(1 for i in positions if ord(text[i]) in TAG_PRINTABLE)
    return printable >= TAG_TEXT_MIN


def _selector_message(run: str) -> bool:
    """Whether a run of variation selectors carries text: its bytes decode as UTF-8 with
    TAG_TEXT_MIN printable characters."""
    data = bytes(ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in run)
    decoded = data.decode("utf-8", errors="ignore")
    return sum(1 for c in decoded if c.isprintable() and not c.isspace()) >= TAG_TEXT_MIN


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
        self._selectors = bool(classes & {"selectors", "selector_text"})

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
            if "tag_text" in self._classes and _spells_text(text, run.start(), run.end()):
                hits.append(Hit(run.start(), run.end(), "tag_text"))
        if self._selectors:
            for run in _SELECTOR_RUNS.finditer(text):
                if "selectors" in self._classes:
                    hits.append(Hit(run.start(), run.end(), "selectors"))
                if "selector_text" in self._classes and _selector_message(run.group(0)):
                    hits.append(Hit(run.start(), run.end(), "selector_text"))
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
