"""The training package (classifiers/train) and the bundle it wrote. Counts only, never texts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("tokenizers")
yaml = pytest.importorskip("yaml")

from classifiers.train import data as D  # noqa: E402
from classifiers.train.hard_negatives import (  # noqa: E402
    FILL,
    NOTICES,
    generate,
    hard_examples,
    identifier_probe,
    notice_documents,
)

BUNDLES = Path(__file__).resolve().parents[2] / "classifiers"
# the shipped bundles: guard-minilm and its 4-layer student (classifiers/train/student.py)
BUILT = [
    BUNDLES / n
    for n in ("guard-minilm", "guard-minilm-l4")
    if (BUNDLES / n / "bundle.yaml").is_file()
]
needs_data = pytest.mark.skipif(
    not D.DEFAULT_DATA_DIR.is_dir(), reason="../shared/data not present"
)


def test_hard_negatives_are_deterministic_and_heldout_templates_never_train() -> None:
    """Generation is repeatable and no template is both trained on and held out."""
    a, b = generate(), generate()
    assert [h.text for h in a] == [h.text for h in b]
    assert len(a) >= 300
    train_t = {h.template for h in a if not h.heldout}
    held_t = {h.template for h in a if h.heldout}
    assert train_t and held_t and not (train_t & held_t)
    held = hard_examples(heldout=True)
    assert sum(e.inj == 0 and e.harm[0] == 0 for e in held) >= 30


def test_notice_documents_insert_one_notice_into_a_clean_document() -> None:
    """Each pair is a clean document with one NOTICES sentence and the same one without it."""
    docs = [
        D.Example(f"Clean document {i}. It has two sentences.", "injection/documents", "f",
                  str(i), "document", 0, [-1] * 12)
        for i in range(4)
    ]  # fmt: skip
    pairs = notice_documents(docs, 12, seed=3)
    assert pairs == notice_documents(docs, 12, seed=3) and len(pairs) == 12
    for with_notice, without in pairs:
        notices = [n for n in NOTICES if n in with_notice]
        assert len(notices) == 1 and "Clean document" in without
        assert not any(n in without for n in NOTICES)
        assert len(with_notice) > len(without) + len(notices[0])  # one insert, same wrapper
    assert notice_documents([], 5, seed=3) == []


def test_identifier_probe_shares_no_text_or_identifier_with_training() -> None:
    """The identifier probe is benign, repeatable, and disjoint from every hard example."""
    probe = identifier_probe()
    assert probe == identifier_probe() and len(probe) == 120
    trained = {h.text for h in generate()}
    assert not set(probe) & trained
    used = set(FILL["ident"])
    assert not any(ident in text for text in probe for ident in used)


@needs_data
def test_split_is_grouped_english_only_and_masks_unknown_heads() -> None:
    """Groups never straddle the split, no tagged non-English row loads, masks follow the file."""
    exs = D.load_examples(D.DEFAULT_DATA_DIR)
    assert not any(t.startswith("lang:") for e in exs for t in e.tags)
    side: dict[str, bool] = {}
    for e in exs:
        assert side.setdefault(e.group, D.is_validation(e)) == D.is_validation(e)
    train, val = D.split(exs)
    assert 0.10 < len(val) / len(exs) < 0.22
    assert all(e.harm_masked for e in exs if e.file.startswith("injection/") and e.inj > 0)
    assert all(e.inj == -1 for e in exs if e.file == "harm/completions")
    assert len(D.balance(train)) < len(train)


def test_runtime_windows_match_the_runtime() -> None:
    """The trainer cuts long texts into the same windows as guardrail.inference.windows."""
    pytest.importorskip("torch")  # encoding imports the model code; runs in .venv-train
    from classifiers.train.encoding import runtime_windows

    windows = pytest.importorskip("guardrail.inference.windows")
    ids = list(range(1000, 1700))
    ours = runtime_windows(ids, 256, 192)
    starts = windows.window_starts(len(ids), 254, 192)
    assert [w[1] for w in ours] == [ids[s] for s in starts]
    assert all(len(w) <= 256 for w in ours)


@pytest.mark.parametrize("bundle", [b.name for b in BUILT])
def test_bundle_manifest_hashes_size_and_graph_outputs(bundle: str) -> None:
    """bundle.yaml lists every file's sha256, the inputs, one output per head (+ embedding)."""
    onnx = pytest.importorskip("onnx")
    folder = BUNDLES / bundle
    m = yaml.safe_load((folder / "bundle.yaml").read_text())
    listed = set(m["files"])
    assert listed == {p.name for p in folder.iterdir() if p.is_file() and p.name != "bundle.yaml"}
    for name, digest in m["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "model.onnx").stat().st_size <= 30 * 2**20
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    assert [i.name for i in graph.input] == m["inputs"]
    embedding = [m["embedding"]["output"]] if m.get("embedding") else []
    assert {o.name for o in graph.output} == {h["output"] for h in m["heads"].values()} | {
        *embedding
    }
    for head in m["heads"].values():
        positive = [lab for lab in head["labels"] if lab not in head["negative"]]
        if head["type"] == "token":  # thresholds per entity type (B-X / I-X -> X)
            positive = sorted({lab.split("-", 1)[1] for lab in positive})
        assert set(head.get("thresholds", {})) in (set(), set(positive))
