"""Overlapping redactions from different guards hide everything either meant to hide.

A secret found in an encoded run and a PII value next to it can overlap by a character; the
edit that started later used to be dropped whole, so its uncovered part went upstream."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from guardrail.pipeline import Pipeline
from guardrail.policy.redact import Edit, Vault, apply_edits
from guardrail.types import Span, Stage

DEFAULT = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"


def _edit(start: int, end: int, entity: str, restore: bool, redact: bool = True) -> Edit:
    return Edit(span=Span(start=start, end=end, entity=entity), redact=redact, restore=restore)


def test_overlapping_redactions_become_one_over_their_union_never_restored() -> None:
    """PII (restored) overlapping a secret (never restored): one placeholder covers both, named
    after the secret, and the answer does not get it back."""
    text = "host 10.0.0.0/SECRETVALUE end"
    edits = [_edit(5, 14, "IP_ADDRESS", True), _edit(12, 25, "GITHUB_TOKEN", False)]
    out, vault = apply_edits(text, edits, Vault())
    assert out == "host <GITHUB_TOKEN_1> end"
    assert vault.restore("<GITHUB_TOKEN_1>") == "<GITHUB_TOKEN_1>"


def test_a_redaction_absorbs_an_overlapping_rewrite_and_apart_they_stay_apart() -> None:
    """A rewrite overlapping a redaction is redacted with it; edits that do not overlap are
    applied one by one, as before."""
    text = "aaa bbb ccc ddd"
    rewrite = Edit(span=Span(start=2, end=6, entity="x", replacement="-"), redact=False)
    out, _ = apply_edits(text, [rewrite, _edit(4, 7, "EMAIL", True)], Vault())
    assert out == "aa<EMAIL_1> ccc ddd"
    out, _ = apply_edits(text, [_edit(0, 3, "EMAIL", True), _edit(8, 11, "PHONE", True)], Vault())
    assert out == "<EMAIL_1> bbb <PHONE_1> ddd"


def test_a_base64_token_after_an_address_never_reaches_the_upstream() -> None:
    """Default policy: `10.0.0.0/<base64 of a GitHub token>`: the token's run is redacted."""
    token = base64.b64encode(b"ghp_16C7e42F292c6912E7710c838347Ae178B4a").decode()
    pipeline = Pipeline.from_file(DEFAULT)
    text = f"route 10.0.0.0/{token} please"
    decision = asyncio.run(pipeline.check(Stage.INPUT, [text], pipeline.new_request()))
    assert decision.action.value == "redact"
    assert token[:8] not in decision.texts[0] and "10.0.0.0" not in decision.texts[0]
