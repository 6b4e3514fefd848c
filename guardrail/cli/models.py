"""`guardrail models list | verify | export`: find, check and make classifier bundles."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from guardrail.errors import BundleError


def register(subparsers: Any) -> None:
    """Add `models` and its sub-commands to the CLI."""
    parser = subparsers.add_parser("models", help="list, verify and export classifier bundles")
    commands = parser.add_subparsers(dest="models_command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        help="bundles found (GUARDRAIL_BUNDLES_DIR, a checkout's classifiers/, the installed "
        "package's); exit 1 when there is none",
    )
    listing.set_defaults(func=run_list)

    verify = commands.add_parser("verify", help="check a bundle's manifest, hashes and graph")
    verify.add_argument("bundle", help="bundle name or path")
    verify.set_defaults(func=run_verify)

    export = commands.add_parser(
        "export", help="turn a local Hugging Face sequence classifier into a bundle"
    )
    export.add_argument("model_dir", type=Path, help="folder with config.json, weights, tokenizer")
    export.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    export.add_argument("--name", help="bundle name (default: the --out folder's name)")
    export.add_argument("--no-quantize", action="store_true", help="keep fp32 weights")
    export.add_argument(
        "--negative",
        action="append",
        help="a label that is not a finding (repeatable; default: guessed, e.g. 'benign')",
    )
    export.add_argument("--max-length", type=int, help="tokens per window (default: model's)")
    export.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    """Print one line per bundle: name, heads, path; 1 (and where it looked) if none."""
    from guardrail.inference.bundle import list_bundles, read_manifest, search_dirs

    found = list_bundles()
    if not found:
        looked = ", ".join(str(d) for d in search_dirs())
        print(f"no classifier bundles found (looked in {looked})", file=sys.stderr)
        return 1
    for path in found:
        try:
            manifest = read_manifest(path)
        except BundleError as exc:
            print(f"{path.name}\tINVALID\t{path}\t{exc}")
            continue
        heads = ",".join(manifest.heads)
        print(f"{manifest.name}\theads={heads}\tmax_length={manifest.max_length}\t{path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check manifest, hashes, graph inputs/outputs and one forward pass; 1 if any fails."""
    from guardrail.inference.bundle import load_bundle, unlisted_files
    from guardrail.inference.runtime import ClassifierRuntime

    try:
        bundle = load_bundle(args.bundle, base_dir=Path.cwd())
        with ClassifierRuntime(bundle) as runtime:
            runtime.analyze_sync(["guardrail models verify"])  # every output, token heads too
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    extra = unlisted_files(bundle.path, bundle.manifest)
    if extra:
        print(f"FAILED: {bundle.path}: files not listed in bundle.yaml: {extra}", file=sys.stderr)
        return 1
    print(f"ok: {bundle.name} ({bundle.path}): {len(bundle.manifest.files)} files verified")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export a Hugging Face model folder to a bundle (needs the `train` extra)."""
    from guardrail.inference.export import export_hf

    try:
        report = export_hf(
            args.model_dir,
            args.out,
            name=args.name,
            quantize=not args.no_quantize,
            negative=args.negative,
            max_length=args.max_length,
        )
    except ImportError as exc:
        print(f"guardrail models export needs the train extra: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, BundleError) as exc:
        print(f"guardrail models export: {exc}", file=sys.stderr)
        return 2
    kind = "int8" if report.quantized else "fp32"
    print(
        f"wrote {report.bundle} ({kind}, head classifier/{report.head_type}: "
        f"{', '.join(report.labels)}); max |p_onnx - p_torch| = {report.max_prob_diff:.4f}"
    )
    return 0
