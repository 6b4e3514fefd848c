"""`keywords` guard: literal words and phrases, found in one pass with Aho-Corasick.

Case-insensitive matching lowercases text and keywords one character at a time, keeping the
first character where `str.lower` gives more ("İ" -> "i" + combining dot), so offsets in the
lowered text are offsets in the original. `whole_words` rejects a match that continues a
word on either side, Unicode-aware (letters, digits, marks and `_` continue a word), as `\\b`
would; a keyword edge that is not itself a word character (as in "c++") needs no boundary.

`read_obfuscated` (default on) also searches the text's rewrite with its leetspeak and
spaced-out words written as the words they spell (`guardrail/deobfuscate.py`; the dictionary is
the English word list plus the keywords' own words), so `n1ghtj4r` and `b l u e b i r d` find
"nightjar" and "bluebird"; the span covers the original characters. `read_encoded` (default on)
also searches each payload encoded in the text, decoded (`guardrail/decode.py`: base64, hex,
ROT13, Morse ...); the span covers the encoded run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import ahocorasick
from pydantic import ConfigDict, Field, field_validator

from guardrail.canonical import canonical
from guardrail.decode import Decoder
from guardrail.deobfuscate import Deobfuscator
from guardrail.guards._spans import Hit, at_word_boundaries, longest_per_label, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding


def fold(text: str) -> str:
    """Lowercase without changing the length (a longer lowercase keeps its first character)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(char.lower()[0] for char in text)


class KeywordsConfig(GuardConfig):
    """`keywords`: a list (label = the guard's name) or `{group: [words]}` (label = group)."""

    model_config = ConfigDict(strict=True)

    kind: Literal["keywords"] = "keywords"
    keywords: list[str] | dict[str, list[str]] = Field(min_length=1)
    case_sensitive: bool = False
    whole_words: bool = True
    read_obfuscated: bool = Field(
        default=True,
        description="also search the text with its leetspeak and spaced-out words (n1ghtj4r, "
        "b l u e) written as the words they spell (English words and the keywords' own)",
    )
    read_encoded: bool = Field(
        default=True,
        description="also search the payloads encoded in the text (base64, hex, binary, Morse, "
        "ROT13, reversed text and the like) decoded; a match is reported over the encoded run",
    )

    @field_validator("keywords")
    @classmethod
    def _no_blank_words(
        cls, value: list[str] | dict[str, list[str]]
    ) -> list[str] | dict[str, list[str]]:
        groups = value if isinstance(value, dict) else {"": value}
        for group, words in groups.items():
            where = f"group {group!r}" if group else "keywords"
            if not words:
                raise ValueError(f"{where} is empty")
            if any(not canonical(word).text.strip() for word in words):
                raise ValueError(f"{where} contains a blank keyword (or only invisible characters)")
        return value


class KeywordsGuard(NoThresholds):
    """Reports each keyword occurrence as a span labelled with its group."""

    def __init__(
        self,
        name: str,
        automaton: Any,
        *,
        case_sensitive: bool,
        whole_words: bool,
        labels: frozenset[str] = frozenset(),
        deobfuscator: Deobfuscator | None = None,
        decoder: Decoder | None = None,
    ):
        self.name = name
        self._labels = labels
        self._automaton = automaton
        self._case_sensitive = case_sensitive
        self._whole_words = whole_words
        self._deobfuscator = deobfuscator  # `read_obfuscated`
        self._decoder = decoder  # `read_encoded`

    @property
    def reported_labels(self) -> frozenset[str]:
        """The keyword groups (the guard's name for a plain list)."""
        return self._labels

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, group) with a span per keyword occurrence."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        hits = self._matches(text)
        rewritten = self._deobfuscator.rewrite(text) if self._deobfuscator else None
        if rewritten is not None:  # a match in the rewrite, over the characters it comes from
            form, origins = rewritten
            hits += [
                Hit(origins[h.start], origins[h.end - 1] + 1, h.label) for h in self._matches(form)
            ]
        for payload in self._decoder.payloads(text) if self._decoder else ():
            origins = payload.origins()  # a match in a payload is reported over its run
            hits += [
                Hit(*payload.span_of(h.start, h.end, origins), h.label)
                for h in self._matches(payload.text)
            ]
        return longest_per_label(hits)

    def _matches(self, text: str) -> list[Hit]:
        haystack = text if self._case_sensitive else fold(text)
        hits = [
            Hit(end + 1 - length, end + 1, label)
            for end, entries in self._automaton.iter(haystack)
            for label, length in entries
        ]
        if self._whole_words:
            hits = [h for h in hits if at_word_boundaries(text, h.start, h.end)]
        return hits


def _groups(config: KeywordsConfig, name: str) -> dict[str, list[str]]:
    if isinstance(config.keywords, dict):
        return config.keywords
    return {name: config.keywords}


def build(config: KeywordsConfig, context: BuildContext) -> KeywordsGuard:
    """Build one automaton; each key maps to every (label, length) that uses that word."""
    entries: dict[str, set[tuple[str, int]]] = {}
    groups = _groups(config, context.name)
    for label, words in groups.items():
        for word in words:
            # the guard reads canonical text, so a keyword is written the same way ("ﬁnance")
            word = canonical(word.strip()).text
            key = word if config.case_sensitive else fold(word)
            entries.setdefault(key, set()).add((label, len(key)))
    automaton = ahocorasick.Automaton()
    for key, value in entries.items():
        automaton.add_word(key, sorted(value))
    automaton.make_automaton()
    return KeywordsGuard(
        context.name,
        automaton,
        case_sensitive=config.case_sensitive,
        whole_words=config.whole_words,
        labels=frozenset(groups),
        deobfuscator=_reader(entries) if config.read_obfuscated else None,
        decoder=Decoder.english() if config.read_encoded else None,
    )


def _reader(keys: Iterable[str]) -> Deobfuscator:
    """English words and the keywords' own words (`nightjar` is in no English list)."""
    own = {word.lower() for key in keys for word in re.findall(r"[^\W\d_]+", key)}
    return Deobfuscator(Deobfuscator.english().pieces | own)  # pieces: every English word


KIND = GuardKind(config=KeywordsConfig, build=build)
