"""`guardrail demo` (what `make demo` runs) really goes through the proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.cli import main

DEFAULT = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"


def test_demo_table_shows_real_outcomes(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo redacts PII upstream and restores it, strips invisible text and blocks attacks."""
    assert main(["demo", "--policy", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[0].strip(): line for line in out.splitlines() if "|" in line}
    pii = rows["PII in prompt (restored)"]
    assert "redact-pii" in pii and "jane.doe@example.com" in pii and "<EMAIL_1>" in pii
    assert "block-injection" in rows["prompt injection"]
    assert "(not called)" in rows["prompt injection"]  # a block never reaches the upstream
    assert "block-injection" in rows["injection in base64"]  # read decoded
    assert "strip-invisible" in rows["invisible characters"]
    assert "<OPENAI_API_KEY_1>" in rows["secret in answer, streamed…"]
