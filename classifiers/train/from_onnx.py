"""Rebuild a GuardModel checkpoint (model.py format) from a shipped int8 bundle graph.

    nice -n 10 python -m classifiers.train.from_onnx \\
        --graph classifiers/guard-minilm/model.onnx --out classifiers/train/runs/shipped/model.pt \\
        [--verify 200]

The torch checkpoint of the shipped guard-minilm is gone, but its int8 graph holds every weight:
per-channel MatMulInteger weights (w = (q - zero_point) * scale, ONNX [in, out] = torch Linear
weight transposed), fp32 biases and LayerNorms as `model.*` initializers, the embeddings behind
DequantizeLinear (per tensor) and refit.py's fp32 harm MLP as `/refit/harm/{w1,b1,w2,b2}`.
A MatMulInteger's torch module is found by following the graph to the Add of its bias
(`model.<module>.bias`), so the weights' anonymous names (`onnx::MatMul_914`) do not matter.
The result is a starting point for LP-FT (train.py --init) and the WiSE-FT control (wise.py).
`--verify N` compares the rebuilt fp32 model with the graph on N validation texts (never printed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from . import pii_data as P
from .data import HARM_LABELS, INJ_LABELS
from .model import GuardModel, HeadSpec, base_model_dir, save_checkpoint

POOL = (1, 2, 3, 4, 5, 6)
SHIPPED_HEADS = (
    HeadSpec(
        "injection", "softmax", tuple(INJ_LABELS), ("benign",), hidden=512, pool=POOL, pool_max=(6,)
    ),
    HeadSpec("harm", "sigmoid", tuple(HARM_LABELS), (), hidden=256, pool=POOL, pool_max=(6,)),
    HeadSpec("pii", "token", tuple(P.LABELS), ("O",), layers=POOL, hidden=256, kernel=9),
)
REFIT_HARM = {  # refit.py's spliced fp32 harm MLP: x @ w1 + b1, relu, @ w2 + b2
    "heads.harm.0.weight": ("/refit/harm/w1", True),
    "heads.harm.0.bias": ("/refit/harm/b1", False),
    "heads.harm.2.weight": ("/refit/harm/w2", True),
    "heads.harm.2.bias": ("/refit/harm/b2", False),
}
PASS_THROUGH = ("Cast", "Mul")  # MatMulInteger -> Cast -> Mul(scales) -> Add(bias)


def _nodes(graph):
    """Every node of `graph`, those inside its `If` branches too (the token heads' switch and
    the flash attention put nodes there)."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == attr.GRAPH:
                yield from _nodes(attr.g)


def _consumers(graph) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in _nodes(graph):
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _bias_of(tensor: str, consumers: dict, inits: dict) -> str:
    """The `model.*.bias` initializer added to `tensor` after its Cast / Mul rescaling."""
    for _ in range(4):
        for node in consumers.get(tensor, []):
            if node.op_type == "Add":
                bias = [i for i in node.input if i in inits and i.startswith("model.")]
                if bias:
                    return bias[0]
        nxt = [n for n in consumers.get(tensor, []) if n.op_type in PASS_THROUGH]
        if len(nxt) != 1:
            break
        tensor = nxt[0].output[0]
    raise ValueError(f"no bias Add after {tensor}")


def _dequant(inits: dict, base: str) -> np.ndarray:
    q = inits[f"{base}_quantized"].astype(np.float32)
    zp = inits[f"{base}_zero_point"].astype(np.float32)
    return (q - zp) * inits[f"{base}_scale"].astype(np.float32)


def _to_param(key: str, w: np.ndarray, shape: torch.Size) -> torch.Tensor:
    """ONNX [in, out] MatMul weight -> torch layout (Linear [out, in]; the unfolded Conv1d of
    model.TokenHead: [out, k * in] with k outer -> [out, in, k])."""
    t = torch.from_numpy(np.ascontiguousarray(w.T))
    if len(shape) == 3:
        out_ch, in_ch, k = shape
        t = t.reshape(out_ch, k, in_ch).permute(0, 2, 1)
    if t.shape != shape:
        raise ValueError(f"{key}: graph shape {tuple(t.shape)} != model {tuple(shape)}")
    return t.contiguous()


def graph_state(graph_path: Path, target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every weight of the graph, as fp32 tensors under the model's state_dict keys."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(graph_path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers = _consumers(graph)
    state: dict[str, torch.Tensor] = {}
    for name, arr in inits.items():  # biases, LayerNorms: fp32 under the module path
        key = name.removeprefix("model.")
        if name.startswith("model.") and key in target and arr.dtype == np.float32:
            state[key] = torch.from_numpy(arr.copy())
    for node in _nodes(graph):
        if node.op_type == "MatMulInteger":
            key = _bias_of(node.output[0], consumers, inits).removeprefix("model.")
            key = key.removesuffix(".bias") + ".weight"
            base = node.input[1].removesuffix("_quantized")
            state[key] = _to_param(key, _dequant(inits, base), target[key].shape)
        elif node.op_type == "DequantizeLinear" and node.input[1].startswith("model."):
            base = node.input[1].removesuffix("_scale")  # embedding tables, per-tensor uint8
            key = base.removeprefix("model.")
            state[key] = torch.from_numpy(_dequant(inits, base))
    for key, (name, transpose) in REFIT_HARM.items():
        arr = inits[name]
        state[key] = torch.from_numpy(np.ascontiguousarray(arr.T if transpose else arr))
    return state


def rebuild(graph_path: Path) -> tuple[GuardModel, list[str]]:
    """The model with the graph's weights; also the parameter names the graph does not hold
    (the BERT pooler, unused by every head: kept at the base weights)."""
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.from_pretrained(str(base_model_dir()), local_files_only=True)
    base = AutoModel.from_pretrained(str(base_model_dir()), local_files_only=True)
    model = GuardModel(AutoModel.from_config(cfg, attn_implementation="eager"), SHIPPED_HEADS)
    model.encoder.load_state_dict(base.state_dict())
    target = model.state_dict()
    state = graph_state(graph_path, target)
    unknown = sorted(set(state) - set(target))
    if unknown:
        raise ValueError(f"graph weights with no model parameter: {unknown[:5]}")
    for key, t in state.items():
        if t.shape != target[key].shape:
            raise ValueError(f"{key}: {tuple(t.shape)} != {tuple(target[key].shape)}")
    model.load_state_dict(state, strict=False)
    missing = sorted(k for k in target if k not in state and not k.endswith("position_ids"))
    return model.eval(), missing


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(model: GuardModel, graph_path: Path, texts: list[str], thresholds: dict) -> dict:
    """torch fp32 vs the int8 graph (1 thread): probability differences and decision agreement
    at `thresholds` ({head: {label: t}}); one text per run, so no padding enters either."""
    from .encoding import load_tokenizer
    from .export import session

    sess = session(graph_path)
    names = [o.name for o in sess.get_outputs()]
    tok = load_tokenizer()
    diffs: dict[str, list[float]] = {"injection": [], "harm": []}
    agree: dict[str, list[bool]] = {"injection": [], "harm": []}
    for text in texts:
        ids = np.array([tok.encode(text).ids[:512]], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        outs = dict(zip(names, sess.run(None, feeds), strict=True))
        with torch.no_grad():
            ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        probs = {
            "injection": (
                torch.softmax(torch.from_numpy(outs["injection_logits"]), -1)[0],
                torch.softmax(ref["injection"], -1)[0],
            ),
            "harm": (
                torch.sigmoid(torch.from_numpy(outs["harm_logits"]))[0],
                torch.sigmoid(ref["harm"])[0],
            ),
        }
        for head, (g, t) in probs.items():
            diffs[head] += (g - t).abs().tolist()
            labels = INJ_LABELS if head == "injection" else HARM_LABELS
            for i, label in enumerate(labels):
                th = thresholds.get(head, {}).get(label)
                if th is not None:
                    agree[head].append(bool(g[i] >= th) == bool(t[i] >= th))
    return {
        head: {
            "max_abs_prob_diff": round(max(diffs[head]), 5),
            "mean_abs_prob_diff": round(float(np.mean(diffs[head])), 6),
            "decisions": len(agree[head]),
            "decision_agreement": round(float(np.mean(agree[head])), 4) if agree[head] else None,
        }
        for head in diffs
    }


def bundle_thresholds(bundle_yaml: Path) -> dict:
    import yaml

    heads = yaml.safe_load(bundle_yaml.read_text())["heads"]
    return {name: h.get("thresholds", {}) for name, h in heads.items()}


def validation_texts(n: int) -> list[str]:
    """`n` validation rows, hash-chosen (the same ones every run); never printed."""
    from . import data as D

    _, val = D.split(D.load_examples(D.DEFAULT_DATA_DIR))
    val = sorted(val, key=lambda e: D.stable_hash("from_onnx|" + e.text))
    return [e.text for e in val[:n]]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", type=Path, default=Path("classifiers/guard-minilm/model.onnx"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--verify", type=int, default=0, help="compare on N validation texts")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    model, missing = rebuild(args.graph)
    meta = {
        "command": f"python -m classifiers.train.from_onnx --graph {args.graph} --out {args.out}",
        "source_graph_sha256": sha256(args.graph),
        "not_in_graph_kept_from_base": missing,
    }
    if args.verify:
        th = bundle_thresholds(args.graph.parent / "bundle.yaml")
        meta["verify"] = verify(model, args.graph, validation_texts(args.verify), th)
        meta["verify"]["texts"] = args.verify
    save_checkpoint(model, args.out, meta)
    print(json.dumps(meta, indent=1))
    print(f"saved {args.out} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
