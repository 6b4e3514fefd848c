"""`guardrail classify`: score texts with a classifier bundle, JSONL in, JSONL out.

Each input line is a JSON object (the text is its `--field`, default `text`) or, when it is
not a JSON object, the text itself. Each output line is
`{"line": N, "id": ... (when the input had one), "scores": {head: {label: probability}}}`,
in input order. Lines are scored in chunks through the runtime's thread pool.

When the bundle (or `--head`) has a token head, the line also has
`"entities": [{"start", "end", "type", "score"}]`: the spans that head tags, as character
offsets into the input text (`text[start:end]`), from the same pass (scores of a token head
are the maximum over the text's tokens). A bundle with several token heads adds `"head"` to
each entity.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from guardrail.errors import BundleError

if TYPE_CHECKING:  # the CLI imports the runtime (onnxruntime) only when `classify` runs
    from guardrail.inference.entities import Entity

T = TypeVar("T")
CHUNK = 256  # lines in flight at once: bounded memory on endless stdin


class InputError(Exception):
    """An input line that cannot be read."""


def register(subparsers: Any) -> None:
    """Add `classify` to the CLI."""
    parser = subparsers.add_parser(
        "classify",
        help="score texts (JSONL or one per line) with a classifier bundle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", required=True, help="bundle name or path")
    parser.add_argument("--head", help="only this head (default: every head)")
    parser.add_argument("--field", default="text", help="JSON field holding the text")
    parser.add_argument("input", nargs="?", default="-", help="input file, or - for stdin")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score every input line and print one JSON object per line."""
    from guardrail.inference.runtime import load_runtime

    try:
        runtime = load_runtime(args.bundle, base_dir=Path.cwd())
    except BundleError as exc:
        print(f"guardrail classify: {exc}", file=sys.stderr)
        return 2
    if args.head is not None and args.head not in runtime.heads:
        known = ", ".join(runtime.heads)
        print(f"guardrail classify: no head {args.head!r} (heads: {known})", file=sys.stderr)
        return 2
    heads = [args.head] if args.head is not None else list(runtime.heads)
    token_heads = [h for h in heads if h in runtime.token_heads]
    try:
        with runtime, _open(args.input) as stream:
            for chunk in _chunks(_records(stream, args.field), CHUNK):
                results = runtime.analyze_sync([text for _, text in chunk])
                for (meta, _), result in zip(chunk, results, strict=True):
                    record = {**meta, "scores": _rounded({h: result.scores[h] for h in heads})}
                    if token_heads:
                        record["entities"] = _entities(result.entities, token_heads)
                    sys.stdout.write(json.dumps(record) + "\n")
    except (InputError, OSError) as exc:
        print(f"guardrail classify: {exc}", file=sys.stderr)
        return 2
    return 0


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
        return
    with open(path, encoding="utf-8") as stream:
        yield stream


def _records(lines: Iterable[str], field: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(output metadata, text) per input line."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        meta: dict[str, Any] = {"line": number}
        obj = _json_object(line)
        if obj is None:
            yield meta, line
            continue
        text = obj.get(field)
        if not isinstance(text, str):
            raise InputError(f"line {number}: field {field!r} is missing or not a string")
        if "id" in obj:
            meta["id"] = obj["id"]
        yield meta, text


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _entities(found: dict[str, tuple[Entity, ...]], heads: list[str]) -> list[dict[str, Any]]:
    """Entities of the token heads in text order; named by head when there are several."""
    tagged = [(e, head) for head in heads for e in found.get(head, ())]
    return [
        {**entity.as_dict(), **({"head": head} if len(heads) > 1 else {})}
        for entity, head in sorted(tagged, key=lambda pair: (pair[0].start, pair[0].end))
    ]


def _rounded(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {h: {label: round(p, 6) for label, p in labels.items()} for h, labels in scores.items()}
