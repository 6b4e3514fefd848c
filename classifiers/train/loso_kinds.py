"""Choose the injection head and its thresholds on text the heads never saw (issue #17).

    nice -n 5 python -m classifiers.train.loso_kinds --run r2 --features-graph /tmp/g_2ba871e.onnx

Two pieces of evidence, both out of family, for the refit `extra` injection head of refit.py
against the head it replaced (`previous`: the fine-tuned head, whose scores are the cached
window logits of the graph the features come from):

* **Leave one kind out.** The real-traffic benign prompts (agent scaffolds, system-style
  prompts, LLM templates, task definitions, code questions, document tasks) and the clean
  documents full of notes to their human reader (docs, code, RFCs, READMEs, configs, tables,
  changelogs, logs, e-mails) carry a `kind:` tag. For each kind the `extra` injection head is
  refit without that kind's rows (refit.py's recipe, same seed), then that kind's rows, training
  and validation split alike, are scored by the head that never saw them; `previous` never saw
  any of them. Prompts are judged by the input rule (`injection` or `jailbreak` at or above its
  threshold), documents by the retrieved rule (`injection` only).
* **dev/injection at the policy level.** Per dev/ row, which of the default policy's other input
  rules already block it (signatures, harm), from a run of the serving pipeline; then, for a
  grid of input thresholds, attacks and benign traps blocked with each head in place of the
  classifier rule, with our everyday-instruction probes and the pooled leave-one-kind-out rate
  of the prompt kinds beside them. The same at the retrieved stage for dev's document rows.

Writes classifiers/train/loso_kinds.json (counts and rates only; no text is printed or written;
`--out` elsewhere). `--candidate` picks refit.py's candidate: its saved heads score dev/ and the
held-out refits use its rows; `--grid-only` skips the held-out refits (minutes instead of ~25).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from . import data as D
from . import refit
from .evaluate import build_val_set, softmax
from .inj_head import cached_features, fit, per_row_max, select

PROMPT_KINDS = (
    "agent_scaffold",
    "system_style",
    "llm_template",
    "task_definition",
    "code_question",
    "document_task",
)
DOCUMENT_KINDS = (
    "docs",
    "code",
    "rfc",
    "readme",
    "config",
    "table",
    "changelog",
    "log",
    "email_like",
)
INPUT_INJECTION = (0.5, 0.6, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9, 0.95)
INPUT_JAILBREAK = (0.02, 0.026, 0.05, 0.1, 0.2, 0.3, 0.5)
RETRIEVED_INJECTION = (0.555, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.959)
OUT = Path(__file__).resolve().parent / "loso_kinds.json"


def kind_of(e: D.Example) -> str:
    return next((t[5:] for t in e.tags if t.startswith("kind:")), "")


def row_max(p: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """[rows, labels]: per label, the max over a row's windows (the runtime's rule)."""
    return np.stack([per_row_max(p[:, j], owner, n) for j in range(p.shape[1])], 1)


@torch.no_grad()
def head_probs(head, x: torch.Tensor, owner: np.ndarray, n: int) -> np.ndarray:
    return row_max(torch.softmax(head(x), -1).numpy(), owner, n)


def input_hit(p: np.ndarray, ti: float, tj: float) -> np.ndarray:
    return (p[:, 1] >= ti) | (p[:, 2] >= tj)


def leave_kinds_out(
    run: Path, features: Path, data_dir: Path, candidate: str = "extra"
) -> tuple[dict, dict]:
    """Per kind: (rows, probs of `previous`, of the held-out refit head) for prompts and docs;
    the head is refit on `candidate`'s rows (refit.py) without the kind's."""
    val = build_val_set(data_dir)
    base, own = refit.train_rows(data_dir)
    refit.assert_no_dev(base + own[candidate], data_dir)  # dev/ is only scored, below in main
    rows, feats, owner, logits = refit.train_features(run, features, base, own[candidate])
    x, y, w, keep = refit.injection_windows(rows, feats, owner, logits)
    vf, vo, vlog = cached_features(run, "val", features, val)
    vx = select(vf, refit.MEANS, refit.MAXES)
    prev_tr, prev_va = (
        row_max(softmax(logits), owner, len(rows)),
        row_max(softmax(vlog), vo, len(val)),
    )
    row_kind = np.array([kind_of(e) for e in rows])
    val_kind = np.array([kind_of(e) for e in val])
    out = {}
    for kind in PROMPT_KINDS + DOCUMENT_KINDS:
        held = row_kind[owner] == kind
        head = fit(x[keep & ~held], y[keep & ~held], w[keep & ~held], refit.HIDDEN).eval()
        tr, va = row_kind == kind, val_kind == kind
        out[kind] = {
            "previous": np.r_[prev_tr[tr], prev_va[va]],
            "held_out": np.r_[
                head_probs(head, x, owner, len(rows))[tr], head_probs(head, vx, vo, len(val))[va]
            ],
        }
        print("kind", kind, int(tr.sum() + va.sum()), "rows", flush=True)
    return out, {"train_rows": len(rows)}


def policy_fired(data_dir: Path, stage: str) -> list[set[str]]:
    """The rules the default policy fires on each dev/injection row at `stage` (served as
    `guardrail eval` serves them, one row at a time)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from guardrail.evaluate.data import read_examples
    from guardrail.evaluate.runner import evaluate
    from guardrail.pipeline import Pipeline
    from guardrail.types import Stage

    pipeline = Pipeline.from_file(D.REPO_ROOT / "policies/default.yaml")
    rows = read_examples(Path(data_dir) / "dev/injection.jsonl", "text", "label").rows
    return [set(o.fired) for o in asyncio.run(evaluate(pipeline, rows, Stage(stage)))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="r2")
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument(
        "--features-graph",
        type=Path,
        required=True,
        help="the graph the run's feature caches were computed with, with the head "
        "being replaced (its injection logits are `previous`)",
    )
    ap.add_argument("--candidate", default="extra", help="refit.py candidate whose heads to load")
    ap.add_argument(
        "--grid-only",
        action="store_true",
        help="only the dev/ grids, without the leave-one-kind-out refits (no prompt_kinds_flagged)",
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"report path (default {OUT.name})")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    t0 = time.time()
    run = refit.RUNS / args.run
    head = refit.load_heads(run / f"heads_{args.candidate}.pt", 384 * 7)[0]
    dev = refit.dev_rows(args.data_dir)["injection"]
    attack = np.array([e.inj for e in dev]) > 0
    doc = np.array([e.channel == "document" for e in dev])
    f, o, lg = cached_features(run, "dev", args.features_graph, dev)
    dev_p = {
        "previous": row_max(softmax(lg), o, len(dev)),
        args.candidate: head_probs(head, select(f, refit.MEANS, refit.MAXES), o, len(dev)),
    }
    probes = refit.probe_rows()
    probe_p = {}
    for name in ("everyday", "reader_notes"):
        pf, po, plg = cached_features(run, "probes", args.features_graph, probes[name])
        probe_p[name] = {
            "previous": row_max(softmax(plg), po, len(probes[name])),
            args.candidate: head_probs(
                head, select(pf, refit.MEANS, refit.MAXES), po, len(probes[name])
            ),
        }
    fired_in = policy_fired(args.data_dir, "input")
    fired_ret = policy_fired(args.data_dir, "retrieved")
    other_in = np.array(
        [bool(r & {"block-injection-signatures", "block-harmful-input"}) for r in fired_in]
    )
    other_ret = np.array(
        [any(x.startswith("block-injection-signatures") for x in r) for r in fired_ret]
    )
    kinds, info = (
        ({}, {})
        if args.grid_only
        else leave_kinds_out(run, args.features_graph, args.data_dir, args.candidate)
    )
    scored = {"previous": "previous", args.candidate: "held_out"}
    report: dict = {
        "candidate": args.candidate,
        **info,
        "kinds": {},
        "input_grid": {},
        "retrieved_grid": {},
    }
    for kind, p in kinds.items():
        report["kinds"][kind] = {"rows": len(p["previous"])}
        if kind in PROMPT_KINDS:
            for ti, tj in ((0.9, 0.026), (0.72, 0.026)):
                for name in ("previous", "held_out"):
                    rate = float(input_hit(p[name], ti, tj).mean())
                    report["kinds"][kind][f"{name}@input {ti}/{tj}"] = round(rate, 4)
        else:
            for t in (0.555, 0.7, 0.959):
                for name in ("previous", "held_out"):
                    rate = float((p[name][:, 1] >= t).mean())
                    report["kinds"][kind][f"{name}@retrieved {t}"] = round(rate, 4)
    for name, key in scored.items():
        cells = {}
        for ti in INPUT_INJECTION:
            for tj in INPUT_JAILBREAK:
                hit = other_in | input_hit(dev_p[name], ti, tj)
                cells[f"{ti}/{tj}"] = {
                    "dev_attacks": int((hit & attack).sum()),
                    "dev_traps": int((hit & ~attack).sum()),
                    "everyday_probes": int(input_hit(probe_p["everyday"][name], ti, tj).sum()),
                }
                if kinds:
                    kinds_hit = [input_hit(kinds[k][key], ti, tj) for k in PROMPT_KINDS]
                    rate = float(np.concatenate(kinds_hit).mean())
                    cells[f"{ti}/{tj}"]["prompt_kinds_flagged"] = round(rate, 4)
        report["input_grid"][name] = cells
        cells = {}
        for t in RETRIEVED_INJECTION:
            hit = other_ret | (dev_p[name][:, 1] >= t)
            cells[str(t)] = {
                "dev_document_attacks": int((hit & attack & doc).sum()),
                "dev_document_benign": int((hit & ~attack & doc).sum()),
                "reader_notes_probes": int((probe_p["reader_notes"][name][:, 1] >= t).sum()),
            }
            if kinds:
                docs_hit = np.concatenate([kinds[k][key][:, 1] >= t for k in DOCUMENT_KINDS])
                cells[str(t)]["document_kinds_flagged"] = round(float(docs_hit.mean()), 4)
        report["retrieved_grid"][name] = cells
    report["counts"] = {
        "dev_attacks": int(attack.sum()),
        "dev_traps": int((~attack).sum()),
        "dev_document_attacks": int((attack & doc).sum()),
        "dev_document_benign": int((~attack & doc).sum()),
        "everyday_probes": len(probes["everyday"]),
        "reader_notes_probes": len(probes["reader_notes"]),
    }
    report["seconds"] = round(time.time() - t0, 1)
    args.out.write_text(json.dumps(report, indent=1))
    print("wrote", args.out, flush=True)


if __name__ == "__main__":
    main()
