"""`guardrail keys hash KEY` and `guardrail keys new`: proxy keys for the server config.

The server config stores only `sha256:<hex>` of each proxy key (see docs/operate.md):

    guardrail keys new            # a fresh random key, and the hash to put in server.yaml
    guardrail keys hash KEY       # the hash of a key you already have
    echo -n "$KEY" | guardrail keys hash -   # without the key in the shell history
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

from guardrail.server.auth import hash_key

KEY_PREFIX = "gr-"


def register(subparsers: Any) -> None:
    """Add `keys hash` and `keys new`."""
    keys = subparsers.add_parser("keys", help="make proxy keys and their hashes")
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    hash_ = sub.add_parser("hash", help="print sha256:<hex> of a key (for server.yaml)")
    hash_.add_argument("key", help="the key, or '-' to read it from standard input")
    hash_.set_defaults(func=run_hash)
    new = sub.add_parser("new", help="print a new random key and its hash")
    new.set_defaults(func=run_new)


def run_hash(args: argparse.Namespace) -> int:
    """Print the hash of one key (exit 2 for an empty key)."""
    key = sys.stdin.read().strip() if args.key == "-" else args.key.strip()
    if not key:
        print("guardrail keys hash: the key is empty", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


def run_new(args: argparse.Namespace) -> int:
    """Print `key: ...` and `hash: ...` for a new random key (give the key to the client)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    print(f"key:  {key}")
    print(f"hash: {hash_key(key)}")
    return 0
