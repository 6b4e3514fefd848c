"""evaluate.py's validation scores: per-window attack score, and a cache reused only for the
same graph, rows and settings."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from classifiers.train import evaluate as E  # noqa: E402
from classifiers.train.encoding import load_tokenizer, pad, runtime_windows  # noqa: E402
from classifiers.train.export import export_fp32, session  # noqa: E402
from classifiers.train.model import GuardModel, HeadSpec  # noqa: E402

HEADS = {
    "injection": {
        "output": "injection_logits",
        "type": "softmax",
        "labels": ["b", "i", "j"],
        "negative": ["b"],
    }
}


def _graph(path, seed: int):
    config = transformers.BertConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32,
    )  # fmt: skip
    torch.manual_seed(seed)
    encoder = transformers.BertModel(config, add_pooling_layer=False)
    spec = HeadSpec("injection", "softmax", ("b", "i", "j"))
    export_fp32(GuardModel(encoder, (spec,)).eval(), path)
    return path


def test_attack_score_is_the_most_suspicious_window(tmp_path) -> None:
    """A long text's attack score is the largest 1 - P(benign) of its windows, not 1 - the
    largest P(benign)."""
    graph = _graph(tmp_path / "g.onnx", seed=0)
    text = " ".join(f"word{i} and some more text" for i in range(40))
    probs = E.predict(graph, [text], 16, 8, HEADS)
    ids = load_tokenizer().encode(text, add_special_tokens=False).ids
    sess = session(graph)
    windows = [
        E.softmax(sess.run(["injection_logits"], pad([w]))[0])[0]
        for w in runtime_windows(ids, 16, 8)
    ]
    per_window = np.array([1 - p[0] for p in windows])
    assert len(windows) > 3 and per_window.max() > 1 - max(p[0] for p in windows) + 1e-6
    assert probs["injection" + E.ATTACK][0] == pytest.approx(per_window.max(), abs=1e-5)


def test_reuse_recomputes_for_another_graph_rows_or_windows(tmp_path) -> None:
    """The same graph, rows and settings reuse the file; a re-exported graph, changed rows or
    another window stride never get the old cached probabilities back."""
    cache, texts = tmp_path / "val.npz", ["first text", "second text"]
    a = _graph(tmp_path / "a.onnx", seed=0)
    first = E._cached_predict(cache, False, a, texts, 512, 384, HEADS)["injection"]
    stored = dict(np.load(cache))
    np.savez(cache, **{**stored, "injection": np.full_like(first, 7.0)})  # a marker value
    again = E._cached_predict(cache, True, a, texts, 512, 384, HEADS)["injection"]
    assert (again == 7.0).all()  # reused, not recomputed
    strided = E._cached_predict(cache, True, a, texts, 512, 256, HEADS)["injection"]
    assert np.allclose(strided, first)  # recomputed (two short texts: one window either way)
    b = _graph(tmp_path / "b.onnx", seed=1)
    other = E._cached_predict(cache, True, b, texts, 512, 256, HEADS)["injection"]
    assert not np.allclose(first, other)
    rows = E._cached_predict(cache, True, b, ["first text"], 512, 256, HEADS)["injection"]
    assert rows.shape == (1, 3)
