"""Reading labelled JSON Lines rows and deciding which labels are positive."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from guardrail.evaluate.data import DataError, Example, is_positive, read_examples, sample


@pytest.mark.parametrize(
    ("label", "positive", "expected"),
    [
        ("benign", None, False),
        ("safe", None, False),
        ("no_pii", None, False),
        ("no_secret", None, False),
        ("injection", None, True),
        ("unsafe", None, True),
        (None, None, False),  # an unlabelled row is never a positive
        ("injection", frozenset({"jailbreak"}), False),
        ("jailbreak", frozenset({"jailbreak"}), True),
        ("benign", frozenset({"benign"}), True),  # --positive overrides the default list
    ],
)
def test_is_positive(label: str | None, positive: frozenset[str] | None, expected: bool) -> None:
    """Default: any label but benign/safe/no_pii/no_secret; --positive names them instead."""
    assert is_positive(label, positive) is expected


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_read_examples_uses_the_named_fields_and_skips_rows_without_text(tmp_path: Path) -> None:
    """Custom text/label fields are read; rows whose text is missing or not a string are counted."""
    rows = [{"q": "a", "y": 1}, {"q": None, "y": "x"}, {"y": "x"}, {"q": "b"}]
    examples = read_examples(_write(tmp_path / "d.jsonl", rows), "q", "y")
    assert examples.rows == (Example("a", "1"), Example("b", None))
    assert examples.skipped == 2


def test_read_examples_stops_at_the_limit_and_ignores_blank_lines(tmp_path: Path) -> None:
    """--limit keeps the first N usable rows; blank lines are not rows."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n\n{"text": "b"}\n{"text": "c"}\n')
    assert [e.text for e in read_examples(path, limit=2).rows] == ["a", "b"]


def test_read_examples_reads_gzip(tmp_path: Path) -> None:
    """A .gz file is decompressed on the fly."""
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write('{"text": "a", "label": "safe"}\n')
    assert read_examples(path).rows == (Example("a", "safe"),)


@pytest.mark.parametrize("line", ["not json", "[1, 2]"])
def test_read_examples_names_the_bad_line(tmp_path: Path, line: str) -> None:
    """A line that is not a JSON object raises DataError with file:line."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n' + line + "\n")
    with pytest.raises(DataError, match=r"d\.jsonl:2:"):
        read_examples(path)


def test_read_examples_reports_a_missing_file(tmp_path: Path) -> None:
    """A missing file is a DataError, not an OSError traceback."""
    with pytest.raises(DataError, match="cannot read"):
        read_examples(tmp_path / "missing.jsonl")


def test_sample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    """The same seed picks the same rows, in the order of the file."""
    rows = [{"text": str(i), "label": "x"} for i in range(50)]
    examples = read_examples(_write(tmp_path / "d.jsonl", rows))
    first, again = sample(examples, 10, seed=3), sample(examples, 10, seed=3)
    assert first == again
    picked = [int(e.text) for e in first.rows]
    assert len(picked) == 10 and picked == sorted(picked)
    assert sample(examples, 99) == examples


def test_group_field_values_become_groups(tmp_path: Path) -> None:
    """A string is one group, a list one per distinct item, numbers are named, and a row
    without a usable value (missing, null, an object, an empty list) is in "(none)"."""
    rows = [
        {"text": "a", "c": "x"},
        {"text": "b", "c": ["x", "y", "x", None, {"k": 1}]},
        {"text": "c", "c": 3},
        {"text": "d"},
        {"text": "e", "c": {"k": 1}},
        {"text": "f", "c": []},
    ]
    examples = read_examples(_write(tmp_path / "g.jsonl", rows), group_field="c")
    assert [e.groups for e in examples.rows] == [
        ("x",),
        ("x", "y"),
        ("3",),
        ("(none)",),
        ("(none)",),
        ("(none)",),
    ]
    assert read_examples(tmp_path / "g.jsonl").rows[0].groups == ()
