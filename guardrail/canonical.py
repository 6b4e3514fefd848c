"""Canonical text: what a model reads, in one spelling, with a map back to the original.

Guards judge the text the model will see, not the bytes it arrives in. A model reads
`jane.doe<U+200B>@example.com`, `４１１１ １１１１ …` and `٤١١١-١١١١-…` as the address and the
card number they spell, so the pipeline hands every guard (but those that ask for the raw text,
see `text_form_of`) one canonical text per input text, built once per stage:

- *removed*: characters nobody sees: format characters (general category Cf: zero-width
  characters, soft hyphen, bidi controls, Unicode tags, BOM ...), the other default-ignorable
  code points (variation selectors, the combining grapheme joiner, Hangul fillers, Mongolian
  free variation selectors, ...), control characters other than tab and line breaks, and
  combining marks written on a digit (`4` + U+20E3 is a keycap four);
- *folded*: every character to its NFKC form (fullwidth `＠`, `．` and letters, mathematical
  and circled digits, NBSP and other spaces, ligatures), each Unicode decimal digit to its
  ASCII digit (Arabic-Indic, Devanagari, ...), dashes and the minus sign to `-`, ideographic
  full stops to `.`, fraction and division slashes to `/`, and every space separator to " ".
  A character whose NFKC form is longer than `MAX_EXPANSION` is kept as it is, so the
  canonical text is at most that many times longer than the original.

Folding is per character (no composition across characters), so every canonical character
comes from exactly one original character, and a guard's span `[start, end)` in the canonical
text maps back to the original run that spells it (`CanonicalText.raw_span`): from the first
original character to the last, plus the removed characters that follow it. A redaction of
that run therefore takes its hidden characters with it, and nothing of the value reaches the
upstream. Text that needs no change (all ASCII without control characters, the usual case)
costs one `str.isascii` and one short regex search, and maps spans to themselves.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from guardrail.guards._spans import compile_re2
from guardrail.types import Finding, Span

TextForm = Literal["raw", "canonical"]
MAX_EXPANSION = 3  # "½" -> "1⁄2", "⑴" -> "(1)"; "ﷺ" (18 characters) is kept whole

# Default_Ignorable_Code_Point outside general category Cf (Unicode DerivedCoreProperties).
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
_KEEP_CONTROLS = frozenset("\t\n\r")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_SPECIAL: Mapping[str, str] = {
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys("\u3002\uff61\ufe52", "."),  # ideographic and small full stops
    **dict.fromkeys("\u2044\u2215", "/"),  # fraction slash, division slash
    **dict.fromkeys("\u2028\u2029", "\n"),  # line and paragraph separators
}
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_ignorable(char: str) -> bool:
    """Whether `char` is invisible to a reader (removed from the canonical text)."""
    category = unicodedata.category(char)
    if category == "Cf" or (category == "Cc" and char not in _KEEP_CONTROLS):
        return True
    return _in_ignorable_ranges(ord(char))


def _in_ignorable_ranges(code: int) -> bool:
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _fold_one(char: str) -> str:
    """The ASCII digit, `-`, `.`, `/` or space a character stands for, else itself."""
    special = _SPECIAL.get(char)
    if special is not None:
        return special
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    return " " if unicodedata.category(char) == "Zs" else char


def fold(char: str) -> str:
    """The canonical form of one character ("" when it is removed)."""
    if is_ignorable(char):
        return ""
    nfkc = unicodedata.normalize("NFKC", _fold_one(char))
    if len(nfkc) > MAX_EXPANSION:
        return char
    return "".join(_fold_one(c) for c in nfkc)


def _may_fold(char: str, category: str) -> bool:
    """A cheap test that `fold` might change `char` (NFKC's quick check, then the rest)."""
    return (
        category in ("Cf", "Cc", "Zs", "Zl", "Zp", "Nd")
        or char in _SPECIAL
        or not unicodedata.is_normalized("NFKC", char)
    )


def _re2_class(chars: Iterable[str]) -> str:
    """An RE2 character class of `chars`, as ranges of consecutive code points."""
    codes = sorted(ord(char) for char in chars)
    parts: list[str] = []
    start = 0
    for index in range(1, len(codes) + 1):
        if index == len(codes) or codes[index] != codes[index - 1] + 1:
            low, high = codes[start], codes[index - 1]
            parts.append(f"\\x{{{low:x}}}" + (f"-\\x{{{high:x}}}" if high > low else ""))
            start = index
    return "[" + "".join(parts) + "]"


@dataclass(frozen=True)
class _Tables:
    folds: Mapping[str, str]  # every character that folds to something else
    translation: Mapping[int, str]  # the same, for `str.translate`
    any_change: Any  # RE2: the first character that folding changes, if any
    resizing: Any  # RE2: runs that change the length (removed or expanded characters)


@cache
def _tables() -> _Tables:
    """Built once per process, by a pass over the code space (~0.3 s)."""
    folds: dict[str, str] = {}
    marks: list[str] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category in ("Cn", "Cs", "Co"):
            continue
        if category in ("Mn", "Me"):
            marks.append(char)
        if _may_fold(char, category) and fold(char) != char:
            folds[char] = fold(char)
    for low, high in _IGNORABLE_RANGES:
        folds.update(dict.fromkeys(map(chr, range(low, high + 1)), ""))
    resized = [char for char, out in folds.items() if len(out) != 1]
    on_digit = f"[\\p{{Nd}}\\x{{fe0e}}\\x{{fe0f}}]{_re2_class(marks)}+"
    return _Tables(
        folds=folds,
        translation={ord(char): out for char, out in folds.items()},
        any_change=compile_re2(f"{_re2_class(folds)}|{on_digit}", name="canonical"),
        resizing=compile_re2(f"{_re2_class(resized)}+|{on_digit}", name="canonical"),
    )


@dataclass(frozen=True)
class CanonicalText:
    """A text in canonical form, and where each of its characters came from."""

    text: str
    raw_length: int
    # index in the original of each canonical character; None: the text is its own canonical
    origins: Sequence[int] | None = None

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The original run that canonical `[start, end)` spells, with the removed characters
        that follow it (they are hidden inside or right after the value)."""
        if self.origins is None:
            return start, end
        size = len(self.text)
        start, end = min(max(start, 0), size), min(max(end, 0), size)
        if start >= end:
            at = self.origins[start] if start < size else self.raw_length
            return at, at
        last = self.origins[end - 1]
        after = end
        while after < size and self.origins[after] == last:  # one character's expansion
            after += 1
        return self.origins[start], self.origins[after] if after < size else self.raw_length


def canonical(text: str) -> CanonicalText:
    """`text` in canonical form (see the module docstring)."""
    if text.isascii() and _ASCII_CONTROLS.search(text) is None:
        return CanonicalText(text, len(text))
    tables = _tables()
    if tables.any_change.search(text) is None:
        return CanonicalText(text, len(text))
    pieces: list[str] = []
    origins = array("q")
    cursor, last = 0, ""  # last: the last canonical character so far
    for match in tables.resizing.finditer(text):
        start, end = match.start(), match.end()
        if start > cursor:  # same length: one translated character per original one
            pieces.append(text[cursor:start].translate(tables.translation))
            origins.extend(range(cursor, start))
            last = pieces[-1][-1]
        for index in range(start, end):
            out = _fold_in_run(text[index], last, tables.folds)
            pieces.append(out)
            origins.extend([index] * len(out))
            last = out[-1:] or last
        cursor = end
    if cursor == 0:
        return CanonicalText(text.translate(tables.translation), len(text))
    pieces.append(text[cursor:].translate(tables.translation))
    origins.extend(range(cursor, len(text)))
    return CanonicalText("".join(pieces), len(text), origins)


def _fold_in_run(char: str, last: str, folds: Mapping[str, str]) -> str:
    """One character of a resizing run: folded, or removed when it is a combining mark on the
    digit that comes `last`."""
    out = folds.get(char)
    if out is not None:
        return out
    on_digit = "0" <= last <= "9" and unicodedata.category(char) in ("Mn", "Me")
    return "" if on_digit else char


def text_form_of(guard: object) -> TextForm:
    """Which text a guard reads: `canonical` unless it declares `text_form = "raw"` (guards
    whose subject is the characters themselves, such as `invisible_text` and `length`)."""
    return "raw" if getattr(guard, "text_form", "canonical") == "raw" else "canonical"


class StageTexts:
    """The texts of one stage as each guard reads them; canonical forms are built on first
    use and shared by every guard of the stage."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.raw = tuple(texts)
        self._canonical: tuple[CanonicalText, ...] | None = None

    @property
    def canonical(self) -> tuple[CanonicalText, ...]:
        """The canonical form of each text."""
        if self._canonical is None:
            self._canonical = tuple(canonical(text) for text in self.raw)
        return self._canonical

    def read_by(self, guard: object) -> Sequence[str]:
        """The texts `guard` scans (see `text_form_of`)."""
        if text_form_of(guard) == "raw":
            return self.raw
        return [c.text for c in self.canonical]

    def to_raw(self, guard: object, findings: Iterable[Finding]) -> list[Finding]:
        """`guard`'s findings with their spans moved from the texts it read to the originals."""
        if text_form_of(guard) == "raw":
            return list(findings)
        return [self._moved(f) for f in findings]

    def _moved(self, finding: Finding) -> Finding:
        if not finding.spans or not 0 <= finding.text_index < len(self.raw):
            return finding
        text = self.canonical[finding.text_index]
        if text.origins is None:
            return finding
        spans = tuple(_moved_span(text, span) for span in finding.spans)
        return finding.model_copy(update={"spans": spans})


def _moved_span(text: CanonicalText, span: Span) -> Span:
    start, end = text.raw_span(span.start, span.end)
    return span.model_copy(update={"start": start, "end": end})
