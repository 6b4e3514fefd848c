"""The ONNX Runtime fusions the runtime leaves off are real optimiser names that change the
shipped graphs (ONNX Runtime ignores unknown names silently, so a typo would cost the speed-up
without any error; issue #20)."""

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
