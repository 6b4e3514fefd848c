"""gate_tokens.gate: a graph's token heads behind the `token_heads` switch, the rest untouched."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")  # the dev and train extras have it

import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from classifiers.train.gate_tokens import SWITCH, gate

WIDTH, LABELS = 8, 5


def _graph():
    """ids -> hidden (MatMul) -> seq_logits (mean over tokens) and tok_logits (a token head:
    MatMul + Relu over every token), the shape of guard-minilm's pii head where it matters."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(WIDTH, WIDTH)).astype(np.float32), "w_enc"),
        numpy_helper.from_array(rng.normal(size=(WIDTH, LABELS)).astype(np.float32), "w_tok"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w_enc"], ["hidden"]),
        helper.make_node("ReduceMean", ["hidden"], ["seq_logits"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["hidden", "w_tok"], ["tok_raw"]),
        helper.make_node("Relu", ["tok_raw"], ["tok_logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", WIDTH])],
        [
            helper.make_tensor_value_info("seq_logits", TensorProto.FLOAT, ["batch", WIDTH]),
            helper.make_tensor_value_info(
                "tok_logits", TensorProto.FLOAT, ["batch", "seq", LABELS]
            ),
        ],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["seq_logits", "tok_logits"], feeds)


def test_the_switch_skips_only_the_token_head() -> None:
    """On: both outputs as before, bit for bit; off: the sequence output as before and the
    token head's output empty; only the token head's own nodes moved into the branch."""
    x = np.random.default_rng(1).normal(size=(2, 3, WIDTH)).astype(np.float32)
    seq, tok = _run(_graph(), {"x": x})
    gated = gate(_graph(), ["tok_logits"])
    (switch,) = [n for n in gated.graph.node if n.op_type == "If"]
    then = next(helper.get_attribute_value(a) for a in switch.attribute if a.name == "then_branch")
    assert sorted(n.op_type for n in then.node) == ["MatMul", "Relu"]
    assert SWITCH in [i.name for i in gated.graph.input]
    on_seq, on_tok = _run(gated, {"x": x, SWITCH: np.array(True)})
    off_seq, off_tok = _run(gated, {"x": x, SWITCH: np.array(False)})
    assert np.array_equal(on_seq, seq) and np.array_equal(on_tok, tok)
    assert np.array_equal(off_seq, seq) and off_tok.size == 0
