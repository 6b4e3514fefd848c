"""wise.py (WiSE-FT weight interpolation) and candidate.py's traps-matched dev operating point."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from classifiers.train.candidate import best_at_traps  # noqa: E402
from classifiers.train.wise import interpolate  # noqa: E402


def _states():
    init = {"w": torch.tensor([0.0, 2.0]), "ids": torch.tensor([0, 1])}
    ft = {"w": torch.tensor([4.0, 6.0]), "ids": torch.tensor([0, 1])}
    return init, ft


def test_alpha_walks_every_float_weight_from_init_to_ft() -> None:
    """alpha 0 is the start, 1 the fine-tune, 0.5 the midpoint; integer buffers are kept."""
    init, ft = _states()
    assert interpolate(init, ft, 0.0)["w"].tolist() == [0.0, 2.0]
    assert interpolate(init, ft, 1.0)["w"].tolist() == [4.0, 6.0]
    assert interpolate(init, ft, 0.5)["w"].tolist() == [2.0, 4.0]
    assert interpolate(init, ft, 0.5)["ids"].tolist() == [0, 1]


def test_different_architectures_are_refused() -> None:
    """A missing parameter or a different shape is an error, not a silent partial mix."""
    init, ft = _states()
    with pytest.raises(ValueError, match="different parameters"):
        interpolate(init, {"w": ft["w"]}, 0.5)
    with pytest.raises(ValueError, match="w:"):
        interpolate(init, {**ft, "w": torch.zeros(3)}, 0.5)


def test_encoder_only_mixes_the_encoder_and_keeps_the_start_heads() -> None:
    """With a prefix only the encoder's tensors are mixed: heads of other shapes stay --init's,
    and an encoder tensor that only one side has is refused."""
    init = {"encoder.w": torch.tensor([0.0, 2.0]), "heads.x": torch.zeros(2)}
    ft = {"encoder.w": torch.tensor([4.0, 6.0]), "heads.x": torch.ones(5), "heads.y": torch.ones(1)}
    mixed = interpolate(init, ft, 0.5, prefix="encoder.")
    assert mixed["encoder.w"].tolist() == [2.0, 4.0]
    assert mixed["heads.x"].tolist() == [0.0, 0.0] and set(mixed) == set(init)
    with pytest.raises(ValueError, match="different parameters"):
        interpolate({**init, "encoder.extra": torch.zeros(1)}, ft, 0.5, prefix="encoder.")


def test_best_at_traps_never_exceeds_the_traps_budget() -> None:
    """With one benign row above every attack on the injection label, the best rule within a
    0 % traps budget uses the jailbreak label alone; a 50 % budget may block everything."""
    p = np.array(
        [
            [0.1, 0.9, 0.0],  # benign, high injection
            [0.9, 0.0, 0.1],  # benign
            [0.2, 0.5, 0.3],  # attack: only jailbreak separates it
            [0.3, 0.6, 0.1],  # attack below the benign row on both labels' order
        ]
    )
    arrays = {"injection_injection": p, "injection_harm": np.zeros((4, 12))}
    y = np.array([False, False, True, True])
    shipped = {"thresholds": {"input": {"harm": {"unsafe": 0.5}}}}
    assert best_at_traps(arrays, y, shipped, 0.0) == 0.5
    assert best_at_traps(arrays, y, shipped, 0.5) == 1.0
