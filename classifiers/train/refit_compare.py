"""Threshold-free dev/ numbers of refit heads on different encoders, side by side.

    python -m classifiers.train.refit_compare \\
        "shipped encoder=classifiers/guard-minilm:/tmp/g_2ba871e.onnx:r2:heads_extra.pt" \\
        "ft=/tmp/ftb2/guard-minilm:/tmp/ftb2/guard-minilm/model.onnx:ftr:heads_extra.pt" \\
        "ft, own heads=/tmp/ftb2/guard-minilm:/tmp/ftb2/guard-minilm/model.onnx:ftr:own" \\
        --out classifiers/train/runs/ftr/compare.json

Each entry is NAME=BUNDLE:GRAPH:RUN:HEADS -- the bundle whose pooled layout the heads read
(refit.py `--bundle`), the int8 graph the window features come from, the refit run whose feature
caches and heads are used, and the heads file in that run (`own`: the graph's own heads). refit.py
compares candidates at per-channel thresholds calibrated on validation; an encoder that shifts
every score compares better at one operating point: here, per entry, dev/injection ROC AUC (attack
score 1 - P(benign)), the attacks blocked at the most the shipped traps rate allows (and at 3 %),
dev/harm_text ROC AUC and the hateful rows blocked at the most 10 % (and the shipped 46.5 %) of the
non-hateful ones may be -- oracle thresholds set on dev itself, for comparing encoders, never for
serving -- next to refit.py's calibrated outcome. Nothing here trains.

With two or more entries, `paired` gives each later entry's difference from the first with a
95 % interval from a paired, stratified bootstrap over dev/'s rows (`--bootstrap` resamples;
attacks and traps, hateful and non-hateful rows are resampled separately, the same rows for
both entries): dev/ has 272 attacks, 74 traps and about 3,700 harm_text rows, and an operating
point set by the fifth-highest trap moves with a few rows, so a difference whose interval
holds 0 is not evidence for either encoder (and one that excludes 0 may still be the refit's
seed: see below).

Refits of one encoder with different `refit.py --seed` move these numbers too (Session 15: dev
AUC by ~0.01-0.02, harmful answers by ~0.05). Entries named `NAME #k` (e.g. `base #1` with RUN's
heads_extra_s1.pt) are summarised per NAME under `seeds`: each metric's mean, standard deviation
and values over the seeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import data as D
from . import refit as R
from .evaluate import build_val_set


def at_most(scores: np.ndarray, positive: np.ndarray, max_negatives: float) -> list[float]:
    """[positives blocked, negatives blocked] at the lowest threshold that blocks at most
    `max_negatives` of the negatives (a row is blocked when its score is above it)."""
    neg = np.sort(scores[~positive])[::-1]
    k = int(np.floor(max_negatives * len(neg) + 1e-9))
    threshold = neg[k] if k < len(neg) else -np.inf
    return [
        round(float((scores[positive] > threshold).mean()), 4),
        round(float((neg > threshold).mean()), 4),
    ]


METRICS = {  # name -> (which of compare()'s dev score arrays, metric kind, negatives budget)
    "dev_injection_roc_auc": ("attack", "auc", None),
    "dev_attacks_blocked_at_traps_0.068": ("attack", "at_most", 0.068),
    "dev_attacks_blocked_at_traps_0.03": ("attack", "at_most", 0.03),
    "dev_harm_text_roc_auc": ("hateful", "auc", None),
    "dev_hateful_blocked_at_non_hateful_0.10": ("hateful", "at_most", 0.10),
}


def metric(kind: str, budget: float | None, scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC, or the positives blocked at the oracle threshold within `budget`."""
    from sklearn.metrics import roc_auc_score

    if kind == "auc":
        return float(roc_auc_score(positive, scores))
    return at_most(scores, positive, budget or 0.0)[0]


def paired_bootstrap(
    first: np.ndarray,
    other: np.ndarray,
    positive: np.ndarray,
    kind: str,
    budget: float | None,
    n: int,
    seed: int = 0,
) -> dict:
    """`other` minus `first` on the same rows: the point difference, a 95 % percentile interval
    over `n` stratified resamples (positives and negatives drawn separately, with replacement,
    the same draw for both score arrays) and the share of resamples where `other` is higher."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    point = metric(kind, budget, other, positive) - metric(kind, budget, first, positive)
    diffs = np.empty(n)
    for i in range(n):
        rows = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        mask = positive[rows]
        diffs[i] = metric(kind, budget, other[rows], mask) - metric(kind, budget, first[rows], mask)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "difference": round(point, 4),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
        "share_higher": round(float((diffs > 0).mean()), 3),
    }


def compare(bundle: Path, graph: Path, run: str, heads_file: str, val: list) -> dict:
    """One entry's numbers (see the module docstring); its dev scores under "scores"."""
    from sklearn.metrics import roc_auc_score

    R.use_bundle(bundle)
    n_in = 384 * (len(R.MEANS) + len(R.MAXES))
    heads = (
        R.previous_heads(graph)
        if heads_file == "own"
        else R.load_heads(R.RUNS / run / heads_file, n_in)
    )
    res = R.evaluate_candidate(R.RUNS / run, graph, D.DEFAULT_DATA_DIR, heads, val)
    arrays, dev = res["arrays"], R.dev_rows(D.DEFAULT_DATA_DIR)
    attack = np.array([e.inj > 0 for e in dev["injection"]])
    attack_score = 1.0 - arrays["injection_injection"][:, 0]
    hateful = np.array([e.harm[0] == 1 for e in dev["harm_text"]])
    unsafe = arrays["harm_text_harm"][:, 0]
    return {
        "dev_injection_roc_auc": round(float(roc_auc_score(attack, attack_score)), 4),
        "dev_attacks_blocked_at_traps_0.068": at_most(attack_score, attack, 0.068),
        "dev_attacks_blocked_at_traps_0.03": at_most(attack_score, attack, 0.03),
        "dev_harm_text_roc_auc": round(float(roc_auc_score(hateful, unsafe)), 4),
        "dev_hateful_blocked_at_non_hateful_0.10": at_most(unsafe, hateful, 0.10),
        "dev_hateful_blocked_at_non_hateful_0.465": at_most(unsafe, hateful, 0.465),
        "validation": res["validation"],
        "outcome_calibrated": res["outcome"],
        "scores": {"attack": (attack_score, attack), "hateful": (unsafe, hateful)},
    }


def paired(report: dict, n: int) -> dict:
    """Each entry after the first against the first (`paired_bootstrap`), per METRICS."""
    names = list(report)
    out = {}
    for name in names[1:]:
        out[f"{name} - {names[0]}"] = {
            key: paired_bootstrap(
                report[names[0]]["scores"][array][0],
                report[name]["scores"][array][0],
                report[name]["scores"][array][1],
                kind,
                budget,
                n,
            )
            for key, (array, kind, budget) in METRICS.items()
        }
    return out


def over_seeds(report: dict) -> dict:
    """{NAME: {metric: {mean, sd, values}}} for entries named `NAME #k` (two or more per NAME),
    over `flat`'s numbers."""
    groups: dict[str, list[dict]] = {}
    for name, entry in report.items():
        base, sep, _ = name.rpartition(" #")
        if sep:
            groups.setdefault(base, []).append(entry)
    out = {}
    for name, entries in groups.items():
        if len(entries) < 2:
            continue
        out[name] = {}
        for key in flat(entries[0]):
            values = [flat(e)[key] for e in entries]
            out[name][key] = {
                "mean": round(float(np.mean(values)), 4),
                "sd": round(float(np.std(values, ddof=1)), 4),
                "values": values,
            }
    return out


def flat(entry: dict) -> dict[str, float]:
    """An entry's numbers by name: METRICS (positives blocked for operating points), then
    validation and the calibrated outcome."""
    out = {k: entry[k] if isinstance(entry[k], float) else entry[k][0] for k in METRICS}
    out.update({f"validation {k}": v for k, v in entry["validation"].items()})
    out.update({f"calibrated {k}": v for k, v in entry["outcome_calibrated"].items()})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("entries", nargs="+", help="NAME=BUNDLE:GRAPH:RUN:HEADS")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--bootstrap", type=int, default=2000, help="resamples for `paired` (0: off)")
    args = ap.parse_args(argv)
    val = build_val_set(D.DEFAULT_DATA_DIR)
    report = {}
    for entry in args.entries:
        name, _, spec = entry.partition("=")
        bundle, graph, run, heads_file = spec.split(":")
        report[name] = compare(Path(bundle), Path(graph), run, heads_file, val)
        shown = {k: v for k, v in report[name].items() if k not in ("outcome_calibrated", "scores")}
        print(name, json.dumps(shown), flush=True)
    if args.bootstrap and len(report) > 1:
        pairs = paired(report, args.bootstrap)
        print(json.dumps(pairs, indent=1), flush=True)
    for entry in report.values():
        entry.pop("scores")
    if args.bootstrap and len(report) > 1:
        report["paired"] = pairs
    seeds = over_seeds(report)
    if seeds:
        report["seeds"] = seeds
        print(json.dumps(seeds), flush=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
