"""refit.splice on a graph with control flow: replace a head, or add one beside the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # refit.py is training code (.venv-train)

import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from classifiers.train.refit import POOLED, mlp, splice

WIDTH = 24


def _graph(path: Path) -> Path:
    """x -> MatMul -> If (its branch reads the outer weight w_branch) -> POOLED -> harm head,
    the shape of the shipped flash-attention graph where it matters here."""
    then = helper.make_graph(
        [helper.make_node("MatMul", ["h", "w_branch"], ["y_then"])],
        "then",
        [],
        [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, [1, WIDTH])],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["y_else"])],
        "else",
        [],
        [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, [1, WIDTH])],
    )
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(WIDTH, WIDTH)).astype(np.float32), name)
        for name in ("w_in", "w_branch")
    ] + [numpy_helper.from_array(rng.normal(size=(WIDTH, 2)).astype(np.float32), "w_head")]
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w_in"], ["h"]),
            helper.make_node("If", ["flag"], [POOLED], then_branch=then, else_branch=other),
            helper.make_node("MatMul", [POOLED, "w_head"], ["harm_logits"]),
        ],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH]),
            helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("harm_logits", TensorProto.FLOAT, [1, 2])],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _run(path: Path, outputs: list[str]) -> list[np.ndarray]:
    """`outputs` of the graph at `path` on one fixed input."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.linspace(-1, 1, WIDTH, dtype=np.float32)[None]
    return sess.run(outputs, {"x": x, "flag": np.array(True)})


def _pooled(path: Path) -> np.ndarray:
    """The pooled tensor the heads read, for the same input."""
    model = onnx.load(str(path))
    model.graph.output.append(helper.make_empty_tensor_value_info(POOLED))
    extended = path.with_name("pooled.onnx")
    onnx.save(model, str(extended))
    return _run(extended, [POOLED])[0]


def test_a_new_head_is_added_beside_the_others(tmp_path: Path) -> None:
    """`injection_prompts` becomes a new output computing the MLP on the pooled tensor (weights
    stored as float16); the existing head's output and the If branch's outer weights stay."""
    path = _graph(tmp_path / "g.onnx")
    before = _run(path, ["harm_logits"])[0]
    torch.manual_seed(0)
    head = mlp(WIDTH, 3).eval()
    splice(path, path, {"injection_prompts": head})
    names = [o.name for o in onnx.load(str(path)).graph.output]
    assert names == ["harm_logits", "injection_prompts_logits"]
    harm, new = _run(path, ["harm_logits", "injection_prompts_logits"])
    np.testing.assert_array_equal(harm, before)
    want = head(torch.from_numpy(_pooled(path))).detach().numpy()
    np.testing.assert_allclose(new, want, atol=2e-2, rtol=2e-3)
    inits = {t.name: t.data_type for t in onnx.load(str(path)).graph.initializer}
    assert inits["/refit/injection_prompts/w1_fp16"] == TensorProto.FLOAT16
    assert "w_branch" in inits  # read only inside the If: still there


def test_a_head_is_replaced_in_a_graph_with_control_flow(tmp_path: Path) -> None:
    """Replacing `harm` keeps the If node whose branch feeds the pooled tensor (its outer
    inputs count as used), and the new output follows the new head."""
    path = _graph(tmp_path / "g.onnx")
    torch.manual_seed(1)
    head = mlp(WIDTH, 2).eval()
    splice(path, path, {"harm": head})
    model = onnx.load(str(path))
    assert [n.op_type for n in model.graph.node].count("If") == 1
    (harm,) = _run(path, ["harm_logits"])
    want = head(torch.from_numpy(_pooled(path))).detach().numpy()
    np.testing.assert_allclose(harm, want, atol=2e-2, rtol=2e-3)


def _as_float32_splice(path: Path) -> None:
    """The head weights as an earlier splice stored them: float32 tensors, no casts."""
    model = onnx.load(str(path))
    casts = {n.output[0]: n for n in model.graph.node if n.op_type == "Cast"}
    inits = {t.name: t for t in model.graph.initializer}
    for out, node in casts.items():
        weight = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        model.graph.initializer.append(numpy_helper.from_array(weight, out))
        model.graph.initializer.remove(inits[node.input[0]])
        model.graph.node.remove(node)
    onnx.save(model, str(path))


@pytest.mark.parametrize("earlier", ["float16", "float32"])
def test_a_spliced_head_can_be_spliced_again(tmp_path: Path, earlier: str) -> None:
    """Splicing a head over its own earlier splice (either weight format) replaces it."""
    path = _graph(tmp_path / "g.onnx")
    torch.manual_seed(2)
    splice(path, path, {"harm": mlp(WIDTH, 2).eval()})
    if earlier == "float32":
        _as_float32_splice(path)
    head = mlp(WIDTH, 2).eval()
    splice(path, path, {"harm": head})
    (harm,) = _run(path, ["harm_logits"])
    want = head(torch.from_numpy(_pooled(path))).detach().numpy()
    np.testing.assert_allclose(harm, want, atol=2e-2, rtol=2e-3)


@pytest.mark.parametrize(
    ("bundle", "layout"),
    [
        ("guard-minilm", ((1, 2, 3, 4, 5, 6), (6,))),
        ("guard-minilm-l4", ((1, 2, 3, 4), ())),
    ],
)
def test_pooled_layout_is_read_from_the_bundle_graph(bundle: str, layout: tuple) -> None:
    """refit --bundle reads which layers' means and maxima the graph's pooled tensor holds."""
    from classifiers.train.refit import pooled_layout

    root = Path(__file__).resolve().parents[2]
    assert pooled_layout(root / "classifiers" / bundle / "model.onnx") == layout
