"""WiSE-FT (Wortsman et al. 2022): interpolate every weight between a start and its fine-tune.

    python -m classifiers.train.wise --init classifiers/train/runs/shipped_rebuilt/model.pt \\
        --ft classifiers/train/runs/lpft/model.pt --alpha 0.5 --out /tmp/wise05/model.pt

theta(alpha) = (1 - alpha) * theta_init + alpha * theta_ft for every floating-point tensor,
heads included (same architecture: the fine-tune started from --init, train.py --init), so
alpha = 0 is the start and alpha = 1 the fine-tune. The result is an ordinary checkpoint for
export.py.

`--encoder-only` interpolates the encoder alone and keeps --init's heads: a soup of two
fine-tunes of one base model (Wortsman et al. 2022, "Model soups") whose heads differ, for
refit.py to fit new heads on (e.g. the shipped encoder and the full fine-tune `ft`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .model import load_checkpoint, save_checkpoint


def interpolate(init: dict, ft: dict, alpha: float, prefix: str = "") -> dict:
    """State dict at `alpha`; integer buffers (position ids) must be equal and are kept. With
    `prefix`, only the tensors whose names start with it (both must have the same ones); the
    others are --init's."""
    mine, theirs = ({k for k in d if k.startswith(prefix)} for d in (init, ft))
    if mine != theirs:
        raise ValueError(f"different parameters: {sorted(mine ^ theirs)[:5]}")
    out = dict(init)
    for key in sorted(mine):
        a, b = init[key], ft[key]
        if a.shape != b.shape:
            raise ValueError(f"{key}: {tuple(a.shape)} vs {tuple(b.shape)}")
        if a.is_floating_point():
            out[key] = (1.0 - alpha) * a + alpha * b
        elif torch.equal(a, b):
            out[key] = a
        else:
            raise ValueError(f"{key}: non-float tensors differ")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True, help="the fine-tune's starting point")
    ap.add_argument("--ft", type=Path, required=True, help="the fine-tuned checkpoint")
    ap.add_argument("--alpha", type=float, required=True, help="0 = --init, 1 = --ft")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--encoder-only",
        action="store_true",
        help="interpolate the encoder only and keep --init's heads (a soup of two fine-tunes)",
    )
    args = ap.parse_args(argv)
    start, _ = load_checkpoint(args.init)
    tuned, meta = load_checkpoint(args.ft)
    if not args.encoder_only and start.head_specs != tuned.head_specs:
        raise SystemExit("--init and --ft have different heads (--encoder-only?)")
    prefix = "encoder." if args.encoder_only else ""
    start.load_state_dict(interpolate(start.state_dict(), tuned.state_dict(), args.alpha, prefix))
    meta = {
        "command": f"python -m classifiers.train.wise --init {args.init} --ft {args.ft} "
        f"--alpha {args.alpha}" + " --encoder-only" * args.encoder_only,
        "alpha": args.alpha,
        "ft_meta": meta,
    }
    save_checkpoint(start, args.out, meta)
    print(f"saved {args.out} (alpha {args.alpha})")


if __name__ == "__main__":
    main()
