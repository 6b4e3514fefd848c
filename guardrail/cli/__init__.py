"""`guardrail` command line: one module per command group, listed in `COMMANDS`.

Each module exposes `register(subparsers)`, which adds its sub-command(s) and sets
`func=<callable(args) -> int>` as the parser default. Exit codes: 0 ok, 1 blocked / failed
check, 2 usage or validation error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from guardrail.logging import configure

# Command modules, imported lazily in this order (keeps `guardrail check` free of litellm).
COMMANDS: tuple[str, ...] = (
    "guardrail.cli.demo",
    "guardrail.cli.check",
    "guardrail.cli.policy",
    "guardrail.cli.classify",
    "guardrail.cli.models",
    "guardrail.cli.serve",
    "guardrail.cli.keys",
    "guardrail.cli.eval",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every registered command)."""
    parser = argparse.ArgumentParser(
        prog="guardrail",
        description=__doc__.splitlines()[0],
        epilog="exit status: 0 ok; 1 blocked (check) or a failed check (test, models, "
        "policy tests); 2 usage or validation error. `guardrail COMMAND --help` says more.",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("GUARDRAIL_LOG_LEVEL", "WARNING"),
        help="audit/log events at or above this level go to stderr as JSON (default WARNING; "
        "`serve` uses INFO unless told otherwise)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # command module not present in this build
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `guardrail` script."""
    args = build_parser().parse_args(argv)
    configure(level=args.log_level)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
