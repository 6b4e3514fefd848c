"""PII token head (BIO over WordPiece tokens) on top of the FROZEN guard encoder.

    nice -n 5 python -m classifiers.train.pii --run full [--out-name _v4]

The encoder and the sequence heads are not touched, so the injection / harm outputs stay
bit-identical. Hidden states of the frozen encoder are computed once per text and cached in
memory; candidate heads (which layer(s), linear or one hidden layer) are trained on them and the
best by validation macro F1 (PERSON, LOCATION, ORGANIZATION) is kept. Writes
``runs/<run>/model_pii<NAME>.pt`` (the checkpoint plus the ``pii`` head) and
``runs/<run>/pii<NAME>.json`` (entity-level P/R/F1 per type on the validation split, on the dev
family (``pii_data.DEV``, never trained on) and on the held-out template family, per-type
thresholds chosen on validation, and the existing ``model_pii.pt`` head scored on the same rows);
``<NAME>`` is ``--out-name`` (default empty). The log prints validation and dev only.
The blind held-out family (``pii_data.BLIND``) is not even loaded here: only ``evaluate_bundle``
scores it, on the shipped int8 graph.
Counts and metrics only: no text is printed or written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import pii_data as P
from .encoding import CLS, SEP, bucket_batches, load_tokenizer, pad
from .model import GuardModel, HeadSpec, load_checkpoint, make_head, save_checkpoint

RUNS = Path(__file__).resolve().parent / "runs"
MAX_TOKENS = 510
PII_HEAD = HeadSpec("pii", "token", P.LABELS, ("O",))
# candidates: (name, hidden_states indices, width, conv kernel); hidden_states[6] == last layer;
# the others tried are in pii_experiments.json (numbers only); a wider convolution (7 / 9 tokens)
# sees a whole multi-word name, so its words get one type more often (conv5: val macro F1 0.909)
CANDIDATES = (
    ("layers1-6_conv7", (1, 2, 3, 4, 5, 6), 256, 7),
    ("layers1-6_conv9", (1, 2, 3, 4, 5, 6), 256, 9),
)
CACHED_LAYERS = (1, 2, 3, 4, 5, 6)
THRESHOLDS = {t: 0.5 for t in P.TYPES}
# train: fit; val + dev (a template family never trained on): choose and analyse errors;
# heldout (ticket family): reported only; the blind family is not even loaded here
SPLITS = ("train", "val", P.DEV, P.HELD)
WORD_LEVEL = True  # decode per word (first subword's probabilities), BUNDLE.md token heads


def encode(rows: list[P.PiiExample], tok, separators=P.SEPARATORS):
    """Token ids with [CLS]/[SEP], labels (-100 on specials) and token offsets per row."""
    seqs, labels, offsets = [], [], []
    seps = P.separator_ids(tok, separators)
    encs = tok.encode_batch([r.text for r in rows], add_special_tokens=False)
    for r, enc in zip(rows, encs, strict=True):
        ids, offs = enc.ids[:MAX_TOKENS], enc.offsets[:MAX_TOKENS]
        seqs.append([CLS, *ids, SEP])
        labels.append([-100, *P.bio_labels(offs, r.spans), -100])
        offsets.append(Offsets(offs, enc.word_ids[:MAX_TOKENS], [i in seps for i in ids]))
    return seqs, labels, offsets


class Offsets(list):
    """Token character offsets, with the tokenizer's word index per token in ``.words`` and
    whether each token is a separator (P.separator_ids) in ``.separators``."""

    def __init__(self, offs, words, separators):
        super().__init__(offs)
        self.words = list(words)
        self.separators = list(separators)


def _decode(probs, offs, thresholds, trim=True):
    """One row's entities; ``trim``: drop edge separators (predictions; gold is as labelled)."""
    words = offs.words if WORD_LEVEL else None
    return P.decode(probs, offs, thresholds, words, offs.separators if trim else None)


@torch.no_grad()
def hidden_states(model: GuardModel, seqs: list[list[int]], layers=CACHED_LAYERS):
    """Per sequence, {layer: float32 [len, hidden]} from the frozen encoder (eval mode)."""
    model.eval()
    out = [None] * len(seqs)
    for batch in bucket_batches([len(s) for s in seqs], 8192, 128, seed=0, shuffle=False):
        feeds = {k: torch.from_numpy(v) for k, v in pad([seqs[i] for i in batch]).items()}
        hs = model.encoder(**feeds, output_hidden_states=True).hidden_states
        for j, i in enumerate(batch):
            n = len(seqs[i])
            out[i] = {k: hs[k][j, :n].numpy().astype(np.float16) for k in layers}
    return out


def cached_hidden_states(model, seqs, checkpoint: Path, name: str = ""):
    """hidden_states(), cached next to the checkpoint (numbers only) for reruns."""
    cache = checkpoint.parent / f"pii_feats{name}.npz"
    key = np.array([checkpoint.stat().st_mtime, len(seqs), sum(map(len, seqs))])
    if cache.exists():
        z = np.load(cache)
        if np.array_equal(z["key"], key) and all(f"l{k}" in z for k in CACHED_LAYERS):
            cuts = np.cumsum([0, *map(len, seqs)])
            flat = {k: z[f"l{k}"] for k in CACHED_LAYERS}
            return [{k: flat[k][a:b] for k in CACHED_LAYERS} for a, b in itertools.pairwise(cuts)]
    feats = hidden_states(model, seqs)
    flat = {f"l{k}": np.concatenate([f[k] for f in feats]) for k in CACHED_LAYERS}
    np.savez(cache, key=key, **flat)
    return feats


def _batch(feats, labels, idx, layers):
    n = max(len(labels[i]) for i in idx)
    dim = sum(feats[idx[0]][k].shape[1] for k in layers)
    x = np.zeros((len(idx), n, dim), dtype=np.float32)
    mask = np.zeros((len(idx), n), dtype=np.int64)
    y = np.full((len(idx), n), -100, dtype=np.int64)
    for j, i in enumerate(idx):
        m = len(labels[i])
        x[j, :m] = np.concatenate([feats[i][k] for k in layers], -1)
        mask[j, :m] = 1
        y[j, :m] = labels[i]
    return torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(y)


def _call(head, spec, x, mask):
    return head(x, mask) if spec.kernel else head(x)


def train_head(feats, labels, idx, spec: HeadSpec, hidden: int, epochs: int = 10, seed: int = 0):
    """AdamW + one-cycle on cached hidden states, batches of similar-length sequences."""
    torch.manual_seed(seed)
    head = make_head(spec, hidden)
    lengths = [len(labels[i]) for i in idx]
    plans = [bucket_batches(lengths, 4096, 64, seed=seed + ep) for ep in range(epochs)]
    total = sum(len(p) for p in plans)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total)
    head.train()
    for plan in plans:
        for b in plan:
            x, mask, y = _batch(feats, labels, [idx[j] for j in b], spec.layers)
            logits = _call(head, spec, F.dropout(x, 0.1, training=True), mask)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
    return head.eval()


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def entity_scores(rows, probs, labels, offsets, thresholds=THRESHOLDS) -> dict:
    """Entity-level exact-span P/R/F1 per type; gold = token-aligned gold spans."""
    tp = {t: 0 for t in P.TYPES}
    npred, ngold = dict(tp), dict(tp)
    for p, lab, offs in zip(probs, labels, offsets, strict=True):
        gold_p = np.eye(len(P.LABELS))[np.asarray(lab[1:-1])]
        gold = {(a, b, t) for a, b, t, _ in _decode(gold_p, offs, {}, trim=False)}
        pred = {(a, b, t) for a, b, t, _ in _decode(p[1 : len(offs) + 1], offs, thresholds)}
        for t in P.TYPES:
            g = {e for e in gold if e[2] == t}
            q = {e for e in pred if e[2] == t}
            tp[t] += len(g & q)
            npred[t] += len(q)
            ngold[t] += len(g)
    out = {}
    for t in P.TYPES:
        pr = tp[t] / npred[t] if npred[t] else float("nan")
        rc = tp[t] / ngold[t] if ngold[t] else float("nan")
        f1 = 2 * pr * rc / (pr + rc) if npred[t] and ngold[t] and pr + rc > 0 else 0.0
        out[t] = {
            "gold": ngold[t],
            "pred": npred[t],
            "precision": round(pr, 4),
            "recall": round(rc, 4),
            "f1": round(f1, 4),
        }
    return out


def head_probs(head, spec, feats, labels, idx):
    out = [None] * len(idx)
    with torch.no_grad():
        for b in bucket_batches([len(labels[i]) for i in idx], 8192, 64, 0, shuffle=False):
            x, mask, _ = _batch(feats, labels, [idx[j] for j in b], spec.layers)
            logits = _call(head, spec, x, mask).numpy()
            for r, j in enumerate(b):
                out[j] = softmax(logits[r, : len(labels[idx[j]])])
    return out


def negative_fp(rows, probs, offsets, idx) -> dict:
    """Share of PII-free negatives with any predicted entity."""
    neg = [j for j, i in enumerate(idx) if rows[i].source == "negative"]
    hit = 0
    for j in neg:
        offs = offsets[idx[j]]
        hit += bool(_decode(probs[j][1 : len(offs) + 1], offs, {}))
    return {"n": len(neg), "rows_with_entity": hit, "rate": round(hit / max(1, len(neg)), 4)}


def score_head(head, spec, data, split) -> dict:
    """Val / held-out entity scores (default and per-type val-chosen thresholds), val negatives."""
    rows, feats, labels, offsets = data
    scored = [s for s in ("val", P.DEV, P.HELD) if s in split]
    probs = {s: head_probs(head, spec, feats, labels, split[s]) for s in scored}

    def scores(s, th=THRESHOLDS):
        sub = [[x[i] for i in split[s]] for x in (rows, labels, offsets)]
        return entity_scores(sub[0], probs[s], sub[1], sub[2], th)

    th = choose_thresholds(lambda t: scores("val", t))
    res = {"val": scores("val"), P.HELD: scores(P.HELD), "thresholds_val_chosen": th}
    res["val_negatives"] = negative_fp(rows, probs["val"], offsets, split["val"])
    res["val_tuned"], res[f"{P.HELD}_tuned"] = scores("val", th), scores(P.HELD, th)
    if P.DEV in split:
        res[P.DEV], res[f"{P.DEV}_tuned"] = scores(P.DEV), scores(P.DEV, th)
    res["val_macro_f1"] = round(macro(res["val"]), 4)
    return res


GRID = (0.4, 0.5, 0.6, 0.7, 0.8)


def choose_thresholds(score_val) -> dict:
    """Per type, the entity-score threshold with the best validation F1 (types score apart)."""
    res = {th: score_val({t: th for t in P.TYPES}) for th in GRID}
    return {t: max(GRID, key=lambda th: (res[th][t]["f1"], -abs(th - 0.5))) for t in P.TYPES}


def macro(res: dict) -> float:
    return float(np.mean([res[t]["f1"] for t in ("PERSON", "LOCATION", "ORGANIZATION")]))


def train_pii(
    checkpoint: Path, data_dir: Path, name: str = "", epochs: int = 10, candidates=None
) -> Path:
    t0 = time.time()
    model, meta = load_checkpoint(checkpoint)
    rows = [r for r in P.build(data_dir) if r.split != P.BLIND]  # blind: evaluate_bundle only
    tok = load_tokenizer()
    seqs, labels, offsets = encode(rows, tok)
    feats = cached_hidden_states(model, seqs, checkpoint, name)
    t_feat = time.time() - t0
    split = {s: [i for i, r in enumerate(rows) if r.split == s] for s in SPLITS}
    data = (rows, feats, labels, offsets)
    results, heads = {}, {}
    for cand, layers, hidden, kernel in CANDIDATES:
        if candidates and cand not in candidates:
            continue
        spec = HeadSpec("pii", "token", P.LABELS, ("O",), layers, hidden, kernel)
        size = model.encoder.config.hidden_size
        head = train_head(feats, labels, split["train"], spec, size, epochs)
        results[cand], heads[cand] = score_head(head, spec, data, split), (spec, head)
        _log(cand, results[cand])
    t_train = time.time() - t0 - t_feat
    best = max(results, key=lambda k: results[k]["val_macro_f1"])
    spec, head = heads[best]
    full = GuardModel(model.encoder, (*model.head_specs, spec))
    full.heads.load_state_dict({**model.heads.state_dict()}, strict=False)
    full.heads["pii"].load_state_dict(head.state_dict())
    out = checkpoint.parent / f"model_pii{name}.pt"
    report = {
        "chosen": best,
        "chosen_layers": list(spec.layers),
        "chosen_hidden": spec.hidden,
        "chosen_kernel": spec.kernel,
        "epochs": epochs,
        "candidates": results,
        "shipped_head_same_rows": _shipped(checkpoint.parent / "model_pii.pt", data, split),
        "rows": {s: len(v) for s, v in split.items()},
        "rows_per_source": _counts(rows),
        "train_tokens": int(sum(len(seqs[i]) for i in split["train"])),
        "feature_seconds": round(t_feat, 1),
        "train_seconds": round(t_train, 1),
        "seconds": round(time.time() - t0, 1),
        "heldout_family": P.HELDOUT_FAMILY,
    }
    save_checkpoint(full, out, {**meta, "pii": report})
    (checkpoint.parent / f"pii{name}.json").write_text(json.dumps(report, indent=1))
    print(f"pii head {best} -> {out} in {report['seconds']}s", flush=True)
    return out


def _log(cand: str, res: dict) -> None:
    """Validation and dev-family F1 only: the held-out families are test sets (in the json)."""
    f1 = {f"{s}:{t[:3]}": res[s][t]["f1"] for s in ("val", P.DEV) if s in res for t in P.TYPES}
    print(f"pii candidate {cand}: val macro F1 {res['val_macro_f1']:.3f} {f1}", flush=True)


def _shipped(path: Path, data, split) -> dict | None:
    """The existing pii head (model_pii.pt) scored on the same rows, for before/after."""
    if not path.exists():
        return None
    model, _ = load_checkpoint(path)
    spec = next(h for h in model.head_specs if h.name == "pii")
    if not set(spec.layers) <= set(CACHED_LAYERS):
        return None
    res = score_head(model.heads["pii"].eval(), spec, data, split)
    _log("shipped model_pii.pt", res)
    return res


def swap_pii_head(target: Path, source: Path, out: Path | None = None) -> Path:
    """``target`` (e.g. model_inj.pt) with the pii head (spec, weights, ``meta["pii"]``) of
    ``source`` (a train_pii checkpoint), written to ``out`` (default: ``target``). Both must hold
    the same encoder tensors, so no other head's output changes."""
    model, meta = load_checkpoint(target)
    src, src_meta = load_checkpoint(source)
    a, b = model.encoder.state_dict(), src.encoder.state_dict()
    if a.keys() != b.keys() or not all(torch.equal(a[k], b[k]) for k in a):
        raise SystemExit(f"{source} and {target} do not share the encoder")
    spec = next(h for h in src.head_specs if h.name == "pii")
    specs = tuple(spec if h.name == "pii" else h for h in model.head_specs)
    full = GuardModel(model.encoder, specs if "pii" in model.heads else (*specs, spec))
    kept = {k: v for k, v in model.heads.state_dict().items() if not k.startswith("pii.")}
    full.heads.load_state_dict(kept, strict=False)
    full.heads["pii"].load_state_dict(src.heads["pii"].state_dict())
    out = out or target
    save_checkpoint(full, out, {**meta, "pii": src_meta.get("pii")})
    return out


def _counts(rows) -> dict:
    out: dict[str, int] = {}
    for r in rows:
        k = f"{r.split} {r.source}"
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


def main(argv=None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", default="full")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument(
        "--out-name",
        default="",
        help="suffix of the outputs: model_pii<NAME>.pt, pii<NAME>.json, pii_feats<NAME>.npz",
    )
    ap.add_argument(
        "--candidates",
        nargs="*",
        default=None,
        choices=[c[0] for c in CANDIDATES],
        help=f"train only these of {[c[0] for c in CANDIDATES]} (default: all)",
    )
    ap.add_argument(
        "--into",
        default="",
        help="also put the new pii head into runs/<run>/<INTO> (e.g. model_inj.pt, the exported "
        "checkpoint; same encoder, so its other heads are unchanged)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ckpt = train_pii(
        RUNS / args.run / "model.pt", args.data_dir, args.out_name, args.epochs, args.candidates
    )
    if args.into:
        print(f"pii head -> {swap_pii_head(RUNS / args.run / args.into, ckpt)}", flush=True)


if __name__ == "__main__":
    main()


# ----------------------------------------------------------------------------- int8 bundle checks


def _feeds(seqs):
    return pad(seqs)


def onnx_pii_probs(sess, output: str, seqs: list[list[int]]) -> list[np.ndarray]:
    """Token-head probabilities, one sequence per pass as the runtime serves: dynamic int8
    quantisation scales activations per batch, so in padded batches a row's scores (and the
    reported F1, by up to ~0.015) would depend on which other rows share its batch."""
    return [softmax(sess.run([output], _feeds([s]))[0][0]) for s in seqs]


def same_sequence_outputs(a, b, seqs, names) -> dict:
    """Max |Δlogit| of the sequence heads between two graphs (identical encoder => 0.0)."""
    diff = {n: 0.0 for n in names}
    for batch in bucket_batches([len(s) for s in seqs], 8192, 64, seed=0, shuffle=False):
        feeds = _feeds([seqs[i] for i in batch])
        for n, x, y in zip(names, a.run(names, feeds), b.run(names, feeds), strict=True):
            diff[n] = max(diff[n], float(np.abs(x - y).max()))
    return diff


def added_latency(with_pii: Path, without: Path, reps: int = 40) -> dict:
    """Median ms per single-window call, 1 ORT thread, interleaved: with vs without pii_logits."""
    from .export import session

    sa, sb = session(with_pii), session(without)
    out = {}
    for n in (32, 128, 512):
        feeds = pad([[101] + [2000 + i % 5000 for i in range(n - 2)] + [102]])
        sa.run(None, feeds), sb.run(None, feeds)
        ta, tb = [], []
        for _ in range(reps):
            for sess, ts in ((sa, ta), (sb, tb)):
                t = time.perf_counter()
                sess.run(None, feeds)
                ts.append((time.perf_counter() - t) * 1000)
        a, b = float(np.median(ta)), float(np.median(tb))
        out[f"{n}_tokens"] = {
            "with_pii_ms": round(a, 2),
            "without_pii_ms": round(b, 2),
            "added_pct": round(100 * (a - b) / b, 1),
        }
    return out


FILLERS = (  # benign text put before a row to move its entities deep into a long window
    "Here is a paragraph of an ordinary document about gardening and soil. ",
    "The weather was mild this week and nothing much happened in the market. ",
)


def long_context_scores(sess, output: str, rows, tok, th, n=120, separators=P.SEPARATORS):
    """F1 on the first `n` validation rows with entities, alone and after ~350 tokens of each
    filler (the head is trained on short sentences; this measures what a long prefix does)."""
    rows = [r for r in rows if r.split == "val" and r.spans][:n]
    res = {}
    prefixes = {"alone": "", **{f"after_filler_{i + 1}": f * 25 for i, f in enumerate(FILLERS)}}
    for name, pre in prefixes.items():
        moved = [P.surrounded(r, pre) for r in rows]
        seqs, labels, offsets = encode(moved, tok, separators)
        scores = entity_scores(moved, onnx_pii_probs(sess, output, seqs), labels, offsets, th)
        res[name] = {t: scores[t]["f1"] for t in ("PERSON", "LOCATION", "ORGANIZATION")}
    return {"rows": len(rows), "f1": res}


SCORED = ("val", P.DEV, P.HELD, P.BLIND)  # validation, dev family, ticket family, blind family
BEFORE_DATA_FIX = Path(__file__).resolve().parent / "pii_before_data_fix.json"  # guard-minilm


def evaluate_bundle(bundle: Path, data_dir: Path, run_dir: Path) -> dict:
    """P/R/F1 of the shipped int8 graph's pii head (val, held-out ticket family, blind held-out
    family), identity, latency."""
    import yaml

    from .export import session

    manifest = yaml.safe_load((bundle / "bundle.yaml").read_text())
    head = next(v for v in manifest["heads"].values() if v["type"] == "token")
    th = head.get("thresholds") or THRESHOLDS
    seps = head.get("separators", P.SEPARATORS)  # the runtime's default when bundle.yaml is silent
    rows = [r for r in P.build(data_dir) if r.split != "train"]
    seqs, labels, offsets = encode(rows, load_tokenizer(bundle / "tokenizer.json"), seps)
    sess = session(bundle / "model.onnx")
    probs = onnx_pii_probs(sess, head["output"], seqs)
    res: dict = {"thresholds": th, "separators": list(seps)}

    def scores(keep) -> dict:
        idx = [i for i, r in enumerate(rows) if keep(r)]
        sub = [[x[i] for i in idx] for x in (rows, probs, labels, offsets)]
        return entity_scores(*sub, th)

    for s in SCORED:
        res[s] = scores(lambda r, s=s: r.split == s)
        res[f"{s}_rows"] = sum(r.split == s for r in rows)
    fix = {f"synthetic:{f}" for f in P.FIX_FAMILIES}  # validation rows as before the data fix
    res["val_without_fix_families"] = scores(lambda r: r.split == "val" and r.source not in fix)
    res[f"{P.BLIND}_per_family"] = {
        fam: scores(lambda r, fam=fam: r.split == P.BLIND and r.source == f"synthetic:{fam}")
        for fam in P.BLIND_TEMPLATES
    }
    global WORD_LEVEL
    WORD_LEVEL = False  # the same probabilities decoded token by token, for comparison
    for s in SCORED:
        res[f"{s}_token_level_decoding"] = scores(lambda r, s=s: r.split == s)
    WORD_LEVEL = True
    tok = load_tokenizer(bundle / "tokenizer.json")
    res["long_context"] = long_context_scores(sess, head["output"], rows, tok, th, 120, seps)
    neg = [i for i, r in enumerate(rows) if r.source == "negative"]
    res["val_negatives"] = negative_fp(rows, probs, offsets, list(range(len(rows))))
    nopii = run_dir / "model.nopii.int8.onnx"
    if nopii.exists():
        names = [v["output"] for v in manifest["heads"].values() if v["type"] != "token"]
        res["sequence_heads_vs_graph_without_pii_max_abs_logit_diff"] = same_sequence_outputs(
            sess, session(nopii), seqs[:400], names
        )
        res["latency_1thread"] = added_latency(bundle / "model.onnx", nopii)
    trained = run_dir / "pii.json"
    if trained.exists():
        res["training"] = json.loads(trained.read_text())
    exp = Path(__file__).resolve().parent / "pii_experiments.json"
    if exp.exists():
        res["experiments"] = json.loads(exp.read_text())
    if BEFORE_DATA_FIX.exists() and bundle.name == "guard-minilm":  # same rows and code
        res["before_data_fix"] = json.loads(BEFORE_DATA_FIX.read_text())
    res["n_negatives"] = len(neg)
    return res
