"""refit_compare.py: the oracle operating point and the paired bootstrap between encoders."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("torch")
pytest.importorskip("sklearn")

from classifiers.train.refit_compare import at_most, paired_bootstrap  # noqa: E402


def test_at_most_keeps_within_the_negative_budget() -> None:
    """With 4 negatives a 25 % budget blocks exactly the highest one (and the positives above
    the next); a 0 % budget blocks only positives above every negative, 100 % everything."""
    scores = np.array([0.9, 0.5, 0.4, 0.1, 0.95, 0.6, 0.45, 0.2])
    positive = np.array([False, False, False, False, True, True, True, True])
    assert at_most(scores, positive, 0.25) == [0.5, 0.25]
    assert at_most(scores, positive, 0.0) == [0.25, 0.0]
    assert at_most(scores, positive, 1.0) == [1.0, 1.0]


def _rows(seed: int = 1):
    rng = np.random.default_rng(seed)
    positive = np.r_[np.ones(60, bool), np.zeros(40, bool)]
    noise = rng.normal(0, 1, 100)
    return positive, noise


def test_the_same_scores_differ_by_nothing() -> None:
    """An entry against itself: difference 0, interval [0, 0], never higher."""
    positive, noise = _rows()
    scores = noise + positive
    for kind, budget in (("auc", None), ("at_most", 0.05)):
        res = paired_bootstrap(scores, scores.copy(), positive, kind, budget, n=200)
        assert res == {"difference": 0.0, "ci95": [0.0, 0.0], "share_higher": 0.0}


def test_a_clearly_better_encoder_has_an_interval_above_zero_and_is_reproducible() -> None:
    """Scores that separate the classes far better give a positive difference whose whole
    95 % interval is above 0; the same seed gives the same answer."""
    positive, noise = _rows()
    weak, strong = noise + 0.3 * positive, noise + 3.0 * positive
    res = paired_bootstrap(weak, strong, positive, "auc", None, n=300)
    assert res["difference"] > 0.3 and res["ci95"][0] > 0 and res["share_higher"] == 1.0
    assert res == paired_bootstrap(weak, strong, positive, "auc", None, n=300)
    worse = paired_bootstrap(strong, weak, positive, "at_most", 0.1, n=300)
    assert worse["difference"] < 0 and worse["ci95"][1] < 0


def test_entries_named_with_a_seed_are_summarised_per_name() -> None:
    """`NAME #k` entries give each number's mean, sd and values per NAME; a lone or unnumbered
    entry gives no summary."""
    from classifiers.train.refit_compare import over_seeds

    def entry(auc: float, answers: float) -> dict:
        return {
            "dev_injection_roc_auc": auc,
            "dev_attacks_blocked_at_traps_0.068": [auc - 0.2, 0.06],
            "dev_attacks_blocked_at_traps_0.03": [auc - 0.4, 0.02],
            "dev_harm_text_roc_auc": 0.75,
            "dev_hateful_blocked_at_non_hateful_0.10": [0.3, 0.1],
            "validation": {"harm_auprc": 0.95},
            "outcome_calibrated": {"probe_harmful_answers_blocked": answers},
        }

    report = {"a #0": entry(0.88, 0.9), "a #1": entry(0.86, 0.8), "b #0": entry(0.9, 1.0)}
    report["c"] = entry(0.5, 0.5)
    seeds = over_seeds(report)
    assert list(seeds) == ["a"]
    assert seeds["a"]["dev_injection_roc_auc"]["mean"] == 0.87
    assert seeds["a"]["dev_injection_roc_auc"]["values"] == [0.88, 0.86]
    assert seeds["a"]["calibrated probe_harmful_answers_blocked"]["sd"] == round(0.1 / 2**0.5, 4)
    assert seeds["a"]["dev_attacks_blocked_at_traps_0.068"]["values"] == [0.88 - 0.2, 0.86 - 0.2]
