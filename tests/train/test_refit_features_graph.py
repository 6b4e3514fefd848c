"""`refit --features-graph`: features from another graph only when its encoder is the bundle's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # refit.py is training code (.venv-train)

import onnx
from onnx import TensorProto, helper, numpy_helper

from classifiers.train.refit import POOLED, encoder_weights, same_encoder


def _graph(path: Path, w_in: np.ndarray, w_branch: np.ndarray, head: np.ndarray) -> Path:
    """x -> MatMul(w_in) -> If(branches read the outer weight w_branch) -> POOLED -> head."""
    then = helper.make_graph(
        [helper.make_node("MatMul", ["h", "w_branch"], ["y_then"])],
        "then",
        [],
        [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, None)],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["y_else"])],
        "else",
        [],
        [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["h"]),
        helper.make_node("If", ["flag"], [POOLED], then_branch=then, else_branch=other),
        helper.make_node("MatMul", [POOLED, "w_head"], ["harm_logits"]),
    ]
    inits = [
        numpy_helper.from_array(w_in, "w_in"),
        numpy_helper.from_array(w_branch, "w_branch"),
        numpy_helper.from_array(head, "w_head"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 40]),
            helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("harm_logits", TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def _weights(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(40, 40)).astype(np.float32),
        rng.normal(size=(40, 40)).astype(np.float32),
        rng.normal(size=(40, 40)).astype(np.float32),
    )


def test_encoder_weights_follow_control_flow_branches(tmp_path: Path) -> None:
    """Weights read inside an If branch count as encoder weights; the head's do not."""
    w_in, w_branch, head = _weights(0)
    names = set(encoder_weights(_graph(tmp_path / "a.onnx", w_in, w_branch, head)))
    assert names == {"w_in", "w_branch"}


def test_features_graph_with_other_heads_is_accepted(tmp_path: Path) -> None:
    """A graph differing only after the pooled tensor (new heads) passes the check."""
    w_in, w_branch, head = _weights(0)
    a = _graph(tmp_path / "a.onnx", w_in, w_branch, head)
    b = _graph(tmp_path / "b.onnx", w_in, w_branch, head * 2)
    assert same_encoder(a, b)["encoder_tensors_identical"] == 2


def test_features_graph_with_another_encoder_is_refused(tmp_path: Path) -> None:
    """One changed encoder weight (here inside a branch) makes refit refuse the graph."""
    w_in, w_branch, head = _weights(0)
    a = _graph(tmp_path / "a.onnx", w_in, w_branch, head)
    b = _graph(tmp_path / "b.onnx", w_in, w_branch + 1e-3, head)
    with pytest.raises(SystemExit, match="encoder weights differ"):
        same_encoder(a, b)
