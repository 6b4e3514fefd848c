"""The PII token-head data, labelling and span decoding (classifiers/train/pii_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("tokenizers")
pytest.importorskip("faker")

from classifiers.train import pii_data as P  # noqa: E402

BUNDLE = Path(__file__).resolve().parents[2] / "classifiers" / "guard-minilm"


def _onehot(labels: list[str]):
    return np.eye(len(P.LABELS))[[P.LABELS.index(x) for x in labels]]


def test_labels_are_bio_per_type_with_o_first() -> None:
    """O first, then B-/I- for every entity type."""
    assert P.LABELS[0] == "O" and len(P.LABELS) == 1 + 2 * len(P.TYPES)
    assert set(P.TYPE_MAP.values()) == set(P.TYPES)


def test_subword_continuations_take_the_label_of_their_word() -> None:
    """Every token overlapping a span after the first is I-, the rest O."""
    offsets = [(0, 4), (5, 8), (8, 12), (13, 15), (16, 21)]
    spans = [(5, 12, "PERSON"), (16, 21, "LOCATION")]
    got = [P.LABELS[i] for i in P.bio_labels(offsets, spans)]
    assert got == ["O", "B-PERSON", "I-PERSON", "O", "B-LOCATION"]


def test_decode_runs_of_inside_words_cut_where_b_outweighs_i() -> None:
    """O ends an entity, a stray I- opens one, a B- word starts the next one in a run."""
    offsets = [(0, 3), (4, 7), (8, 11), (12, 15), (16, 19), (20, 23)]
    labels = ["I-PERSON", "I-PERSON", "O", "B-PERSON", "B-ORGANIZATION", "I-ORGANIZATION"]
    ents = [(a, b, t) for a, b, t, _ in P.decode(_onehot(labels), offsets)]
    assert ents == [(0, 7, "PERSON"), (12, 15, "PERSON"), (16, 23, "ORGANIZATION")]


def test_decode_types_a_run_by_its_summed_probabilities() -> None:
    """A name whose middle word leans to another type stays one entity of the majority type."""
    offsets = [(0, 3), (4, 7), (8, 11)]
    labels = ["B-PERSON", "I-LOCATION", "I-PERSON"]
    ents = [(a, b, t) for a, b, t, _ in P.decode(_onehot(labels), offsets)]
    assert ents == [(0, 11, "PERSON")]


def test_decode_scores_are_mean_type_probability_and_thresholded() -> None:
    """Entity score is the mean over its words of p(B-X) + p(I-X); below threshold drops it."""
    probs = np.full((2, len(P.LABELS)), 0.0)
    probs[0, P.LABELS.index("B-PERSON")], probs[0, 0] = 0.6, 0.4
    probs[1, P.LABELS.index("I-PERSON")], probs[1, 0] = 0.8, 0.2
    (ent,) = P.decode(probs, [(0, 3), (4, 8)])
    assert ent[:3] == (0, 8, "PERSON") and abs(ent[3] - 0.7) < 1e-9
    assert P.decode(probs, [(0, 3), (4, 8)], {"PERSON": 0.75}) == []


def test_decode_trims_separator_words_from_entity_edges() -> None:
    """Separator words at a run's edges are dropped (inner ones stay); all-separator runs vanish."""
    offsets = [(0, 1), (2, 5), (6, 7), (8, 11), (12, 13), (14, 17), (18, 19)]
    labels = ["I-PERSON"] * 5 + ["O", "B-PERSON"]
    seps = [True, False, True, False, True, False, True]
    ents = [(a, b, t) for a, b, t, _ in P.decode(_onehot(labels), offsets, separators=seps)]
    assert ents == [(2, 11, "PERSON")]
    untrimmed = [e[:3] for e in P.decode(_onehot(labels), offsets)]
    assert untrimmed == [(0, 13, "PERSON"), (18, 19, "PERSON")]


def test_decode_types_and_scores_the_trimmed_words() -> None:
    """A trailing separator tagged ORGANIZATION neither votes nor lowers the PERSON score."""
    probs = np.zeros((3, len(P.LABELS)))
    probs[0, P.LABELS.index("B-PERSON")], probs[0, 0] = 0.6, 0.4
    probs[1, P.LABELS.index("I-ORGANIZATION")] = 1.0
    probs[2, P.LABELS.index("I-ORGANIZATION")] = 1.0
    (ent,) = P.decode(probs, [(0, 3), (4, 5), (6, 7)], separators=[False, True, True])
    assert ent[:3] == (0, 3, "PERSON") and abs(ent[3] - 0.6) < 1e-9


def test_a_word_of_several_tokens_is_not_a_separator() -> None:
    """Word level: a separator token followed by a continuation piece is an ordinary word."""
    offsets = [(0, 1), (1, 3), (4, 7)]
    labels = ["I-PERSON", "O", "I-PERSON"]
    ents = P.decode(_onehot(labels), offsets, {}, [0, 0, 1], [True, False, False])
    assert [e[:3] for e in ents] == [(0, 7, "PERSON")]


def test_separators_are_the_runtime_default_and_single_bundle_tokens() -> None:
    """The trainer's separators equal the runtime's default and are one vocabulary token each."""
    from guardrail.inference.bundle import EDGE_SEPARATORS

    assert P.SEPARATORS == EDGE_SEPARATORS
    if not (BUNDLE / "tokenizer.json").is_file():
        pytest.skip("classifiers/guard-minilm not built yet")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(BUNDLE / "tokenizer.json"))
    ids = P.separator_ids(tok)
    assert len(ids) == len(P.SEPARATORS)
    assert all(tok.encode(f"a {s} b", add_special_tokens=False).ids[1] in ids for s in "-,;:(|/")
    assert all(tok.token_to_id(s) not in ids for s in (")", ".", "'", '"'))


def test_synthetic_rows_are_deterministic_and_spans_point_at_text() -> None:
    """Same seed, same rows; spans are trimmed, in range and non-overlapping."""
    a = P.synthetic(20, seed=5, split="train")
    b = P.synthetic(20, seed=5, split="train")
    assert [r.text for r in a] == [r.text for r in b]
    for r in a:
        ends = 0
        for s, e, t in r.spans:
            assert 0 <= s < e <= len(r.text) and s >= ends and t in P.TYPES
            assert not r.text[s].isspace() and not r.text[e - 1].isspace()
            ends = e


def test_heldout_family_never_trains() -> None:
    """The held-out template family only appears in the held-out split."""
    train = P.synthetic(10, seed=1, split="train")
    assert P.HELDOUT_FAMILY not in {r.source.split(":", 1)[1] for r in train}
    held = P.synthetic(5, seed=3, split=P.HELD, families=[P.HELDOUT_FAMILY])
    assert {r.source for r in held} == {f"synthetic:{P.HELDOUT_FAMILY}"}


def test_negative_filter_drops_prompts_with_names_or_dates() -> None:
    """Capitalised words after a sentence start or dates exclude a prompt from the negatives."""
    assert not P._has_proper_noun("how do i boil an egg? it keeps cracking.")
    assert P._has_proper_noun("what did the speaker say in the Senate")
    assert P._has_proper_noun("book a table for 12/03 please")
