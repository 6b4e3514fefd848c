"""Calibrate and measure the `topics` guard on our own labelled set (topics_data.py; issue #23).

    nice -n 10 .venv-train/bin/python -m classifiers.train.topics_eval     # writes topics.json

For each encoder (the shipped bundles through the guard's own scoring, and the untuned base
all-MiniLM-L6-v2 through sentence-transformers for comparison) it embeds every row and every
topic description (as `guardrail.guards.topics.phrase` words it), then:

* deny-list: for each topic, its rows are positives and every other row (other topics and
  off-topic requests, near misses included) negatives; one threshold for all topics;
* allow-list: a customer-support app allowing orders, billing and account; a row outside them
  is a positive (`off_topic`), flagged when its best similarity to the allowed topics is below
  the threshold.

Each threshold is picked on `calibrate` (best F1 over the pooled topic/row pairs) and reported
on `test` (other asks, other openers). Counts and scores only: no text is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .topics_data import MORE, SPLITS, TOPICS, rows

ALLOWED = ("orders", "billing", "account")
OUT = Path(__file__).with_name("topics.json")
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> [n, dim], unit rows


def bundle_embedder(name: str) -> Embed:
    """The guard's own path: the runtime's unit embeddings (each prompt here is one window)."""
    from guardrail.guards.topics import embedder
    from guardrail.inference import get_runtime
    from guardrail.settings import Settings

    return embedder(get_runtime(name, settings=Settings(inference_workers=1, inference_threads=1)))


def base_embedder() -> Embed:
    """The untuned all-MiniLM-L6-v2 (mean pooling, normalised), one thread."""
    import torch
    from sentence_transformers import SentenceTransformer

    from .model import base_model_dir

    torch.set_num_threads(1)
    model = SentenceTransformer(str(base_model_dir()), device="cpu")
    return lambda texts: np.asarray(model.encode(list(texts), normalize_embeddings=True))


def prf(flags: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and counts of boolean predictions."""
    tp = int((flags & truth).sum())
    fp = int((flags & ~truth).sum())
    fn = int((~flags & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def best_threshold(scores: np.ndarray, truth: np.ndarray, above: bool, both: bool = False) -> float:
    """The threshold with the best F1 (ties: the first); `above`: flag score >= t; `both`:
    the mean F1 of both classes, so the smaller class (on-topic requests) counts as much."""
    best, pick = -1.0, 0.0
    for t in np.round(np.arange(0.05, 0.95, 0.005), 3):
        flags = scores >= t if above else scores < t
        f1 = prf(flags, truth)["f1"]
        if both:
            f1 = (f1 + prf(~flags, ~truth)["f1"]) / 2
        if f1 > best:
            best, pick = f1, float(t)
    return pick


def deny(sims: np.ndarray, labels: list[str], t: float | None = None) -> tuple[float, dict]:
    """Every (row, topic) pair: flagged when similarity >= t; per-topic and pooled P/R."""
    names = list(TOPICS)
    truth = np.array([[label == n for n in names] for label in labels])
    if t is None:
        t = best_threshold(sims.ravel(), truth.ravel(), above=True)
    report = {"pooled": prf(sims.ravel() >= t, truth.ravel())}
    for j, name in enumerate(names):
        report[name] = prf(sims[:, j] >= t, truth[:, j])
    return t, report


def allow(sims: np.ndarray, labels: list[str], t: float | None = None) -> tuple[float, dict]:
    """Rows outside ALLOWED are positives, flagged when their best allowed similarity < t."""
    columns = [list(TOPICS).index(n) for n in ALLOWED]
    best = sims[:, columns].max(axis=1)
    truth = np.array([label not in ALLOWED for label in labels])
    if t is None:
        t = best_threshold(best, truth, above=False, both=True)
    on_topic = ~truth
    wrongly = int((best[on_topic] < t).sum())
    return t, {
        "off_topic": prf(best < t, truth),
        "on_topic_flagged": round(wrongly / max(1, int(on_topic.sum())), 3),
    }


def allow_more(embed: Embed) -> dict:
    """The allow-list with MORE descriptions per allowed topic (max over descriptions)."""
    from guardrail.guards.topics import TopicSpace

    topics = {name: [d, *MORE.get(name, [])] for name, d in TOPICS.items()}
    space = TopicSpace(embed, topics)
    split_rows = {s: rows(s) for s in SPLITS}
    sims = {s: _similarities(space, embed([r.text for r in split_rows[s]])) for s in SPLITS}
    labels = {s: [r.topic for r in split_rows[s]] for s in SPLITS}
    t, _ = allow(sims["calibrate"], labels["calibrate"])
    return {"allow_threshold": t, "test": allow(sims["test"], labels["test"], t)[1]}


def evaluate(embed: Embed, centred: bool = True) -> dict:
    """Thresholds from `calibrate`, scores on both splits, scored as the guard scores
    (`TopicSpace`; `centred=False`: plain cosine, for comparison)."""
    from guardrail.guards.topics import TopicSpace

    space = TopicSpace(embed, {name: [d] for name, d in TOPICS.items()})
    if not centred:
        space.center = np.zeros_like(space.center)
        space.vectors = embed([p for p in _phrases()])
    split_rows = {s: rows(s) for s in SPLITS}
    sims = {s: _similarities(space, embed([r.text for r in split_rows[s]])) for s in SPLITS}
    labels = {s: [r.topic for r in split_rows[s]] for s in SPLITS}
    t_deny, cal_deny = deny(sims["calibrate"], labels["calibrate"])
    t_allow, cal_allow = allow(sims["calibrate"], labels["calibrate"])
    return {
        "deny_threshold": t_deny,
        "allow_threshold": t_allow,
        "calibrate": {"deny": cal_deny["pooled"], "allow": cal_allow},
        "test": {
            "deny": deny(sims["test"], labels["test"], t_deny)[1],
            "allow": allow(sims["test"], labels["test"], t_allow)[1],
            # the shipped default (the deny threshold, see the guard) used for the allow-list
            "allow_at_deny_threshold": allow(sims["test"], labels["test"], t_deny)[1],
        },
        "rows": {s: len(split_rows[s]) for s in SPLITS},
    }


def _phrases() -> list[str]:
    from guardrail.guards.topics import phrase

    return [phrase(d) for d in TOPICS.values()]


def _similarities(space, vectors: np.ndarray) -> np.ndarray:
    """[rows, topics]: each row as a one-window text, as the guard scores it."""
    return np.vstack([space.similarity(v[None, :]) for v in vectors])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-base", action="store_true", help="skip the untuned base model")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    encoders: dict[str, Callable[[], Embed]] = {
        "guard-minilm": lambda: bundle_embedder("guard-minilm"),
        "guard-minilm-l4": lambda: bundle_embedder("guard-minilm-l4"),
    }
    if not args.no_base:
        encoders["base all-MiniLM-L6-v2 (untuned)"] = base_embedder
    results = {}
    for name, make in encoders.items():
        embed = make()
        for centred in (True, False):
            key = name if centred else f"{name}, plain cosine"
            results[key] = evaluate(embed, centred)
            if centred:
                results[key]["allow_more_descriptions"] = allow_more(embed)
                print(key, "more", results[key]["allow_more_descriptions"], flush=True)
            test = results[key]["test"]
            print(
                key,
                results[key]["deny_threshold"],
                test["deny"]["pooled"],
                results[key]["allow_threshold"],
                test["allow"],
                flush=True,
            )
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
