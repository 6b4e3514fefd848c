"""bench/bench_classifier.py's torch-free section runs against the shipped bundle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from guardrail.inference.bundle import REPO_BUNDLES_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not (REPO_BUNDLES_DIR / "guard-minilm" / "bundle.yaml").is_file(), reason="no bundle"
)
def test_token_head_section_of_the_classifier_bench_runs() -> None:
    """`--token-head --quick` keeps working with the runtime's API (it has no other caller)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_classifier.py"), "--token-head", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| tokens | graph without head ms | bundle ms |" in done.stdout
