"""Bundles: manifest validation, hash checks, name/path resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from guardrail.errors import BundleError
from guardrail.inference.bundle import (
    list_bundles,
    load_bundle,
    read_manifest,
    resolve_bundle,
    unlisted_files,
)
from guardrail.inference.runtime import load_runtime
from guardrail.settings import Settings
from tests.helpers.tiny_bundle import manifest, write_manifest


def _edit_manifest(folder: Path, **changes: object) -> None:
    data = YAML(typ="safe", pure=True).load((folder / "bundle.yaml").read_text())
    data.update(changes)
    write_manifest(folder, data, rehash=False)


def test_valid_bundle_loads_with_its_heads(tiny_bundle: Path) -> None:
    """A valid bundle loads; its manifest exposes heads, labels and negatives."""
    bundle = load_bundle(tiny_bundle)
    assert bundle.name == "tiny"
    assert list(bundle.manifest.heads) == ["injection", "harm"]
    assert bundle.manifest.heads["injection"].positive == ["injection", "jailbreak"]
    assert bundle.model_path.is_file()
    assert bundle.tokenizer_path.is_file()


def test_corrupt_model_fails_the_hash_check_naming_the_file(bundle_copy: Path) -> None:
    """One flipped byte in model.onnx is a BundleError that names model.onnx."""
    model = bundle_copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.onnx fails its hash check"):
        load_bundle(bundle_copy)


def test_missing_listed_file_is_an_error_naming_it(bundle_copy: Path) -> None:
    """A file listed in bundle.yaml but absent is a BundleError naming it."""
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=r"tokenizer\.json is missing"):
        load_bundle(bundle_copy)


def test_unparseable_model_with_matching_hash_is_a_bundle_error(bundle_copy: Path) -> None:
    """A model.onnx that is not ONNX (hash updated to match) fails at load naming the file."""
    (bundle_copy / "model.onnx").write_bytes(b"not an onnx graph")
    write_manifest(bundle_copy, manifest())
    with pytest.raises(BundleError, match=r"model\.onnx: ONNX Runtime cannot load it"):
        load_runtime(bundle_copy)


def test_unparseable_tokenizer_is_a_bundle_error(bundle_copy: Path) -> None:
    """A tokenizer.json that is not a tokenizer fails at load naming the file."""
    (bundle_copy / "tokenizer.json").write_text("{}")
    write_manifest(bundle_copy, manifest())
    with pytest.raises(BundleError, match=r"tokenizer\.json: cannot read the tokenizer"):
        load_runtime(bundle_copy)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"max_length": "512"}, "max_length: Input should be a valid integer"),
        ({"format": 2}, "format: Input should be 1"),
        ({"window_stride": 999}, "window_stride must not exceed max_length"),
        ({"inputs": ["attention_mask"]}, "inputs must include input_ids"),
        (
            {"inputs": ["input_ids", "token_heads"]},
            "inputs: token_heads switches token heads, and there is none",
        ),
        ({"files": {"model.onnx": "ab" * 32}}, "files must list tokenizer.json"),
        ({"files": {"model.onnx": "xyz", "tokenizer.json": "ab" * 32}}, "not a lower-case"),
    ],
)
def test_invalid_manifest_is_a_bundle_error(
    bundle_copy: Path, changes: dict[str, object], message: str
) -> None:
    """Strict manifest validation: unknown keys, wrong types and inconsistencies are errors."""
    _edit_manifest(bundle_copy, **changes)
    with pytest.raises(BundleError, match=message):
        read_manifest(bundle_copy)


def test_threshold_for_an_unknown_label_is_rejected(bundle_copy: Path) -> None:
    """A head's thresholds may only name its own labels."""
    data = manifest()
    data["heads"]["harm"]["thresholds"] = {"nonsense": 0.5}
    write_manifest(bundle_copy, data)
    with pytest.raises(BundleError, match="thresholds names unknown labels"):
        read_manifest(bundle_copy)


def test_label_count_must_match_the_graph_output(bundle_copy: Path) -> None:
    """A head listing more labels than its graph output has columns fails at load."""
    data = manifest()
    data["heads"]["harm"]["labels"] = ["unsafe", "violence", "weapons", "extra"]
    write_manifest(bundle_copy, data)
    with pytest.raises(BundleError, match="harm_logits has 3 columns"):
        load_runtime(bundle_copy)


def test_head_output_missing_from_the_graph_fails(bundle_copy: Path) -> None:
    """A head whose output is not in the graph fails at load."""
    data = manifest()
    data["heads"]["harm"]["output"] = "nope_logits"
    write_manifest(bundle_copy, data)
    with pytest.raises(BundleError, match="no output 'nope_logits'"):
        load_runtime(bundle_copy)


def test_name_resolves_in_the_configured_bundles_dir(
    tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare name is looked up in GUARDRAIL_BUNDLES_DIR first."""
    monkeypatch.setenv("GUARDRAIL_BUNDLES_DIR", str(tiny_bundle.parent))
    assert resolve_bundle("tiny") == tiny_bundle.resolve()
    assert tiny_bundle.resolve() in list_bundles()


def test_unknown_name_lists_where_it_looked(tmp_path: Path) -> None:
    """An unknown name is a BundleError that says which folders were searched."""
    settings = Settings(bundles_dir=tmp_path)
    with pytest.raises(BundleError, match=f"no bundle named 'nope'.*{tmp_path}"):
        resolve_bundle("nope", settings=settings)


def test_relative_path_resolves_against_the_base_dir(tiny_bundle: Path) -> None:
    """A path with a slash is resolved relative to base_dir (the policy's folder)."""
    base = tiny_bundle.parent / "sub"
    base.mkdir(exist_ok=True)
    rel = os.path.relpath(tiny_bundle, base)
    assert resolve_bundle(rel, base_dir=base) == tiny_bundle.resolve()
    with pytest.raises(BundleError, match="no bundle at"):
        resolve_bundle("./nowhere", base_dir=base)


def test_unlisted_files_are_reported(bundle_copy: Path) -> None:
    """Files in the folder that bundle.yaml does not list are found (for `models verify`)."""
    (bundle_copy / "notes.txt").write_text("x")
    assert unlisted_files(bundle_copy, read_manifest(bundle_copy)) == ["notes.txt"]
