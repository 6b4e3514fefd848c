"""A fine-tuning run packed for the lent GPU machine (the `device` tool), and its checkpoint back.

    python -m classifiers.train.gpu_kit pack      # .gpu/: data without dev/, base weights, run.sh
    python -m classifiers.train.gpu_kit size      # what a device call would send, vs its 64 MiB
    python -m classifiers.train.gpu_kit untrack   # the shipped bundles out of git's index
    #   device run: command "bash .gpu/run.sh", carry [".gpu"]  (TRAIN_ARGS="..." to change it)
    python -m classifiers.train.gpu_kit retrack   # ... and back in, right after the device call
    python -m classifiers.train.gpu_kit unpack DIR --run gpu   # the returned shards -> model.pt

Why (issue #17: the encoder fine-tune needs a GPU; every session so far ran without one): the
device tool sends the checkout's tracked and untracked-not-ignored files plus the paths a call
carries, 64 MiB in all, and brings back at most 8 files of 16 MiB. This repository's tracked files
are ~92 MiB (three int8 bundles, 85 MB), ../shared/data does not travel (it is beside the
checkout), the base weights live in a 90 MB pip package the device machine lacks, and a
fine-tuned checkpoint is 88 MB. So:

* `pack` writes `.gpu/` (git-ignored): `data.tgz`, ../shared/data WITHOUT dev/ (dev/ is for
  choosing: the device never sees it; ≈14 MB compressed), `base/` (all-MiniLM-L6-v2's config,
  tokenizer and weights stored as float16, ≈44 MB; transformers loads them into the float32
  model), `run.sh` (unpack, `train.py --device cuda`, then `shard`: the checkpoint as float16
  safetensors shards of at most 15 MiB into $OUT).
* `untrack` takes the bundles out of git's index (the files stay on disk, `.git/info/exclude`
  ignores them meanwhile), so they do not travel; `retrack` puts them back from HEAD. Never
  commit in between: the commit would delete them. `size` prints what would travel.
* `unpack` reassembles the shards into `runs/<run>/model.pt` (float32), which export.py,
  evaluate.py and refit.py read like any CPU run's checkpoint; choosing and measuring happen
  here, on dev/, as for every run.

Tested on the CPU (tests/train/test_gpu_kit.py: pack, shard/unpack round trip, untrack/retrack
in a scratch repository); the device end is unexercised until a session is lent a machine.
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import subprocess
import tarfile
from pathlib import Path

from . import data as D

KIT = D.REPO_ROOT / ".gpu"
LIMIT = 64 * 2**20  # what one device call may send
SHARD_BYTES = 15 * 2**20  # the tool brings back files of at most 16 MiB
# what untrack takes out of the index: the bundles (85 MB) and the docs' screenshots (0.6 MB)
HEAVY = (
    "classifiers/guard-minilm",
    "classifiers/guard-minilm-l4",
    "classifiers/guard-multilingual",
    "docs/img",
)
MARK = "# gpu_kit untrack (remove with: python -m classifiers.train.gpu_kit retrack)"
BASE_FILES = ("config.json", "tokenizer.json")
# issue #17's recipe: every layer, more than one epoch, runtime-sized windows, our over-defense
# and contrast rows; ~10 min on an H100 is the budget of one device call
TRAIN_ARGS = (
    "--run gpu --freeze-layers 0 --epochs 2 --max-len 256 --doc-max-len 512 --extra "
    "--counterspeech --vary-benign --max-tokens 16384 --max-batch 128 --save-minutes 3"
)
RUN_SH = """#!/bin/bash
# Written by classifiers/train/gpu_kit.py pack; run on the device machine from the repo root:
#   device run: command "bash .gpu/run.sh", carry [".gpu"]
set -euo pipefail
export PYTHONUNBUFFERED=1 GUARDRAIL_BASE_MODEL_DIR="$PWD/.gpu/base"
args="${{TRAIN_ARGS:-{args}}}"
out="${{OUT:-/tmp/gpu_kit/out}}"
mkdir -p /tmp/gpu_kit "$out" && tar xzf .gpu/data.tgz -C /tmp/gpu_kit
python3 -m classifiers.train.train --device "${{DEVICE:-cuda}}" --data-dir /tmp/gpu_kit/data \\
  $args 2>&1 | tee "$out/train.log"
python3 -m classifiers.train.gpu_kit shard --train-args "$args" "$out"
"""


def pack(out: Path, data_dir: Path, base_dir: Path, train_args: str = TRAIN_ARGS) -> dict:
    """`.gpu/`-style kit in `out`: data.tgz (without dev/), base/ (float16 weights), run.sh."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    (out / "base").mkdir(exist_ok=True)
    for name in BASE_FILES:
        (out / "base" / name).write_bytes((base_dir / name).read_bytes())
    weights = load_file(str(base_dir / "model.safetensors"))
    half = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    save_file(half, str(out / "base" / "model.safetensors"), metadata={"format": "pt"})
    rows = 0
    # train.py --extra checks its rows against dev/: the device gets the texts' hashes only
    from .refit import DEV_HASHES, dev_hashes

    hashes = json.dumps(sorted(dev_hashes(data_dir))).encode()
    with tarfile.open(out / "data.tgz", "w:gz") as tar:
        info = tarfile.TarInfo(str(Path("data") / DEV_HASHES))
        info.size = len(hashes)
        tar.addfile(info, io.BytesIO(hashes))
        for path in sorted(data_dir.rglob("*")):
            rel = path.relative_to(data_dir)
            if rel.parts[0] == "dev" or not path.is_file():
                continue  # dev/ is for choosing, here: the device never sees it
            tar.add(path, arcname=str(Path("data") / rel))
            rows += path.suffix == ".jsonl"
    (out / "run.sh").write_text(RUN_SH.format(args=train_args))
    sizes = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()}
    return {
        "files": sizes,
        "bytes": sum(sizes.values()),
        "data_files": rows,
    }


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def travelling(repo: Path, carried: tuple[str, ...] = (".gpu",)) -> dict:
    """Bytes a device call would send: tracked and untracked-not-ignored files, and `carried`."""
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    files = [repo / p for p in listed.split("\0") if p]
    tree = sum(p.stat().st_size for p in files if p.is_file())
    extra = sum(
        f.stat().st_size
        for c in carried
        if (repo / c).exists()
        for f in (repo / c).rglob("*")
        if f.is_file()
    )
    return {"tree": tree, "carried": extra, "total": tree + extra, "limit": LIMIT}


def untrack(repo: Path, paths: tuple[str, ...] = HEAVY) -> None:
    """Take `paths` out of git's index (kept on disk, ignored meanwhile) so they do not travel."""
    exclude = repo / ".git" / "info" / "exclude"
    text = exclude.read_text() if exclude.exists() else ""
    if MARK in text:
        raise SystemExit("untracked already: run `retrack` first")
    if _git(repo, "status", "--porcelain", "--", *paths).strip():
        raise SystemExit(f"{', '.join(paths)}: uncommitted changes; commit or stash them first")
    exclude.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "rm", "-r", "-q", "--cached", "--", *paths)
    lines = "".join(f"/{p}/\n" for p in paths)
    sep = "" if text.endswith("\n") or not text else "\n"
    exclude.write_text(text + sep + f"{MARK}\n{lines}")


def retrack(repo: Path, paths: tuple[str, ...] = HEAVY) -> None:
    """Undo `untrack`: the index entries back from HEAD, the exclude lines gone."""
    exclude = repo / ".git" / "info" / "exclude"
    text = exclude.read_text() if exclude.exists() else ""
    if MARK in text:
        head, _, rest = text.partition(MARK + "\n")
        drop = {f"/{p}/" for p in paths}
        exclude.write_text(
            head + "".join(line + "\n" for line in rest.splitlines() if line not in drop)
        )
    _git(repo, "reset", "-q", "--", *paths)


def shard(checkpoint: Path, out: Path, limit: int = SHARD_BYTES) -> list[Path]:
    """A train.py checkpoint as float16 safetensors shards of at most `limit` bytes each, plus
    `checkpoint.json` (its meta and head specs), for the device tool's 16 MiB files."""
    import torch
    from safetensors.torch import save_file

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    pieces: dict[str, torch.Tensor] = {}
    split: dict[str, int] = {}
    for key, tensor in ckpt["state_dict"].items():
        tensor = tensor.half() if tensor.is_floating_point() else tensor
        if tensor.dim() and tensor.numel() * tensor.element_size() > limit:
            rows = max(1, limit // (tensor[0].numel() * tensor.element_size()))
            parts = torch.split(tensor, rows)  # e.g. the word embeddings (23 MB in float16)
            split[key] = len(parts)
            pieces.update({f"{key}@{i}": part for i, part in enumerate(parts)})
        else:
            pieces[key] = tensor
    groups: list[dict] = [{}]
    size = 0
    for key, tensor in pieces.items():
        nbytes = tensor.numel() * tensor.element_size()
        if groups[-1] and size + nbytes > limit:
            groups.append({})
            size = 0
        groups[-1][key] = tensor.contiguous()
        size += nbytes
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, group in enumerate(groups):
        path = out / f"shard-{i:02d}.safetensors"
        save_file(group, str(path))
        written.append(path)
    meta = {
        "meta": ckpt["meta"],
        "heads": ckpt["heads"],
        "shards": [p.name for p in written],
        "split": split,
    }
    (out / "checkpoint.json").write_text(json.dumps(meta, indent=1, default=str))
    return written


def unpack(shards: Path, target: Path) -> Path:
    """The checkpoint `shard` split, reassembled as float32 into `target` (train.py's format)."""
    import torch
    from safetensors.torch import load_file

    info = json.loads((shards / "checkpoint.json").read_text())
    pieces: dict = {}
    for name in info["shards"]:
        pieces.update(load_file(str(shards / name)))
    state: dict = {}
    for key, tensor in pieces.items():
        base, _, part = key.rpartition("@") if "@" in key else (key, "", "")
        if base in info["split"]:  # a tensor `shard` cut into row blocks: joined at block 0
            if part != "0":
                continue
            tensor = torch.cat([pieces[f"{base}@{i}"] for i in range(info["split"][base])])
        state[base] = tensor.float() if tensor.is_floating_point() else tensor
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "meta": info["meta"], "heads": info["heads"]}, target)
    return target


def main(argv: list[str] | None = None) -> None:
    from .model import base_model_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="write .gpu/ (data without dev/, base weights, run.sh)")
    p.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    p.add_argument("--train-args", default=TRAIN_ARGS, help="train.py arguments run.sh uses")
    sub.add_parser("size", help="bytes a device call would send now, with .gpu/ carried")
    sub.add_parser("untrack", help="the shipped bundles out of git's index (not off disk)")
    sub.add_parser("retrack", help="undo untrack")
    s = sub.add_parser("shard", help="(on the device) the run's checkpoint as <=15 MiB shards")
    s.add_argument("--train-args", default=TRAIN_ARGS, help="train.py's arguments (its --run)")
    s.add_argument("out", type=Path)
    u = sub.add_parser("unpack", help="returned shards -> runs/<run>/model.pt")
    u.add_argument("shards", type=Path)
    u.add_argument("--run", default="gpu")
    args = ap.parse_args(argv)
    repo = D.REPO_ROOT
    if args.cmd == "pack":
        shlex.split(args.train_args)  # a quoting error shows here, not on the device
        print(json.dumps(pack(KIT, args.data_dir, base_model_dir(), args.train_args), indent=1))
        print(json.dumps(travelling(repo)))
    elif args.cmd == "size":
        print(json.dumps(travelling(repo)))
    elif args.cmd == "untrack":
        untrack(repo)
        print(json.dumps(travelling(repo)))
    elif args.cmd == "retrack":
        retrack(repo)
    elif args.cmd in ("shard", "unpack"):
        from .train import RUNS  # where train.py writes runs/<run>/model.pt

        if args.cmd == "unpack":
            print(unpack(args.shards, RUNS / args.run / "model.pt"))
            return
        words = shlex.split(args.train_args)
        run = words[words.index("--run") + 1] if "--run" in words else "full"
        print([str(p) for p in shard(RUNS / run / "model.pt", args.out)])


if __name__ == "__main__":
    main()
