"""`guardrail check` says in --help what it does on a block, and does it (issue #21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.cli import main

POLICY = """\
version: 1
guards:
  words: {kind: keywords, keywords: [forbidden]}
rules:
  - {name: no-words, guard: words, stages: [input], action: block}
"""


def test_check_help_states_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """`check --help` names exit 1 for a block (scripts gate on it)."""
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "1 blocked" in help_text and "0 allowed" in help_text


def test_check_exit_codes_match_the_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A blocked text exits 1, an allowed one 0."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    assert main(["check", "--policy", str(path), "a forbidden word"]) == 1
    assert main(["check", "--policy", str(path), "a fine word"]) == 0
    capsys.readouterr()
