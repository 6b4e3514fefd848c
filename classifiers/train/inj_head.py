"""Second-stage injection head on the frozen, quantized encoder, trained on runtime windows.

    nice -n 5 python -m classifiers.train.inj_head --run full

Why: the encoder is fine-tuned on 96-token windows (documents 192) to fit the CPU budget, but
the runtime scores 512-token windows, and the injection head reads only the last layer's mean.
This stage keeps the encoder (and so the harm and pii heads) bit-identical and trains a new
`injection` head on what the shipped int8 graph really computes at serving time: the masked
mean of every layer's output (hidden_states 1..depth) for each runtime window of each
training row.

* Features come from the int8 bundle graph itself (the layer outputs are exposed as extra
  outputs of a session), so training sees the serving-time numbers, and are cached per run.
* Rows: the encoder's training rows with injection labels, plus the training part of the
  non-English prompts and documents (data.load_multilingual_injection), so that "not English"
  is neither a reason to fire nor a way around the head.
* Window labels: every window of a benign row is benign; an attack row that spans several
  windows is multiple-instance: only its window the current head scores highest is a positive.
* Candidates (layers, hidden width) are compared on a group-held-out part of the *training*
  split (never on validation); the winner is refit on all training windows, and validation is
  scored once, as evaluate.py does (max over windows of 1 - p(benign)).
* Writes runs/<run>/model_inj.pt (the pii checkpoint with the new injection head) and
  runs/<run>/inj_head.json (counts and metrics only; no text is printed or written).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import data as D
from .encoding import load_tokenizer, pad, runtime_windows
from .evaluate import build_val_set, recall_at_fpr, softmax
from .export import LAYER_OUTPUT, MAX_LENGTH, WINDOW_STRIDE, graph_depth, session
from .model import GuardModel, HeadSpec, load_checkpoint, make_head, save_checkpoint
from .train import build_train_set

RUNS = Path(__file__).resolve().parent / "runs"
HARD_REPEAT = 3


def candidates(depth: int) -> tuple[tuple[str, tuple[int, ...], tuple[int, ...], int], ...]:
    """(name, hidden_states whose token means are used, ... whose token maxima are used, hidden
    width) for an encoder of `depth` layers; the first is the fine-tuned head's input (last
    layer's mean, linear) refit on runtime windows, so the comparison separates the two changes.
    """
    every = tuple(range(1, depth + 1))
    return (
        ("last_linear", (depth,), (), 0),
        (f"l1-{depth}_mlp512", every, (), 512),
        (f"l1-{depth}+max{depth}_mlp512", every, (depth,), 512),
    )


def feature_session(onnx_path: Path):
    """The bundle graph with every layer's output exposed as an extra graph output."""
    import onnx

    model = onnx.load(str(onnx_path))
    names = [LAYER_OUTPUT.format(i) for i in range(graph_depth(onnx_path))]
    for name in names:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    # built in memory: a file next to the bundle's model.onnx would be listed and shipped
    return session(model.SerializeToString()), names


WINDOW = [MAX_LENGTH, WINDOW_STRIDE]  # runtime window (tokens) and stride the features use


def set_window(max_len: int, stride: int) -> None:
    """Score with other runtime windows than the bundle default (feature caches keep apart)."""
    WINDOW[:] = [max_len, stride]


def window_features(onnx_path: Path, texts: list[str], desc: str):
    """(features [windows, 2*depth*384] float16: every layer's mean then max over the tokens;
    owner row per window; injection logits per window)."""
    sess, names = feature_session(onnx_path)
    tok = load_tokenizer()
    windows, owner = [], []
    for i, enc in enumerate(tok.encode_batch(texts, add_special_tokens=False)):
        for w in runtime_windows(enc.ids, *WINDOW):
            windows.append(w)
            owner.append(i)
    feats = np.zeros((len(windows), 2 * len(names) * 384), dtype=np.float16)
    logits = np.zeros((len(windows), 3), dtype=np.float32)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    bar = tqdm(total=len(order), desc=desc, mininterval=10)
    start = 0
    while start < len(order):
        idx = order[start : start + max(1, min(64, 8192 // len(windows[order[start]])))]
        while len(idx) > 1 and len(idx) * len(windows[idx[-1]]) > 8192:
            idx = idx[:-1]
        feeds = pad([windows[j] for j in idx])
        outs = sess.run(["injection_logits", *names], feeds)
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        means = [(h * mask).sum(1) / mask.sum(1) for h in outs[1:]]
        maxes = [np.where(mask > 0, h, -1e4).max(1) for h in outs[1:]]
        feats[idx] = np.concatenate(means + maxes, axis=1).astype(np.float16)
        logits[idx] = outs[0]
        start += len(idx)
        bar.update(len(idx))
    bar.close()
    return feats, np.array(owner), logits


def _row_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def cached_features(run_dir: Path, split: str, onnx_path: Path, rows: list[D.Example]):
    """window_features for `rows`, computing only rows the run's cache does not hold yet.

    The cache (runs/<run>/inj_feats_<split>.npz) is keyed by the graph's bytes and, per row, by a
    hash of its text, so adding hard negatives costs only their own windows.
    """
    model_key = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    if WINDOW != [MAX_LENGTH, WINDOW_STRIDE]:
        model_key += "|window={}/{}".format(*WINDOW)
    cache = run_dir / f"inj_feats_{split}.npz"
    keys, feats, owner, logits = _load_cache(cache, model_key, graph_depth(onnx_path))
    index = {k: i for i, k in enumerate(keys)}
    wanted = [_row_key(e.text) for e in rows]
    missing = sorted({k: i for i, k in enumerate(wanted) if k not in index}.values())
    if missing:
        f, o, lg = window_features(onnx_path, [rows[i].text for i in missing], f"features {split}")
        base = len(keys)
        keys = keys + [wanted[i] for i in missing]
        index.update({wanted[i]: base + j for j, i in enumerate(missing)})
        feats, owner, logits = np.r_[feats, f], np.r_[owner, o + base], np.r_[logits, lg]
        np.savez(cache, keys=np.array(keys), model=np.array(model_key), feats=feats,
                 owner=owner, logits=logits)  # fmt: skip
    return _gather([index[k] for k in wanted], feats, owner, logits)


def _load_cache(cache: Path, model_key: str, depth: int):
    empty = ([], np.zeros((0, 2 * depth * 384), np.float16), np.zeros(0, np.int64),
             np.zeros((0, 3), np.float32))  # fmt: skip
    if not cache.exists():
        return empty
    data = np.load(cache)
    if str(data["model"]) != model_key:
        return empty
    return list(data["keys"]), data["feats"], data["owner"], data["logits"]


def _gather(cached_rows: list[int], feats, owner, logits):
    """The windows of `cached_rows`, in that order, with owner renumbered to 0..len-1."""
    by_row: dict[int, list[int]] = {}
    for w, r in enumerate(owner):
        by_row.setdefault(int(r), []).append(w)
    take = [(i, w) for i, r in enumerate(cached_rows) for w in by_row[r]]
    idx = np.array([w for _, w in take], dtype=np.int64)
    return feats[idx], np.array([i for i, _ in take], dtype=np.int64), logits[idx]


def window_labels(rows: list[D.Example], owner: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Label per window; -1 drops an attack row's windows other than its top-scored one."""
    attack = 1.0 - softmax(logits)[:, 0]
    labels = np.array([rows[i].inj for i in owner])
    best: dict[int, int] = {}
    for w, i in enumerate(owner):
        if rows[i].inj > 0 and (i not in best or attack[w] > attack[best[i]]):
            best[i] = w
    for w, i in enumerate(owner):
        if rows[i].inj > 0 and best[i] != w:
            labels[w] = -1
    return labels


def select(feats: np.ndarray, layers: tuple[int, ...], max_layers: tuple[int, ...] = ()):
    """Columns of the means of `layers` then the maxima of `max_layers` (hidden_states index)."""
    depth = feats.shape[1] // (2 * 384)
    blocks = [k - 1 for k in layers] + [depth + k - 1 for k in max_layers]
    cols = np.concatenate([np.arange(b * 384, (b + 1) * 384) for b in blocks])
    return torch.from_numpy(feats[:, cols].astype(np.float32))


def head_spec(hidden: int, layers=(), max_layers=()) -> HeadSpec:
    """The injection head's spec: softmax over INJ_LABELS, reading the pooled layers."""
    return HeadSpec(
        "injection", "softmax", tuple(D.INJ_LABELS), ("benign",),
        hidden=hidden, pool=tuple(layers), pool_max=tuple(max_layers),
    )  # fmt: skip


def fit(x, y, w, hidden: int, epochs: int = 20, seed: int = 0) -> torch.nn.Module:
    """Softmax head on pooled features: AdamW, class-balanced sample weights, mini-batches."""
    torch.manual_seed(seed)
    head = make_head(head_spec(hidden), x.shape[1])  # plain HeadSpec: input width = x's
    counts = np.bincount(y, minlength=3).astype(np.float64)
    balance = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    yt, wt = torch.from_numpy(y), torch.from_numpy(w.astype(np.float32))

    def loss_fn(out, b):
        loss = F.cross_entropy(out, yt[b], reduction="none") * wt[b] * balance[yt[b]]
        return loss.sum() / (wt[b] * balance[yt[b]]).sum()

    return train_loop(head, x, len(y), loss_fn, epochs, seed)


def train_loop(head, x, n: int, loss_fn, epochs: int, seed: int, forward=None) -> torch.nn.Module:
    """AdamW with a one-cycle schedule over shuffled mini-batches of 256 rows of `x`, with
    dropout 0.1 on the inputs; `loss_fn(head output, batch indices)`. `forward(batch indices)`
    replaces `head(dropout(x[batch]))` for a head with other inputs."""
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * ((n + 255) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    head.train()
    for _ in range(epochs):
        for b in torch.randperm(n, generator=gen).split(256):
            out = head(F.dropout(x[b], 0.1, training=True)) if forward is None else forward(b)
            loss = loss_fn(out, b)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return head.eval()


@torch.no_grad()
def row_attack(head, x, owner: np.ndarray, n_rows: int) -> np.ndarray:
    """Per row, max over its windows of 1 - p(benign) (the runtime's windowing rule)."""
    return per_row_max(1.0 - torch.softmax(head(x), -1)[:, 0].numpy(), owner, n_rows)


def per_row_max(attack: np.ndarray, owner: np.ndarray, n_rows: int) -> np.ndarray:
    """The highest window score of each row."""
    out = np.zeros(n_rows)
    np.maximum.at(out, owner, attack)
    return out


def previous_head(logits: np.ndarray, owner: np.ndarray, n_rows: int) -> np.ndarray:
    """Per row, the fine-tuned head's attack score (the graph's own injection logits)."""
    return per_row_max(1.0 - softmax(logits)[:, 0], owner, n_rows)


def row_metrics(rows: list[D.Example], attack: np.ndarray) -> dict:
    inj = np.array([e.inj for e in rows])
    pos, neg = attack[inj > 0], attack[inj == 0]
    from sklearn.metrics import average_precision_score

    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return {
        "n_pos": len(pos),
        "n_neg": len(neg),
        "recall_at_1pct_fpr": round(recall_at_fpr(pos, neg, 0.01), 4),
        "recall_at_0.1pct_fpr": round(recall_at_fpr(pos, neg, 0.001), 4),
        "auprc": round(float(average_precision_score(y, np.r_[pos, neg])), 4),
    }


def inner_split(rows: list[D.Example]) -> np.ndarray:
    """Row mask of a group-held-out fifth of the training split (for choosing a candidate)."""
    return np.array([D.stable_hash("inner|" + e.group) % 5 == 0 for e in rows])


def compare(rows, feats, owner, labels, options) -> dict:
    """Each candidate trained on 4/5 of the training groups, scored on the other fifth."""
    held = inner_split(rows)
    w = np.array([rows[i].weight for i in owner])
    fit_mask = (~held[owner]) & (labels >= 0)
    sub = np.flatnonzero(held)
    remap = -np.ones(len(rows), dtype=np.int64)
    remap[sub] = np.arange(len(sub))
    win = np.flatnonzero(held[owner])
    results = {}
    for name, layers, max_layers, hidden in options:
        x = select(feats, layers, max_layers)
        head = fit(x[fit_mask], labels[fit_mask], w[fit_mask], hidden)
        attack = row_attack(head, x[win], remap[owner[win]], len(sub))
        results[name] = row_metrics([rows[i] for i in sub], attack)
        print(name, results[name], flush=True)
    return results


def multilingual(run_dir: Path, onnx_path: Path, rows: list[D.Example], head, best) -> dict:
    """Validation part of the non-English rows (not in the main validation set): new head vs
    the fine-tuned head it replaces."""
    if not rows:
        return {}
    feats, owner, logits = cached_features(run_dir, "val_multilingual", onnx_path, rows)
    x = select(feats, best[1], best[2])
    return {
        "new": row_metrics(rows, row_attack(head, x, owner, len(rows))),
        "previous_head": row_metrics(rows, previous_head(logits, owner, len(rows))),
    }


def new_checkpoint(run_dir: Path, head: torch.nn.Module, candidate) -> Path:
    """model_pii.pt (else model.pt) with the injection head replaced by the new one."""
    base = run_dir / "model_pii.pt"
    model, meta = load_checkpoint(base if base.exists() else run_dir / "model.pt")
    _name, layers, max_layers, hidden = candidate
    spec = head_spec(hidden, layers, max_layers)
    specs = tuple(spec if h.name == "injection" else h for h in model.head_specs)
    new = GuardModel(model.encoder, specs)
    for h in specs:
        new.heads[h.name] = head if h.name == "injection" else model.heads[h.name]
    out = run_dir / "model_inj.pt"
    save_checkpoint(new.eval(), out, {**meta, "injection_head": "inj_head.py"})
    return out


def train_injection_head(run_dir: Path, data_dir: Path, onnx_path: Path) -> Path:
    """Fit the head on `onnx_path`'s features (the int8 export of the run's checkpoint)."""
    t0 = time.time()
    # hard negatives x3: few rows (identifiers, homonyms, ...) against ~23 k benign windows
    ml_train, ml_val = D.split(D.load_multilingual_injection(data_dir))
    train = [e for e in build_train_set(data_dir, 0.5, 800, HARD_REPEAT) if e.inj >= 0]
    train += ml_train
    val = [e for e in build_val_set(data_dir) if e.inj >= 0]
    feats, owner, logits = cached_features(run_dir, "train", onnx_path, train)
    labels = window_labels(train, owner, logits)
    report = {"train_rows": len(train), "train_windows": len(owner)}
    options = candidates(graph_depth(onnx_path))
    report["candidates_inner"] = compare(train, feats, owner, labels, options)
    best = max(options, key=lambda c: report["candidates_inner"][c[0]]["recall_at_1pct_fpr"])
    name, layers, max_layers, hidden = best
    keep = labels >= 0
    w = np.array([train[i].weight for i in owner])
    head = fit(select(feats, layers, max_layers)[keep], labels[keep], w[keep], hidden)
    vfeats, vowner, vlogits = cached_features(run_dir, "val", onnx_path, val)
    report["chosen"] = name
    vx = select(vfeats, layers, max_layers)
    report["val_new"] = row_metrics(val, row_attack(head, vx, vowner, len(val)))
    report["val_previous_head"] = row_metrics(val, previous_head(vlogits, vowner, len(val)))
    report["multilingual_val"] = multilingual(run_dir, onnx_path, ml_val, head, best)
    out = new_checkpoint(run_dir, head, best)
    report["checkpoint"] = out.name
    report["seconds"] = round(time.time() - t0, 1)
    (run_dir / "inj_head.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report[k] for k in ("chosen", "val_new", "val_previous_head")}, indent=1))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="full")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    bundle_graph = D.REPO_ROOT / "classifiers/guard-minilm/model.onnx"
    ap.add_argument(
        "--onnx", type=Path, default=bundle_graph, help="int8 graph of the run's encoder"
    )
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_injection_head(RUNS / args.run, args.data_dir, args.onnx)


if __name__ == "__main__":
    main()
