"""Token (BIO) heads: decoding one window into entities, and merging entities over windows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guardrail.inference.bundle import EDGE_SEPARATORS, HeadSpec, Manifest
from guardrail.inference.entities import Entity, TokenScheme
from guardrail.inference.windows import Window

LABELS = ["O", "B-PERSON", "I-PERSON", "B-LOCATION", "I-LOCATION"]
# a vocabulary with two of the default separators; the others are not in it
VOCABULARY = {"[CLS]": 1, "[SEP]": 2, "-": 7, ",": 8, "word": 100}
SCHEME = TokenScheme(
    HeadSpec(type="token", output="pii_logits", labels=LABELS, negative=["O"], thresholds={}),
    VOCABULARY.get,
)
Tok = tuple[int, int, int | None]  # start, end, word id
DASH, COMMA, WORD = VOCABULARY["-"], VOCABULARY[","], VOCABULARY["word"]


def _window(tokens: Sequence[Tok], ids: Sequence[int] = ()) -> Window:
    """[CLS] + tokens + [SEP]; token ids are `ids` (default: all plain words)."""
    offsets = (None, *[(a, b) for a, b, _ in tokens], None)
    words = (None, *[w for _, _, w in tokens], None)
    row = [VOCABULARY["[CLS]"], *(ids or [WORD] * len(tokens)), VOCABULARY["[SEP]"]]
    return Window(row, offsets, words)


def _probs(tags: list[str], p: float = 0.9) -> np.ndarray:
    """One row per position ([CLS] and [SEP] included): `p` on the tag, the rest spread."""
    rows = np.full((len(tags), len(LABELS)), (1.0 - p) / (len(LABELS) - 1))
    for i, tag in enumerate(tags):
        rows[i, LABELS.index(tag)] = p
    return rows


def _tagged(tags: list[str], tokens: Sequence[Tok], ids: Sequence[int] = ()) -> Any:
    """A window whose [CLS]/[SEP] rows say B-PERSON (they must be ignored)."""
    return SCHEME.tag(_probs(["B-PERSON", *tags, "B-PERSON"]), _window(tokens, ids))


def _spans(*tagged: Any) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.type) for e in SCHEME.entities(tagged)]


# "Ann Lee in Rome" -> words 0..3
WORDS4: list[Tok] = [(0, 3, 0), (4, 7, 1), (8, 10, 2), (11, 15, 3)]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-PERSON", "I-PERSON", "O", "B-LOCATION"], [(0, 7, "PERSON"), (11, 15, "LOCATION")]),
        (["B-PERSON", "B-PERSON", "O", "O"], [(0, 3, "PERSON"), (4, 7, "PERSON")]),
        (["I-PERSON", "I-PERSON", "O", "O"], [(0, 7, "PERSON")]),  # I without B starts one
        (["B-PERSON", "I-PERSON", "I-LOCATION", "O"], [(0, 10, "PERSON")]),  # voted type
        (["B-PERSON", "B-LOCATION", "O", "O"], [(0, 3, "PERSON"), (4, 7, "LOCATION")]),
        (["O", "O", "O", "O"], []),
    ],
)
def test_bio_tags_become_typed_spans(tags: list[str], expected: list[tuple[int, int, str]]) -> None:
    """O ends an entity, a B word starts the next one, I extends whatever its type (voted)."""
    assert _spans(_tagged(tags, WORDS4)) == expected


def test_special_tokens_are_never_part_of_an_entity() -> None:
    """[CLS] and [SEP] tagged B-PERSON give no entity and do not join one."""
    assert _spans(_tagged(["I-PERSON", "O", "O", "O"], WORDS4)) == [(0, 3, "PERSON")]


def test_tokens_with_an_empty_offset_span_count_as_o() -> None:
    """A token without characters (start == end) breaks an entity like an `O`."""
    tokens: list[Tok] = [(0, 3, 0), (3, 3, None), (4, 7, 1)]
    assert _spans(_tagged(["B-PERSON", "I-PERSON", "I-PERSON"], tokens)) == [
        (0, 3, "PERSON"),
        (4, 7, "PERSON"),
    ]


def test_score_is_the_mean_probability_of_the_entity_type() -> None:
    """Entity score = mean over its words of p(B-X) + p(I-X) for the entity's type X."""
    probs = _probs(["O", "B-PERSON", "I-PERSON", "O", "O", "O"])
    probs[2] = 0.0
    probs[2, LABELS.index("I-PERSON")], probs[2, 0] = 0.6, 0.4
    (entity,) = SCHEME.entities([SCHEME.tag(probs, _window(WORDS4))])
    assert (entity.start, entity.end, entity.type) == (0, 7, "PERSON")
    assert entity.score == pytest.approx((0.9 + 0.025 + 0.6) / 2)


def test_words_are_decoded_by_their_first_token() -> None:
    """A word's label is its first piece's; its span covers every piece (`##` rows ignored)."""
    pieces: list[Tok] = [(0, 3, 0), (3, 8, 0), (9, 11, 1), (11, 13, 1)]  # "Gonzalez Li ##u"
    assert _spans(_tagged(["B-PERSON", "O", "O", "O"], pieces)) == [(0, 8, "PERSON")]
    assert _spans(_tagged(["O", "B-PERSON", "O", "O"], pieces)) == []
    assert _spans(_tagged(["B-PERSON", "B-PERSON", "I-PERSON", "B-PERSON"], pieces)) == [
        (0, 13, "PERSON")
    ]


def test_score_is_averaged_over_words_not_pieces() -> None:
    """A three-piece word counts once in the mean, with its first piece's probability."""
    pieces: list[Tok] = [(0, 2, 0), (2, 4, 0), (4, 6, 0), (7, 9, 1)]
    probs = _probs(["O", "B-PERSON", "B-PERSON", "B-PERSON", "I-PERSON", "O"])
    probs[4] = 0.0
    probs[4, LABELS.index("I-PERSON")], probs[4, 0] = 0.55, 0.45
    (entity,) = SCHEME.entities([SCHEME.tag(probs, _window(pieces))])
    assert (entity.start, entity.end) == (0, 9)
    assert entity.score == pytest.approx((0.9 + 0.025 + 0.55) / 2)


# "- Ann Lee ," -> words 0..3
EDGED: list[Tok] = [(0, 1, 0), (2, 5, 1), (6, 9, 2), (10, 11, 3)]
EDGED_IDS = [DASH, WORD, WORD, COMMA]


def test_separator_words_are_trimmed_from_the_edges_of_an_entity() -> None:
    """Leading and trailing separator words tagged inside a name are not part of the entity."""
    tags = ["I-PERSON"] * 4
    assert _spans(_tagged(tags, EDGED, EDGED_IDS)) == [(2, 9, "PERSON")]


def test_separators_inside_an_entity_stay() -> None:
    """Only the edges are trimmed: "Ann - Lee" tagged inside throughout is one entity."""
    tokens: list[Tok] = [(0, 3, 0), (4, 5, 1), (6, 9, 2)]
    tags = ["B-PERSON", "I-PERSON", "I-PERSON"]
    assert _spans(_tagged(tags, tokens, [WORD, DASH, WORD])) == [(0, 9, "PERSON")]


def test_a_run_of_separators_only_is_no_entity() -> None:
    """A run whose words are all separators is trimmed to nothing and gives no entity."""
    tokens: list[Tok] = [(0, 1, 0), (2, 3, 1), (4, 8, 2)]
    tags = ["B-PERSON", "I-PERSON", "O"]
    assert _spans(_tagged(tags, tokens, [DASH, COMMA, WORD])) == []


def test_each_piece_of_a_cut_run_is_trimmed() -> None:
    """The run is cut first ("Ann -" | "Lee"), then each piece loses its edge separators."""
    tokens: list[Tok] = [(0, 3, 0), (4, 5, 1), (6, 9, 2)]
    tags = ["B-PERSON", "I-PERSON", "B-PERSON"]
    assert _spans(_tagged(tags, tokens, [WORD, DASH, WORD])) == [
        (0, 3, "PERSON"),
        (6, 9, "PERSON"),
    ]


def test_type_and_score_come_from_the_kept_words() -> None:
    """Trimmed separators do not vote: two LOCATION-tagged dashes before a PERSON word."""
    tokens: list[Tok] = [(0, 1, 0), (2, 3, 1), (4, 7, 2)]
    tags = ["I-LOCATION", "I-LOCATION", "I-PERSON"]
    (entity,) = SCHEME.entities([_tagged(tags, tokens, [DASH, DASH, WORD])])
    assert (entity.start, entity.end, entity.type) == (4, 7, "PERSON")
    assert entity.score == pytest.approx(0.9 + 0.025)


def test_a_word_of_several_tokens_is_never_a_separator() -> None:
    """A word whose first piece is a separator id but has more pieces is kept."""
    pieces: list[Tok] = [(0, 1, 0), (1, 3, 0), (4, 7, 1)]
    tags = ["I-PERSON", "O", "I-PERSON"]
    assert _spans(_tagged(tags, pieces, [DASH, WORD, WORD])) == [(0, 7, "PERSON")]


def test_separators_missing_from_the_vocabulary_are_skipped() -> None:
    """Separator ids come from the vocabulary; strings it lacks match no token."""
    assert SCHEME.separators == {DASH, COMMA}
    assert HeadSpec.model_validate(_head()).separators == list(EDGE_SEPARATORS)
    spec = HeadSpec.model_validate(_head(separators=["|"]))
    assert TokenScheme(spec, VOCABULARY.get).separators == frozenset()


def test_separators_decode_identically_in_the_trainers_reference() -> None:
    """The trainer's reference decoder (pii_data.decode) trims the same way as the runtime."""
    from classifiers.train import pii_data as P

    scheme = TokenScheme(
        HeadSpec(type="token", output="o", labels=list(P.LABELS), negative=["O"]),
        VOCABULARY.get,
    )
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 12))
        ids = rng.choice([DASH, COMMA, WORD, WORD], n).tolist()
        words = np.cumsum(rng.random(n) < 0.8).tolist()  # some words of two pieces
        logits = rng.normal(0.0, 2.0, (n, len(P.LABELS)))
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        tokens: list[Tok] = [(2 * i, 2 * i + 1, w) for i, w in enumerate(words)]
        window = _window(tokens, ids)
        rows = np.vstack([probs[:1], probs, probs[:1]])  # [CLS] / [SEP] rows are ignored
        got = [(e.start, e.end, e.type) for e in scheme.entities([scheme.tag(rows, window)])]
        flags = [i in {DASH, COMMA} for i in ids]
        offsets = [(a, b) for a, b, _ in tokens]
        zero = dict.fromkeys(P.TYPES, 0.0)
        expected = P.decode(probs, offsets, zero, words, flags)
        assert got == [(a, b, t) for a, b, t, _ in expected]


# ten one-character words "a b c ..." at offsets 0, 2, 4, ...
TEN: list[Tok] = [(2 * i, 2 * i + 1, i) for i in range(10)]


def test_an_overlap_is_split_at_its_middle_token() -> None:
    """Windows 0-5 and 3-9 share tokens 3-5: token 3 reads the first's row, 4 and 5 the second's."""
    first = _tagged(["O", "O", "O", "B-PERSON", "B-LOCATION", "B-LOCATION"], TEN[:6])
    second = _tagged(["O", "O", "O", "O", "O", "O", "O"], TEN[3:])
    assert _spans(first, second) == [(6, 7, "PERSON")]
    assert _spans(second, first) == [(6, 7, "PERSON")]  # order of arrival does not matter


def test_an_entity_runs_on_across_an_overlap() -> None:
    """B from one window's part of an overlap and I from the next window's form one entity."""
    first = _tagged(["O", "O", "O", "B-PERSON", "O", "O"], TEN[:6])  # keeps tokens 0-3
    second = _tagged(["O", "I-PERSON", "I-PERSON", "O", "O", "O", "O"], TEN[3:])  # 4-9
    assert _spans(first, second) == [(6, 11, "PERSON")]


def test_no_entity_spans_a_gap_between_windows() -> None:
    """Windows the cap skipped leave a gap: entities on both sides stay apart."""
    first = _tagged(["O", "O", "B-PERSON"], TEN[:3])
    second = _tagged(["I-PERSON", "O", "O"], TEN[7:])
    assert _spans(first, second) == [(4, 5, "PERSON"), (14, 15, "PERSON")]


def test_window_without_offsets_gives_no_entities() -> None:
    """Rows built without offsets (a custom encode) cannot be placed: no entities."""
    assert SCHEME.entities([SCHEME.tag(_probs(["O", "B-PERSON", "O"]), Window([1, 2, 3]))]) == ()


def test_entity_as_dict_is_json_ready() -> None:
    """`as_dict` has start, end, type and a rounded score."""
    assert Entity(1, 4, "PERSON", 0.123456789).as_dict() == {
        "start": 1,
        "end": 4,
        "type": "PERSON",
        "score": 0.123457,
    }


def _head(**changes: Any) -> dict[str, Any]:
    return {
        "type": "token",
        "output": "pii_logits",
        "labels": LABELS,
        "negative": ["O"],
        "thresholds": {"PERSON": 0.5, "LOCATION": 0.6},
        **changes,
    }


def test_token_head_thresholds_are_per_entity_type() -> None:
    """A token head's thresholds name entity types (PERSON), as the real bundle writes them."""
    spec = HeadSpec.model_validate(_head())
    assert spec.entity_types == ["PERSON", "LOCATION"]
    assert spec.positive == LABELS[1:]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"thresholds": {"B-PERSON": 0.5}}, "thresholds names unknown labels \\['B-PERSON'\\]"),
        ({"thresholds": {"DATE": 0.5}}, "thresholds names unknown labels \\['DATE'\\]"),
        ({"negative": ["PERSON"]}, "negative names unknown labels"),
        ({"separators": ["-", "-"]}, "separators repeat"),
        ({"separators": [""]}, "separators must be non-empty and without spaces"),
        ({"separators": [" -"]}, "separators must be non-empty and without spaces"),
    ],
)
def test_token_head_validation_names_the_problem(changes: dict[str, Any], message: str) -> None:
    """Thresholds name entity types, `negative` labels; separators are distinct words."""
    with pytest.raises(ValueError, match=message):
        HeadSpec.model_validate(_head(**changes))


def test_manifest_with_the_documented_pii_head_validates(tiny_bundle: Path) -> None:
    """bundle.yaml's documented `pii` head entry (BUNDLE.md) passes manifest validation."""
    from guardrail.inference.bundle import read_manifest

    data = read_manifest(tiny_bundle).model_dump()
    data["heads"]["pii"] = {
        **_head(),
        "labels": [*LABELS, "B-ORGANIZATION", "I-ORGANIZATION", "B-DATE_TIME", "I-DATE_TIME"],
        "thresholds": {"PERSON": 0.5, "LOCATION": 0.5, "ORGANIZATION": 0.5, "DATE_TIME": 0.5},
    }
    manifest = Manifest.model_validate(data)
    assert manifest.heads["pii"].entity_types[-1] == "DATE_TIME"
