"""`guardrail models export | list | verify`: HF classifier -> bundle, found and verified."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guardrail.cli import main
from guardrail.inference.bundle import load_bundle
from guardrail.inference.runtime import load_runtime
from tests.helpers.tiny_bundle import build_tiny_bundle

WORDS = ["hello", "world", "ignore", "previous", "instructions", "the", "weather", "is", "nice"]


def _tiny_hf_model(folder: Path, multi_label: bool) -> Any:
    """A random tiny BertForSequenceClassification + WordPiece tokenizer, saved locally."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS, "##s"])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        initializer_range=0.5,  # large random weights: different texts get different scores
        num_labels=3,
        id2label={0: "safe", 1: "toxic", 2: "spam"},
        label2id={"safe": 0, "toxic": 1, "spam": 2},
        problem_type="multi_label_classification" if multi_label else None,
    )
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(str(folder))
    return model


@pytest.mark.train
@pytest.mark.parametrize("quantize", [False, True])
def test_export_makes_a_bundle_the_runtime_scores_like_torch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quantize: bool
) -> None:
    """An exported HF classifier loads without torch code paths and matches torch's scores."""
    _tiny_hf_model(tmp_path / "hf", multi_label=not quantize)
    out = tmp_path / "bundle"
    argv = ["models", "export", str(tmp_path / "hf"), "--out", str(out), "--name", "tox"]
    assert main([*argv, *([] if quantize else ["--no-quantize"])]) == 0
    report = capsys.readouterr().out
    diff = float(report.rsplit("=", 1)[1])
    assert diff < (0.05 if quantize else 1e-4)
    bundle = load_bundle(out)
    head = bundle.manifest.heads["classifier"]
    assert bundle.name == "tox"
    assert head.labels == ["safe", "toxic", "spam"]
    assert head.negative == ["safe"]
    assert head.type == ("softmax" if quantize else "sigmoid")
    assert bundle.manifest.max_length == 64
    assert set(bundle.manifest.files) == {"model.onnx", "tokenizer.json", "MODEL_CARD.md"}
    with load_runtime(out) as runtime:
        (scores,) = runtime.score_sync(["hello world " * 50])  # windowed: 100 tokens > 64
        short, long = runtime.rows("hello"), runtime.rows("the weather is nice " * 3)
        padded = runtime.forward([*short, *long])["classifier"]  # one padded batch
        alone = [runtime.forward(r)["classifier"][0] for r in (short, long)]
    assert set(scores["classifier"]) == {"safe", "toxic", "spam"}
    assert abs(alone[0] - alone[1]).max() > 0.01  # the two texts really score differently
    np.testing.assert_allclose(padded, np.stack(alone), atol=0.01 if quantize else 1e-5)


def test_verify_accepts_a_good_bundle_and_names_a_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`models verify` exits 0 on a good bundle, 1 naming the file on a corrupt one."""
    good = build_tiny_bundle(tmp_path / "tiny")
    assert main(["models", "verify", str(good)]) == 0
    assert "ok: tiny" in capsys.readouterr().out
    bad = Path(shutil.copytree(good, tmp_path / "bad"))
    (bad / "tokenizer.json").write_text(json.dumps({"tampered": True}))
    assert main(["models", "verify", str(bad)]) == 1
    assert "tokenizer.json fails its hash check" in capsys.readouterr().err


def test_verify_rejects_files_the_manifest_does_not_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bundle folder with an unlisted file fails `models verify`."""
    folder = build_tiny_bundle(tmp_path / "tiny")
    (folder / "extra.bin").write_bytes(b"\0")
    assert main(["models", "verify", str(folder)]) == 1
    assert "extra.bin" in capsys.readouterr().err


def test_list_shows_bundles_in_the_configured_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`models list` prints each bundle found under GUARDRAIL_BUNDLES_DIR with its heads."""
    build_tiny_bundle(tmp_path / "tiny-a", name="tiny-a")
    monkeypatch.setenv("GUARDRAIL_BUNDLES_DIR", str(tmp_path))
    assert main(["models", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("tiny-a"))
    assert "heads=injection,harm" in line
