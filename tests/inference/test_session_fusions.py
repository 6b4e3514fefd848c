"""Issue #20's speed-ups: the ONNX Runtime fusions the runtime leaves off are real optimiser
names that change the shipped graphs (ONNX Runtime ignores unknown names silently, so a typo
would cost the speed-up without any error), and the shipped graphs' flash attention branch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from guardrail.inference.bundle import REPO_BUNDLES_DIR
from guardrail.inference.onnx import DISABLED_OPTIMIZERS, open_session, session_options

SHIPPED = [n for n in ("guard-minilm", "guard-minilm-l4") if (REPO_BUNDLES_DIR / n).is_dir()]


def optimised_ops(model: Path, disabled: tuple[str, ...], out: Path) -> set[str]:
    """Operator types of `model` as ONNX Runtime optimises it for a 1-thread CPU session."""
    options = session_options(1)
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(
        str(model), options, providers=["CPUExecutionProvider"], disabled_optimizers=disabled
    )
    return {node.op_type for node in onnx.load(str(out)).graph.node}


@pytest.mark.parametrize("name", SHIPPED)
def test_runtime_session_has_no_skip_layer_norm_where_the_default_fuses_one(
    name: str, tmp_path: Path
) -> None:
    """With the runtime's disabled fusions the bundle keeps Add + LayerNormalization."""
    model = REPO_BUNDLES_DIR / name / "model.onnx"
    fused = optimised_ops(model, (), tmp_path / "all.onnx")
    kept = optimised_ops(model, DISABLED_OPTIMIZERS, tmp_path / "runtime.onnx")
    assert "SkipLayerNormalization" in fused
    assert "SkipLayerNormalization" not in kept
    assert "LayerNormalization" in kept


def test_open_session_runs_the_graph_with_those_fusions_off() -> None:
    """open_session's outputs are bit-identical to a session with DISABLED_OPTIMIZERS off and
    not to one with every fusion on (the fusion changes float rounding, so this can tell)."""
    model = REPO_BUNDLES_DIR / "guard-minilm" / "model.onnx"
    if not model.is_file():
        pytest.skip("classifiers/guard-minilm not built yet")
    ids = np.array([[101, *range(2000, 2300), 102]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
    feed["token_heads"] = np.array(True)  # guard-minilm's switch: every head runs

    def outputs(session: ort.InferenceSession) -> list[np.ndarray]:
        return [np.asarray(o) for o in session.run(None, feed)]

    def manual(disabled: tuple[str, ...]) -> ort.InferenceSession:
        return ort.InferenceSession(
            str(model), session_options(1), ["CPUExecutionProvider"], disabled_optimizers=disabled
        )

    def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

    runtime = outputs(open_session(model, 1))
    assert same(runtime, outputs(manual(DISABLED_OPTIMIZERS)))
    assert not same(runtime, outputs(manual(())))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_graph_attends_through_flash_only_when_unpadded(name: str) -> None:
    """Every layer's attention is an If on an all-ones mask: unmasked MultiHeadAttention (ORT's
    flash kernel) then, the original Softmax path for padded batches."""
    graph = onnx.load(str(REPO_BUNDLES_DIR / name / "model.onnx")).graph
    # the token heads' switch is an If too (classifiers/train/gate_tokens.py): not attention
    branches = [n for n in graph.node if n.op_type == "If" and n.input[0] != "token_heads"]
    condition = {o: n for n in graph.node for o in n.output}
    assert len(branches) in (4, 6)  # guard-minilm-l4 / guard-minilm layers
    for node in branches:
        branch = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        then, other = branch["then_branch"], branch["else_branch"]
        (flash,) = then.node
        assert flash.op_type == "MultiHeadAttention" and len(flash.input) == 3  # no mask
        assert "Softmax" in {n.op_type for n in other.node}
        assert condition[node.input[0]].op_type == "Equal"  # min(attention_mask) == 1
        assert condition[condition[node.input[0]].input[0]].input == ["attention_mask"]
