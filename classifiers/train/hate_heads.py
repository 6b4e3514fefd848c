"""Can a new `harm` head on the frozen encoder tell hate from counter-speech? (issue #17)

    nice -n 5 python -m classifiers.train.hate_heads --features-graph /tmp/g.onnx \
        [--variants base w3 nodav w3nodav attention]

The shipped harm head blocks about half of dev/harm_text's non-hateful functional cases
(counter-speech, quotes, negation, profanity, reclaimed slurs) at the recall it has on the
hateful ones. This script fits harm heads on the refit's cached window features (`refit.py`,
run r2: the shared training rows, overdefense.py's and counterspeech.py's) and scores dev/
harm_text threshold-free (ROC AUC, AP) and at matched recall (the non-hateful share blocked at
the threshold that blocks 0.835 and 0.90 of the hateful rows), per HateCheck functionality:

* `base`: the MLP head of refit.py (pooled features) on those rows;
* `w3`: counterspeech.py's rows weighted x3;
* `nodav`: without Davidson's "offensive language" rows (mostly profanity labelled harassment);
* `w3nodav`: both;
* `attention`: the pooled features plus an attention-pooled vector of the last layer's token
  states (a learned softmax over the tokens), in case mean pooling blurs "not" and quotes away.

dev/ is scored only (never trained on); the rows are counted, never printed. Writes
hate_heads.json next to this file. `--features-graph`: as for refit.py (the graph the r2
feature caches were computed with; its encoder must be the bundle's).
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import refit
from .encoding import pad, runtime_windows
from .inj_head import feature_session, load_tokenizer, select, train_loop

VARIANTS = ("base", "w3", "nodav", "w3nodav", "attention")
RECALLS = (0.835, 0.90)  # the shipped policy's hateful recall on dev, and the target
TOKEN_CAP = 128  # token states kept per row for the attention variant (dev rows are shorter)
OUT = Path(__file__).parent / "hate_heads.json"


def weight_fn(variant: str):
    """Row weight for a pooled-feature variant (0 drops the row)."""

    def fn(e: D.Example) -> float:
        if "nodav" in variant and "davidson:offensive_language" in e.tags:
            return 0.0
        boost = 3.0 if variant.startswith("w3") and e.family == "synthetic:counterspeech" else 1.0
        return e.weight * boost

    return fn


def dev_report(scores: np.ndarray, rows: list[D.Example]) -> dict:
    """Threshold-free and matched-recall numbers on dev/harm_text, per functionality."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([e.harm[0] == 1 for e in rows])
    func = np.array([next(t for t in e.tags if t.startswith("hatecheck:")) for e in rows])
    out: dict = {
        "roc_auc": round(float(roc_auc_score(y, scores)), 4),
        "ap": round(float(average_precision_score(y, scores)), 4),
    }
    for recall in RECALLS:
        t = np.quantile(scores[y], 1 - recall)
        out[f"non_hateful_blocked_at_recall_{recall}"] = round(float((scores[~y] >= t).mean()), 4)
        if recall == RECALLS[0]:
            bad = collections.Counter(func[~y][scores[~y] >= t])
            total = collections.Counter(func[~y])
            out["non_hateful_blocked_by_functionality"] = {
                k.split(":", 1)[1]: f"{bad[k]}/{total[k]}" for k in sorted(total)
            }
    return out


class AttentionHead(torch.nn.Module):
    """MLP on [pooled features ; attention-pooled last-layer token states] -> 12 logits."""

    def __init__(self, n_pooled: int) -> None:
        super().__init__()
        self.att = torch.nn.Sequential(
            torch.nn.Linear(384, 128), torch.nn.Tanh(), torch.nn.Linear(128, 1)
        )
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n_pooled + 384, refit.HIDDEN),
            torch.nn.ReLU(),
            torch.nn.Linear(refit.HIDDEN, len(D.HARM_LABELS)),
        )

    def forward(self, pooled, states, mask):
        a = self.att(states).squeeze(-1).masked_fill(mask == 0, -1e4).softmax(-1)
        return self.mlp(torch.cat([pooled, (a.unsqueeze(-1) * states).sum(1)], -1))


def token_states(graph: Path, texts: list[str]) -> list[np.ndarray]:
    """The last layer's states of each text's first TOKEN_CAP tokens (float16)."""
    sess, names = feature_session(graph)
    encs = load_tokenizer().encode_batch(texts, add_special_tokens=False)
    ids = [runtime_windows(e.ids, TOKEN_CAP, TOKEN_CAP)[0] for e in encs]
    out: list[np.ndarray] = [np.zeros(0)] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for s in range(0, len(order), 64):
        idx = order[s : s + 64]
        h = sess.run([names[-1]], pad([ids[i] for i in idx]))[0]
        for r, i in enumerate(idx):
            out[i] = h[r, : len(ids[i])].astype(np.float16)
    return out


def _batch(states: list[np.ndarray], idx) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(states[i]) for i in idx)
    h = np.zeros((len(idx), width, 384), np.float32)
    m = np.zeros((len(idx), width), np.float32)
    for r, i in enumerate(idx):
        h[r, : len(states[i])] = states[i]
        m[r, : len(states[i])] = 1
    return torch.from_numpy(h), torch.from_numpy(m)


def fit_attention(pooled, states, y, w, epochs: int = 12, seed: int = 0) -> AttentionHead:
    """refit.fit_harm's loss and schedule, with the attention head."""
    torch.manual_seed(seed)
    head = AttentionHead(pooled.shape[1])
    pt = torch.from_numpy(pooled)

    def forward(b: torch.Tensor) -> torch.Tensor:
        h, m = _batch(states, b.numpy())
        return head(F.dropout(pt[b], 0.1, True), F.dropout(h, 0.1, True), m)

    return train_loop(head, None, len(y), refit.harm_loss(y, w), epochs, seed, forward)


def first_windows(feats, owner, n_rows: int) -> np.ndarray:
    """Each row's first window's pooled features."""
    first: dict[int, int] = {}
    for w, r in enumerate(owner):
        first.setdefault(int(r), w)
    x = select(feats, refit.MEANS, refit.MAXES)
    return np.stack([x[first[i]] for i in range(n_rows)]).astype(np.float32)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--features-graph", type=Path)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    run = refit.RUNS / "r2"
    bundle = refit.BUNDLE / "model.onnx"
    graph = args.features_graph or bundle
    if graph != bundle:
        refit.same_encoder(graph, bundle)
    base, own = refit.train_rows(args.data_dir)
    refit.assert_no_dev(base + own["counter"], args.data_dir)
    rows, feats, owner, _ = refit.train_features(run, graph, base, own["counter"])
    dev = refit.dev_rows(args.data_dir)["harm_text"]
    report: dict = {"features_graph": str(graph), "train_rows": len(rows)}
    shipped = refit.scored(run, "dev", graph, dev, refit.previous_heads(bundle))["harm"][:, 0]
    report["shipped"] = dev_report(shipped, dev)
    x = select(feats, refit.MEANS, refit.MAXES)
    y_win = refit.harm_window_targets(rows, owner)
    for variant in args.variants:
        if variant == "attention":
            keep = [i for i, e in enumerate(rows) if not e.harm_masked]
            pooled = first_windows(feats, owner, len(rows))[keep]
            states = token_states(graph, [rows[i].text for i in keep])
            head = fit_attention(
                pooled,
                states,
                np.array([rows[i].harm for i in keep]),
                np.array([rows[i].weight for i in keep]),
            )
            dfe, dow, _ = refit.cached_features(run, "dev", graph, dev)
            dp = torch.from_numpy(first_windows(dfe, dow, len(dev)))
            ds = token_states(graph, [e.text for e in dev])
            with torch.no_grad():
                parts = []
                for i in range(0, len(dev), 256):
                    idx = list(range(i, min(i + 256, len(dev))))
                    h, m = _batch(ds, idx)
                    parts.append(torch.sigmoid(head(dp[idx], h, m))[:, 0].numpy())
            scores = np.concatenate(parts)
        else:
            w = np.array([weight_fn(variant)(rows[i]) for i in owner])
            keep_w = (y_win >= 0).any(1) & (w > 0)
            harm = refit.fit_harm(x[keep_w], y_win[keep_w], w[keep_w])
            scores = refit.scored(run, "dev", graph, dev, (lambda v, h=harm: (v[:, :3], h(v))))
            scores = scores["harm"][:, 0]
        report[variant] = dev_report(scores, dev)
        print(variant, json.dumps({k: v for k, v in report[variant].items() if "by_" not in k}))
    report["seconds"] = round(time.time() - t0)
    OUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
