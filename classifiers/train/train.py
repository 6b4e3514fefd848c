"""Multi-task fine-tuning of the shared encoder (injection softmax head + harm sigmoid head).

    nice -n 5 python -m classifiers.train.train --run full

The full fine-tune of issue #17 (all layers, two epochs, longer windows, our over-defense rows,
MLP heads on pooled layers; checkpoints every --save-minutes, resumed with --resume):

    nice -n 5 python -m classifiers.train.train --run ft --freeze-layers 0 --epochs 2 \
        --max-len 192 --doc-max-len 320 --extra --pooled-heads --vary-benign --resume

The next one to run where there is a GPU (issue #17, session 11: heads on the frozen encoder
cannot separate counter-speech from hate, `hate_heads.py`): the same with `--counterspeech`.

Each row only contributes loss to the heads it has labels for (inj == -1 / harm == -1 masks).
Embeddings and the first --freeze-layers (2) transformer layers are frozen: no AdamW updates for
~13M parameters and no backward pass through the bottom layers (about 1/3 less CPU per step).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import data as D
from .encoding import bucket_batches, encode_train, injection_spans, load_tokenizer, pad
from .hard_negatives import augment_documents, hard_examples
from .model import HEADS, GuardModel, HeadSpec, load_checkpoint, save_checkpoint, student

RUNS = Path(__file__).resolve().parent / "runs"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def augmentation_inputs(rows: list[D.Example]):
    docs = [e for e in rows if e.file == "injection/documents" and e.inj == 0]
    injections = [e for e in rows if e.file == "injection/prompts" and e.inj == 1]
    snippets = [e.text for e in rows if e.file == "benign/prompts" and len(e.text.split()) <= 25]
    snippets = [
        snippets[i]
        for i in sorted(range(len(snippets)), key=lambda i: D.stable_hash(snippets[i]))[:300]
    ]
    return docs, injections, snippets


def build_train_set(
    data_dir: Path,
    scale: float,
    n_aug: int,
    hard_repeat: int,
    limit: int = 0,
    seed: int = 0,
    inj_repeat: int = 1,
    harm_frac: float = 1.0,
) -> list[D.Example]:
    train, _ = D.split(D.load_examples(data_dir))
    docs, injections, snippets = augmentation_inputs(train)
    rows = D.balance(train, scale)
    if harm_frac < 1.0:  # deterministic subsample of the large harm text / completion files
        keep = int(harm_frac * 10_000)
        rows = [
            e
            for e in rows
            if e.file not in ("harm/text", "harm/completions")
            or D.stable_hash("harmfrac|" + e.text) % 10_000 < keep
        ]
    aug = augment_documents(docs, injections, snippets, n_aug, seed=seed + 1, tag="train")
    inj_rows = [e for e in rows if e.file.startswith("injection/")]
    rows += inj_rows * (inj_repeat - 1)  # extra passes over the injection data
    rows += aug
    rows += hard_examples(heldout=False) * hard_repeat
    if limit:
        rows = D.subsample(rows, limit, seed)
    return rows


def extra_rows(
    data_dir: Path, rows: list[D.Example], counterspeech: bool = False
) -> list[D.Example]:
    """`rows` with templated real-traffic prompts capped per template, the training split of
    the non-English injection rows and our own rows from overdefense.py (never dev/); with
    `counterspeech`, counterspeech.py's hate contrast rows too."""
    from . import counterspeech as cs
    from . import overdefense

    split_train, _ = D.split(D.load_examples(data_dir))
    out = D.cap_templates(rows)
    out += D.split(D.load_multilingual_injection(data_dir))[0]
    out += overdefense.rows(split_train, data_dir)
    return out + (cs.rows(split_train) if counterspeech else [])


POOL = (1, 2, 3, 4, 5, 6)  # hidden_states whose token means the pooled heads read (+ max of 6)


def pooled_heads(hidden: int = 256) -> tuple[HeadSpec, ...]:
    """HEADS as one-hidden-layer MLPs on the means of every layer and the maxima of the last
    (the layout the refit heads use: a short attack inside a long window is not averaged away)."""
    return tuple(
        HeadSpec(h.name, h.type, h.labels, h.negative, hidden=hidden, pool=POOL, pool_max=(6,))
        for h in HEADS
    )


def targets(batch: list[D.Example]):
    inj = torch.tensor([e.inj for e in batch], dtype=torch.long)
    harm = torch.tensor([e.harm for e in batch], dtype=torch.float32)
    w = torch.tensor([e.weight for e in batch], dtype=torch.float32)
    return inj, harm, w


def multitask_loss(logits: dict, inj, harm, w, cat_weight: float = 0.5):
    m_inj = (inj >= 0).float() * w
    ce = F.cross_entropy(logits["injection"], inj.clamp(min=0), reduction="none")
    loss_inj = (ce * m_inj).sum() / m_inj.sum().clamp(min=1.0)
    m_harm = (harm >= 0).float() * w[:, None]
    bce = F.binary_cross_entropy_with_logits(logits["harm"], harm.clamp(min=0), reduction="none")
    col = torch.ones(harm.shape[1], device=harm.device)
    col[1:] = cat_weight
    loss_harm = (bce * m_harm * col).sum() / (m_harm[:, 0].sum().clamp(min=1.0))
    return loss_inj + loss_harm, loss_inj.item(), loss_harm.item()


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    ap.add_argument("--run", default="full", help="folder name under classifiers/train/runs/")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke)")
    ap.add_argument("--limit", type=int, default=0, help="subsample the training rows (smoke)")
    ap.add_argument("--scale", type=float, default=0.5, help="multiplies the per-source caps")
    ap.add_argument("--n-aug", type=int, default=800, help="augmented injection documents")
    ap.add_argument("--hard-repeat", type=int, default=2)
    ap.add_argument(
        "--inj-repeat", type=int, default=1, help="passes over the injection/* training rows"
    )
    ap.add_argument(
        "--harm-frac",
        type=float,
        default=1.0,
        help="keep this fraction of harm/text and harm/completions training rows",
    )
    ap.add_argument("--max-len", type=int, default=96)
    ap.add_argument("--doc-max-len", type=int, default=192)
    ap.add_argument(
        "--freeze-layers", type=int, default=2, help="freeze embeddings + the first N layers"
    )
    ap.add_argument(
        "--freeze-embeddings",
        action="store_true",
        help="with --freeze-layers 0: also freeze the position / type embeddings and their "
        "LayerNorm (word embeddings are always frozen)",
    )
    ap.add_argument("--init", type=Path, help="start from this checkpoint, not the base model")
    ap.add_argument(
        "--keep-layers", default="", help="with --init: keep only these layers, e.g. 0,2,4,5"
    )
    ap.add_argument("--max-tokens", type=int, default=4096, help="tokens per batch (padded)")
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra", action="store_true", help="add extra_rows() to the training set")
    ap.add_argument(
        "--counterspeech",
        action="store_true",
        help="with --extra: also counterspeech.py's hate contrast rows (quoted, negated and "
        "referenced hate, profanity, obfuscated spelling)",
    )
    ap.add_argument("--pooled-heads", action="store_true", help="MLP heads on pooled layers")
    ap.add_argument(
        "--vary-benign", action="store_true", help="long benign rows: hash-chosen window start"
    )
    ap.add_argument("--save-minutes", type=float, default=10.0, help="resume checkpoint period")
    ap.add_argument(
        "--resume", action="store_true", help="continue from runs/<run>/resume.pt if it exists"
    )
    ap.add_argument(
        "--device",
        default="cpu",
        help="torch device for the training steps, e.g. cuda where a GPU is lent (the "
        "checkpoint is saved on the CPU either way)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; 1 is fastest when the 2 cores are shared",
    )
    return ap.parse_args(argv)


def initial_model(args) -> GuardModel:
    """The base encoder with fresh heads, or (--init) a trained checkpoint, optionally cut to
    the transformer layers --keep-layers (a student to fine-tune: fewer layers, less latency)."""
    if not args.init:
        return GuardModel.from_base(heads=pooled_heads() if args.pooled_heads else HEADS)
    model, _ = load_checkpoint(args.init)
    if args.keep_layers:
        model = student(model, tuple(int(i) for i in args.keep_layers.split(",")))
    return model


def make_optimizer(model: GuardModel, args, total_steps: int):
    from transformers import get_linear_schedule_with_warmup

    for p in model.encoder.embeddings.word_embeddings.parameters():
        p.requires_grad_(False)
    if args.freeze_layers or getattr(args, "freeze_embeddings", False):
        for p in model.encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in model.encoder.encoder.layer[: args.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
    enc = [p for p in model.encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": enc, "lr": args.lr}, {"params": model.heads.parameters(), "lr": args.head_lr}],
        weight_decay=0.01,
    )
    sched = get_linear_schedule_with_warmup(opt, int(args.warmup * total_steps), total_steps)
    return opt, sched


def save_resume(path: Path, model, opt, sched, step: int, ema) -> None:
    """Everything needed to continue after `step` (written atomically: a kill mid-write keeps
    the previous checkpoint)."""
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "step": step,
            "ema": ema,
            "rng": torch.get_rng_state(),
        },
        tmp,
    )
    os.replace(tmp, path)


def load_resume(path: Path, model, opt, sched) -> tuple[int, float | None]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    torch.set_rng_state(state["rng"])
    return state["step"], state["ema"]


def train(args) -> Path:
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    t0 = time.time()
    rows = build_train_set(
        args.data_dir,
        args.scale,
        args.n_aug,
        args.hard_repeat,
        args.limit,
        args.seed,
        args.inj_repeat,
        args.harm_frac,
    )
    if args.extra:
        rows = extra_rows(args.data_dir, rows, args.counterspeech)
        from .refit import assert_no_dev

        assert_no_dev(rows, args.data_dir)
    tok = load_tokenizer()
    seqs = encode_train(
        rows, tok, args.max_len, args.doc_max_len, injection_spans(rows), args.vary_benign
    )
    lengths = [len(s) for s in seqs]
    n_epochs = math.ceil(args.epochs)
    plan = []
    for ep in range(n_epochs):
        b = bucket_batches(lengths, args.max_tokens, args.max_batch, seed=args.seed + ep)
        plan += b[: int(len(b) * min(1.0, args.epochs - ep))]
    if args.max_steps:
        plan = plan[: args.max_steps]
    print(f"train rows={len(rows)} tokens/epoch={sum(lengths)} steps={len(plan)}", flush=True)
    model = initial_model(args).to(args.device)
    model.train()
    opt, sched = make_optimizer(model, args, len(plan))
    resume = RUNS / args.run / "resume.pt"
    resume.parent.mkdir(parents=True, exist_ok=True)
    first, ema = 0, None
    if args.resume and resume.exists():
        first, ema = load_resume(resume, model, opt, sched)
        print(f"resumed at step {first}/{len(plan)}", flush=True)
    bar = tqdm(plan[first:], desc="train", mininterval=10, file=sys.stderr, initial=first)
    saved = time.time()
    for step, batch_idx in enumerate(bar, start=first):
        batch = pad([seqs[i] for i in batch_idx])
        logits = model(**{k: torch.from_numpy(v).to(args.device) for k, v in batch.items()})
        goal = [t.to(args.device) for t in targets([rows[i] for i in batch_idx])]
        loss, li, lh = multitask_loss(logits, *goal)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{ema:.3f}", inj=f"{li:.3f}", harm=f"{lh:.3f}")
        if time.time() - saved > 60 * args.save_minutes:
            save_resume(resume, model, opt, sched, step + 1, ema)
            saved = time.time()
    meta = {
        "command": "python -m classifiers.train.train " + " ".join(sys.argv[1:]),
        "args": {k: str(v) for k, v in vars(args).items()},
        "train_rows": len(rows),
        "train_tokens_per_epoch": int(sum(lengths)),
        "steps": len(plan),
        "resumed_at_step": first,
        "train_seconds": round(time.time() - t0, 1),
        "counts": D.describe(rows),
        "families": dict(Counter(e.family for e in rows)),
    }
    out = RUNS / args.run / "model.pt"
    save_checkpoint(model.to("cpu"), out, meta)
    (out.parent / "train_meta.json").write_text(json.dumps(meta, indent=1))
    print(f"saved {out} in {meta['train_seconds']}s", flush=True)
    return out


def main(argv=None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    train(parse_args(argv))


if __name__ == "__main__":
    main()
