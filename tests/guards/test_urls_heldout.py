"""The `urls` guard measured on a set it was not written against (issue #23): links in
sentences and link-like texts without a link (tests/guards/urls_heldout.py). The floors sit
just under what was measured for the table in policies/README.md."""

from __future__ import annotations

from collections import Counter

from tests.guards.conftest import build, scan_texts
from tests.guards.urls_heldout import POLICY, Row, rows

Span = tuple[int, int, str]


def _score(row: Row, predicted: list[Span], counts: Counter[tuple[str, str]]) -> None:
    """Count, per label, links found (tp), missed (fn) and spans on no such link (fp)."""
    for start, end, labels in row.links:
        for label in labels:
            hit = any(p == label and s < end and e > start for s, e, p in predicted)
            counts[(label, "tp" if hit else "fn")] += 1
        counts[("url", "exact")] += (start, end, "url") in predicted
    for s, e, p in predicted:
        if not any(p in labels and s < end and e > start for start, end, labels in row.links):
            counts[(p, "fp")] += 1


def test_heldout_precision_and_recall_per_label() -> None:
    """Every label finds >= 98 % of its links with precision >= 0.99, and >= 98 % of link
    spans are exact; at most 3 of the 20 link-free texts (code such as `df.info`) get a link."""
    guard = build("urls", **POLICY)
    counts: Counter[tuple[str, str]] = Counter()
    negatives_flagged = 0
    for row in rows():
        predicted = [
            (s.start, s.end, f.label) for f in scan_texts(guard, row.text) for s in f.spans
        ]
        _score(row, predicted, counts)
        negatives_flagged += not row.links and bool(predicted)
    links = counts[("url", "tp")] + counts[("url", "fn")]
    for label in sorted({label for label, _ in counts} - {"url"} | {"url"}):
        tp, fp, fn = (counts[(label, k)] for k in ("tp", "fp", "fn"))
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        print(f"| {label} | {tp + fn} | {precision:.3f} | {recall:.3f} | {fp} |")
        assert recall >= 0.98, label
        assert precision >= 0.99, label
    print(f"exact spans {counts[('url', 'exact')]}/{links}; negatives flagged {negatives_flagged}")
    assert counts[("url", "exact")] >= 0.98 * links
    assert negatives_flagged <= 3
