"""Rebuild the guard-minilm bundle end to end:
train -> pii head -> export -> injection head on the int8 graph -> export -> LOSO -> evaluate.

    nice -n 5 python -m classifiers.train.all [--data-dir ../shared/data] [--run full]

Steps can be resumed: --skip-train reuses runs/<run>/model.pt, --skip-pii reuses
runs/<run>/model_pii.pt, --skip-inj reuses runs/<run>/model_inj.pt, --skip-loso reuses
loso.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import data as D


def main(argv=None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--run", default="full")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-pii", action="store_true")
    ap.add_argument("--skip-inj", action="store_true")
    ap.add_argument("--skip-loso", action="store_true")
    args, train_args = ap.parse_known_args(argv)
    t0 = time.time()
    from . import train as T

    ckpt = T.RUNS / args.run / "model.pt"
    if not args.skip_train:
        targs = T.parse_args(["--run", args.run, "--data-dir", str(args.data_dir), *train_args])
        sys.argv = ["classifiers.train.train", "--run", args.run, *train_args]
        ckpt = T.train(targs)
    if args.skip_pii:
        ckpt = ckpt.parent / "model_pii.pt"
    else:
        from .pii import train_pii

        ckpt = train_pii(ckpt, args.data_dir)  # frozen encoder: other heads unchanged
    from .export import BUNDLE_DIR, export

    if args.skip_inj:
        ckpt = ckpt.parent / "model_inj.pt"
    else:  # the injection head learns from the int8 graph's own features (inj_head.py)
        from .inj_head import train_injection_head

        export(ckpt)
        ckpt = train_injection_head(ckpt.parent, args.data_dir, BUNDLE_DIR / "model.onnx")
    export(ckpt)
    if not args.skip_loso:
        from .loso import run_loso

        run_loso(args.data_dir)
    from .evaluate import run_eval

    m = run_eval(args.run, args.data_dir)
    h = m["heads"]
    print(
        json.dumps(
            {
                "injection_recall_at_1pct_fpr": h["injection"]["attack_vs_benign(1-p_benign)"].get(
                    "recall_at_1pct_fpr"
                ),
                "harm_unsafe_auprc": h["harm"]["unsafe"].get("auprc"),
                "hard_negatives": m["hard_negatives"],
                "int8_vs_fp32": m["int8_vs_fp32"],
                "pii": {k: m.get("pii", {}).get(k) for k in ("val", "heldout", "latency_1thread")},
                "total_seconds": round(time.time() - t0, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
