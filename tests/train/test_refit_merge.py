"""refit.py's seeds: --seed never ships, and several seeds' heads merge into one wider head."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from classifiers.train import refit as R  # noqa: E402


def test_merged_head_gives_the_mean_of_the_heads_logits() -> None:
    """Three random MLPs merged: same input, logits equal their mean; hidden width adds up."""
    torch.manual_seed(3)
    heads = [R.mlp(12, 4).eval() for _ in range(3)]
    merged = R.merge_heads(heads)
    x = torch.randn(7, 12)
    with torch.no_grad():
        mean = torch.stack([h(x) for h in heads]).mean(0)
        assert torch.allclose(merged(x), mean, atol=1e-6)
    assert merged[0].out_features == 3 * R.HIDDEN


def test_load_heads_merges_files_joined_by_plus(tmp_path: Path) -> None:
    """`a.pt+b.pt` loads both saved pairs and merges injection with injection, harm with harm."""
    torch.manual_seed(4)
    pairs = []
    for name in ("a.pt", "b.pt"):
        inj, harm = R.mlp(8, 3), R.mlp(8, 12)
        torch.save({"injection": inj.state_dict(), "harm": harm.state_dict()}, tmp_path / name)
        pairs.append((inj.eval(), harm.eval()))
    inj, harm = R.load_heads(tmp_path / "a.pt+b.pt", 8)
    x = torch.randn(5, 8)
    with torch.no_grad():
        assert torch.allclose(inj(x), (pairs[0][0](x) + pairs[1][0](x)) / 2, atol=1e-6)
        assert torch.allclose(harm(x), (pairs[0][1](x) + pairs[1][1](x)) / 2, atol=1e-6)


def test_a_seed_other_than_zero_cannot_be_written_into_the_bundle() -> None:
    """--seed measures the spread; with --write the CLI exits before reading any data."""
    with pytest.raises(SystemExit):
        R.main(["--seed", "1", "--write", "extra"])
