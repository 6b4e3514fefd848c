"""The encoder's pooled sentence embedding, served from the same pass as the heads (issue #23)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from guardrail.errors import BundleError
from guardrail.inference.bundle import REPO_BUNDLES_DIR, load_bundle, read_manifest
from guardrail.inference.runtime import ClassifierRuntime
from guardrail.settings import Settings

SHIPPED = [n for n in ("guard-minilm", "guard-minilm-l4") if (REPO_BUNDLES_DIR / n).is_dir()]
SETTINGS = Settings(inference_workers=1, inference_batching=False)


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request: pytest.FixtureRequest) -> Iterator[ClassifierRuntime]:
    """A runtime over each shipped bundle (hashes verified at load)."""
    with ClassifierRuntime(load_bundle(request.param), SETTINGS) as runtime:
        yield runtime


def test_shipped_bundles_declare_the_embedding() -> None:
    """Both shipped bundles declare a 384-wide mean-pooled `sentence_embedding` output."""
    for name in SHIPPED:
        spec = read_manifest(REPO_BUNDLES_DIR / name).embedding
        assert spec is not None
        assert (spec.output, spec.dim, spec.pooling) == ("sentence_embedding", 384, "mean")


def test_one_unit_vector_per_window(shipped: ClassifierRuntime) -> None:
    """A short text gets one unit-length row; a long one a row per scored window."""
    short, long = "How do I reset my router?", "The harbour was quiet that morning. " * 250
    (result_short, result_long) = asyncio.run(shipped.score_until([short, long]))
    assert result_short.embeddings is not None and result_long.embeddings is not None
    assert result_short.embeddings.shape == (1, 384)
    assert result_long.embeddings.shape == (len(shipped.windows(long)), 384)
    assert result_long.embeddings.shape[0] > 1
    norms = np.linalg.norm(result_long.embeddings, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_the_embedding_costs_no_second_pass(shipped: ClassifierRuntime) -> None:
    """Scores and embeddings of one text come from one forward pass per window."""
    text = "Could you recommend a good book about the history of Rome?"
    before = shipped.forward_passes
    asyncio.run(shipped.score([text]))
    assert shipped.forward_passes == before + 1
    (result,) = asyncio.run(shipped.score_until([text]))
    (vector,) = shipped.embed_sync([text])
    assert shipped.forward_passes == before + 1
    assert result.embeddings is not None and np.array_equal(result.embeddings, vector)


def test_related_texts_are_closer(shipped: ClassifierRuntime) -> None:
    """Two questions on one subject are closer than either is to an unrelated one."""
    flu, cold, tax = shipped.embed_sync(
        [
            "What are the first symptoms of the flu in children?",
            "My son has a fever and a sore throat, should I see a doctor?",
            "How do I file my income tax return as a freelancer?",
        ]
    )
    assert float(flu[0] @ cold[0]) > float(flu[0] @ tax[0])
    assert float(flu[0] @ cold[0]) > float(cold[0] @ tax[0])


def test_a_declared_output_missing_from_the_graph_is_a_bundle_error(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """bundle.yaml naming an embedding output the graph lacks fails at load, naming it."""
    folder = Path(shutil.copytree(tiny_bundle, tmp_path / "tiny"))
    yaml = YAML()
    manifest = yaml.load((folder / "bundle.yaml").read_text())
    manifest["embedding"] = {"output": "no_such_output", "dim": 8}
    with (folder / "bundle.yaml").open("w") as fh:
        yaml.dump(manifest, fh)
    with pytest.raises(BundleError, match="no_such_output"):
        ClassifierRuntime(load_bundle(folder), SETTINGS)


def test_a_bundle_without_an_embedding_says_so(tiny_bundle: Path) -> None:
    """`embed_sync` on a bundle that declares no embedding is a ValueError, not a crash."""
    with ClassifierRuntime(load_bundle(tiny_bundle), SETTINGS) as runtime:
        assert runtime.embedding_dim is None
        with pytest.raises(ValueError, match="no embedding"):
            runtime.embed_sync(["hello"])
