"""A shallower, faster bundle from the trained guard-minilm: cut layers, fine-tune, refit, export.

    nice -n 5 python -m classifiers.train.student --data-dir ../shared/data

Why: at the realistic prompt mix (p50 ≈ 42 tokens) the int8 forward pass is almost all of a
guard call, and its cost is linear in the number of transformer layers. The student keeps the
teacher's fine-tuned embeddings, heads and layers --keep-layers (default 0,2,4,5 of 0-5), is
fine-tuned with the teacher's own recipe (train.py, same rows, one epoch, first layer frozen),
then gets the same second stage as the teacher (inj_head.py: injection head refit on the int8
graph's runtime windows) and the same evaluation (evaluate.py, its own metrics file and model
card). It has no pii token head: names and places need the full bundle.

Steps: train -> export -> inj_head -> export -> evaluate, into runs/<run>/ and --bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import data as D

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = "nice -n 5 python -m classifiers.train.student --data-dir ../shared/data"


def main(argv=None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--teacher", default="full", help="run whose model.pt is cut")
    ap.add_argument("--run", default="l4")
    ap.add_argument("--keep-layers", default="0,2,4,5")
    ap.add_argument("--bundle", type=Path, default=REPO_ROOT / "classifiers" / "guard-minilm-l4")
    ap.add_argument("--skip-train", action="store_true", help="reuse runs/<run>/model.pt")
    args = ap.parse_args(argv)
    t0 = time.time()
    from . import train as T
    from .evaluate import headline, run_eval
    from .export import export
    from .inj_head import train_injection_head

    run_dir = T.RUNS / args.run
    if not args.skip_train:
        teacher = T.RUNS / args.teacher / "model.pt"
        cut = ["--init", str(teacher), "--keep-layers", args.keep_layers, "--freeze-layers", "1"]
        targs = T.parse_args(["--run", args.run, "--data-dir", str(args.data_dir), *cut])
        sys.argv = ["classifiers.train.train", "--run", args.run, *cut]  # recorded in the meta
        T.train(targs)
    meta_path = run_dir / "train_meta.json"
    meta = json.loads(meta_path.read_text())
    meta["rebuild_command"] = COMMAND
    meta_path.write_text(json.dumps(meta, indent=1))
    export(run_dir / "model.pt", args.bundle)
    inj = train_injection_head(run_dir, args.data_dir, args.bundle / "model.onnx")
    export(inj, args.bundle)
    m = run_eval(args.run, args.data_dir, args.bundle)
    summary = {**headline(m), "total_seconds": round(time.time() - t0, 1)}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
