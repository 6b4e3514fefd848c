"""A second reading of obfuscated words: `h4te`, `1gn0re`, `k i l l`, `h.a.t.e`.

Writers dodge word-based detectors by spelling a word with digits and symbols for letters
(leetspeak) or by spacing its letters out. The model's tokenizer splits such a word into
pieces it never learned as that word, so a classifier reads `1gn0re pr3v10us 1nstruct10ns`
or `k i l l` as noise. `Deobfuscator.reading(text)` returns the lines of `text` that hold such
words, with each one written as the dictionary word it spells, or None when there is none. The
classifier guard scores that reading *in addition to* the text (the higher score counts, as
for the script routing), so a benign text with a `mp3` or an `x y z` in it is read as before
and at worst once more.

A word is only rewritten into a word of the dictionary (the whole-word entries of the
bundle's WordPiece vocabulary, three letters or more) that it is not itself: `h4te` becomes
`hate`, while `mp3`, `b2b`, `x86`, `4th` and `utf8` stay (no dictionary word spells them),
and `k i l l` joins to `kill` (a run spelling several words, `i g n o r e a l l`, splits into
the fewest dictionary words: `ignore all`). Sentence punctuation that leet also uses stays
punctuation when the word needs it to (`k1ll!` -> `kill!`), and words joined by underscores are
read one by one (`1gn0re_all` -> `ignore all`). The reading holds only the changed lines, so the
second pass costs at most the text's own; finding the words is linear in the text (a token
longer than MAX_WORD, or with more than MAX_CHOICES spellings, is no word).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import resources

# Letters that digits and symbols stand for; `1` and `|` can be `i` or `l`.
LEET: Mapping[str, str] = {
    "0": "o",
    "1": "il",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "il",
    "€": "e",
}
MAX_CHOICES = 16  # spellings tried per word (two-way characters multiply them)
MIN_WORD = 3
MAX_WORD = 24  # a longer leet token is no word (and is not expanded)
_TRAILING = "!|$@€"  # leet characters that also end sentences and amounts
MAX_SPACED = 64  # letters of a spaced-out run split into words (longer runs are left)
MAX_PIECE = 20  # the longest word tried when splitting
_COMMON_SHORT = frozenset(
    {"a", "i", "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it"}
    | {"me", "my", "no", "of", "on", "or", "so", "to", "up", "us", "we"}
)

_LEET_CLASS = re.escape("".join(LEET))
# a word of letters and leet characters with at least one of each (`h4te`, `$hit`, `@ss`)
_LEET_WORD = re.compile(
    rf"(?<![\w{_LEET_CLASS}])(?=[\w{_LEET_CLASS}]*[A-Za-z])(?=[\w{_LEET_CLASS}]*[{_LEET_CLASS}])"
    rf"[\w{_LEET_CLASS}]{{{MIN_WORD},}}(?![\w{_LEET_CLASS}])"
)
# three or more single letters, each followed by the same separator: `k i l l`, `h.a.t.e`
_SPACED = re.compile(r"(?<![\w])([A-Za-z])([ .\-_*])(?:[A-Za-z]\2){1,}[A-Za-z](?![\w])")


class Deobfuscator:
    """Rewrites obfuscated words into the dictionary words they spell."""

    def __init__(self, words: Iterable[str]) -> None:
        alpha = [w for w in words if w.isalpha()]
        self.words = frozenset(w for w in alpha if len(w) >= MIN_WORD)
        # a run of spaced letters may spell several words: "i g n o r e a l l"
        self.pieces = frozenset(w for w in alpha if len(w) >= 2) | {"a", "i"}

    @classmethod
    @cache
    def english(cls) -> Deobfuscator:
        """Over `guardrail/data/words_en.txt`: the lower-case ASCII whole words of the English
        uncased WordPiece vocabulary that guard-minilm's tokenizer has (tests/test_deobfuscate.py
        pins that), and `words_en_extra.txt`: common words that vocabulary splits into pieces
        (`override`, `admin`, `delete`; classifiers/train/extra_words.py), for guards without
        a tokenizer of their own and for the decoder's test of what reads as text."""
        data = resources.files("guardrail").joinpath("data")
        words = [
            *data.joinpath("words_en.txt").read_text("utf-8").split(),
            *data.joinpath("words_en_extra.txt").read_text("utf-8").split(),
        ]
        return cls(words)

    @classmethod
    def from_wordpiece(cls, vocabulary: Mapping[str, int]) -> Deobfuscator | None:
        """The whole-word entries of a WordPiece vocabulary (`##` marks word pieces); None for
        a vocabulary of another kind (a SentencePiece one has no such marks)."""
        if not any(token.startswith("##") for token in vocabulary):
            return None
        return cls(t for t in vocabulary if not t.startswith("##") and t.islower())

    def word(self, token: str) -> str | None:
        """The dictionary word (lower case) `token` spells with its leet characters read as
        letters, or None."""
        if len(token) > MAX_WORD:
            return None
        lower = token.lower()
        if lower in self.words:
            return None
        options = [LEET.get(c, c) for c in lower]
        count = 1
        for o in options:
            count *= len(o)
            if count > MAX_CHOICES:
                return None
        for letters in itertools.product(*options):
            candidate = "".join(letters)
            if candidate in self.words:
                return candidate
        return None

    def split(self, letters: str, limit: int = MAX_SPACED, loose: bool = False) -> str | None:
        """`letters` as the fewest dictionary words that spell it, one of them at least
        MIN_WORD long (`ignoreall` -> `ignore all`), or None; None too for more than `limit`
        letters. `loose`: letters no word spells are allowed, as few as can be, and kept
        together (`howtocheatabreathalyzer` -> `how to cheat a breathalyzer`)."""
        if len(letters) > limit:
            return None
        lower = letters.lower()
        n = len(lower)
        # best[i]: (letters in no word, words, uncommon two-letter words, -(sum of squared word
        # lengths), where each word or unknown letter starts) spelling [:i]; of two splits
        # into as many words the one with fewer uncommon short words (`sk`, `ee`), then the
        # one with longer words wins ("instructions and", not "instruction sand")
        # loose: of the short words only the common ones (`ze`, `rt`: abbreviations a
        # vocabulary holds would spell any unknown word)
        pieces = _COMMON_SHORT if loose else self.pieces
        best: list[tuple[int, int, int, int, list[int]] | None] = [None] * (n + 1)
        best[0] = (0, 0, 0, 0, [])
        for end in range(1, n + 1):
            for start in range(max(0, end - MAX_PIECE), end):
                prev, current = best[start], best[end]
                if prev is None:
                    continue
                piece = lower[start:end]
                if piece in self.words if loose and end - start >= MIN_WORD else piece in pieces:
                    rare = end - start == 2 and piece not in _COMMON_SHORT
                    cost = (prev[0], prev[1] + 1, prev[2] + rare, prev[3] - (end - start) ** 2)
                elif loose and end - start == 1:
                    cost = (prev[0] + 1, prev[1] + 1, prev[2], prev[3] - 1)
                else:
                    continue
                if current is None or cost < current[:4]:
                    best[end] = (*cost, [*prev[4], start])
        found = best[n]
        if found is None or not found[4]:
            return None
        bounds = [*found[4], n]
        words: list[str] = []
        unknown = False  # the last of `words` is letters no word spells: the next join it
        for a, b in itertools.pairwise(bounds):
            piece = letters[a:b]
            known = b - a > 1 or piece.lower() in pieces
            if unknown and not known:
                words[-1] += piece
            else:
                words.append(piece)
            unknown = not known
        return " ".join(words) if max(len(w) for w in words) >= MIN_WORD else None

    def _joined(self, match: re.Match[str]) -> str:
        letters = match.group(0).replace(match.group(2), "")
        if not letters.strip("aiAI"):  # "a a a", "I a I": one-letter words, not a word
            return match.group(0)
        if letters.lower() in self.words:
            return letters
        return self.split(letters) or match.group(0)

    def _unleet(self, match: re.Match[str]) -> str:
        token = match.group(0)
        if "_" in token:  # snake_case: each part on its own, one space for each underscore
            parts = token.split("_")
            read = [self._token(part) or part for part in parts]
            return " ".join(read) if read != parts else token
        return self._token(token) or token

    def _token(self, token: str) -> str | None:
        """`word(token)`, else the word before trailing punctuation (`k1ll!` -> `kill!`); None
        for a plain word and its punctuation (`US$`, `Yahoo!`)."""
        core = token.rstrip(_TRAILING)
        if core != token and core.isalpha():
            return None
        found = self.word(token)
        if found is not None:
            return found
        if core == token or len(core) < MIN_WORD:
            return None
        found = self.word(core)
        return None if found is None else found + token[len(core) :]

    def line(self, line: str) -> str:
        """`line` with every obfuscated word that spells a dictionary word rewritten."""
        return _LEET_WORD.sub(self._unleet, _SPACED.sub(self._joined, line))

    def rewrite(self, text: str) -> tuple[str, list[int]] | None:
        """`text` with every obfuscated word rewritten, and for each of its characters the
        index of the character of `text` it comes from (a letter of a spaced run from that
        letter, a space put between two words of one run from the letter after it); None when
        nothing changed. For guards that report spans (`injection_signatures`)."""
        if not (_LEET_WORD.search(text) or _SPACED.search(text)):
            return None
        out, origins = _sub(_SPACED, self._joined, text, list(range(len(text))))
        out, origins = _sub(_LEET_WORD, self._unleet, out, origins)
        return (out, origins) if out != text else None

    def reading(self, text: str) -> str | None:
        """The changed lines of `text`, rewritten and joined by newlines; None if none."""
        if not (_LEET_WORD.search(text) or _SPACED.search(text)):
            return None
        changed = []
        for line in text.splitlines():
            new = self.line(line)
            if new != line:
                changed.append(new)
        return "\n".join(changed) if changed else None


def _sub(
    pattern: re.Pattern[str], rewrite: Callable[[re.Match[str]], str], text: str, origins: list[int]
) -> tuple[str, list[int]]:
    """`pattern.sub(rewrite, text)`, carrying each character's origin along."""
    parts: list[str] = []
    out: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        new = rewrite(match)
        parts += [text[last : match.start()], new]
        out += origins[last : match.start()]
        out += _aligned(match.group(0), new, origins[match.start() : match.end()])
        last = match.end()
    parts.append(text[last:])
    out += origins[last:]
    return "".join(parts), out


def _aligned(old: str, new: str, origins: list[int]) -> list[int]:
    """Origins for `new`, the rewrite of `old`: one for one when the lengths agree (leet),
    else the letters of a spaced run in order, a space taking the next letter's origin."""
    if len(new) == len(old):
        return origins
    letters = [o for c, o in zip(old, origins, strict=True) if c.isalpha()]
    out = []
    k = 0
    for c in new:
        out.append(letters[min(k, len(letters) - 1)])
        k += c != " "
    return out
