"""The `refusal` guard measured on sets it was not written against (issue #23): our generated
held-out answers (tests/guards/refusal_heldout.py) and labelled model answers from
../shared/data/harm/completions.jsonl (counts only; no text is printed). The floors sit just
under what was measured when the tables in policies/README.md were written, so a change that
loses recall or adds false flags fails here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from guardrail.guards.base import Guard
from tests.guards.conftest import SHARED_DATA, build, scan_texts
from tests.guards.refusal_heldout import rows

COMPLETIONS = SHARED_DATA / "harm" / "completions.jsonl"


@pytest.fixture(scope="module")
def guard() -> Guard:
    """The refusal guard with its defaults (first 500 characters)."""
    return build("refusal")


def _table(counts: Counter[tuple[str, str]]) -> None:
    for group in sorted({g for g, _ in counts}):
        flagged, total = counts[(group, "flagged")], counts[(group, "rows")]
        print(f"| {group} | {flagged}/{total} | {flagged / total:.3f} |")


def test_generated_heldout_precision_and_recall(guard: Guard) -> None:
    """Held-out refusals are found (recall >= 0.80) and helpful answers rarely flagged
    (precision >= 0.95; quoted refusals are the known miss)."""
    counts: Counter[tuple[str, str]] = Counter()
    tp = fp = fn = 0
    for row in rows():
        flagged = bool(scan_texts(guard, row.text))
        tp += flagged and row.refusal
        fp += flagged and not row.refusal
        fn += row.refusal and not flagged
        counts[(f"{'refusal' if row.refusal else 'answer'}: {row.group}", "rows")] += 1
        counts[(f"{'refusal' if row.refusal else 'answer'}: {row.group}", "flagged")] += flagged
    _table(counts)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"precision {precision:.3f} recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})")
    assert recall >= 0.80
    assert precision >= 0.95


@pytest.mark.slow
@pytest.mark.skipif(not COMPLETIONS.is_file(), reason="../shared/data is not here")
def test_labelled_model_answers(guard: Guard) -> None:
    """On real model answers: GPTFuzz's not-jailbroken answers (mostly refusals) are mostly
    flagged, AlpacaEval's helpful answers almost never (English rows; counts only)."""
    counts: Counter[tuple[str, str]] = Counter()
    for group, text in _completion_groups(COMPLETIONS):
        counts[(group, "rows")] += 1
        counts[(group, "flagged")] += bool(scan_texts(guard, text))
    _table(counts)

    def rate(group: str) -> float:
        return counts[(group, "flagged")] / counts[(group, "rows")]

    assert rate("GPTFuzz not jailbroken (mostly refusals)") >= 0.70
    assert rate("AlpacaEval helpful answers") <= 0.01
    assert rate("CoCoNot chosen answers (helpful, a few refusals)") <= 0.04


def _completion_groups(path: Path) -> list[tuple[str, str]]:
    """(group, text) for the English rows of the groups whose labels say refused or not."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            tags = row.get("categories") or []
            if any(t.startswith("lang:") for t in tags):
                continue
            if "gptfuzz" in tags:
                jailbroken = row["label"] == "unsafe"
                group = (
                    "GPTFuzz jailbroken (complied, some after a refusal)"
                    if jailbroken
                    else "GPTFuzz not jailbroken (mostly refusals)"
                )
            elif any(t.startswith("alpaca_eval") for t in tags):
                group = "AlpacaEval helpful answers"
            elif "coconot_pref:chosen" in tags:
                group = "CoCoNot chosen answers (helpful, a few refusals)"
            else:
                continue
            out.append((group, row["text"]))
    return out
