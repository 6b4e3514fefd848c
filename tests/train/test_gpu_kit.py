"""gpu_kit.py: a fine-tuning run packed for the device tool's limits, and its checkpoint back."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from safetensors.torch import load_file, save_file  # noqa: E402

from classifiers.train import data as D  # noqa: E402
from classifiers.train import gpu_kit  # noqa: E402
from classifiers.train.refit import DEV_HASHES, assert_no_dev, dev_hashes  # noqa: E402


def _data(root: Path) -> Path:
    """A data folder with one training file and a dev/ file (texts made up here)."""
    (root / "benign").mkdir(parents=True)
    (root / "benign" / "prompts.jsonl").write_text(json.dumps({"text": "hello there"}) + "\n")
    (root / "dev").mkdir()
    row = {"text": "a dev text nobody trains on", "label": "benign", "categories": []}
    (root / "dev" / "injection.jsonl").write_text(json.dumps(row) + "\n")
    for name in ("harm_text", "harm_prompts"):
        (root / "dev" / f"{name}.jsonl").write_text("")
    return root


def _base(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in gpu_kit.BASE_FILES:
        (root / name).write_text("{}")
    save_file({"w": torch.randn(4, 3), "ids": torch.arange(3)}, str(root / "model.safetensors"))
    return root


def test_pack_leaves_dev_out_and_stores_the_base_weights_as_float16(tmp_path: Path) -> None:
    """The kit's data holds no dev/ file, only dev/'s text hashes; the base weights are float16
    (integer tensors kept); run.sh runs the given train.py arguments."""
    data = _data(tmp_path / "data")
    report = gpu_kit.pack(tmp_path / "kit", data, _base(tmp_path / "base"), "--run x --epochs 2")
    with tarfile.open(tmp_path / "kit" / "data.tgz") as tar:
        names = tar.getnames()
        hashes = json.loads(tar.extractfile(f"data/{DEV_HASHES}").read())  # type: ignore[union-attr]
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert "data/benign/prompts.jsonl" in names and not [n for n in names if "/dev/" in n]
    assert set(hashes) == dev_hashes(data) and len(hashes) == 1
    weights = load_file(str(tmp_path / "kit" / "base" / "model.safetensors"))
    assert weights["w"].dtype == torch.float16 and weights["ids"].dtype == torch.int64
    assert "--run x --epochs 2" in (tmp_path / "kit" / "run.sh").read_text()
    assert report["data_files"] == 1
    # the device checks its rows against dev/ through the hashes alone
    unpacked = tmp_path / "unpacked" / "data"
    assert dev_hashes(unpacked) == dev_hashes(data)
    dev_row = D.Example("a dev text nobody trains on", "x", "x", "x", "prompt", 0, [-1])
    with pytest.raises(SystemExit, match="dev/ must never be trained on"):
        assert_no_dev([dev_row], unpacked)


def test_shards_stay_under_the_limit_and_unpack_to_the_checkpoint(tmp_path: Path) -> None:
    """A checkpoint comes back in files under the limit (a tensor larger than it is cut into
    row blocks) and unpacks to the same keys, float32, within float16 rounding."""
    state = {"big": torch.randn(64, 32), "small": torch.randn(5), "steps": torch.tensor(3)}
    torch.save(
        {"state_dict": state, "meta": {"steps": 3}, "heads": [{"name": "h"}]}, tmp_path / "m.pt"
    )
    limit = 2048
    written = gpu_kit.shard(tmp_path / "m.pt", tmp_path / "out", limit)
    assert all(p.stat().st_size <= limit + 1024 for p in written)  # + the safetensors header
    info = json.loads((tmp_path / "out" / "checkpoint.json").read_text())
    assert info["split"]["big"] > 1
    back = torch.load(gpu_kit.unpack(tmp_path / "out", tmp_path / "back.pt"), weights_only=False)
    assert back["meta"] == {"steps": 3} and back["heads"] == [{"name": "h"}]
    assert set(back["state_dict"]) == set(state)
    for key, tensor in state.items():
        got = back["state_dict"][key]
        assert got.dtype == tensor.dtype
        assert torch.allclose(got.float(), tensor.float(), atol=2e-3)


def test_untrack_keeps_the_files_out_of_what_travels_and_retrack_restores_the_index(
    tmp_path: Path,
) -> None:
    """untrack: the heavy folder leaves git's index (still on disk, ignored, so nothing shows
    as untracked); retrack: index and exclude file as before; uncommitted changes refuse."""
    repo = tmp_path / "repo"
    (repo / "heavy").mkdir(parents=True)
    (repo / "heavy" / "model.bin").write_bytes(b"x" * 4096)
    (repo / "code.py").write_text("print()\n")
    gpu_kit._git(repo, "init", "-q")
    gpu_kit._git(repo, "add", ".")
    gpu_kit._git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    before = gpu_kit.travelling(repo, ())
    gpu_kit.untrack(repo, ("heavy",))
    assert "heavy/model.bin" not in gpu_kit._git(repo, "ls-files")
    assert (repo / "heavy" / "model.bin").is_file()
    assert "??" not in gpu_kit._git(repo, "status", "--porcelain")
    assert gpu_kit.travelling(repo, ())["tree"] == before["tree"] - 4096
    with pytest.raises(SystemExit, match="untracked already"):
        gpu_kit.untrack(repo, ("heavy",))
    gpu_kit.retrack(repo, ("heavy",))
    assert "heavy/model.bin" in gpu_kit._git(repo, "ls-files")
    assert gpu_kit._git(repo, "status", "--porcelain") == ""
    assert gpu_kit.MARK not in (repo / ".git" / "info" / "exclude").read_text()
    (repo / "heavy" / "model.bin").write_bytes(b"changed")
    with pytest.raises(SystemExit, match="uncommitted changes"):
        gpu_kit.untrack(repo, ("heavy",))
