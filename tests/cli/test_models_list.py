"""`guardrail models list` fails loudly when it finds no bundle (issue #21)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_models_list_without_bundles_exits_1_and_says_where_it_looked(tmp_path: Path) -> None:
    """A package with no checkout beside it, no installed bundles and no GUARDRAIL_BUNDLES_DIR
    prints where it looked on stderr and exits 1 (it used to print nothing and exit 0)."""
    skip = shutil.ignore_patterns("bundles")  # compiled caches stay valid: mtimes are kept
    shutil.copytree(ROOT / "guardrail", tmp_path / "pkg" / "guardrail", ignore=skip)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARDRAIL_", "PYTHON"))}
    env["PYTHONPATH"] = str(tmp_path / "pkg")
    code = "import sys; from guardrail.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "models", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "no classifier bundles found" in result.stderr
    assert str(tmp_path / "pkg" / "guardrail" / "bundles") in result.stderr
