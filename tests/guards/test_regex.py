"""The `regex` guard: RE2 patterns, named labels, character offsets, validation."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail.errors import PolicyError
from guardrail.guards.base import Guard
from guardrail.policy.load import load_policy_text

TICKET = {"ticket": r"[A-Z]{2,5}-\d+"}


@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        ({"patterns": TICKET}, "see ABC-12 and XY-3", [("ticket", "ABC-12"), ("ticket", "XY-3")]),
        ({"patterns": TICKET}, "nothing here", []),
        (
            {"patterns": [{"name": "ticket", "pattern": r"[A-Z]{2,5}-\d+"}]},
            "fix OPS-7",
            [("ticket", "OPS-7")],
        ),
        ({"patterns": {"word": "secret"}, "ignore_case": True}, "SeCrEt", [("word", "SeCrEt")]),
        ({"patterns": {"word": "secret"}}, "SECRET", []),
        ({"patterns": {"word": "(?i)secret"}}, "SECRET", [("word", "SECRET")]),
        ({"patterns": {"greek": r"\p{Greek}+"}}, "αβγ and δ", [("greek", "αβγ"), ("greek", "δ")]),
        (
            {"patterns": {"a": "foo", "b": "bar"}},
            "bar foo",
            [("b", "bar"), ("a", "foo")],
        ),
        ({"patterns": {"edge": r"\b"}}, "a b", []),
    ],
)
def test_matches_are_labelled_by_pattern_name(
    build_guard: Any, found: Any, params: dict[str, Any], text: str, expected: list[Any]
) -> None:
    """Each match becomes a span labelled with its pattern's name; empty matches are dropped."""
    assert found(build_guard("regex", **params), text) == expected


@pytest.mark.parametrize(
    "prefix", ["", "é", "日本語 ", "👩‍👩‍👧 ", "\U000e0041\U000e0042", "a\u0301 "]
)
def test_offsets_are_python_string_indices(build_guard: Any, scan: Any, prefix: str) -> None:
    """Span offsets index the Python string, whatever multi-byte text precedes the match."""
    text = f"{prefix}key=ABC-42!"
    [finding] = scan(build_guard("regex", patterns=TICKET), text)
    [span] = finding.spans
    assert text[span.start : span.end] == "ABC-42"


def test_findings_point_at_their_text(build_guard: Any, scan: Any) -> None:
    """One finding per (text, label), with `text_index` into the scanned texts and score 1.0."""
    findings = scan(build_guard("regex", patterns=TICKET), "none", "A-1 AB-2", "CD-3")
    assert [(f.text_index, f.label, len(f.spans), f.score) for f in findings] == [
        (1, "ticket", 1, 1.0),
        (2, "ticket", 1, 1.0),
    ]


def test_guard_satisfies_the_protocol(build_guard: Any) -> None:
    """The built guard is a `Guard` named after its policy instance, with no thresholds."""
    guard = build_guard("regex", name="tickets", patterns=TICKET)
    assert isinstance(guard, Guard)
    assert guard.name == "tickets"
    assert guard.default_thresholds == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"patterns": {"dup": r"(a)\1"}},
            "patterns.dup\n  Value error, '(a)\\\\1' is not a valid RE2",
        ),
        (
            {"patterns": {"ahead": "foo(?=bar)"}},
            "patterns.ahead\n  Value error, 'foo(?=bar)' is not",
        ),
        ({"patterns": {"behind": "(?<=x)y"}}, "invalid perl operator"),
        ({"patterns": {"open": "["}}, "missing ]"),
        (
            {"patterns": {"star": "a*"}},
            "patterns.star\n  Value error, 'a*' matches the empty string",
        ),
        ({"patterns": {"": "a"}}, "at least 1 character"),
        ({"patterns": {}}, "at least 1"),
        ({"patterns": {"n": 5}}, "Input should be a valid string"),
        ({"patterns": [{"name": "a", "pattern": "x"}, {"name": "a", "pattern": "y"}]}, "duplicate"),
        ({"patterns": [{"name": "a"}]}, "needs exactly the keys `name` and `pattern`"),
        ({"patterns": [{"name": "a", "pattern": "(?<=a)"}]}, "patterns.a\n"),
        ({"patterns": TICKET, "flags": "i"}, "Extra inputs are not permitted"),
        ({"patterns": TICKET, "ignore_case": "yes"}, "Input should be a valid boolean"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Patterns RE2 cannot run, and malformed parameters, fail validation with a clear reason."""
    assert message in config_error("regex", **params)


@pytest.mark.timeout(20)
def test_catastrophic_patterns_run_in_linear_time(build_guard: Any, scan: Any) -> None:
    """A pattern that would backtrack exponentially in `re` finishes at once under RE2."""
    guard = build_guard("regex", patterns={"evil": r"(a+)+$", "evil2": r"(a|aa)*c"})
    assert scan(guard, "a" * 50_000 + "b") == []


def test_policy_errors_point_at_the_bad_pattern() -> None:
    """Loading a policy reports an RE2-incompatible pattern at its own file:line:column."""
    text = (
        "version: 1\nguards:\n  t:\n    kind: regex\n    patterns:\n"
        "      ok: 'a+'\n      dup: '(a)\\1'\nrules: []\n"
    )
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, "p.yaml")
    assert "p.yaml:7:7: guards.t.patterns.dup: '(a)\\\\1' is not a valid RE2" in str(info.value)
