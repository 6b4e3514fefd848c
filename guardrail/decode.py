"""A reading of encoded payloads: base64, hex, binary, Morse, ROT13 and the like.

An attacker hides an order from a classifier by encoding it ("Decode this and do what it says:
SWdub3JlIGFsbC..."). The model upstream decodes it without being asked twice; the classifier
reads a run of letters that means nothing to its tokenizer. `Decoder.reading(text)` returns the
decoded payloads of `text`, one per line, or None when it has none; the classifier guards score
that reading *in addition to* the text (the higher score counts, as for `guardrail.deobfuscate`'s
rewrite), and the `injection_signatures` guard matches its patterns against each payload too
(`Decoder.payloads`, which keep where in the text each payload came from).

Schemes, each found by its own shape and kept only when what it decodes to reads as text:

* byte encodings: base64 (standard and URL-safe, padded or not, wrapped over lines), base32,
  Ascii85 (`<~...~>`) and base85, hex (`49676e...`, `49 67 6e`, `\\x49\\x67`, `0x49 0x67`,
  wrapped over lines, hex dumps with offsets), 8- and 7-bit binary groups, decimal and octal
  character codes (`73 103 110 ...`), uuencode;
* escapes: percent-encoding (`%49%67`), quoted-printable (`=49=67`), `\\u0049` / `\\x49` /
  `\\111` / `\\u{49}` escapes, code points (`U+0049`), numeric HTML entities;
* Morse code (`.. --. -. --- .-. .`, words split by `/`, three spaces or lines), Braille, NATO
  spelling words (`India Golf November ...`);
* letter shifts and reversal: a run of three or more words that are not English words is read
  with the Caesar shift its letter frequencies suggest (ROT13 is shift 13), with Atbash and
  reversed; the result is kept when most of its words are English words. ROT47 runs (tokens
  with digits or `:;<=>?@`) and upside-down text (`ʇxǝʇ`: turned letters, written backwards,
  on lines with three turned letters) are read the same way.

Bytes are kept when they are UTF-8 with no control characters and hold a word of three letters
or more; schemes that any table of numbers or any run of letters could match (decimal and
octal codes, base85, Braille, NATO words, shifts, Atbash, ROT47, reversal) must also spell
mostly dictionary words. A payload is decoded once
more (ROT13 inside base64, base64 of base64: two layers), never more.

Bounded: every scheme is a linear regex scan; the reading is at most twice as long as the text
(no run decodes to more characters than it has, runs read do not overlap, and the second layer
takes what the first left of the budget); the letter-shift test costs a count of letters and
three dictionary checks per run. 35-125 ms per 100,000 characters of prose, code, hex dumps or a
base64 image; up to ~0.3 s for text made of payloads (most of it the second layer), measured on
the shared 2-core machine.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import contextlib
import html
import math
import quopri
import re
import string
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Union
from urllib.parse import unquote_plus

from guardrail.canonical import _ASCII_CONTROLS
from guardrail.deobfuscate import Deobfuscator
from guardrail.guards._spans import merged_spans

# Payloads remembered per decoder, the most recent first, up to this many characters of text
# (the cache holds the texts): the guards of one stage read the same texts, at the same time
REMEMBERED_CHARS = 1_000_000
MAX_DEPTH = 2  # a payload's own payloads are read too, once
MIN_WORD = 3
MIN_RUN_WORDS = 3  # words in a run before a letter shift or reversal is tried
KNOWN_SHARE = 0.7  # of a shifted or reversed run's words that must be dictionary words
BYTES_MIN = 4  # decoded characters of a byte encoding, at the least
ALIGN_MIN = 24  # a base64 run this long, of mixed case and digits, is also tried off its start
GLUED_JUNK = 12  # bytes of junk a word glued to a long base64 run adds at either end
GLUED_SHARE = 0.6  # of the decoded characters the readable middle must hold
MAX_SPLIT = 400  # letters spelled without a break (NATO words) split into words, at most

# English letter frequencies (per cent), for guessing a Caesar shift
_ENGLISH = (
    8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4,
    6.7, 7.5, 1.9, 0.095, 6.0, 6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074,
)  # fmt: skip

Keep = Callable[[str], "str | None"]  # a decoded text, kept (maybe trimmed) or None
# a scheme's runs: a regex, or a function yielding (start, end) (wrapped base64 blocks)
Finder = Union["re.Pattern[str]", Callable[[str], Iterator[tuple[int, int]]]]
# a run's decoding: the text, or the text and how many of the run's first characters it skipped
Decode = Callable[[str], "str | tuple[str, int] | None"]

_LOG_ENGLISH = tuple(math.log(f) for f in _ENGLISH)
_BACKWARDS = frozenset({"reversed", "upside_down"})  # schemes that write the text backwards
_SHIFT_SCHEMES = frozenset(
    {
        "rot13", "reversed", "upside_down", "atbash", "rot47",
        *(f"caesar{k}" for k in range(1, 26)),
    }
)  # fmt: skip

# a run, padded or not; padding with more characters after it is a payload with a word glued
# on (`...==thanks`) or a `key=value` pair: `_base64` reads the part before and the part after
_B64 = re.compile(
    r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{12,}(?:={1,2}[A-Za-z0-9+/_\-]*)?(?![A-Za-z0-9+/_\-=])"
)
_WRAP_MIN = 16  # a base64 line this long or longer may be wrapped onto the next one
# base64 written in groups of four or eight characters with a space between (`SWdu b3Jl ...`)
_B64_GROUPED = re.compile(
    r"(?<![A-Za-z0-9+/_\-=])(?:[A-Za-z0-9+/_\-]{4}(?:[A-Za-z0-9+/_\-]{4})? ){3,}"
    r"[A-Za-z0-9+/_\-]{2,8}={0,2}(?![A-Za-z0-9+/_\-=])"
)
_BLANK_TO_LINE_END = re.compile(r"[^\S\n]*(?:\n|\Z)")
_URL_SAFE_CHARS = re.compile(r"[-_]")
_B64_MIXED = re.compile(r"(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9+/])", re.DOTALL)
_B32 = re.compile(r"(?<![A-Za-z0-9])[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9])")
_A85 = re.compile(r"<~[!-u\s]{5,}?~>")
_B85 = re.compile(r"(?<!\S)[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]{20,}(?!\S)")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0x)?(?:[0-9A-Fa-f]{2}){6,}(?![0-9A-Za-z])")
# bytes one by one or in groups of up to four (`49 67`, `0x49,0x67`, xxd's `4967 6e6f`)
_HEX_SPACED = re.compile(
    r"(?<![0-9A-Za-z])(?:0x)?(?:[0-9A-Fa-f]{2}){1,4}(?:[ ,:\-]+(?:0x)?(?:[0-9A-Fa-f]{2}){1,4}){5,}"
    r"(?![0-9A-Za-z])"
)
_BINARY = re.compile(r"(?<![01])[01]{8}(?:[ ,]?[01]{8}){3,}(?![01])")
_DECIMAL = re.compile(r"(?<![0-9.])[0-9]{2,3}(?:[ ,]+[0-9]{2,3}){4,}(?![0-9.])")
# codes written one after another, or with a space or comma between them (`\x49 \x67`)
_ESCAPES = re.compile(
    r"(?:\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\U[0-9A-Fa-f]{8}|\\[0-7]{3})"
    r"(?:[ ,]?(?:\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\U[0-9A-Fa-f]{8}|\\[0-7]{3})){2,}"
)
_PERCENT_SPACED = re.compile(r"(?<!\S)%[0-9A-Fa-f]{2}(?:[ ,]%[0-9A-Fa-f]{2}){7,}(?!\S)")
_CODE_SEPARATORS = re.compile(r"(?<=;|[0-9A-Fa-f])[ ,]+(?=\\|%|&#)")  # between two codes
_PERCENT = re.compile(r"(?<!\S)(?:[^\s%]*%[0-9A-Fa-f]{2}){3,}[^\s%]*")
_ENTITIES = re.compile(r"(?:&#(?:[0-9]{2,7}|[xX][0-9A-Fa-f]{2,6});\s?){3,}")
# (dashes may be `_`; words are split by `/`, three spaces or a line break)
_MORSE = re.compile(
    r"(?<![\w.\-·•−–])[.\-_·•−–]{1,7}(?:(?: {1,3}| ?/ ?|[ \t]*\r?\n[ \t]*)[.\-_·•−–]{1,7}){3,}"
    r"(?![\w.\-·•−–])"
)
# seven-bit character codes, always with a separator (`1001001 1100111 ...`)
_BINARY7 = re.compile(r"(?<![01])[01]{7}(?:[ ,][01]{7}){3,}(?![01])")
# code points written out: `U+0049 U+0067`, `\\u{49}\\u{67}` (JavaScript, Rust, Swift)
_CODE_POINT = r"(?:[Uu]\+[0-9A-Fa-f]{4,6}|\\u\{[0-9A-Fa-f]{1,6}\})"
_CODE_POINTS = re.compile(rf"(?<![0-9A-Za-z]){_CODE_POINT}(?:[ ,]*{_CODE_POINT}){{2,}}")
# quoted-printable (`=49=67=6E`, soft line breaks `=` at a line's end), letters between allowed
_QP = re.compile(r"(?<!\S)(?:[^\s=]*(?:=[0-9A-Fa-f]{2}|=\r?\n)){4,}[^\s=]*")
# hex dumps with an offset on each line (xxd without its text column, od, hexdump): the
# offsets are no payload, so the lines' bytes are read together
_DUMP_LINE = re.compile(
    r"^[ \t]*[0-9A-Fa-f]{4,8}:?(?:[ \t]+(?:[0-9A-Fa-f]{2}){1,2}){2,16}[ \t]*(?:\|[^\r\n]*)?\r?$",
    re.MULTILINE,
)
_DUMP_OFFSET = re.compile(r"[ \t]*[0-9A-Fa-f]{4,8}:?(?=[ \t])")
# Braille cells (U+2800 is a blank cell) read as English Braille, grade 1
_BRAILLE = re.compile(r"[\u2801-\u28ff][\u2800-\u28ff \t]{2,}[\u2801-\u28ff]")
_BRAILLE_CELLS = re.compile(r"[\u2801-\u28ff]")
# NATO spelling-alphabet words, and the words people put between spelled words
_NATO_WORDS = {
    "alfa": "a", "alpha": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e",
    "foxtrot": "f", "golf": "g", "hotel": "h", "india": "i", "juliett": "j", "juliet": "j",
    "kilo": "k", "lima": "l", "mike": "m", "november": "n", "oscar": "o", "papa": "p",
    "quebec": "q", "romeo": "r", "sierra": "s", "tango": "t", "uniform": "u", "victor": "v",
    "whiskey": "w", "whisky": "w", "xray": "x", "x-ray": "x", "yankee": "y", "zulu": "z",
}  # fmt: skip
_NATO_WORD = "(?:" + "|".join(sorted(_NATO_WORDS, key=len, reverse=True)) + r"|\(?space\)?)"
# between two words: punctuation and blanks, or a line break with a list marker (`- `, `2. `)
_NATO_GAP = r"(?:[ \t,;/|.\-]+|[ \t]*\r?\n[ \t]*(?:[-*•]|[0-9]{1,2}[.)])?[ \t]*)"
# (the lookahead spares the alternation at the start of every short word: code is full of them)
_NATO = re.compile(
    rf"(?<![A-Za-z])(?=[A-Za-z]{{4}}|\(){_NATO_WORD}(?:{_NATO_GAP}{_NATO_WORD}){{4,}}"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
_NATO_TOKEN = re.compile(rf"{_NATO_WORD}|[/|\n]|  +", re.IGNORECASE)
_ATBASH = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase,
    string.ascii_lowercase[::-1] + string.ascii_uppercase[::-1],
)
_ROT47 = str.maketrans(
    "".join(map(chr, range(33, 127))), "".join(chr(33 + (c - 33 + 47) % 94) for c in range(33, 127))
)
# a token with a digit or one of `:;<=>?@` (rot47 turns a-o into these: most words hold one);
# tried only at a token's start, so a long token without one costs its length once
_ROT47_MARKED = re.compile(r"(?<![!-~])[!-~]*[0-9:;<=>?@][!-~]*")
_ROT47_TOKEN = re.compile(r"[!-~]+")  # what counts as a token between two marked ones
# what rot47 makes of lower-case letters (a-o: `2`-`@`, p-z: `A`-`K`) and blanks: most of a
# run in rot47 is these, so a run where they are not is not read
_ROT47_LOWER = str.maketrans("", "", "23456789:;<=>?@ABCDEFGHIJK \t")
_ROT47_MARKS = str.maketrans("", "", "0123456789:;<=>?@")
_ROT47_MIN_MARKS = 6  # a line with fewer of those holds no run of three rot47 words
_WORD = re.compile(r"[A-Za-z]+")
_CLEAN = re.compile(r"[^\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")  # no junk, no control
_CODE = re.compile(r"[=(){}\[\]<>_\"`;]|[A-Za-z]\.[A-Za-z]")  # identifiers, calls, fields

_MORSE_TABLE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?",
    "-.-.--": "!", "-..-.": "/", "---...": ":", ".----.": "'", "-....-": "-",
}  # fmt: skip
_MORSE_SIGNS = str.maketrans({"·": ".", "•": ".", "−": "-", "–": "-", "_": "-"})
# English Braille, grade 1: dots 1-6 are bits 0-5 of the cell's offset from U+2800
_BRAILLE_LETTERS = dict(
    zip(
        (1, 3, 9, 25, 17, 11, 27, 19, 10, 26, 5, 7, 13, 29, 21, 15, 31, 23, 14, 30, 37, 39, 58,
         45, 61, 53),
        string.ascii_lowercase,
        strict=True,
    )
)  # fmt: skip
_BRAILLE_SIGNS = {0: " ", 2: ",", 50: ".", 38: "?", 22: "!", 4: "'", 36: "-", 6: ";", 18: ":"}
_BRAILLE_CAPITAL, _BRAILLE_NUMBER = 32, 60
# grade 2 (contracted) group signs, the common ones: a text in grade 2 is mostly grade 1
_BRAILLE_GROUPS = {
    47: "and", 46: "the", 63: "for", 55: "of", 62: "with", 44: "ing", 12: "st", 33: "ch",
    41: "sh", 57: "th", 59: "er", 51: "ou", 49: "wh", 43: "ed", 42: "ow", 28: "ar", 35: "gh",
}  # fmt: skip
# upside-down text: each letter turned (ǝ for e, ɹ for r ...) and the line written backwards;
# u/n, p/d, b/q and M/W turn into each other. Read: reverse the run and turn every character
# back (`_UNFLIP`); a run is where the turned letters that ASCII lacks are.
_TURNED = {
    "ɐ": "a", "ɔ": "c", "ǝ": "e", "ɟ": "f", "ƃ": "g", "ɥ": "h", "ᴉ": "i", "ı": "i", "ɾ": "j",
    "ʞ": "k", "ן": "l", "ɯ": "m", "ɹ": "r", "ʇ": "t", "ʌ": "v", "ʍ": "w", "ʎ": "y", "∀": "A",
    "Ɔ": "C", "Ǝ": "E", "Ⅎ": "F", "⅁": "G", "˥": "L", "Ԁ": "P", "ᴚ": "R", "⊥": "T", "┴": "T",
    "∩": "U", "Λ": "V", "⅄": "Y", "˙": ".", "¿": "?", "¡": "!", "'": ",", ",": "'",
}  # fmt: skip
_UNFLIP = str.maketrans({**_TURNED, "u": "n", "n": "u", "p": "d", "d": "p", "b": "q", "q": "b",
                         "M": "W", "W": "M", "(": ")", ")": "(", "[": "]", "]": "["})  # fmt: skip
_TURNED_LETTER = re.compile(
    "[" + "".join(c for c in _TURNED if c.isalpha() or c in "∀⅁˥⊥┴∩⅄") + "]"
)
_MIN_TURNED = 3  # turned letters on a line before it is read upside down

_SHIFTS = [
    str.maketrans(
        string.ascii_lowercase + string.ascii_uppercase,
        string.ascii_lowercase[k:] + string.ascii_lowercase[:k]
        + string.ascii_uppercase[k:] + string.ascii_uppercase[:k],
    )
    for k in range(26)
]  # fmt: skip


@dataclass(frozen=True)
class Payload:
    """An encoded run of a text: where it is (`start`, `end` in the text), how it was encoded
    (`scheme`, e.g. `base64` or `hex/base64` for two layers) and what it says (`text`)."""

    start: int
    end: int
    scheme: str
    text: str

    def origins(self) -> list[int]:
        """For each character of `text`, a position in the encoded run it stands for: spread
        evenly over `[start, end)` (mirrored for text written backwards), so a match in a
        first-layer payload is reported over about the part of the run it was decoded from,
        always inside the run. One layer down the spread means nothing: see `span_of`."""
        width = max(1, self.end - self.start)
        n = max(1, len(self.text))
        spread = [min(width - 1, k * width // n) for k in range(len(self.text))]
        if self.scheme in _BACKWARDS:  # written backwards: the first character is the last
            return [self.end - 1 - k for k in spread]
        return [self.start + k for k in spread]

    def span_of(self, start: int, end: int, origins: list[int] | None = None) -> tuple[int, int]:
        """Where in the text the match `[start, end)` of `text` lies: over its part of the run
        for a first-layer payload (`origins`, computed if not given), over the whole run for a
        payload one layer down (a second encoding mixes every character of the first)."""
        if "/" in self.scheme or start >= end:
            return self.start, self.end
        origins = origins if origins is not None else self.origins()
        first, last = origins[start], origins[end - 1]  # mirrored when written backwards
        return min(first, last), max(first, last) + 1


class Decoder:
    """Finds encoded payloads and decodes them; `words` is the dictionary that tells a decoded
    text from noise for the schemes any text could match."""

    def __init__(
        self, words: Iterable[str], prose: bool = True, splitter: Deobfuscator | None = None
    ) -> None:
        self.words = frozenset(w.lower() for w in words if w.isalpha() and len(w) >= MIN_WORD)
        # splits letters spelled without word breaks (NATO words) into words
        self.splitter = splitter or Deobfuscator(self.words)
        # prose: payloads that read as text (the classifiers' and patterns' business); else
        # byte encodings of any printable token (keys and passwords: the `secrets` guard's)
        self.prose = prose
        # the guards of a stage read one text at once, each on a worker thread: the first scans
        # it, the others wait for that scan (never for another text's), then all reuse it
        self._remembered: OrderedDict[str, tuple[Payload, ...]] = OrderedDict()
        self._remembered_chars = 0
        self._scanning: dict[str, threading.Event] = {}
        self._lock = threading.Lock()  # guards the three above, never held while scanning
        self._finders = self._finder_table()

    @classmethod
    @cache
    def english(cls) -> Decoder:
        """Over the English word list `Deobfuscator.english()` uses."""
        english = Deobfuscator.english()
        return cls(english.words, splitter=english)

    @classmethod
    @cache
    def tokens(cls) -> Decoder:
        """Byte encodings (base64, hex, ...) of any printable token of 8 characters or more,
        whether or not it reads as text: a key or password in a Kubernetes Secret."""
        return cls((), prose=False)

    # -- the reading ------------------------------------------------------------------------

    def reading(self, text: str) -> str | None:
        """The decoded payloads of `text`, one per line; None when it has none."""
        found = self.payloads(text)
        return "\n".join(p.text for p in found) if found else None

    def payloads(self, text: str) -> tuple[Payload, ...]:
        """Every payload of `text` (and of its payloads, one layer down), in text order; their
        texts together are at most twice as long as `text`. One scan per text at a time; the
        most recent texts' payloads are remembered (REMEMBERED_CHARS)."""
        with self._lock:
            found = self._remembered.get(text)
            if found is not None:
                self._remembered.move_to_end(text)
                return found
            running = self._scanning.get(text)
            if running is None:
                self._scanning[text] = threading.Event()
        if running is not None:  # another guard is scanning this text: wait for it
            running.wait()
            with self._lock:
                found = self._remembered.get(text)
            return found if found is not None else self._payloads(text)
        try:
            found = self._payloads(text)
            with self._lock:
                self._remembered[text] = found
                self._remembered_chars += len(text)
                while self._remembered_chars > REMEMBERED_CHARS and len(self._remembered) > 1:
                    evicted, _ = self._remembered.popitem(last=False)
                    self._remembered_chars -= len(evicted)
        finally:
            with self._lock:
                self._scanning.pop(text).set()
        return found

    def _payloads(self, text: str) -> tuple[Payload, ...]:
        out: list[Payload] = []
        self._collect(text, None, "", 1, out, [2 * len(text)])
        return tuple(out)

    def _collect(
        self,
        text: str,
        where: tuple[int, int] | None,
        outer: str,
        depth: int,
        out: list[Payload],
        budget: list[int],
    ) -> None:
        """Payloads of `text` into `out`; `where`: the span of the original text that `text`
        was decoded from (None: `text` is the original), `outer`: its scheme, `budget`: the
        characters the reading may still take.

        Every scheme's finds are gathered first; where two overlap, the longer run wins (a
        short decoy glued to a payload does not hide it). The first layer's payloads are all
        kept: runs do not overlap and none decodes to more characters than it has, so together
        they are no longer than the text; the budget bounds the second layer."""
        shifts = outer.split("/", 1)[0] not in _SHIFT_SCHEMES if outer else True
        found = sorted(self._decoded(text, shifts), key=lambda c: (c[1] - c[2], c[1]))
        # the runs kept so far per family, sorted, never overlapping within a family: a letter
        # shift or reversal reads a run with the byte schemes' runs in it left out, so the two
        # families may overlap and still read no character twice
        starts: dict[bool, list[int]] = {False: [], True: []}
        ends: dict[bool, list[int]] = {False: [], True: []}
        kept = []
        for scheme, start, end, decoded in found:
            family = scheme in _SHIFT_SCHEMES
            s_, e_ = starts[family], ends[family]
            i = bisect.bisect_right(s_, start)
            if (i > 0 and e_[i - 1] > start) or (i < len(s_) and s_[i] < end):
                continue  # one reading per run of text
            s_.insert(i, start)
            e_.insert(i, end)
            kept.append((scheme, start, end, decoded))
        for scheme, start, end, decoded in sorted(kept, key=lambda c: c[1]):
            if budget[0] <= 0:
                return
            decoded = decoded[: budget[0]]
            budget[0] -= len(decoded)
            name = f"{scheme}/{outer}" if outer else scheme
            span = where or (start, end)  # a payload's payload: where its outer one is
            out.append(Payload(span[0], span[1], name, decoded))
            if depth < MAX_DEPTH:
                self._collect(decoded, span, name, depth + 1, out, budget)

    def _finder_table(self) -> list[tuple[str, Finder, Decode, int]]:
        """(scheme, finder, decode, least) per scheme in the order `_decoded` tries them; `least`:
        every run the finder yields lies in one blank-free token of at least that many
        characters (0: no such bound). Built once per decoder."""
        keep = _readable if self.prose else _token
        finders: list[tuple[str, Finder, Decode, int]] = [
            ("ascii85", _Wanting(_A85, ("<~",)), partial(_ascii85, keep=keep), 0),
            ("escapes", _Wanting(_ESCAPES, ("\\",)), partial(_escapes, keep=keep), 0),
            ("html_entities", _Wanting(_ENTITIES, ("&#",)), partial(_entities, keep=keep), 0),
            ("binary", _Counting(_BINARY, "01", 32), partial(_binary, keep=keep), 0),
            ("binary", _Counting(_BINARY7, "01", 28), partial(_binary7, keep=keep), 0),
            (
                "code_points",
                _Wanting(_CODE_POINTS, ("+", "\\u{")),
                partial(_code_points, keep=keep),
                0,
            ),
            (
                "quoted_printable",
                _Wanting(_QP, ("=",)),
                partial(_quoted_printable, keep=keep),
                0,
            ),
            ("hex", _hex_dumps, partial(_hex_dump, keep=keep, wordy=self._wordy), 0),
            ("uuencode", _uu_blocks, partial(_uu, keep=keep), 0),
            ("hex", _HEX_SPACED, partial(_hex, keep=keep), 0),
            ("hex", _Wrapped(_HEX), partial(_hex, keep=keep), 12),
            ("base32", _Wrapped(_B32), partial(_base32, keep=keep), 16),
            ("base64", _Wrapped(_B64), partial(_base64, keep=keep), 12),
            ("base64", _B64_GROUPED, partial(_base64, keep=keep), 0),
            ("percent", _Wanting(_PERCENT, ("%",)), partial(_percent, keep=keep), 0),
            ("percent", _Wanting(_PERCENT_SPACED, ("%",)), partial(_percent, keep=keep), 0),
        ]
        if self.prose:  # schemes that only words tell from noise
            # (ten digits at least: five numbers of two or more)
            decimal = _Counting(_DECIMAL, "0123456789", 10)
            finders[4:4] = [("decimal", decimal, self._decimal, 0)]  # before hex: `75 73 76`
            finders[11:11] = [
                ("morse", _MORSE, self._morse, 0),
                ("hex", _HEX, self._hex_digits, 12),
            ]
            finders.insert(-1, ("base85", _B85, self._base85, 20))
            finders += [
                ("braille", _BRAILLE, self._braille, 0),
                ("nato", _nato_runs, self._nato, 0),
            ]
        return finders

    def _decoded(self, text: str, shifts: bool) -> Iterator[tuple[str, int, int, str]]:
        """(scheme, start, end, decoded) for each run of `text` a scheme decodes, the schemes
        with the most particular shapes first (of two finds of one length over the same run,
        the earlier scheme's is read: `_collect`)."""
        # a scheme whose every run is one blank-free token of `least` characters or more is not
        # looked for in a text without such a token (most prose): exact, and cheaper than a scan
        longest = max(map(len, text.split()), default=0)
        decoded: list[tuple[int, int]] = []  # the runs a byte scheme read
        for scheme, pattern, decode, least in self._finders:
            if longest < least:
                continue
            spans = _spans(pattern, text) if isinstance(pattern, re.Pattern) else pattern(text)
            for start, end in spans:
                result = decode(text[start:end])
                if result is None and isinstance(pattern, _Wrapped) and "\n" in text[start:end]:
                    # a block that does not decode as one (a bad byte, a junk line of the same
                    # width): each line's run is read on its own
                    for line in pattern.line.finditer(text, start, end):
                        found = _located(decode(line.group(0)), line.start(), line.end())
                        if found is not None:
                            decoded.append(found[:2])
                            yield scheme, *found
                    continue
                found = _located(result, start, end)
                if found is not None:
                    decoded.append(found[:2])
                    yield scheme, *found
        if shifts and self.prose:
            # a shifted, reversed or upside-down run is read without the runs a byte scheme
            # read (a ROT13 cover around a base64 payload, or hex decoys between ROT13 words,
            # hide neither: both are read)
            breaks = merged_spans(decoded)
            yield from self._shifted_runs(text, breaks)
            yield from self._rot47_runs(text, breaks)
            yield from self._upside_down_runs(text, breaks)

    # -- schemes that need the dictionary -----------------------------------------------------

    def _wordy(
        self,
        text: str | None,
        min_words: int = 2,
        share: float = KNOWN_SHARE,
        long_known: int = 2,
    ) -> str | None:
        """`text` if it has `min_words` words, `share` of them dictionary words and
        `long_known` of those four letters or more (chance spells three-letter words: a shifted
        name or id often reads as `the`, `dna` or `tis`); else None."""
        if text is None:
            return None
        words = [w.lower() for w in _WORD.findall(text) if len(w) >= MIN_WORD]
        if len(words) < min_words:
            return None
        known = [w for w in words if w in self.words]
        if len(known) < share * len(words) or sum(len(w) >= 4 for w in known) < long_known:
            return None
        return text

    def _morse(self, run: str) -> str | None:
        """The run's words read as Morse. A word that is no Morse (`----`, a `______` blank)
        splits the run into parts read on their own, and a part that does not read as a whole
        is read line by line: one bad line, or a line of valid nonsense, hides nothing."""
        parts: list[list[list[str]]] = [[]]  # part -> its lines -> their decoded words
        for line in run.translate(_MORSE_SIGNS).strip().split("\n"):
            words: list[str] = []
            for word in re.split(r"\s*/\s*| {3,}", line.strip()):
                letters = [_MORSE_TABLE.get(code) for code in word.split()]
                if letters and all(c is not None for c in letters):
                    words.append("".join(c for c in letters if c))
                    continue
                if words:
                    parts[-1].append(words)
                    words = []
                if parts[-1]:
                    parts.append([])
            if words:
                parts[-1].append(words)
        read = []
        for part in parts:
            whole = self._morse_words([w for line in part for w in line])
            if whole is None and len(part) > 1:
                whole = "\n".join(r for line in part if (r := self._morse_words(line))) or None
            if whole is not None:
                read.append(whole)
        return "\n".join(read) or None

    def _morse_words(self, words: Sequence[str]) -> str | None:
        """Decoded Morse words as text, when they read as words: "..." and "-" are Morse
        letters too, so two or more dictionary words, or one long one."""
        if not words:
            return None
        decoded = " ".join(words)
        words_in = [w for w in words if len(w) >= MIN_WORD]
        if len(words_in) == 1 and len(words_in[0]) >= 5 and words_in[0] in self.words:
            return decoded
        return self._wordy(decoded)

    def _decimal(self, run: str) -> str | None:
        """Character codes (`73 103 110 ...`), read as decimal and, failing that, as hex bytes
        written without letters (`75 73 76 76`); either must spell dictionary words."""
        numbers = re.findall(r"[0-9]+", run)
        codes = [int(n) for n in numbers]
        if all(32 <= c <= 126 for c in codes):
            found = self._wordy("".join(map(chr, codes)), long_known=1)
            if found is not None:
                return found
        if all(len(n) == 2 for n in numbers):
            return self._wordy(_text(bytes.fromhex("".join(numbers)), _readable))
        if all(len(n) == 3 and n < "400" and not set(n) & set("89") for n in numbers):
            return self._wordy(_text(bytes(int(n, 8) for n in numbers), _readable))  # octal
        return None

    def _braille(self, run: str) -> str | None:
        """English Braille, grade 1 (letters, capital and number signs, punctuation) and the
        common group signs of grade 2 (`and`, `the`, `ing` ...); any other cell reads as `?`
        (`_wordy` judges the result: one odd cell does not hide the rest)."""
        out: list[str] = []
        capital = number = False
        for c in run:
            dots = ord(c) - 0x2800 if "\u2800" <= c <= "\u28ff" else 0
            if dots == _BRAILLE_CAPITAL:
                capital = True
                continue
            if dots == _BRAILLE_NUMBER:
                number = True
                continue
            letter = _BRAILLE_LETTERS.get(dots)
            if letter is None:
                sign = _BRAILLE_SIGNS.get(dots) or _BRAILLE_GROUPS.get(dots, "?")
                out.append(sign)
                number = number and sign not in " \t"
                continue
            if number and letter <= "j":
                out.append("1234567890"[ord(letter) - 97])
            else:
                out.append(letter.upper() if capital else letter)
                number = False
            capital = False
        return self._wordy("".join(out))

    def _nato(self, run: str) -> str | None:
        """Spelling-alphabet words read as their letters; `/`, `|`, `(space)`, a line break or
        two spaces between them end a word, and letters spelled without a break are split into the
        fewest dictionary words (a group that splits into none stays as it is spelled)."""
        words: list[str] = []
        letters: list[str] = []
        for token in _NATO_TOKEN.findall(run):
            letter = _NATO_WORDS.get(token.lower())
            if letter is not None:
                letters.append(letter)
                continue
            words.append("".join(letters))
            letters = []
        words.append("".join(letters))
        # a group that splits into no words stays as spelled (a name, a typo): `_wordy` judges
        split = partial(self.splitter.split, limit=MAX_SPLIT, loose=True)
        read = [w if w in self.words or len(w) < MIN_WORD else split(w) or w for w in words if w]
        return self._wordy(" ".join(read))

    def _hex_digits(self, run: str) -> str | None:
        """A hex run of digits only (`6865...` spelled without a-f): what it decodes to must be
        dictionary words, since every long number is such a run."""
        digits = re.sub(r"0x|[^0-9]", "", run)
        if len(digits) % 2 or not digits.isdigit():
            return None
        return self._wordy(_text(bytes.fromhex(digits), _readable))

    def _base85(self, run: str) -> str | None:
        for decode in (base64.b85decode, base64.a85decode):
            try:
                raw = decode(run.encode("ascii"))
            except (ValueError, binascii.Error):
                continue
            found = self._wordy(_text(raw, _readable))
            if found is not None:
                return found
        return None

    def _shifted_runs(
        self, text: str, breaks: Sequence[tuple[int, int]] = ()
    ) -> Iterator[tuple[str, int, int, str]]:
        """Runs of three or more words that are not dictionary words, read shifted (ROT13, and
        the Caesar shift the run's letter counts suggest) or reversed, where most words of the
        result are dictionary words; the parts of a run in `breaks` (sorted spans, read by a
        byte scheme) are left out of its reading."""
        for start, end in self._unknown_runs(text):
            run = _masked(text, start, end, breaks)
            if _CODE.search(run):  # `avar = newTable("avar`: code, not a cipher
                continue
            found = None
            for shift in dict.fromkeys((13, _likely_shift(run))):
                # ROT13 is the shift people use; any other needs more words to be believed
                words, share = (2, KNOWN_SHARE) if shift == 13 else (5, 0.8)
                if shift and (shifted := self._wordy(run.translate(_SHIFTS[shift]), words, share)):
                    found = ("rot13" if shift == 13 else f"caesar{26 - shift}", shifted)
                    break
            if found is None and (atbash := self._wordy(run.translate(_ATBASH), 3)):
                found = ("atbash", atbash)
            if found is None and (reversed_run := self._wordy(run[::-1])):
                found = ("reversed", reversed_run)
            if found is not None:
                yield found[0], start, end, found[1]

    def _rot47_runs(
        self, text: str, breaks: Sequence[tuple[int, int]] = ()
    ) -> Iterator[tuple[str, int, int, str]]:
        """Runs of three or more tokens on one line holding a digit or one of `:;<=>?@` (what
        ROT47 makes of most words; one token without between two with does not end a run),
        mostly made of what ROT47 makes of lower-case letters, read with ROT47 where that
        spells mostly dictionary words (three at least)."""
        offset = 0
        for line in text.split("\n"):
            at, offset = offset, offset + len(line) + 1
            if len(line) - len(line.translate(_ROT47_MARKS)) < _ROT47_MIN_MARKS:
                continue
            start = end = -1
            count = 0
            # only the tokens with a mark are visited (prose with a number has one or two)
            for match in _ROT47_MARKED.finditer(line):
                if count and len(_ROT47_TOKEN.findall(line, end, match.start())) <= 1:
                    end, count = match.end(), count + 1
                    continue
                if count >= MIN_RUN_WORDS:
                    yield from self._rot47(text, at + start, at + end, breaks)
                start, end, count = match.start(), match.end(), 1
            if count >= MIN_RUN_WORDS:
                yield from self._rot47(text, at + start, at + end, breaks)

    def _rot47(
        self, text: str, start: int, end: int, breaks: Sequence[tuple[int, int]]
    ) -> Iterator[tuple[str, int, int, str]]:
        run = _masked(text, start, end, breaks)
        if len(run.translate(_ROT47_LOWER)) * 2 > len(run):  # prose with numbers, code
            return
        read = self._wordy(run.translate(_ROT47), 3)
        if read is not None:
            yield "rot47", start, end, read

    def _upside_down_runs(
        self, text: str, breaks: Sequence[tuple[int, int]] = ()
    ) -> Iterator[tuple[str, int, int, str]]:
        """Lines with MIN_TURNED or more turned letters, read from their first to their last
        turned word backwards with every character turned back, where that spells mostly
        dictionary words; the parts of a line in `breaks` (sorted spans) are left out."""
        if not _TURNED_LETTER.search(text):
            return
        for line in re.finditer(r"[^\n]+", text):
            turned = list(_TURNED_LETTER.finditer(line.group(0)))
            if len(turned) < _MIN_TURNED:
                continue
            start, end = turned[0].start(), turned[-1].end()
            body = line.group(0)
            while start > 0 and not body[start - 1].isspace():
                start -= 1
            while end < len(body) and not body[end].isspace():
                end += 1
            run = _masked(text, line.start() + start, line.start() + end, breaks)
            read = self._wordy(run[::-1].translate(_UNFLIP))
            if read is not None:
                yield "upside_down", line.start() + start, line.start() + end, read

    def _unknown_runs(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each run of MIN_RUN_WORDS or more non-dictionary words of three
        letters or more. Shorter words, punctuation and one dictionary word between two of them
        do not end a run (shifted gibberish spells a short word now and then: `dna`, `doo`);
        two dictionary words in a row or a line break do."""
        unknown = (w for w in _WORD.findall(text) if len(w) >= MIN_WORD)
        if sum(w.lower() not in self.words for w in unknown) < MIN_RUN_WORDS:
            return  # too few in the whole text for one run (most prose): no walk needed
        start = end = -1
        count = known_in_row = 0
        for match in _WORD.finditer(text):
            word = match.group(0)
            short = len(word) < MIN_WORD
            known = not short and word.lower() in self.words
            if end >= 0 and "\n" in text[end : match.start()]:
                if count >= MIN_RUN_WORDS:
                    yield start, end
                start, end, count, known_in_row = -1, -1, 0, 0
            if known:
                known_in_row += 1
                if known_in_row >= 2 or start < 0:
                    if count >= MIN_RUN_WORDS:
                        yield start, end
                    start, end, count = -1, -1, 0
                continue
            known_in_row = 0
            if start < 0:
                start = match.start()
            end = match.end()
            count += not short
        if count >= MIN_RUN_WORDS:
            yield start, end


def _masked(text: str, start: int, end: int, breaks: Sequence[tuple[int, int]]) -> str:
    """`text[start:end]` with each part that lies in `breaks` (sorted, not overlapping each
    other) written as one space: at most as long as the run, every position before the first
    break where it was."""
    if not breaks:
        return text[start:end]
    out: list[str] = []
    cursor = start
    for b_start, b_end in breaks[max(0, bisect.bisect_right(breaks, (start,)) - 1) :]:
        if b_start >= end:
            break
        if b_end <= cursor:
            continue
        out += [text[cursor : max(cursor, b_start)], " "]
        cursor = min(end, b_end)
    out.append(text[cursor:end])
    return "".join(out)


def _likely_shift(run: str) -> int:
    """The shift k (0-25) after which `run`'s letters are likeliest as English text (the
    log-likelihood of its letter counts under English letter frequencies)."""
    counts: dict[int, int] = {}
    for c in run.lower():
        i = ord(c) - 97
        if 0 <= i < 26:
            counts[i] = counts.get(i, 0) + 1
    best, best_k = -math.inf, 0
    for k in range(26):
        score = sum(n * _LOG_ENGLISH[(i + k) % 26] for i, n in counts.items())
        if score > best:
            best, best_k = score, k
    return best_k


# -- byte encodings: kept when the bytes read as text -----------------------------------------


def _text(raw: bytes, keep: Keep, cut: bool = False) -> str | None:
    """`raw` as text when it is UTF-8 without control characters, at least BYTES_MIN long,
    with a word of three letters or more (in any script); else None. `cut`: `raw` is a piece
    of a longer encoding, so a character cut at either end is dropped, not an error."""
    if len(raw) < BYTES_MIN:
        return None
    if cut:
        raw = raw.lstrip(bytes(range(0x80, 0xC0)))  # continuation bytes of a cut character
        try:
            decoded = codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        except UnicodeDecodeError:
            return None
        return keep(decoded)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return keep(decoded)


def _readable(decoded: str) -> str | None:
    decoded = decoded.strip()
    if len(decoded) < BYTES_MIN or _ASCII_CONTROLS.search(decoded):
        return None
    if any(unicodedata.category(c) in ("Co", "Cs", "Cn") for c in decoded):
        return None
    if not _lettered(decoded):
        # ROT47 (`x8?@C6 2==`) is mostly digits and signs: kept for the next layer to read
        # when it has words (three blanks at least) and its ROT47 reading is letters
        rot47 = decoded.translate(_ROT47)
        wordy = decoded.count(" ") >= 3 and decoded.isascii() and _lettered(rot47)
        return decoded if wordy and re.search(r"[A-Za-z]{3,}", rot47) else None
    if re.search(r"[A-Za-z]{3,}", decoded) or len(_BRAILLE_CELLS.findall(decoded)) >= 8:
        return decoded
    # no ASCII word: text in another script, all of it in one (random bytes that happen to be
    # UTF-8 mix scripts: `Jܥy(^zСjx`), eight letters or more
    scripts = {unicodedata.name(c, "?").split()[0] for c in decoded if c.isalpha()}
    others = sum(c.isalpha() and not c.isascii() for c in decoded)
    return decoded if len(scripts) == 1 and "LATIN" not in scripts and others >= 8 else None


def _lettered(text: str) -> bool:
    """60 % or more of `text` is letters, blanks or Braille cells."""
    return sum(c.isalpha() or c.isspace() or "\u2800" <= c <= "\u28ff" for c in text) >= 0.6 * len(
        text
    )


def _token(decoded: str) -> str | None:
    """`decoded` when it is one or more printable ASCII tokens of 8 characters or more."""
    decoded = decoded.strip()
    if len(decoded) < 8 or not decoded.isascii() or not decoded.isprintable():
        return None
    return decoded if any(len(t) >= 8 for t in decoded.split()) else None


def _spans(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    return ((m.start(), m.end()) for m in pattern.finditer(text))


def _blocks(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    """Runs of `pattern` (base64, base32, hex), each line's run joined with the next line's
    when it is wrapped: a line of at least `_WRAP_MIN` characters without `=` padding, as long
    as the block's first line, followed by a line that is nothing but a run (the last line of
    a block may be shorter)."""
    runs = list(pattern.finditer(text))
    i = 0
    while i < len(runs):
        first = runs[i]
        start, end, width = first.start(), first.end(), first.end() - first.start()
        j = i
        while j + 1 < len(runs):
            this, nxt = runs[j], runs[j + 1]
            if (
                this.end() - this.start() != width
                or width < _WRAP_MIN
                or "=" in this.group(0)
                or text[this.end() : nxt.start()].strip(" \t\r") != "\n"
                or nxt.end() - nxt.start() > width
                # the next run is its line's only text (checked last, and only up to the
                # line's end: a search to the text's end per run was quadratic)
                or not _BLANK_TO_LINE_END.match(text, nxt.end())
            ):
                break
            j += 1
            end = nxt.end()
        yield start, end
        i = j + 1


@dataclass(frozen=True)
class _Wanting:
    """The runs of `pattern` in a text that holds one of `needles` (a substring test is much
    cheaper than a scan that must try every position)."""

    pattern: re.Pattern[str]
    needles: tuple[str, ...]

    def __call__(self, text: str) -> Iterator[tuple[int, int]]:
        return _spans(self.pattern, text) if any(n in text for n in self.needles) else iter(())


@dataclass(frozen=True)
class _Counting:
    """The runs of `pattern` in a text that holds `least` or more of `chars` in all (every run
    of `pattern` does), counted with `str.count`: cheaper than a scan that tries every
    position."""

    pattern: re.Pattern[str]
    chars: str
    least: int

    def __call__(self, text: str) -> Iterator[tuple[int, int]]:
        if sum(text.count(c) for c in self.chars) < self.least:
            return iter(())
        return _spans(self.pattern, text)


def _nato_runs(text: str) -> Iterator[tuple[int, int]]:
    """`_NATO` runs, looked for only in a text where the spelling-alphabet words occur five
    times (as parts of words too: a cheap upper bound)."""
    lower = text.lower()
    if sum(lower.count(word) for word in _NATO_WORDS) < 5:
        return iter(())
    return _spans(_NATO, text)


@dataclass(frozen=True)
class _Wrapped:
    """A finder of `line` runs (base64, base32, hex) joined over wrapped lines (`_blocks`);
    `_decoded` reads a block that does not decode as one line by line."""

    line: re.Pattern[str]

    def __call__(self, text: str) -> Iterator[tuple[int, int]]:
        return _blocks(self.line, text)


def _located(
    result: str | tuple[str, int] | None, start: int, end: int
) -> tuple[int, int, str] | None:
    """(start, end, decoded) of a run's decoding (one that skipped characters at the run's
    start starts after them), or None."""
    if isinstance(result, tuple):  # (decoded, characters skipped at the start)
        return start + result[1], end, result[0]
    return None if result is None else (start, end, result)


def _base64(run: str, keep: Keep) -> tuple[str, int] | None:
    """`run` (a wrapped block as one) as base64, and how many of its first characters the
    decoding skipped (the payload starts after them). A long run that does not decode from
    its first character is tried from its second, third and fourth (a piece of a payload: a
    streamed answer is checked a window at a time, and a payload may be glued to the word
    before it). Padding inside the run ends a payload: the part before it is read, else the
    part after it."""
    compact = re.sub(r"\s+", "", run).rstrip("=")
    if "=" in compact:
        head, _, tail = compact.partition("=")
        before = _base64(head, keep)
        if before is not None:
            return before
        tail = tail.lstrip("=")
        after = _base64(tail, keep) if len(tail) >= 12 else None
        return None if after is None else (after[0], len(compact) - len(tail) + after[1])
    if compact.isdigit() or (compact.isalpha() and (compact.islower() or compact.isupper())):
        return None  # a number, a long word or a shout: base64 of text mixes cases
    offsets = range(4) if len(compact) >= ALIGN_MIN and _B64_MIXED.match(compact) else (0,)
    # the URL-safe alphabet reads `-_` as `+/` and keeps those: one decoding, not two
    alphabets = (b"-_",) if _URL_SAFE_CHARS.search(compact) else (b"+/",)
    for offset in offsets:
        piece = compact[offset:]
        piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece
        padded = piece + "=" * (-len(piece) % 4)
        for altchars in alphabets:
            try:
                raw = base64.b64decode(padded, altchars=altchars, validate=True)
            except (ValueError, binascii.Error):
                continue
            # a long run may be a window's piece: a character cut at an end is no error
            found = _text(
                raw, keep, cut=offset > 0 or piece != compact or len(compact) >= ALIGN_MIN
            )
            if found is not None:
                return found, offset
            if keep is _readable and len(offsets) > 1 and (glued := _glued(raw, keep)):
                # a word glued before or after the payload ("decode" + base64 + "thanks")
                # decodes to a few bytes of junk at the ends
                skipped_bytes, found = glued
                return found, offset + skipped_bytes * 4 // 3
    return None


def _glued(raw: bytes, keep: Keep) -> tuple[int, str] | None:
    """The readable middle of `raw` when no more than GLUED_JUNK bytes at either end are not
    text and the middle is most of it, with three words of three letters or more: (bytes
    skipped at the start, the text kept)."""
    core = raw[GLUED_JUNK : len(raw) - GLUED_JUNK].lstrip(bytes(range(0x80, 0xC0)))
    try:  # the middle must be UTF-8 whatever the ends hold: random bytes fail here, fast
        codecs.getincrementaldecoder("utf-8")().decode(core, final=False)
    except UnicodeDecodeError:
        return None
    decoded = raw.decode("utf-8", errors="replace")
    best = max(_CLEAN.finditer(decoded), key=lambda m: m.end() - m.start(), default=None)
    if best is None or best.end() - best.start() < GLUED_SHARE * len(decoded):
        return None
    head, tail = decoded[: best.start()], decoded[best.end() :]
    if len(head.encode()) > GLUED_JUNK or len(tail.encode()) > GLUED_JUNK:
        return None
    found = keep(best.group(0))
    if found is None or len([w for w in _WORD.findall(found) if len(w) >= MIN_WORD]) < 3:
        return None  # random bytes leave a short run of letters now and then; prose has words
    return len(head.encode()), found


def _base32(run: str, keep: Keep) -> str | None:
    compact = re.sub(r"\s+", "", run).rstrip("=")
    try:
        raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (ValueError, binascii.Error):
        return None
    return _text(raw, keep)


def _ascii85(run: str, keep: Keep) -> str | None:
    try:
        raw = base64.a85decode(run.encode("ascii"), adobe=True, ignorechars=b" \t\n\r\x0b")
    except (ValueError, binascii.Error):
        return None
    return _text(raw, keep)


def _hex(run: str, keep: Keep) -> str | None:
    digits = re.sub(r"0x|[^0-9A-Fa-f]", "", run)
    if len(digits) % 2 or digits.isdigit():  # a number (or a list of them): the dictionary's
        return None
    return _text(bytes.fromhex(digits), keep)


def _binary(run: str, keep: Keep) -> str | None:
    bits = re.sub(r"[^01]", "", run)
    return _text(bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)), keep)


def _binary7(run: str, keep: Keep) -> str | None:
    return _text(bytes(int(group, 2) for group in re.findall(r"[01]{7}", run)), keep)


def _code_points(run: str, keep: Keep) -> str | None:
    codes = [int(code, 16) for code in re.findall(r"(?:[Uu]\+|\\u\{)([0-9A-Fa-f]+)", run)]
    if any(code > 0x10FFFF or 0xD800 <= code <= 0xDFFF for code in codes):
        return None
    return keep("".join(map(chr, codes)))


def _quoted_printable(run: str, keep: Keep) -> str | None:
    try:
        raw = quopri.decodestring(run.encode("utf-8"))
    except (ValueError, binascii.Error):
        return None
    if not re.search(r"=[0-9A-Fa-f]{2}", run):  # soft line breaks alone: `KEY=` lines of a template
        return None
    return _text(raw, keep)


def _hex_dumps(text: str) -> Iterator[tuple[int, int]]:
    """Blocks of two or more consecutive hex-dump lines (an offset, then groups of one or two
    bytes, maybe a `|text|` column)."""
    start = end = -1
    lines = 0
    for match in _DUMP_LINE.finditer(text):
        if lines and text[end : match.start()] in ("\n", "\r\n"):
            end, lines = match.end(), lines + 1
            continue
        if lines >= 2:
            yield start, end
        start, end, lines = match.start(), match.end(), 1
    if lines >= 2:
        yield start, end


def _hex_dump(run: str, keep: Keep, wordy: Keep) -> str | None:
    """The bytes of a hex dump's lines without their offsets (and text column). 2-byte groups
    after offsets without a colon (`od -x`, `hexdump`) are little-endian words: read swapped
    (else the other order, when only it decodes). A dump of digits only (a table of numbers
    has that shape) must spell dictionary words."""
    groups: list[str] = []
    colons = True
    for line in run.replace("\r", "").split("\n"):
        offset = _DUMP_OFFSET.match(line)
        colons = colons and offset is not None and ":" in offset.group(0)
        body = line[offset.end() if offset else 0 :].split("|", 1)[0]
        groups += re.findall(r"[0-9A-Fa-f]+", body)
    digits = "".join(groups)
    orders = [digits]
    if all(len(g) == 4 for g in groups):
        swapped = "".join(g[2:] + g[:2] for g in groups)
        orders = [digits, swapped] if colons else [swapped, digits]
    for order in orders:
        # a dump of an odd number of bytes in 2-byte groups ends in a NUL byte
        found = _text(bytes.fromhex(order).rstrip(b"\0"), keep)
        if found is not None and digits.isdigit():
            found = wordy(found)
        if found is not None:
            return found
    return None


# uuencoded lines: a length character, then four characters per three bytes (` ` to `` ` ``)
_UU_LINE = re.compile(r"^[!-M][ -`]{4,60}(?=\r?$)", re.MULTILINE)


def _uu_blocks(text: str) -> Iterator[tuple[int, int]]:
    """Consecutive uuencoded lines whose length characters agree with their lengths."""
    start = end = -1
    for match in _UU_LINE.finditer(text):
        line = match.group(0)
        # four characters per three bytes; trailing blanks (zero bits) may have been trimmed
        if not 0 <= 1 + (ord(line[0]) - 32 + 2) // 3 * 4 - len(line) <= 2:
            continue
        if start >= 0 and text[end : match.start()] in ("\n", "\r\n"):
            end = match.end()
            continue
        if start >= 0:
            yield start, end
        start, end = match.start(), match.end()
    if start >= 0:
        yield start, end


def _uu(run: str, keep: Keep) -> str | None:
    raw = b""
    for line in run.replace("\r", "").split("\n"):
        try:
            raw += binascii.a2b_uu(line)
        except binascii.Error:
            return None
    return _text(raw, keep)


def _escapes(run: str, keep: Keep) -> str | None:
    run = _CODE_SEPARATORS.sub("", run)  # `\x49 \x67`: the spaces are the layout
    try:
        decoded = run.encode("latin-1", "strict").decode("unicode_escape")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    if all(ord(c) < 256 for c in decoded):  # \x.. escapes of UTF-8 bytes
        with contextlib.suppress(UnicodeDecodeError):
            decoded = decoded.encode("latin-1").decode("utf-8")
    return keep(decoded)


def _entities(run: str, keep: Keep) -> str | None:
    return keep(html.unescape(_CODE_SEPARATORS.sub("", run)))


def _percent(run: str, keep: Keep) -> str | None:
    run = _CODE_SEPARATORS.sub("", run)  # `%49 %67 %6E`: the spaces are the layout
    try:
        decoded = unquote_plus(run, errors="strict")
    except UnicodeDecodeError:
        return None
    return None if decoded == run else keep(decoded)
