"""`refit.rehash` refreshes a bundle manifest's file hashes and keeps its comments."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("torch")  # refit.py is training code (.venv-train)

from classifiers.train.refit import rehash

MANIFEST = """\
format: 1
name: tiny
# why the focus levels are what they are: this comment must survive a rehash
focus:
  above: 0.3
files:
  MODEL_CARD.md: 0000
"""


def test_rehash_updates_the_hash_and_keeps_comments(tmp_path: Path) -> None:
    """The listed file's sha256 is written; the manifest's comment and other keys stay."""
    (tmp_path / "MODEL_CARD.md").write_text("# card\n")
    (tmp_path / "bundle.yaml").write_text(MANIFEST)
    rehash(tmp_path)
    text = (tmp_path / "bundle.yaml").read_text()
    digest = hashlib.sha256(b"# card\n").hexdigest()
    assert f"MODEL_CARD.md: {digest}" in text
    assert "# why the focus levels are what they are" in text
    assert "above: 0.3" in text
