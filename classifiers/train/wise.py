"""WiSE-FT (Wortsman et al. 2022): interpolate every weight between a start and its fine-tune.

    python -m classifiers.train.wise --init classifiers/train/runs/shipped_rebuilt/model.pt \\
        --ft classifiers/train/runs/lpft/model.pt --alpha 0.5 --out /tmp/wise05/model.pt

theta(alpha) = (1 - alpha) * theta_init + alpha * theta_ft for every floating-point tensor,
heads included (same architecture: the fine-tune started from --init, train.py --init), so
alpha = 0 is the start and alpha = 1 the fine-tune. The result is an ordinary checkpoint for
export.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .model import load_checkpoint, save_checkpoint


def interpolate(init: dict, ft: dict, alpha: float) -> dict:
    """State dict at `alpha`; integer buffers (position ids) must be equal and are kept."""
    if init.keys() != ft.keys():
        raise ValueError(f"different parameters: {sorted(init.keys() ^ ft.keys())[:5]}")
    out = {}
    for key, a in init.items():
        b = ft[key]
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
    args = ap.parse_args(argv)
    start, _ = load_checkpoint(args.init)
    tuned, meta = load_checkpoint(args.ft)
    if start.head_specs != tuned.head_specs:
        raise SystemExit("--init and --ft have different heads")
    start.load_state_dict(interpolate(start.state_dict(), tuned.state_dict(), args.alpha))
    meta = {
        "command": f"python -m classifiers.train.wise --init {args.init} --ft {args.ft} "
        f"--alpha {args.alpha}",
        "alpha": args.alpha,
        "ft_meta": meta,
    }
    save_checkpoint(start, args.out, meta)
    print(f"saved {args.out} (alpha {args.alpha})")


if __name__ == "__main__":
    main()
