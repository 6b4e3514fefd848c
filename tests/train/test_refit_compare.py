"""refit_compare.py: the oracle operating point never blocks more negatives than allowed."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("torch")
pytest.importorskip("sklearn")

from classifiers.train.refit_compare import at_most  # noqa: E402


def test_at_most_keeps_within_the_negative_budget() -> None:
    """With 4 negatives a 25 % budget blocks exactly the highest one (and the positives above
    the next); a 0 % budget blocks only positives above every negative, 100 % everything."""
    scores = np.array([0.9, 0.5, 0.4, 0.1, 0.95, 0.6, 0.45, 0.2])
    positive = np.array([False, False, False, False, True, True, True, True])
    assert at_most(scores, positive, 0.25) == [0.5, 0.25]
    assert at_most(scores, positive, 0.0) == [0.25, 0.0]
    assert at_most(scores, positive, 1.0) == [1.0, 1.0]
