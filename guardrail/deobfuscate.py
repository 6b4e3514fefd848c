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
and `s p a m` joins to `spam` (a run spelling several words, `i g n o r e a l l`, splits into
the fewest dictionary words: `ignore all`). The reading holds only the changed lines, so its cost is
bounded by the obfuscated part of a text, never more than the text itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping

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
MAX_SPACED = 64  # letters of a spaced-out run split into words (longer runs are left)
MAX_PIECE = 20  # the longest word tried when splitting

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
    def from_wordpiece(cls, vocabulary: Mapping[str, int]) -> Deobfuscator | None:
        """The whole-word entries of a WordPiece vocabulary (`##` marks word pieces); None for
        a vocabulary of another kind (a SentencePiece one has no such marks)."""
        if not any(token.startswith("##") for token in vocabulary):
            return None
        return cls(t for t in vocabulary if not t.startswith("##") and t.islower())

    def word(self, token: str) -> str | None:
        """The dictionary word `token` spells with its leet characters read as letters (its
        case kept where it had letters), or None."""
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

    def split(self, letters: str) -> str | None:
        """`letters` as the fewest dictionary words that spell it, one of them at least
        MIN_WORD long (`ignoreall` -> `ignore all`), or None."""
        if len(letters) > MAX_SPACED:
            return None
        lower = letters.lower()
        n = len(lower)
        best: list[list[int] | None] = [None] * (n + 1)  # best[i]: word starts spelling [:i]
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - MAX_PIECE), end):
                prev, current = best[start], best[end]
                if (
                    prev is not None
                    and lower[start:end] in self.pieces
                    and (current is None or len(prev) + 1 < len(current))
                ):
                    best[end] = [*prev, start]
        starts = best[n]
        if not starts:
            return None
        bounds = [*starts, n]
        words = [letters[a:b] for a, b in itertools.pairwise(bounds)]
        return " ".join(words) if max(len(w) for w in words) >= MIN_WORD else None

    def line(self, line: str) -> str:
        """`line` with every obfuscated word that spells a dictionary word rewritten."""

        def joined(match: re.Match[str]) -> str:
            letters = match.group(0).replace(match.group(2), "")
            if not letters.strip("aiAI"):  # "a a a", "I a I": one-letter words, not a word
                return match.group(0)
            if letters.lower() in self.words:
                return letters
            return self.split(letters) or match.group(0)

        def unleet(match: re.Match[str]) -> str:
            return self.word(match.group(0)) or match.group(0)

        return _LEET_WORD.sub(unleet, _SPACED.sub(joined, line))

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
