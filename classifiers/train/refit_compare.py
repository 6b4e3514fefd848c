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


def compare(bundle: Path, graph: Path, run: str, heads_file: str, val: list) -> dict:
    """One entry's numbers (see the module docstring)."""
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
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("entries", nargs="+", help="NAME=BUNDLE:GRAPH:RUN:HEADS")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    val = build_val_set(D.DEFAULT_DATA_DIR)
    report = {}
    for entry in args.entries:
        name, _, spec = entry.partition("=")
        bundle, graph, run, heads_file = spec.split(":")
        report[name] = compare(Path(bundle), Path(graph), run, heads_file, val)
        shown = {k: v for k, v in report[name].items() if k != "outcome_calibrated"}
        print(name, json.dumps(shown), flush=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
