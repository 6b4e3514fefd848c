"""Score a candidate graph (a new fine-tune's own heads) the way refit.py scores refit heads.

    nice -n 5 python -m classifiers.train.candidate --run ft \\
        --graph /tmp/ftb/guard-minilm/model.onnx [--write-bundle /tmp/ftb/guard-minilm [--card]]

Per-channel thresholds are calibrated on each channel's validation negatives at the budgets of
refit.py; dev/ (out of family, never trained on) and our probes give the acceptance table of
issue #17 next to `shipped` from the committed refit.json (the bundle as it was). With
`--write-bundle`, the bundle the graph belongs to (exported by export.py) gets the candidate's
stage-less (1 % / 0.1 % validation FPR) and per-stage thresholds; `--card` also writes the
comparison into its MODEL_CARD.md and classifiers/train/refit.json. Nothing here trains on dev/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import data as D
from .evaluate import build_val_set
from .inj_head import WINDOW, set_window
from .refit import (
    RUNS,
    card_section,
    dev_rows,
    evaluate_candidate,
    fires,
    outcome,
    parse_budgets,
    pooled_thresholds,
    previous_heads,
    rehash,
    update_manifest,
    write_card,
)

COMMITTED = Path(__file__).resolve().parent / "refit.json"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="ft")
    ap.add_argument("--graph", type=Path, required=True, help="int8 graph with both seq heads")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--budgets", help="FPR budgets, e.g. input.injection=0.01,output.harm=0.02")
    ap.add_argument(
        "--write-bundle",
        type=Path,
        help="write the thresholds (stage-less at 1 %% / 0.1 %% FPR, per stage) into this "
        "bundle's bundle.yaml (the graph's bundle)",
    )
    ap.add_argument("--card", action="store_true", help="also the model card section")
    ap.add_argument(
        "--window",
        type=int,
        nargs=2,
        metavar=("TOKENS", "STRIDE"),
        help="runtime window and stride to score with (default: the bundle default)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.window:
        set_window(*args.window)
    t0 = time.time()
    run = RUNS / args.run
    run.mkdir(parents=True, exist_ok=True)
    budgets = parse_budgets(args.budgets)
    val = build_val_set(args.data_dir)
    res = evaluate_candidate(
        run, args.graph, args.data_dir, previous_heads(args.graph), val, budgets
    )
    arrays = res.pop("arrays")
    dev = dev_rows(args.data_dir)
    res["dev_injection_by_language"] = by_language(arrays, dev, res["thresholds"])
    shipped = json.loads(COMMITTED.read_text())["shipped"]
    res["dev_auc"] = dev_auc(arrays, dev, shipped)
    res["outcome_at_shipped_thresholds"] = outcome(arrays, dev, shipped["thresholds"])
    print("dev/injection ROC AUC / AP:", res["dev_auc"], flush=True)
    before = json.loads(COMMITTED.read_text())
    report = {
        "budgets": {f"{s}.{h}": b for (s, h), b in budgets.items()},
        "previous": before["shipped"],
        "finetune": res,
        "seconds": round(time.time() - t0, 1),
    }
    (run / "candidate.json").write_text(json.dumps(report, indent=1))
    for key in ("validation", "outcome"):
        for name, value in res[key].items():
            print(f"{name:40s} shipped {before['shipped'][key][name]:.4f}  candidate {value:.4f}")
    if args.write_bundle is None:
        return
    default = pooled_thresholds(val, arrays, 0.01)
    strict = pooled_thresholds(val, arrays, 0.001)
    info = {"command": "python -m classifiers.train.candidate " + " ".join(sys.argv[1:])}
    update_manifest(args.write_bundle, res["thresholds"], default, strict, info)
    set_manifest_window(args.write_bundle / "bundle.yaml", *WINDOW)
    served = _served(res["thresholds"], default)
    print("wrote thresholds into", args.write_bundle / "bundle.yaml", flush=True)
    if args.card:
        shipped = {**res, "thresholds": served}
        section = card_section(
            {**report, "shipped": shipped},
            columns=("previous", "shipped"),
            title="Full fine-tune and per-channel thresholds (issue #17, `candidate.py`)",
            intro=CARD_INTRO,
        )
        write_card(args.write_bundle, section)
        rehash(args.write_bundle)
        (Path(__file__).parent / "refit.json").write_text(
            json.dumps({**report, "shipped": shipped}, indent=1)
        )


CARD_INTRO = """Every layer of the encoder was fine-tuned (train.py `--freeze-layers 0 --epochs 2
--max-len 128 --doc-max-len 256 --harm-frac 0.6 --extra --pooled-heads --vary-benign`: two
epochs, windows of 128 tokens for prompts and 256 for documents, long benign rows on a
hash-chosen window, our over-defense rows from overdefense.py, MLP heads on every layer's mean and
the last layer's maximum), then the pii head was trained again on the new encoder (pii.py).
`previous` = the bundle this one replaced (the one-epoch, 96-token, partly frozen encoder with
the refit harm head), as measured by refit.py at its shipped thresholds; `shipped` = this
bundle at its per-channel thresholds, calibrated on each channel's validation negatives at the
budgets {budgets}. dev/ rows are out of family (never trained on: train.py `--extra` refuses to
start if a training text is a dev/ text); probes are our own held-out templates (probes.py).
Rates are the share of rows the default policy's classifier rules block at the named stage."""


def dev_auc(arrays: dict, dev: dict, shipped: dict) -> dict[str, float]:
    """Threshold-free dev/injection numbers (attack score = 1 - P(benign)), as finetune_ft.json
    reports them (ROC AUC, average precision), and the input rule's (injection / jailbreak /
    harm unsafe) attacks and traps blocked at the shipped bundle's thresholds (`shipped`:
    refit.json's entry) and at the best injection / jailbreak thresholds that block at most the
    shipped traps rate -- an oracle set on dev itself, for comparing models, not for serving."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([e.inj > 0 for e in dev["injection"]])
    score = 1.0 - arrays["injection_injection"][:, 0]
    at_shipped = fires(arrays, "injection", "input", shipped["thresholds"])
    traps = shipped["outcome"]["dev_injection_benign_blocked"]
    return {
        "injection_roc_auc": round(float(roc_auc_score(y, score)), 4),
        "injection_ap": round(float(average_precision_score(y, score)), 4),
        "attacks_blocked_at_shipped_thresholds": round(float(at_shipped[y].mean()), 4),
        "traps_blocked_at_shipped_thresholds": round(float(at_shipped[~y].mean()), 4),
        "attacks_blocked_at_shipped_traps_rate": best_at_traps(arrays, y, shipped, traps),
    }


def best_at_traps(arrays: dict, y: np.ndarray, shipped: dict, traps: float) -> float:
    """Most attacks the input rule blocks with any injection / jailbreak thresholds (harm unsafe
    at the shipped one) while blocking at most `traps` of the benign rows. Only thresholds just
    above a benign row's probability (or 0) change the outcome, so those are all tried."""
    p = arrays["injection_injection"]
    harm = arrays["injection_harm"][:, 0] >= shipped["thresholds"]["input"]["harm"]["unsafe"]
    grid = [np.r_[np.nextafter(np.unique(p[~y, c]), 2.0), 0.0] for c in (1, 2)]
    best = 0.0
    for a in grid[0]:
        hit = (p[:, 1:2] >= a) | (p[:, 2:3] >= grid[1][None, :]) | harm[:, None]
        ok = hit[~y].mean(0) <= traps + 1e-9
        if ok.any():
            best = max(best, float(hit[y][:, ok].mean(0).max()))
    return round(best, 4)


def by_language(arrays: dict, dev: dict, th: dict) -> dict:
    """dev/injection.jsonl at the input stage per `lang:` tag: attacks and benign rows blocked."""
    hit = fires(arrays, "injection", "input", th)
    out: dict = {}
    for e, fired in zip(dev["injection"], hit, strict=True):
        lang = next((t[5:] for t in e.tags if t.startswith("lang:")), "untagged")
        kind = "attacks" if e.inj > 0 else "benign"
        cell = out.setdefault(lang, {}).setdefault(kind, [0, 0])
        cell[0] += int(fired)
        cell[1] += 1
    return {
        lang: {kind: f"{b}/{n} blocked" for kind, (b, n) in sorted(cells.items())}
        for lang, cells in sorted(out.items())
    }


def set_manifest_window(path: Path, max_len: int, stride: int) -> None:
    """bundle.yaml's runtime window: the one the thresholds were calibrated with."""
    import yaml

    manifest = yaml.safe_load(path.read_text())
    manifest["max_length"], manifest["window_stride"] = max_len, stride
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, width=100, allow_unicode=True))


def _served(by_stage: dict, default: dict) -> dict:
    """What each stage serves: its calibrated thresholds, else the stage-less defaults."""
    return {
        stage: {h: by_stage.get(stage, {}).get(h, default[h]) for h in ("injection", "harm")}
        for stage in ("input", "retrieved", "output")
    }


if __name__ == "__main__":
    main()
