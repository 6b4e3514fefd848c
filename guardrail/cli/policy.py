"""`guardrail policy validate FILE...` and `guardrail policy schema`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from guardrail.errors import PolicyError
from guardrail.policy.load import load_policy
from guardrail.policy.schema import policy_json_schema


def register(subparsers: Any) -> None:
    """Add `policy validate` and `policy schema`."""
    policy = subparsers.add_parser("policy", help="validate policy files, print the schema")
    sub = policy.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    validate = sub.add_parser("validate", help="check policy files (exit 0 valid, 2 invalid)")
    validate.add_argument("files", nargs="+", type=Path)
    validate.add_argument("--json", action="store_true", help="print problems as JSON")
    validate.set_defaults(func=run_validate)
    schema = sub.add_parser("schema", help="print the JSON Schema of policy files")
    schema.set_defaults(func=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    """Validate every file; print each problem as file:line:column: field: message."""
    problems: list[dict[str, Any]] = []
    for path in args.files:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems += [p.as_dict() for p in exc.problems]
            if not args.json:
                for problem in exc.problems:
                    print(problem, file=sys.stderr)
            continue
        if not args.json:
            print(f"{path}: ok ({len(policy.rules)} rules, {len(policy.guards)} guards)")
    if args.json:
        print(json.dumps({"valid": not problems, "problems": problems}, indent=2))
    return 2 if problems else 0


def run_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema (committed as policies/schema.json)."""
    print(json.dumps(policy_json_schema(), indent=2, sort_keys=True))
    return 0
