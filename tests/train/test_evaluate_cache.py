"""evaluate.py's probability cache: reused only for the same graph and the same rows."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from classifiers.train import evaluate as E  # noqa: E402
from classifiers.train.export import export_fp32  # noqa: E402
from classifiers.train.model import GuardModel, HeadSpec  # noqa: E402

HEADS = {"injection": {"output": "injection_logits", "type": "softmax", "labels": ["b", "i", "j"]}}


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


def test_reuse_recomputes_for_another_graph_or_other_rows(tmp_path) -> None:
    """A re-exported graph or changed rows never get the old cached probabilities back."""
    cache, texts = tmp_path / "val.npz", ["first text", "second text"]
    a = _graph(tmp_path / "a.onnx", seed=0)
    first = E._cached_predict(cache, False, a, texts, 512, 384, HEADS)["injection"]
    again = E._cached_predict(cache, True, a, texts, 512, 384, HEADS)["injection"]
    assert np.array_equal(first, again)
    b = _graph(tmp_path / "b.onnx", seed=1)
    other = E._cached_predict(cache, True, b, texts, 512, 384, HEADS)["injection"]
    assert not np.allclose(first, other)
    rows = E._cached_predict(cache, True, b, ["first text"], 512, 384, HEADS)["injection"]
    assert rows.shape == (1, 3)
