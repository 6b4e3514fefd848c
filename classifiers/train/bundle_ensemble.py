"""Would averaging guard-minilm with guard-multilingual rank dev/ better? (issue #17)

    python -m classifiers.train.bundle_ensemble [--out classifiers/train/bundle_ensemble.json]

Two encoders pre-trained on different data make different mistakes, so the mean of their
scores can rank better than either. This scores every row of dev/injection.jsonl and
dev/harm_text.jsonl (out of family, scored only, never trained on) with both shipped bundles
through the serving runtime, and reports ROC AUC for each bundle and for their weighted mean of
ranks and of logits (weights fixed beforehand: 0.25 and 0.5 on guard-multilingual). Attack
score: P(injection) + P(jailbreak) of guard-minilm's `injection_prompts` (what the default
policy reads prompts with) and of guard-multilingual's `injection`; harm: `unsafe`. Prints
numbers only, never a row. Run it with the train venv (scikit-learn); it imports no torch.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from guardrail.inference.runtime import load_runtime

from . import data as D

HEADS = {  # (bundle, head) per task
    "injection": (("guard-minilm", "injection_prompts"), ("guard-multilingual", "injection")),
    "harm_text": (("guard-minilm", "harm"), ("guard-multilingual", "harm")),
}
WEIGHTS = (0.25, 0.5)  # on the second bundle


def _score(rows: list[dict[str, Any]], bundle: str, head: str) -> np.ndarray:
    runtime = load_runtime(bundle)
    try:
        scores = runtime.score_sync([r["text"] for r in rows])
    finally:
        runtime.close()
    if head == "harm":
        return np.array([s[head]["unsafe"] for s in scores])
    return np.array([s[head]["injection"] + s[head]["jailbreak"] for s in scores])


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)) / max(1, len(x) - 1)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def measure(data_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task, ((b1, h1), (b2, h2)) in HEADS.items():
        rows = list(D.read_jsonl(data_dir / "dev" / f"{task}.jsonl"))
        y = np.array([r["label"] not in ("benign", "safe") for r in rows])
        a, b = _score(rows, b1, h1), _score(rows, b2, h2)
        report = {b1: roc_auc_score(y, a), b2: roc_auc_score(y, b)}
        for w in WEIGHTS:
            report[f"rank mean, w={w}"] = roc_auc_score(y, (1 - w) * _ranks(a) + w * _ranks(b))
            report[f"logit mean, w={w}"] = roc_auc_score(y, (1 - w) * _logit(a) + w * _logit(b))
        out[task] = {k: round(float(v), 4) for k, v in report.items()} | {"rows": len(rows)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    report = measure(args.data_dir)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
