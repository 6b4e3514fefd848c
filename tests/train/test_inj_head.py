"""Head inputs of the guard model: pooled layers (inj_head.py) and the token head's conv."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from classifiers.train import data as D  # noqa: E402
from classifiers.train import inj_head as I  # noqa: E402
from classifiers.train.model import GuardModel, HeadSpec, max_pool  # noqa: E402


def _row(inj: int) -> D.Example:
    return D.Example("t", "injection/prompts", "f", f"g{inj}", "prompt", inj, [-1] * 12)


def test_only_the_top_window_of_a_long_attack_row_is_a_positive() -> None:
    """Benign rows label every window; an attack row keeps only its highest-scored window."""
    rows = [_row(0), _row(1)]
    owner = np.array([0, 0, 1, 1, 1])
    logits = np.array([[5, 0, 0], [0, 5, 0], [3, 0, 0], [0, 4, 0], [1, 0, 0]], dtype=np.float32)
    assert I.window_labels(rows, owner, logits).tolist() == [0, 0, -1, 1, -1]


def test_select_takes_means_then_maxima_of_the_named_layers() -> None:
    """Columns are the per-layer means (layers 1-6), then the per-layer maxima."""
    feats = np.repeat(np.arange(12, dtype=np.float16), 384)[None, :]
    picked = I.select(feats, (2, 6), (6,))
    assert picked.shape == (1, 3 * 384)
    assert picked[0, ::384].tolist() == [1.0, 5.0, 11.0]


def test_max_pool_ignores_padding() -> None:
    """A padded position never wins the maximum, even when its value is the largest."""
    hidden = torch.tensor([[[1.0, -2.0], [3.0, -1.0], [9.0, 9.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert max_pool(hidden, mask).tolist() == [[3.0, -1.0]]


def test_pooled_head_scores_do_not_depend_on_padding() -> None:
    """A head reading several layers' means and maxima gives the same logits padded or not."""
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32,
    )  # fmt: skip
    torch.manual_seed(0)
    encoder = transformers.BertModel(config, add_pooling_layer=False)
    spec = HeadSpec("injection", "softmax", ("b", "i", "j"), hidden=8, pool=(1, 2), pool_max=(2,))
    model = GuardModel(encoder, (spec,)).eval()
    ids = torch.tensor([[1, 5, 7, 2]])
    padded = torch.tensor([[1, 5, 7, 2, 0, 0]])
    with torch.no_grad():
        alone = model(ids, torch.ones_like(ids))["injection"]
        mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
        together = model(padded, mask)["injection"]
    assert torch.allclose(alone, together, atol=1e-5)


def test_token_head_convolution_as_one_matmul_equals_conv1d() -> None:
    """The exported (unfolded) convolution gives exactly Conv1d's numbers, padding included."""
    from classifiers.train.model import TokenHead

    torch.manual_seed(0)
    head = TokenHead(20, 16, 9, 5).eval()
    x = torch.randn(2, 13, 20)
    mask = torch.ones(2, 13)
    mask[1, 9:] = 0
    with torch.no_grad():
        h = torch.relu(head.proj(x)) * mask.unsqueeze(-1)
        conv = torch.relu(head.conv(h.transpose(1, 2)).transpose(1, 2))
        assert torch.allclose(head(x, mask), head.out(h + conv), atol=1e-6)


def _tiny_model(layers: int) -> GuardModel:
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=32,
    )  # fmt: skip
    torch.manual_seed(0)
    encoder = transformers.BertModel(config, add_pooling_layer=False)
    spec = HeadSpec("injection", "softmax", ("b", "i", "j"))
    return GuardModel(encoder, (spec,)).eval()


def test_student_keeps_the_named_layers_embeddings_and_heads() -> None:
    """A student cut to layers (0, 2) of 3 has exactly those layers' weights, in order."""
    from classifiers.train.model import encoder_depth, student

    teacher = _tiny_model(3)
    small = student(teacher, (0, 2))
    kept = small.encoder.encoder.layer
    assert len(kept) == 2 and small.encoder.config.num_hidden_layers == 2
    assert encoder_depth(small.state_dict()) == 2
    for mine, theirs in (
        (kept[0], teacher.encoder.encoder.layer[0]),
        (kept[1], teacher.encoder.encoder.layer[2]),
    ):
        assert all(
            torch.equal(a, b)
            for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(), strict=True)
        )
    assert torch.equal(small.heads["injection"].weight, teacher.heads["injection"].weight)
    assert small.encoder.encoder.layer[0] is not teacher.encoder.encoder.layer[0]  # a copy


def test_student_refuses_heads_that_read_layers_it_no_longer_has() -> None:
    """Cutting below a head's pooled hidden_states index is an error, not a silent shift."""
    from classifiers.train.model import student

    teacher = _tiny_model(3)
    deep = HeadSpec("injection", "softmax", ("b", "i", "j"), hidden=8, pool=(1, 2, 3))
    model = GuardModel(teacher.encoder, (deep,))
    with pytest.raises(ValueError, match="deeper than 2"):
        student(model, (0, 2))


def test_candidates_and_columns_follow_the_encoder_depth() -> None:
    """A 4-layer graph's candidates pool hidden_states 1-4; maxima start after 4 mean blocks."""
    names = [c[0] for c in I.candidates(4)]
    assert names == ["last_linear", "l1-4_mlp512", "l1-4+max4_mlp512"]
    feats = np.repeat(np.arange(8, dtype=np.float16), 384)[None, :]
    assert I.select(feats, (4,), (4,))[0, ::384].tolist() == [3.0, 7.0]


def test_feature_session_leaves_no_file_next_to_the_graph(tmp_path) -> None:
    """Layer outputs are exposed in memory: the bundle folder gains no extra graph to ship."""
    import shutil

    from classifiers.train.export import BUNDLE_DIR, graph_depth

    graph = tmp_path / "model.onnx"
    shutil.copyfile(BUNDLE_DIR / "model.onnx", graph)
    sess, names = I.feature_session(graph)
    assert len(names) == graph_depth(graph) == 6
    assert set(names) <= {o.name for o in sess.get_outputs()}
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
