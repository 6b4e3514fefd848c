"""Evaluate the shipped int8 ONNX bundle on the validation split; pick thresholds; write reports.

    python -m classifiers.train.evaluate --run full

Scores are computed like the runtime does it: texts are cut into windows of bundle
``max_length`` tokens with ``window_stride``, every window goes through the int8 graph, and a
text's probability per label is the maximum over its windows.

Thresholds: per head, the labels' thresholds are chosen together so that the head reports *any*
finding on at most 1 % (``thresholds``) / 0.1 % (``thresholds_strict``) of the benign
validation rows of that head (injection: rows labelled benign; harm: rows labelled safe; for
harm, `unsafe` alone gets 3/4 of that budget and the categories share the rest). The
held-out hard negatives are excluded from calibration (their FPR is reported separately).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import average_precision_score
from tqdm import tqdm

from . import data as D
from .encoding import load_tokenizer, pad, runtime_windows
from .export import BUNDLE_DIR, graph_depth, session, sha256, write_bundle_yaml
from .hard_negatives import augment_documents, hard_examples, identifier_probe, notice_documents
from .train import RUNS, augmentation_inputs

HERE = Path(__file__).resolve().parent
METRICS_PATH = HERE / "metrics.json"


def metrics_path(bundle: Path) -> Path:
    """The committed metrics file of a bundle: metrics.json for guard-minilm."""
    return METRICS_PATH if bundle.name == BUNDLE_DIR.name else HERE / f"metrics_{bundle.name}.json"


REBUILD_COMMAND = "nice -n 5 python -m classifiers.train.all --data-dir ../shared/data"

# validation caps per (file, family) so one evaluation stays ~2-3 minutes on 2 cores
VAL_CAPS = {
    ("benign/prompts", "github:clinc/oos-eval"): 1200,
    ("benign/prompts", "github:openai/grade-school-math"): 400,
    ("benign/prompts", "github:google-research-datasets/natural-questions"): 400,
    ("harm/text", "github:t-davidson/hate-speech-and-offensive-language"): 1500,
    ("harm/text", "github:Vicomtech/hate-speech-dataset"): 1000,
    ("harm/text", "github:rewire-online/edos"): 500,
    ("injection/documents", "github:clinc/oos-eval"): 300,
}


def build_val_set(
    data_dir: Path, n_aug: int = 300, val: list[D.Example] | None = None
) -> list[D.Example]:
    """The validation rows; `val`: the validation split of D.load_examples, if already loaded."""
    if val is None:
        _train, val = D.split(D.load_examples(data_dir))
    by = defaultdict(list)
    for e in val:
        by[(e.file, e.family)].append(e)
    rows = []
    for key, exs in by.items():
        exs.sort(key=lambda e: D.stable_hash("val|" + e.text))
        rows += exs[: VAL_CAPS.get(key, len(exs))]
    docs, injections, snippets = augmentation_inputs(val)
    rows += augment_documents(docs, injections, snippets, n_aug, seed=99, tag="val")
    rows += hard_examples(heldout=True)
    return rows


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ATTACK = "@attack"  # predict()'s key suffix for a softmax head's per-text attack score


def predict(
    onnx_path: Path,
    texts: list[str],
    max_len: int,
    stride: int,
    heads: dict,
    max_tokens: int = 1,
    desc: str = "infer",
) -> dict[str, np.ndarray]:
    """Per text, per label probability (max over runtime windows), and for softmax heads with
    a `negative` label, under ``h + ATTACK``, the largest 1 - P(negative) of any one window: a
    long document is as suspicious as its most suspicious window (1 minus the per-label
    maximum of P(benign) would score it by its cleanest window instead).

    One window per pass by default, as the runtime serves them: dynamic int8 quantisation
    scales activations per tensor, so a window's scores depend on what else is in its padded
    batch (measured for the shipped bundle, scoring texts by their cleanest window as this
    function did before commit e63262c: injection recall@1%FPR 0.941 one window per pass, 0.929 in
    batches of up to 8192 padded tokens). `max_tokens` > 1 batches windows up to that many
    padded tokens.
    """
    tok = load_tokenizer()
    sess = session(onnx_path)
    windows, owner = [], []
    for i, enc in enumerate(tok.encode_batch(texts, add_special_tokens=False)):
        for w in runtime_windows(enc.ids, max_len, stride):
            windows.append(w)
            owner.append(i)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    names = list(heads)
    probs = {h: np.zeros((len(texts), len(heads[h]["labels"])), dtype=np.float32) for h in names}
    negative = {
        h: [heads[h]["labels"].index(x) for x in heads[h]["negative"]]
        for h in names
        if heads[h]["type"] == "softmax" and heads[h].get("negative")
    }
    attack = {h: np.zeros(len(texts), dtype=np.float32) for h in negative}
    i = 0
    bar = tqdm(total=len(order), desc=desc, mininterval=10)
    while i < len(order):
        n = max(1, min(128, max_tokens // len(windows[order[i]])))
        idx = order[i : i + n]
        # lengths grow within the sorted order: cap the batch by its longest member
        while len(idx) > 1 and len(idx) * len(windows[idx[-1]]) > max_tokens:
            idx = idx[:-1]
        outs = sess.run([heads[h]["output"] for h in names], pad([windows[j] for j in idx]))
        for h, o in zip(names, outs, strict=False):
            p = softmax(o) if heads[h]["type"] == "softmax" else sigmoid(o)
            for row, j in zip(p, idx, strict=False):
                probs[h][owner[j]] = np.maximum(probs[h][owner[j]], row)
            if h in attack:
                for a, j in zip(1 - p[:, negative[h]].sum(1), idx, strict=True):
                    attack[h][owner[j]] = max(attack[h][owner[j]], a)
        i += len(idx)
        bar.update(len(idx))
    bar.close()
    return probs | {h + ATTACK: a for h, a in attack.items()}


# ------------------------------------------------------------------------------------- metrics


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float:
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    t = np.quantile(neg, 1 - fpr, method="higher")
    return float((pos > t).mean())


def binary_metrics(
    scores: np.ndarray, y: np.ndarray, threshold: float, ranked: bool = True
) -> dict:
    """precision / recall / FPR at `threshold`; recall@1%FPR and AUPRC if `ranked` scores."""
    pos, neg = scores[y == 1], scores[y == 0]
    pred = scores >= threshold
    tp, fp = int((pred & (y == 1)).sum()), int((pred & (y == 0)).sum())
    out = {
        "n_pos": len(pos),
        "n_neg": len(neg),
        "precision": tp / max(1, tp + fp) if tp + fp else float("nan"),
        "recall": tp / len(pos) if len(pos) else float("nan"),
        "fpr": fp / len(neg) if len(neg) else float("nan"),
    }
    if ranked and len(pos) and len(neg):
        out["recall_at_1pct_fpr"] = recall_at_fpr(pos, neg, 0.01)
        out["auprc"] = float(average_precision_score(y, scores))
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def pick_thresholds(
    neg_probs: np.ndarray,
    labels: list[str],
    target: float,
    primary: str | None = None,
    primary_share: float = 0.75,
) -> dict:
    """Per-label thresholds such that P(any label fires | benign) <= target.

    With a `primary` label (harm: `unsafe`), that label gets `primary_share` of the FPR budget
    on its own and the other labels share what is left of the union budget; otherwise every
    label gets the same per-label FPR, as large as the union budget allows.
    """

    def quantile(col, f):
        return np.quantile(neg_probs[:, col], 1 - f, method="higher")

    fixed = {}
    if primary in labels:
        fixed[labels.index(primary)] = quantile(labels.index(primary), target * primary_share)

    def thresholds(f):
        return np.array([fixed[i] if i in fixed else quantile(i, f) for i in range(len(labels))])

    lo, hi = 0.0, target
    best = thresholds(0.0)
    for _ in range(30):
        mid = (lo + hi) / 2
        th = thresholds(mid)
        if float((neg_probs > th).any(1).mean()) <= target:
            lo, best = mid, th
        else:
            hi = mid
    # calibration used "p > t"; the runtime fires on "p >= threshold": step just above t
    return {
        lab: round(float(min(0.9999, np.nextafter(t, 1) + 1e-6)), 6)
        for lab, t in zip(labels, best, strict=True)
    }


def head_arrays(rows: list[D.Example]):
    inj = np.array([e.inj for e in rows])
    harm = np.array([e.harm for e in rows])
    return inj, harm


def fires(probs: np.ndarray, labels: list[str], th: dict) -> np.ndarray:
    return np.stack(
        [
            probs[:, i] >= th[lab] if lab in th else np.zeros(len(probs), bool)
            for i, lab in enumerate(labels)
        ],
        1,
    )


def per_channel(channels: np.ndarray, attack: np.ndarray, y: np.ndarray) -> dict:
    """Attack vs benign within each channel that has both (user prompts, documents), and how
    many of the benign rows above the pooled 1 %-FPR threshold (recall_at_fpr's) each holds."""
    pooled = np.quantile(attack[y == 0], 0.99, method="higher")
    out = {}
    for c in sorted(set(channels)):
        sel = channels == c
        if y[sel].any() and not y[sel].all():
            above = int((attack[sel & (y == 0)] > pooled).sum())
            out[c] = {**binary_metrics(attack[sel], y[sel], 0.5), "pooled_1pct_fp": above}
    return out


def evaluate_heads(rows, probs, heads, th) -> dict:
    inj, harm = head_arrays(rows)
    out = {}
    # injection head
    L = heads["injection"]["labels"]
    m = inj >= 0
    p = probs["injection"][m]
    y_attack = (inj[m] > 0).astype(int)
    attack = probs["injection" + ATTACK][m]
    fired = fires(p, L, th["injection"]["thresholds"])[:, 1:].any(1)
    res = {
        "attack_vs_benign(1-p_benign)": binary_metrics(attack, y_attack, 0.5),
        "attack_vs_benign_shipped_thresholds": binary_metrics(
            fired.astype(float), y_attack, 0.5, False
        ),
    }
    for i, lab in enumerate(L[1:], 1):
        sel = (inj[m] == 0) | (inj[m] == i)
        res[lab] = binary_metrics(
            p[sel, i], (inj[m][sel] == i).astype(int), th["injection"]["thresholds"][lab]
        )
    res["per_channel"] = per_channel(np.array([e.channel for e in rows])[m], attack, y_attack)
    out["injection"] = res
    # harm head
    L = heads["harm"]["labels"]
    res = {}
    safe = harm[:, 0] == 0
    # the safe pool is dominated by hard social-media text (Stormfront, Davidson "neither"):
    # also report unsafe-vs-safe with the negatives restricted to prompts, documents and answers
    traffic = safe & np.array(
        [e.file != "harm/text" and e.family != "synthetic:hard_negatives" for e in rows]
    )
    sel = traffic | (harm[:, 0] == 1)
    res["unsafe_vs_safe_excluding_social_media_negatives"] = binary_metrics(
        probs["harm"][sel, 0], harm[sel, 0], th["harm"]["thresholds"]["unsafe"]
    )
    fired = fires(probs["harm"], L, th["harm"]["thresholds"]).any(1)
    hm = harm[:, 0] >= 0
    res["any_label_shipped_thresholds"] = binary_metrics(
        fired[hm].astype(float), harm[hm, 0], 0.5, False
    )
    for i, lab in enumerate(L):
        sel = safe | (harm[:, i] == 1)
        res[lab] = binary_metrics(
            probs["harm"][sel, i], (harm[sel, i] == 1).astype(int), th["harm"]["thresholds"][lab]
        )
    out["harm"] = res
    return out


def per_family(rows, probs, heads, th) -> dict:
    inj, harm = head_arrays(rows)
    inj_f = fires(probs["injection"], heads["injection"]["labels"], th["injection"]["thresholds"])[
        :, 1:
    ].any(1)
    harm_f = fires(probs["harm"], heads["harm"]["labels"], th["harm"]["thresholds"]).any(1)
    out = {}
    keys = sorted({(e.file, e.family) for e in rows})
    for key in keys:
        idx = np.array([i for i, e in enumerate(rows) if (e.file, e.family) == key])
        entry = {"n": len(idx)}
        for name, y, f, s in (
            (
                "injection",
                (inj[idx] > 0).astype(int) - (inj[idx] < 0),
                inj_f[idx],
                probs["injection" + ATTACK][idx],
            ),
            ("harm", harm[idx, 0], harm_f[idx], probs["harm"][idx, 0]),
        ):
            ok = y >= 0
            if not ok.any():
                continue
            yy, ff = y[ok], f[ok]
            e = {"pos": int(yy.sum()), "neg": int((yy == 0).sum())}
            if yy.sum():
                e["recall"] = round(float(ff[yy == 1].mean()), 4)
            if (yy == 0).sum():
                e["fpr"] = round(float(ff[yy == 0].mean()), 4)
            if 0 < yy.sum() < len(yy):
                e["auprc"] = round(float(average_precision_score(yy, s[ok])), 4)
            entry[name] = e
        out[f"{key[0]} | {key[1]}"] = entry
    return out


def hard_negative_report(rows, probs, heads, th) -> dict:
    idx = np.array([i for i, e in enumerate(rows) if e.family == "synthetic:hard_negatives"])
    kinds = [rows[i].tags[-1].split(":", 1)[1] for i in idx]
    inj_f = fires(
        probs["injection"][idx], heads["injection"]["labels"], th["injection"]["thresholds"]
    )[:, 1:].any(1)
    harm_f = fires(probs["harm"][idx], heads["harm"]["labels"], th["harm"]["thresholds"]).any(1)
    strict_inj = fires(
        probs["injection"][idx], heads["injection"]["labels"], th["injection"]["thresholds_strict"]
    )[:, 1:].any(1)
    strict_harm = fires(
        probs["harm"][idx], heads["harm"]["labels"], th["harm"]["thresholds_strict"]
    ).any(1)
    ben = np.array([k == "benign" for k in kinds])
    harmpos = np.array([k.startswith("harm") for k in kinds])
    attack = np.array([k in ("injection", "jailbreak") for k in kinds])
    r = lambda a, m: round(float(a[m].mean()), 4) if m.any() else None  # noqa: E731
    return {
        "heldout_templates": True,
        "n_benign": int(ben.sum()),
        "n_harm_pos": int(harmpos.sum()),
        "n_attack_pos": int(attack.sum()),
        "benign_fpr_injection": r(inj_f, ben),
        "benign_fpr_harm": r(harm_f, ben),
        "benign_fpr_any": r(inj_f | harm_f, ben),
        "benign_fpr_any_strict": r(strict_inj | strict_harm, ben),
        "harm_pos_recall": r(harm_f, harmpos),
        "attack_pos_recall": r(inj_f, attack),
    }


def _injection_fires(bundle: Path, manifest: dict, th: dict, texts: list[str], key: str):
    """Per text, whether the injection head fires at the shipped thresholds (`key`: thresholds
    or thresholds_strict); both from one pass."""
    heads = {"injection": manifest["heads"]["injection"]}
    probs = predict(bundle / "model.onnx", texts, manifest["max_length"],
                    manifest["window_stride"], heads, desc=key)["injection"]  # fmt: skip
    labels = heads["injection"]["labels"]
    return {k: fires(probs, labels, th["injection"][k])[:, 1:].any(1) for k in key.split(",")}


def identifier_probe_report(bundle: Path, manifest: dict, th: dict) -> dict:
    """How often the injection head fires on benign questions around a pasted key, hash or id
    (hard_negatives.identifier_probe: templates and identifiers never trained on)."""
    texts = identifier_probe()
    fire = _injection_fires(bundle, manifest, th, texts, "thresholds,thresholds_strict")
    return {
        "n": len(texts),
        "fpr_injection": round(float(fire["thresholds"].mean()), 4),
        "fpr_injection_strict": round(float(fire["thresholds_strict"].mean()), 4),
    }


def notice_documents_report(bundle: Path, manifest: dict, th: dict, val: list[D.Example]) -> dict:
    """How often the injection head fires on clean validation documents (of the split `val`)
    with a notice to the human reader inserted (hard_negatives.notice_documents; benign, never
    trained on), and on the same documents and wrappers without the notice (the baseline the
    notice adds to)."""
    pairs = notice_documents(augmentation_inputs(val)[0], 100, seed=98)
    if not pairs:
        return {}
    texts = [t for pair in pairs for t in pair]
    fire = _injection_fires(bundle, manifest, th, texts, "thresholds,thresholds_strict")
    return {
        "n": len(pairs),
        "fpr_injection": round(float(fire["thresholds"][0::2].mean()), 4),
        "fpr_injection_strict": round(float(fire["thresholds_strict"][0::2].mean()), 4),
        "fpr_injection_without_notice": round(float(fire["thresholds"][1::2].mean()), 4),
    }


def multilingual_report(bundle: Path, manifest: dict, th: dict, data_dir: Path) -> dict:
    """The injection head at the shipped thresholds on the validation part of the non-English
    prompts and documents (not in the main validation set: the model card calls it English
    only, but a guard in front of real users still sees other languages)."""
    _, rows = D.split(D.load_multilingual_injection(data_dir))
    if not rows:
        return {}
    fire = _injection_fires(bundle, manifest, th, [e.text for e in rows], "thresholds")
    fire, inj = fire["thresholds"], np.array([e.inj for e in rows])
    return {
        "n_benign": int((inj == 0).sum()),
        "n_attack": int((inj > 0).sum()),
        "benign_fpr": round(float(fire[inj == 0].mean()), 4),
        "attack_recall": round(float(fire[inj > 0].mean()), 4),
    }


def agreement(fp32_probs, int8_probs, heads, th) -> dict:
    out = {}
    for h in heads:
        d = np.abs(fp32_probs[h] - int8_probs[h])
        f1 = fires(fp32_probs[h], heads[h]["labels"], th[h]["thresholds"])
        f2 = fires(int8_probs[h], heads[h]["labels"], th[h]["thresholds"])
        out[h] = {
            "max_abs_prob_diff": round(float(d.max()), 5),
            "mean_abs_prob_diff": round(float(d.mean()), 6),
            "decision_agreement": round(float((f1 == f2).all(1).mean()), 5),
        }
    return out


def latency(onnx_path: Path, max_len: int, reps: int = 30) -> dict:
    """Median ms per single-window call, 1 ORT thread (synthetic token ids; machine is shared)."""
    sess = session(onnx_path)
    out = {}
    for n in (32, 128, max_len):
        feeds = pad([[101] + [2000 + i % 5000 for i in range(n - 2)] + [102]])
        sess.run(None, feeds)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            sess.run(None, feeds)
            ts.append((time.perf_counter() - t) * 1000)
        out[f"{n}_tokens_ms"] = round(float(np.median(ts)), 2)
    return out


def thresholds_for(rows, probs, heads) -> dict:
    inj, harm = head_arrays(rows)
    # the held-out hard negatives are reported, not calibrated on
    real = np.array([e.family != "synthetic:hard_negatives" for e in rows])
    th = {}
    for h, negmask in (("injection", real & (inj == 0)), ("harm", real & (harm[:, 0] == 0))):
        labels = heads[h]["labels"]
        report = [i for i, lab in enumerate(labels) if lab not in heads[h].get("negative", [])]
        neg = probs[h][negmask][:, report]
        labs = [labels[i] for i in report]
        primary = "unsafe" if h == "harm" else None
        th[h] = {
            "thresholds": pick_thresholds(neg, labs, 0.01, primary),
            "thresholds_strict": pick_thresholds(neg, labs, 0.001, primary),
        }
    return th


def _cached_predict(
    cache: Path,
    reuse: bool,
    onnx_path: Path,
    texts: list[str],
    max_len: int,
    stride: int,
    heads: dict,
    **kw,
) -> dict[str, np.ndarray]:
    """Probabilities are cached under runs/<run>/ (numbers only) so reports can be redone.

    The cache is keyed by the graph's sha256, a hash of the texts and the window / head
    settings: `reuse` after a re-export (a new pii head re-quantizes the whole graph) or a new
    window stride recomputes instead of reporting other numbers."""
    scored = {
        h: [v["output"], v["type"], v["labels"], v.get("negative", [])] for h, v in heads.items()
    }
    settings = [max_len, stride, scored, kw.get("max_tokens", 1)]
    key = {
        "__graph": sha256(onnx_path),
        "__texts": _texts_key(texts),
        "__settings": json.dumps(settings, sort_keys=True),
        "__format": "2",
    }
    if reuse and cache.exists():
        cached = dict(np.load(cache))
        if all(str(cached.get(k)) == v for k, v in key.items()):
            return {k: v for k, v in cached.items() if not k.startswith("__")}
        print(f"{cache.name}: cached for another graph or other rows; recomputing", flush=True)
    probs = predict(onnx_path, texts, max_len, stride, heads, **kw)
    np.savez(cache, **probs, **{k: np.array(v) for k, v in key.items()})
    return probs


def _texts_key(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def run_eval(
    run: str, data_dir: Path, bundle: Path = BUNDLE_DIR, n_agree: int = 1500, reuse: bool = False
) -> dict:
    t0 = time.time()
    manifest = yaml.safe_load((bundle / "bundle.yaml").read_text())
    # sequence heads here; token heads (pii) are evaluated by pii.evaluate_bundle
    heads = {h: v for h, v in manifest["heads"].items() if v["type"] != "token"}
    _train, val = D.split(D.load_examples(data_dir))
    rows = build_val_set(data_dir, val=val)
    texts = [e.text for e in rows]
    ml, st = manifest["max_length"], manifest["window_stride"]
    probs = _cached_predict(
        RUNS / run / "val_int8.npz", reuse, bundle / "model.onnx", texts, ml, st, heads, desc="int8"
    )
    th = thresholds_for(rows, probs, heads)
    sub = sorted(range(len(rows)), key=lambda i: D.stable_hash("agree|" + texts[i]))[:n_agree]
    fp32 = _cached_predict(
        RUNS / run / "val_fp32.npz",
        reuse,
        RUNS / run / "model.fp32.onnx",
        [texts[i] for i in sub],
        ml,
        st,
        heads,
        desc="fp32",
    )
    metrics = {
        "validation_rows": len(rows),
        "val_counts": D.describe(rows),
        "heads": evaluate_heads(rows, probs, heads, th),
        "hard_negatives": hard_negative_report(rows, probs, heads, th),
        "identifier_probe": identifier_probe_report(bundle, manifest, th),
        "multilingual": multilingual_report(bundle, manifest, th, data_dir),
        "notice_documents": notice_documents_report(bundle, manifest, th, val),
        "int8_vs_fp32": {
            "rows": len(sub),
            **agreement(fp32, {h: p[sub] for h, p in probs.items()}, heads, th),
        },
        "per_family": per_family(rows, probs, heads, th),
        "thresholds": th,
        "latency_int8_1thread": latency(bundle / "model.onnx", ml),
        "eval_seconds": round(time.time() - t0, 1),
    }
    if any(v["type"] == "token" for v in manifest["heads"].values()):
        from .pii import evaluate_bundle

        metrics["pii"] = evaluate_bundle(bundle, data_dir, RUNS / run)
    inj = RUNS / run / "inj_head.json"
    if inj.exists():
        metrics["injection_head"] = json.loads(inj.read_text())
    if bundle.name == BUNDLE_DIR.name:  # LOSO and the run log are about the main recipe
        for key, name in (("loso", "loso.json"), ("runs_compared", "runs_compared.json")):
            if (HERE / name).exists():
                metrics[key] = json.loads((HERE / name).read_text())
    elif METRICS_PATH.exists():  # a student: the same numbers of guard-minilm, side by side
        metrics["compared_to"] = {
            BUNDLE_DIR.name: headline(json.loads(METRICS_PATH.read_text())),
            bundle.name: headline(metrics),
        }
    metrics_path(bundle).write_text(json.dumps(metrics, indent=1))
    (RUNS / run / "metrics.json").write_text(json.dumps(metrics, indent=1))
    update_bundle(bundle, run, manifest, th, metrics)
    return metrics


def headline(m: dict) -> dict:
    """The numbers that decide between two bundles (from a metrics dict)."""
    inj = m["heads"]["injection"]["attack_vs_benign(1-p_benign)"]
    probe = m.get("identifier_probe") or {}
    return {
        "injection_recall_at_1pct_fpr": inj.get("recall_at_1pct_fpr"),
        "injection_auprc": inj.get("auprc"),
        "harm_unsafe_auprc": m["heads"]["harm"]["unsafe"].get("auprc"),
        "hard_negatives_fpr_any": m["hard_negatives"].get("benign_fpr_any"),
        "identifier_probe_fpr": probe.get("fpr_injection"),
        "non_english_benign_fpr": (m.get("multilingual") or {}).get("benign_fpr"),
    }


def update_bundle(bundle: Path, run: str, manifest: dict, th: dict, metrics: dict) -> None:
    from .model_card import write_model_card

    heads = manifest["heads"]
    for h in th:
        heads[h]["thresholds"] = th[h]["thresholds"]
        heads[h]["thresholds_strict"] = th[h]["thresholds_strict"]
    meta_path = RUNS / run / "train_meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    training = manifest.get("training") or {}
    training.update(
        {
            "command": meta.get("rebuild_command", REBUILD_COMMAND),
            "train_step_command": meta.get("command"),
            "data": "../shared/data (English rows only; split by source-family group hash, 15 % "
            "validation)",
            "train_rows": meta.get("train_rows"),
            "train_steps": meta.get("steps"),
            "train_seconds": meta.get("train_seconds"),
            "seed": int(meta.get("args", {}).get("seed", 0)),
            "validation_rows": metrics["validation_rows"],
            "metrics_file": f"classifiers/train/{metrics_path(bundle).name}",
            "threshold_rule": "per head, any-label FPR on benign validation rows <= 1 % (strict: "
            "0.1 %); harm: unsafe alone 0.75 %",
            "windowing": "max probability over windows",
        }
    )
    write_model_card(bundle, manifest, metrics, meta)
    write_bundle_yaml(bundle, heads, training, graph_depth(bundle / "model.onnx"))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--run", default="full")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--bundle", type=Path, default=BUNDLE_DIR)
    ap.add_argument("--reuse", action="store_true", help="reuse cached validation probabilities")
    args = ap.parse_args(argv)
    m = run_eval(args.run, args.data_dir, args.bundle, reuse=args.reuse)
    print(
        json.dumps(
            {k: m[k] for k in ("heads", "hard_negatives", "int8_vs_fp32", "thresholds")}, indent=1
        )
    )


if __name__ == "__main__":
    main()
