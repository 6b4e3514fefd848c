"""Token (BIO) heads -> entities with character offsets into the original text.

The rule is classifiers/BUNDLE.md, "Token heads" (reference: classifiers/train/pii_data.py):

1. every window is run once (the pass the sequence heads use); rows of special tokens and
   padding are ignored;
2. softmax per token;
3. where windows overlap, each token takes its row from the window in which it is farther from
   the edge: the overlap is split at its middle token, so every token has exactly one row;
4. words, not subwords: tokens are grouped by the tokenizer's word ids; a word's row is its
   first token's, its span runs from its first token's start to its last token's end;
5. a word is inside an entity when its argmax label is not negative (`O`); words with an
   empty span are outside. Consecutive inside words form a run, and a run is cut before a
   word whose `B-` probabilities (summed over types) exceed its `I-` ones;
6. each piece loses its leading and trailing separator words (a word that is a single token
   whose id is one of the head's `separators`, looked up in the bundle's vocabulary, e.g.
   `-` in "- Maria Rossi"; separators inside stay, as in "12-14"); what is left, if anything,
   is one entity. Its type is the one with the largest `B-X` + `I-X` probability summed over
   its (kept) words, so one name whose words lean to different types stays one entity, and its
   score is the mean over those words of `p(B-X) + p(I-X)` for its type X (thresholds are
   applied by the guard, not here);
7. span = `[first kept word's start, last kept word's end)` in the original text.

Windows the cap left out (see windows.py) leave gaps: an entity never runs across one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from guardrail.inference.bundle import HeadSpec, entity_type
from guardrail.inference.windows import Window

TokenProbs = npt.NDArray[np.float64]  # [tokens, labels] for one row


@dataclass(frozen=True, order=True)
class Entity:
    """A typed character span `[start, end)` of the original text, with its score."""

    start: int
    end: int
    type: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (score rounded to 6 digits)."""
        score = round(self.score, 6)
        return {"start": self.start, "end": self.end, "type": self.type, "score": score}


@dataclass(frozen=True)
class Tagged:
    """One window's per-token probability rows (positions of `window.row`)."""

    window: Window
    probs: TokenProbs  # [positions, labels]
    content: tuple[int, ...]  # positions of real tokens (special tokens have no offsets)


class Token(NamedTuple):
    """A token (or a whole word) of the stitched sequence: where it is, its word, its
    probabilities and its token ids."""

    start: int
    end: int
    word: tuple[int, int] | None  # (tokenization, word id): the pieces of one word share it
    row: npt.NDArray[np.float64]  # probability of every label
    ids: tuple[int, ...]  # token id(s): one per piece of a word


class TokenScheme:
    """How one token head's labels decode: which labels are inside an entity, which begin one,
    each type's labels (types in alphabetical order, which also breaks ties) and which token ids
    are separators (`token_id` maps the head's separator strings to ids, None = not in the
    vocabulary: that separator can never match and is skipped)."""

    def __init__(self, head: HeadSpec, token_id: Callable[[str], int | None]) -> None:
        self.labels = list(head.labels)
        positive = [i for i, label in enumerate(head.labels) if label not in head.negative]
        self._inside = [label not in head.negative for label in head.labels]
        self._begin = [i for i in positive if head.labels[i].startswith("B-")]
        self._continue = [i for i in positive if not head.labels[i].startswith("B-")]
        types = sorted({entity_type(head.labels[i]) for i in positive})
        self._types = {t: [i for i in positive if entity_type(head.labels[i]) == t] for t in types}
        ids = (token_id(separator) for separator in head.separators)
        self.separators = frozenset(i for i in ids if i is not None)  # token ids

    def tag(self, probs: TokenProbs, window: Window) -> Tagged:
        """One window's probability rows and which of its positions are real tokens."""
        content = tuple(i for i, offset in enumerate(window.offsets) if offset is not None)
        return Tagged(window, probs, content)

    def entities(self, tagged: Iterable[Tagged]) -> tuple[Entity, ...]:
        """The entities of one text from its tagged windows (any order), in text order."""
        return self.decode(list(stitch(tagged)))

    def decode(self, tokens: list[Token | None]) -> tuple[Entity, ...]:
        """Runs of inside words, cut where B- outweighs I-, less their edge separators
        (None = a gap between windows)."""
        entities: list[Entity] = []
        run: list[Token] = []
        for word in words(tokens):
            if word is None or word.end <= word.start or not self._inside[word.row.argmax()]:
                self._close(entities, run)
                run = []
                continue
            if run and word.row[self._begin].sum() > word.row[self._continue].sum():
                self._close(entities, run)
                run = []
            run.append(word)
        self._close(entities, run)
        return tuple(entities)

    def _close(self, entities: list[Entity], run: list[Token]) -> None:
        """The run without edge separators as one entity: the type with the most B- + I-
        probability over its words."""
        kept = self._trim(run)
        if not kept:
            return
        rows = np.stack([word.row for word in kept])
        kind = max(self._types, key=lambda t: float(rows[:, self._types[t]].sum()))
        score = float(rows[:, self._types[kind]].sum(axis=1).mean())
        entities.append(Entity(kept[0].start, kept[-1].end, kind, score))

    def _trim(self, run: list[Token]) -> list[Token]:
        """The run without its leading and trailing separator words (empty if all are)."""
        kept = [i for i, word in enumerate(run) if not self._separator(word)]
        return run[kept[0] : kept[-1] + 1] if kept else []

    def _separator(self, word: Token) -> bool:
        """A word that is one token, and that token is a separator."""
        return len(word.ids) == 1 and word.ids[0] in self.separators


def words(tokens: Iterable[Token | None]) -> Iterator[Token | None]:
    """Consecutive tokens of one word as one: the first token's probabilities, the
    span and ids of all of them (`##` continuations are not decoded on their own)."""
    word: Token | None = None
    for token in tokens:
        if word is not None and token is not None and _same_word(word, token):
            word = word._replace(end=max(word.end, token.end), ids=word.ids + token.ids)
            continue
        if word is not None:
            yield word
        word = token
        if token is None:
            yield None
    if word is not None:
        yield word


def _same_word(word: Token, token: Token) -> bool:
    return token.word is not None and token.word == word.word


def stitch(tagged: Iterable[Tagged]) -> Iterator[Token | None]:
    """One row per token over overlapping windows: each overlap is split at its middle token.

    Windows are ordered by where their content starts; a window keeps its tokens from the
    previous boundary up to the next one. Non-overlapping neighbours (the cap skipped the
    windows between them) are separated by None.
    """
    items = sorted((t for t in tagged if t.content), key=lambda t: _start(t, t.content[0]))
    low: float = float("-inf")
    for i, item in enumerate(items):
        high: float = float("inf")
        gap = False
        if i + 1 < len(items):
            following = items[i + 1]
            next_start = _start(following, following.content[0])
            starts = [s for s in (_start(item, p) for p in item.content) if s >= next_start]
            if starts:
                high = starts[len(starts) // 2]
            else:
                gap = True
        yield from _tokens(item, low, high)
        if gap:
            yield None
        low = float("-inf") if gap else high


def _start(item: Tagged, position: int) -> int:
    offset = item.window.offsets[position]
    assert offset is not None  # content positions only
    return offset[0]


def _tokens(item: Tagged, low: float, high: float) -> Iterator[Token]:
    window = item.window
    for position in item.content:
        offset = window.offsets[position]
        assert offset is not None
        if low <= offset[0] < high:
            word = window.words[position] if window.words else None
            yield Token(
                offset[0],
                offset[1],
                None if word is None else (window.part, word),
                item.probs[position],
                (window.row[position],),
            )
