"""Labelled rows from JSON Lines files (`.jsonl` or `.jsonl.gz`); which labels are positive.

Rows never leave this module as printable text in reports: callers get `Example`s and count them.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# Labels that mean "nothing to catch" in the shared data sets (every other label is positive).
NEGATIVE_LABELS = frozenset({"benign", "safe", "no_pii", "no_secret"})


class DataError(ValueError):
    """A data file that cannot be read as labelled JSON Lines (names the file and line)."""


@dataclass(frozen=True)
class Example:
    """One row: the text to check and its label (None when the row has no label)."""

    text: str
    label: str | None
    groups: tuple[str, ...] = ()  # the row's values of the `--by` field (a string or a list)


@dataclass(frozen=True)
class Examples:
    """The usable rows of a file and how many were skipped (no text in the text field)."""

    rows: tuple[Example, ...]
    skipped: int


def is_positive(label: str | None, positive: frozenset[str] | None = None) -> bool:
    """Positive when `label` is in `positive`; by default, any label but the negative ones."""
    if label is None:
        return False
    if positive is not None:
        return label in positive
    return label not in NEGATIVE_LABELS


NO_GROUP = "(none)"  # the group of a row without a value in the `--by` field


def parse_example(
    line: str, text_field: str, label_field: str, group_field: str | None = None
) -> Example | None:
    """The example in one JSON line, or None when the row has no string text."""
    row: Any = json.loads(line)
    if not isinstance(row, dict):
        raise ValueError("a row must be a JSON object")
    text = row.get(text_field)
    if not isinstance(text, str):
        return None
    label = row.get(label_field)
    groups = () if group_field is None else _groups(row.get(group_field))
    return Example(text=text, label=None if label is None else str(label), groups=groups)


def _groups(value: Any) -> tuple[str, ...]:
    """A field's value as group names: a scalar is one group, a list one group per item."""
    items = value if isinstance(value, list) else [value]
    names = [str(v) for v in items if v is not None and not isinstance(v, dict | list)]
    return tuple(dict.fromkeys(names)) or (NO_GROUP,)


def sample(examples: Examples, size: int, seed: int = 0) -> Examples:
    """A seeded random `size` rows, in file order (all rows when there are fewer)."""
    if size >= len(examples.rows):
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples.rows)), size))
    return Examples(tuple(examples.rows[i] for i in keep), examples.skipped)


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def read_examples(
    path: Path,
    text_field: str = "text",
    label_field: str = "label",
    limit: int | None = None,
    group_field: str | None = None,
) -> Examples:
    """Read up to `limit` usable rows (raises `DataError` naming the bad line)."""
    rows: list[Example] = []
    skipped = 0
    try:
        for number, line in _lines(path):
            if limit is not None and len(rows) >= limit:
                break
            try:
                example = parse_example(line, text_field, label_field, group_field)
            except ValueError as exc:
                raise DataError(f"{path}:{number}: not a JSON object row ({exc})") from None
            if example is None:
                skipped += 1
            else:
                rows.append(example)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    return Examples(tuple(rows), skipped)
