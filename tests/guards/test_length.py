"""The `length` guard: character and estimated-token budgets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrail.guards.length import estimate_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("the cat sat", 3),
        ("internationalization", 5),
        ("Hello, world!", 6),
        ("日本語のテキスト", 8),
        ("x = f(a, b)", 8),
        ("naïve café", 3),
    ],
)
def test_token_estimate(text: str, tokens: int) -> None:
    """Tokens: one per 4 word characters, one per CJK character or symbol; spaces are free."""
    assert estimate_tokens(text) == tokens


@given(st.text())
def test_estimate_never_exceeds_the_length(text: str) -> None:
    """A token covers at least one character, which lets the guard skip counting short texts."""
    assert estimate_tokens(text) <= len(text)


@pytest.mark.parametrize(
    ("params", "text", "too_long"),
    [
        ({"max_chars": 5}, "12345", False),
        ({"max_chars": 5}, "123456", True),
        ({"max_tokens": 3}, "the cat sat", False),
        ({"max_tokens": 3}, "the cat sat down", True),
        ({"max_tokens": 3}, "abc", False),
        ({"max_chars": 100, "max_tokens": 2}, "one two three", True),
        ({"max_chars": 5, "max_tokens": 100}, "one two three", True),
    ],
)
def test_texts_over_a_limit_are_too_long(
    build_guard: Any, scan: Any, params: dict[str, Any], text: str, too_long: bool
) -> None:
    """A text over either limit gives one `too_long` finding with score 1.0 and no spans."""
    findings = scan(build_guard("length", **params), text)
    assert [(f.label, f.score, f.spans) for f in findings] == (
        [("too_long", 1.0, ())] if too_long else []
    )


def test_each_text_is_measured_alone(build_guard: Any, scan: Any) -> None:
    """Findings point at the texts that are over the limit."""
    findings = scan(build_guard("length", max_chars=3), "abcd", "ab", "abcdef")
    assert [f.text_index for f in findings] == [0, 2]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "set max_chars, max_tokens or both"),
        ({"max_chars": 0}, "greater than 0"),
        ({"max_tokens": -1}, "greater than 0"),
        ({"max_chars": "10"}, "Input should be a valid integer"),
        ({"max_chars": 10, "tokenizer": "harm"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Missing or non-positive limits fail validation clearly."""
    assert message in config_error("length", **params)
