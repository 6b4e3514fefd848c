"""Used as a library, guardrail prints nothing until the app configures logging (issue #21).

Each case runs in a fresh interpreter: the suite's conftest configures JSON logging to stderr.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_snippet() -> str:
    """The README's in-process example, as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"In-process:\n\n```python\n(.*?)```", readme, re.S)
    assert match is not None, "README has no in-process python block"
    return match.group(1)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter in the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDRAIL_")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_readme_snippet_prints_only_what_it_prints() -> None:
    """The README's in-process example writes its two print lines and nothing else."""
    result = run_python(readme_snippet())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "redact ('Email me at <EMAIL_1>',)",
        "Sure, jane@example.com!",
    ]


def test_events_reach_stdlib_logging_once_configured() -> None:
    """With `logging.basicConfig`, `policy.decided` arrives as a JSON record of the
    `guardrail.pipeline` logger on stderr, still without the text."""
    code = "import logging, sys\nlogging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
    result = run_python(code + readme_snippet())
    assert result.returncode == 0, result.stderr
    records = [
        json.loads(line.split(":", 2)[2])
        for line in result.stderr.splitlines()
        if line.startswith("INFO:guardrail.pipeline:")
    ]
    decided = [r for r in records if r["event"] == "policy.decided"]
    assert decided and decided[0]["action"] == "redact"
    assert "jane@example.com" not in result.stderr
    assert "policy.decided" not in result.stdout
