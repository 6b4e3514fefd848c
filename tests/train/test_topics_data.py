"""The topics guard's labelled set (classifiers/train/topics_data.py) keeps its splits apart."""

from __future__ import annotations

from collections import Counter

from classifiers.train.topics_data import ASKS, OPENERS, TOPICS, rows


def test_calibration_and_test_share_no_text_ask_or_opener() -> None:
    """No ask, opener or final text is in both splits: test numbers are on unseen phrasings."""
    calibrate, test = rows("calibrate"), rows("test")
    assert not {r.text for r in calibrate} & {r.text for r in test}
    assert not set(OPENERS[0][1:]) & set(OPENERS[1][1:])  # "{ask}" alone is the one shared
    for topic, (a, b) in ASKS.items():
        assert not set(a) & set(b), topic


def test_every_topic_has_forty_rows_per_split() -> None:
    """Each split: 40 rows per topic and 110 off-topic rows (near misses included)."""
    for split in ("calibrate", "test"):
        counts = Counter(r.topic for r in rows(split))
        assert {t: counts[t] for t in TOPICS} == dict.fromkeys(TOPICS, 40)
        assert counts["none"] == 110
