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
  and circled digits, NBSP and other spaces, ligatures), small capitals and negative circled
  or squared letters (which NFKC keeps) to their letters, each Unicode decimal digit to its
  ASCII digit (Arabic-Indic, Devanagari, ...), and every space separator to " "; Cyrillic,
  Greek and Armenian look-alikes of Latin letters become those letters inside words that also
  have ASCII letters or digits (`_unconfused`). A character whose NFKC form is longer than
  `MAX_EXPANSION` is kept as it is, so the canonical text is at most that many times longer
  than the original.

The rule guards (`pii`, `secrets`) also read dashes, ideographic full stops and fraction
slashes as ASCII (`fold_punctuation`, same length, so no span moves); the classifiers do not.

Folding is per character (no composition across characters), so every canonical character
comes from exactly one original character, and a guard's span `[start, end)` in the canonical
text maps back to the original run that spells it (`CanonicalText.raw_span`): from the first
original character to the last, plus the removed characters that follow it. A redaction of
that run therefore takes its hidden characters with it, and nothing of the value reaches the
upstream. All-ASCII text without control characters (the usual case) is its own canonical
form after one `str.isascii` and one short regex search; other text costs a few table look-ups
per character, vectorised with numpy, and spans are mapped only for texts that changed.
"""

from __future__ import annotations

import asyncio
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from guardrail.guards._spans import INLINE_CHARS
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
_SPECIAL: Mapping[str, str] = {
    **dict.fromkeys("\u2028\u2029", "\n"),  # line, paragraph separators
    # Latin letters NFKC leaves alone that "fancy text" generators use to hide words from a
    # tokenizer and from patterns: small capitals (ɪɢɴᴏʀᴇ) and negative circled and negative
    # squared capitals (🅘🅖🅝, 🅸🅶🅽). A reader, and the model, reads them as the letters.
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz", strict=True)),
    **{chr(0x1F150 + k): chr(ord("A") + k) for k in range(26)},  # negative circled
    **{chr(0x1F170 + k): chr(ord("A") + k) for k in range(26)},  # negative squared
}
# Punctuation the rule guards read as ASCII (`fold_punctuation`): dashes and the minus sign,
# ideographic full stops, fraction and division slashes. Not in the canonical text itself:
# classifiers were trained on prose whose dashes are dashes (folding them moved the injection
# head's verdict on 7 of 400 benign prompts with dashes; NFKC alone on 2).
_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58", "-"),
        **dict.fromkeys("\u3002", "."),
        **dict.fromkeys("\u2044\u2215", "/"),
    }
)
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Cyrillic, Greek and Armenian letters drawn like Latin ones (Unicode confusables.txt). They are
# folded only inside a word that also has ASCII letters or digits ("АKIA…" with a Cyrillic А,
# "ignоre" with a Cyrillic о): a word written wholly in another script is left as it is.
_HOMOGLYPHS: Mapping[str, str] = dict(
    zip(
        "АВЕЅІЈКМНОРСТХУаеѕіјорсухԁԛԝһӏүΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινρυϲϳօսոհ",
        "ABESIJKMHOPCTXYaesijopcyxdqwhlyABEZHIKMNOPTYXoivpucjounh",
        strict=True,
    )
)


def is_ignorable(char: str) -> bool:
    """Whether `char` is invisible to a reader (removed from the canonical text)."""
    category = unicodedata.category(char)
    if category == "Cf" or (category == "Cc" and char not in _KEEP_CONTROLS):
        return True
    return _in_ignorable_ranges(ord(char))


def _in_ignorable_ranges(code: int) -> bool:
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _fold_one(char: str) -> str:
    """The ASCII digit, space or line break a character stands for, else itself."""
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


def fold_punctuation(text: str) -> str:
    """`text` with dashes, ideographic full stops and fraction slashes as `-`, `.` and `/`, one
    character for one, so spans stay where they are. For the rule guards, on canonical text."""
    return text if text.isascii() else text.translate(_PUNCTUATION)


def _may_fold(char: str, category: str) -> bool:
    """A cheap test that `fold` might change `char` (NFKC's quick check, then the rest)."""
    return (
        category in ("Cf", "Cc", "Zs", "Zl", "Zp", "Nd")
        or char in _SPECIAL
        or not unicodedata.is_normalized("NFKC", char)
    )


@dataclass(frozen=True)
class _Tables:
    """Lookup tables by code point, built once per process (~0.3 s) from `fold`."""

    lengths: npt.NDArray[np.uint8]  # how many characters the fold has (0: removed)
    first: npt.NDArray[np.uint32]  # the fold's first character (itself when unchanged)
    expanded: npt.NDArray[np.uint32]  # sorted: characters whose fold is longer than one
    tails: npt.NDArray[np.uint32]  # their folds' other characters, a row each
    marks: npt.NDArray[np.bool_]  # a combining mark (Mn, Me)
    digits: npt.NDArray[np.bool_]  # the fold ends with an ASCII digit
    words: npt.NDArray[np.bool_]  # a letter, digit or mark: part of a word
    homoglyphs: npt.NDArray[np.uint32]  # the Latin letter a homoglyph stands for, else 0


def _folds() -> tuple[dict[str, str], list[str], list[str]]:
    """Every character that `fold` changes, the combining marks, and the word characters."""
    folds: dict[str, str] = {}
    marks: list[str] = []
    words: list[str] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category in ("Cn", "Cs", "Co"):
            continue
        if category[0] in "LNM":
            words.append(char)
        if category in ("Mn", "Me"):
            marks.append(char)
        if _may_fold(char, category) and fold(char) != char:
            folds[char] = fold(char)
    for low, high in _IGNORABLE_RANGES:
        folds.update(dict.fromkeys(map(chr, range(low, high + 1)), ""))
    return folds, marks, words


@cache
def _tables() -> _Tables:
    """The tables, built on the first text that is not plain ASCII."""
    folds, marks, words = _folds()
    size = sys.maxunicode + 1
    lengths = np.ones(size, dtype=np.uint8)
    first = np.arange(size, dtype=np.uint32)
    digits = np.zeros(size, dtype=np.bool_)
    digits[ord("0") : ord("9") + 1] = True
    for char, out in folds.items():
        lengths[ord(char)] = len(out)
        first[ord(char)] = ord(out[0]) if out else 0
        digits[ord(char)] = "0" <= out[-1:] <= "9"
    long_folds = sorted((ord(char), out) for char, out in folds.items() if len(out) > 1)
    tails = np.zeros((len(long_folds), MAX_EXPANSION - 1), dtype=np.uint32)
    for row, (_, out) in enumerate(long_folds):
        tails[row, : len(out) - 1] = [ord(c) for c in out[1:]]
    is_mark = np.zeros(size, dtype=np.bool_)
    is_mark[[ord(char) for char in marks]] = True
    is_word = np.zeros(size, dtype=np.bool_)
    is_word[[ord(char) for char in words]] = True
    homoglyphs = np.zeros(size, dtype=np.uint32)
    homoglyphs[[ord(char) for char in _HOMOGLYPHS]] = [ord(c) for c in _HOMOGLYPHS.values()]
    return _Tables(
        lengths=lengths,
        first=first,
        expanded=np.array([code for code, _ in long_folds], dtype=np.uint32),
        tails=tails,
        marks=is_mark,
        digits=digits,
        words=is_word,
        homoglyphs=homoglyphs,
    )


@dataclass(frozen=True)
class CanonicalText:
    """A text in canonical form, and where each of its characters came from."""

    text: str
    raw_length: int
    # index in the original of each canonical character; None: the text is its own canonical
    origins: npt.NDArray[np.intp] | None = None

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The original run that canonical `[start, end)` spells, with the removed characters
        that follow it (they are hidden inside or right after the value)."""
        if self.origins is None:
            return start, end
        size = len(self.text)
        start, end = min(max(start, 0), size), min(max(end, 0), size)
        if start >= end:
            return (self._origin(start),) * 2
        after = end
        while after < size and self.origins[after] == self.origins[end - 1]:  # an expansion
            after += 1
        return self._origin(start), self._origin(after)

    def _origin(self, index: int) -> int:
        """Where canonical character `index` comes from (the end of the original past it)."""
        assert self.origins is not None
        return int(self.origins[index]) if index < len(self.text) else self.raw_length


def _plain(text: str) -> bool:
    """All ASCII without control characters: its own canonical form."""
    return text.isascii() and _ASCII_CONTROLS.search(text) is None


def canonical(text: str) -> CanonicalText:
    """`text` in canonical form (see the module docstring).

    Vectorised over code points, so the cost stays linear and small however many characters
    change (a Python loop per hidden character would let 200,000 of them stall the event loop).
    """
    if _plain(text):
        return CanonicalText(text, len(text))
    tables = _tables()
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    lengths = tables.lengths[codes].astype(np.intp)
    lengths[_marks_on_digits(codes, lengths, tables)] = 0
    if bool(np.all(lengths == 1)):  # same length: each character maps to itself
        first = _unconfused(tables.first[codes], tables)
        same = bool(np.array_equal(first, codes))
        return CanonicalText(text if same else _decode(first), len(codes))
    origins = np.repeat(np.arange(len(codes)), lengths)
    folded = tables.first[codes][origins]  # each slot: its character's first folded one
    expanded = np.flatnonzero(lengths > 1)
    if expanded.size:  # the rest of longer folds ("…" -> "...")
        starts = (np.cumsum(lengths) - lengths)[expanded]
        tails = tables.tails[np.searchsorted(tables.expanded, codes[expanded])]
        for offset in range(1, MAX_EXPANSION):
            has = lengths[expanded] > offset
            folded[starts[has] + offset] = tails[has, offset - 1]
    return CanonicalText(_decode(_unconfused(folded, tables)), len(codes), origins)


def _unconfused(codes: npt.NDArray[np.uint32], tables: _Tables) -> npt.NDArray[np.uint32]:
    """`codes` with the homoglyphs in words that also have ASCII letters or digits as the
    Latin letters they look like."""
    targets = tables.homoglyphs[codes]
    if not targets.any():
        return codes
    words = tables.words[codes]
    word_of = np.cumsum(words & ~np.concatenate(([False], words[:-1])))  # a number per word
    ascii_alnum = words & (codes < 128)
    latin_words = np.bincount(word_of[ascii_alnum], minlength=int(word_of[-1]) + 1) > 0
    swap = (targets > 0) & words & latin_words[word_of]
    return np.where(swap, targets, codes).astype(np.uint32)


def _decode(codes: npt.NDArray[np.uint32]) -> str:
    return codes.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _marks_on_digits(
    codes: npt.NDArray[np.uint32], lengths: npt.NDArray[np.intp], tables: _Tables
) -> npt.NDArray[np.bool_]:
    """Combining marks whose base (the last shown character before them that is no mark) is
    a digit: `4` + U+FE0F + U+20E3 is a keycap four."""
    marks = tables.marks[codes]
    if not marks.any():
        return marks
    positions = np.arange(len(codes))
    bases = np.maximum.accumulate(np.where(~marks & (lengths > 0), positions, -1))
    return marks & (bases >= 0) & tables.digits[codes[np.maximum(bases, 0)]]


MAX_WRAPPING = 8  # wrappers followed to the guard they wrap


def text_form_of(guard: object) -> TextForm:
    """Which text a guard reads: `canonical` unless it declares `text_form = "raw"` (guards
    whose subject is the characters themselves, such as `invisible_text` and `length`).

    A wrapper (timing, recording, delaying a guard) names the guard it wraps `inner` and reads
    what that one reads, so that wrapping never changes which text a guard judges."""
    for _ in range(MAX_WRAPPING):
        form = getattr(guard, "text_form", None)
        inner = getattr(guard, "inner", None)
        if form is not None or inner is None:
            break
        guard = inner
    return "raw" if form == "raw" else "canonical"


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

    async def prepare(self) -> None:
        """Build the canonical forms on a worker thread when that takes a while (the tables
        on the first text that is not plain ASCII, ~0.5 s; or more than `INLINE_CHARS` of
        such text), so the event loop keeps serving other requests meanwhile."""
        if self._canonical is not None or all(_plain(text) for text in self.raw):
            return
        built = _tables.cache_info().currsize > 0
        if built and sum(len(text) for text in self.raw) <= INLINE_CHARS:
            return  # cheap: built on first use
        forms = await asyncio.to_thread(lambda: tuple(canonical(text) for text in self.raw))
        self._canonical = self._canonical or forms

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
