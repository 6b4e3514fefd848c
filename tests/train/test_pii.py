"""The PII token-head data, labelling and span decoding (classifiers/train/pii_data.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("tokenizers")
pytest.importorskip("faker")

from classifiers.train import pii_data as P  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "classifiers" / "guard-minilm"


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


def test_blind_family_is_separate_from_every_training_family() -> None:
    """The blind held-out styles are no training family and only ever come out as split `blind`."""
    assert not set(P.BLIND_TEMPLATES) & (set(P.TEMPLATES) | set(P.GENERATED))
    blind_sources = {f"synthetic:{f}" for f in P.BLIND_TEMPLATES}
    assert not {r.source for r in P.synthetic(3, seed=1, split="train")} & blind_sources
    rows = P.blind(4)
    assert {r.split for r in rows} == {P.BLIND} and {r.source for r in rows} == blind_sources


def test_rows_do_not_depend_on_the_hash_seed() -> None:
    """Training and blind rows are identical in processes with different PYTHONHASHSEED."""
    code = (
        "import hashlib; from classifiers.train import pii_data as P; "
        "rows = P.blind(30) + P.synthetic(15, seed=1, split='train'); "
        "print(hashlib.sha1(repr([(r.text, r.spans) for r in rows]).encode()).hexdigest())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


# function words, and "name" (generic: the ticket family only has it in "my name is")
SHARED_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "is", "of", "on", "the", "to"}
SHARED_WORDS |= {"with", "i", "my", "this", "that", "up", "our", "no", "me", "all", "name"}


def _words(texts) -> set[str]:
    return {
        w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", re.sub(r"\{[A-Z#]\}", " ", t))
    }


def test_training_label_words_share_no_word_or_stem_with_the_heldout_templates() -> None:
    """Label, heading, tail, field and frame words of the issue-8 families avoid the ticket and
    blind templates: no shared word, 5-letter stem or 4+-letter prefix beyond function words."""
    ours = [w for v in P.FIELD_LABELS.values() for w in v] + [*P.OPENERS, *P.HEADINGS]
    ours += [*P.NAME_TAILS, *P.OTHER_TAILS, *P.PAIR_FORMS, *P.PAIR_FRAMES]
    ours += [w.replace("_", " ") for v in P.RECORD_FIELDS.values() for w in v]
    ours += [*P.HANDLE_LABELS, *P.HANDLE_FORMS, *P.TITLED, *P.AMOUNTS, *P.DISTRACT_SENTENCES]
    held = [*P.TEMPLATES[P.HELDOUT_FAMILY], *(t for v in P.BLIND_TEMPLATES.values() for t in v)]

    def related(a: str, b: str) -> bool:
        short = min(len(a), len(b))
        return a == b or (short >= 5 and a[:5] == b[:5]) or (short >= 4 and a[:short] == b[:short])

    mine, theirs = _words(ours) - SHARED_WORDS, _words(held) - SHARED_WORDS
    assert len(mine) > 200
    assert [(a, b) for a in sorted(mine) for b in sorted(theirs) if related(a, b)] == []


def _related(a: str, b: str) -> bool:
    short = min(len(a), len(b))
    return a == b or (short >= 5 and a[:5] == b[:5]) or (short >= 4 and a[:short] == b[:short])


def test_dev_family_is_separate_from_training_and_test_families() -> None:
    """The dev family never trains, only comes out as split `dev`, and shares no word or stem with
    the ticket and blind templates (it is for choosing, they are for testing); the distractor
    words trained on share none with the dev family either."""
    fams = set(P.DEV_TEMPLATES)
    assert not fams & (set(P.TEMPLATES) | set(P.GENERATED) | set(P.BLIND_TEMPLATES))
    dev_sources = {f"synthetic:{f}" for f in fams}
    assert not {r.source for r in P.synthetic(3, seed=1, split="train")} & dev_sources
    rows = P.dev(4)
    assert {r.split for r in rows} == {P.DEV} and {r.source for r in rows} == dev_sources
    dev_texts = [*(t for v in P.DEV_TEMPLATES.values() for t in v), *P.PRODUCTS]
    dev = {w for w in _words(dev_texts) - SHARED_WORDS if len(w) > 1}  # not "c" of "14C"
    held = [*P.TEMPLATES[P.HELDOUT_FAMILY], *(t for v in P.BLIND_TEMPLATES.values() for t in v)]
    theirs = _words(held) - SHARED_WORDS
    assert len(dev) > 100
    assert [(a, b) for a in sorted(dev) for b in sorted(theirs) if _related(a, b)] == []
    ours = [*P.HANDLE_LABELS, *P.HANDLE_FORMS, *P.TITLED, *P.AMOUNTS, *P.DISTRACT_SENTENCES]
    ours = _words(ours) - SHARED_WORDS
    assert [(a, b) for a in sorted(ours) for b in sorted(dev) if _related(a, b)] == []


def test_distractors_have_an_entity_and_leave_handles_products_amounts_outside() -> None:
    """Every `distractors` row has an entity; no entity span overlaps an @ or github.com user
    handle or a Title Case product phrase."""
    rows = P.synthetic(60, seed=7, split="train", families=["distractors"])
    seen = {"handle": 0, "titled": 0}
    for r in rows:
        assert r.spans
        for phrase in P.TITLED:
            for m in re.finditer(re.escape(phrase), r.text):
                seen["titled"] += 1
                assert all(b <= m.start() or a >= m.end() for a, b, _ in r.spans)
        for m in re.finditer(r"(?<![\w.])@[a-z][a-z0-9._]+|github\.com/[a-z0-9._]+", r.text):
            seen["handle"] += 1
            assert all(b <= m.start() or a >= m.end() for a, b, _ in r.spans)
    assert seen["handle"] > 5 and seen["titled"] > 20


def test_records_and_pairs_put_persons_next_to_places_and_organisations() -> None:
    """Every `records` row has a person, a place and an organisation, every `pairs` row a person
    and an organisation, every `labelled` row an entity after its label."""
    rows = P.synthetic(40, seed=7, split="train", families=["labelled", "records", "pairs"])
    need = {
        "synthetic:records": {"PERSON", "LOCATION", "ORGANIZATION"},
        "synthetic:pairs": {"PERSON", "ORGANIZATION"},
        "synthetic:labelled": set(),
    }
    for r in rows:
        assert r.spans and need[r.source] <= {t for *_, t in r.spans}
        assert r.spans[0][0] > 0 or r.source != "synthetic:labelled"


def test_bundle_pii_probabilities_do_not_depend_on_the_other_rows() -> None:
    """evaluate_bundle scores one sequence per pass: a row scores the same alone or among others
    (dynamic int8 quantisation scales activations per batch)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    if not (BUNDLE / "model.onnx").is_file():
        pytest.skip("classifiers/guard-minilm not built yet")
    from classifiers.train import pii
    from classifiers.train.export import session

    sess = session(BUNDLE / "model.onnx")
    short, long = [101, 7592, 2198, 102], [101, *range(2000, 2080), 102]
    (alone,) = pii.onnx_pii_probs(sess, "pii_logits", [short])
    mixed = pii.onnx_pii_probs(sess, "pii_logits", [long, short, long])
    assert np.array_equal(alone, mixed[1]) and mixed[0].shape == (len(long), len(P.LABELS))


def test_swap_pii_head_keeps_the_encoder_and_the_other_heads(tmp_path: Path) -> None:
    """swap_pii_head takes spec, weights and meta of the source's pii head, keeps the target's
    other heads and order, and refuses a source with another encoder."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from classifiers.train import pii
    from classifiers.train.model import (
        HEADS,
        GuardModel,
        HeadSpec,
        base_model_dir,
        load_checkpoint,
        save_checkpoint,
    )

    cfg = transformers.AutoConfig.from_pretrained(str(base_model_dir()), local_files_only=True)
    cfg.num_hidden_layers = 1
    torch.manual_seed(0)
    encoder = transformers.AutoModel.from_config(cfg, attn_implementation="eager")
    old = HeadSpec("pii", "token", P.LABELS, ("O",), (1,), 16, 3)
    new = HeadSpec("pii", "token", P.LABELS, ("O",), (0, 1), 32, 5)
    target, source = GuardModel(encoder, (*HEADS, old)), GuardModel(encoder, (*HEADS, new))
    save_checkpoint(target, tmp_path / "target.pt", {"run": "x"})
    save_checkpoint(source, tmp_path / "source.pt", {"pii": {"chosen": "new"}})
    out = pii.swap_pii_head(tmp_path / "target.pt", tmp_path / "source.pt", tmp_path / "out.pt")
    model, meta = load_checkpoint(out)
    assert model.head_specs == (*HEADS, new) and meta == {"run": "x", "pii": {"chosen": "new"}}
    for name, ref in (("injection", target), ("harm", target), ("pii", source)):
        want = ref.heads[name].state_dict()
        assert all(torch.equal(v, want[k]) for k, v in model.heads[name].state_dict().items())
    other = GuardModel(transformers.AutoModel.from_config(cfg), (*HEADS, new))
    save_checkpoint(other, tmp_path / "other.pt", {})
    with pytest.raises(SystemExit):
        pii.swap_pii_head(tmp_path / "target.pt", tmp_path / "other.pt")


def test_long_context_rows_move_entities_deep_and_keep_their_spans() -> None:
    """Long-context rows put PII-free training text around a training row: the spans still
    cover the same entity text, the filler comes only from training negatives."""
    rows = [
        P.PiiExample("call Maria Lopez today", [(5, 16, "PERSON")], "synthetic:chat", "train"),
        P.PiiExample("the weather is nice", [], "negative", "train"),
        P.PiiExample("quiet days are good", [], "negative", "train"),
        P.PiiExample("Ana lives in Lima", [(0, 3, "PERSON")], "synthetic:chat", "val"),
    ]
    out = P.long_context(rows, n=5, seed=1)
    assert out == P.long_context(rows, n=5, seed=1) and len(out) == 1  # only the train row
    (row,) = out
    assert row.split == "train" and row.source == "synthetic:long_context"
    assert [row.text[a:b] for a, b, _ in row.spans] == ["Maria Lopez"]
    assert row.spans[0][0] >= 40 and "Ana" not in row.text
    filler = row.text.replace("call Maria Lopez today", " ")
    words = {"the", "weather", "is", "nice", "quiet", "days", "are", "good"}
    assert set(filler.split()) <= words
