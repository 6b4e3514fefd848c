"""The multilingual bundle's training side (classifiers/train/e5_bundle.py, e5_graph.py): the
features the heads are fitted on are the ones the served graph computes, for both depths."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from classifiers.train import data as D  # noqa: E402
from classifiers.train import e5_bundle as B  # noqa: E402
from classifiers.train.e5_graph import Pooled  # noqa: E402


def _bert(layers: int, seed: int = 0):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=384,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return transformers.BertModel(config, add_pooling_layer=False).eval()


def _row(inj: int, position: str = "") -> D.Example:
    return D.Example(
        "t", "injection/documents", "f", "g", "document", inj, [-1] * 12, 1.0, (), position
    )


@pytest.mark.parametrize("depth", [6, 12])
def test_training_features_equal_the_served_graphs(depth: int) -> None:
    """Tap (one 12-layer pass) + select(depth) == Pooled over the first `depth` layers."""
    full = _bert(12)
    cut = _bert(depth)
    cut.load_state_dict(
        {
            k: v
            for k, v in full.state_dict().items()
            if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < depth
        }
    )
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 9, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        tapped = B.select(B.Tap(full)(ids, mask).numpy(), depth)
        served = Pooled(cut)(ids, mask).numpy()
    assert tapped.shape == served.shape == (2, 4 * 384)
    np.testing.assert_allclose(tapped, served, atol=1e-4)


def test_an_injected_documents_training_window_follows_its_position_tag() -> None:
    """Long attack documents: the window sits at the start, middle or end as tagged."""
    ids = list(range(1000))
    n = B.TRAIN_TOKENS
    assert B.train_window(ids, _row(1, "start")) == ids[:n]
    assert B.train_window(ids, _row(1, "end")) == ids[-n:]
    assert B.train_window(ids, _row(1, "middle"))[0] == (1000 - n) // 2
    assert B.train_window(ids, _row(0, "end")) == ids[:n]  # benign rows: the start


def test_caps_keep_more_positives_than_negatives_per_group() -> None:
    """capped() keeps at most (positives, negatives) rows per file/family/language/label."""
    rows = [D.Example(f"a{i}", "f", "fam", "g", "prompt", 1, [-1] * 12) for i in range(10)] + [
        D.Example(f"b{i}", "f", "fam", "g", "prompt", 0, [0] * 12) for i in range(10)
    ]
    kept = B.capped(rows, (4, 2))
    assert sum(e.inj == 1 for e in kept) == 4 and sum(e.inj == 0 for e in kept) == 2
