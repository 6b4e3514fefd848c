"""The `keywords` guard: Aho-Corasick matching, word boundaries, case folding, groups."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardrail.guards.keywords import fold

WORDS = ["class", "c++", "new york", "york"]


@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        ({}, "a class act", [("kw", "class")]),
        ({}, "a classic act", []),
        ({}, "subclass", []),
        ({}, "I like C++.", [("kw", "C++")]),
        ({}, "I like c++11", [("kw", "c++")]),
        ({}, "abc++", []),
        ({}, "New York, york!", [("kw", "New York"), ("kw", "york")]),
        ({}, "CLASS_NAME", []),
        ({"whole_words": False}, "a classic", [("kw", "class")]),
        ({"case_sensitive": True}, "Class class", [("kw", "class")]),
        ({"keywords": ["café"]}, "un café, des cafés", [("kw", "café")]),
        ({"keywords": ["über"]}, "Über alles, Müber", [("kw", "Über")]),
        ({"keywords": ["東京"]}, "東京タワー 東京", [("kw", "東京")]),
        ({"keywords": ["istanbul"]}, "İstanbul İSTANBUL", [("kw", "İstanbul"), ("kw", "İSTANBUL")]),
        ({"keywords": [" padded "]}, "a padded word", [("kw", "padded")]),
        (
            {"keywords": ["ﬁnance", "ｋａｂｏｏｍ"]},
            "finance, kaboom",
            [("kw", "finance"), ("kw", "kaboom")],
        ),
    ],
)
def test_keywords_are_found_as_whole_words(
    build_guard: Any, found: Any, params: dict[str, Any], text: str, expected: list[Any]
) -> None:
    """Keywords match case-insensitively, Unicode-aware, only where they are whole words."""
    guard = build_guard("keywords", name="kw", **{"keywords": WORDS, **params})
    assert found(guard, text) == expected


def test_groups_label_their_words(build_guard: Any, found: Any) -> None:
    """With groups, each occurrence is labelled by its group; a word in two groups is both."""
    guard = build_guard(
        "keywords", keywords={"weapons": ["knife", "gun"], "tools": ["knife", "saw"]}
    )
    assert found(guard, "a gun, a knife and a saw") == [
        ("weapons", "gun"),
        ("tools", "knife"),
        ("weapons", "knife"),
        ("tools", "saw"),
    ]


def test_longest_keyword_wins_within_a_group(build_guard: Any, found: Any) -> None:
    """Overlapping keywords of one group report only the longest occurrence."""
    guard = build_guard("keywords", keywords=["new york city", "york", "new york"])
    assert found(guard, "in New York City today") == [("g", "New York City")]


def test_one_finding_per_text_and_group(build_guard: Any, scan: Any) -> None:
    """Findings carry score 1.0, the text index, and one span per occurrence."""
    findings = scan(build_guard("keywords", keywords=["spam"]), "ham", "spam and spam")
    assert [(f.text_index, f.label, f.score, len(f.spans)) for f in findings] == [(1, "g", 1.0, 2)]


@given(st.text())
def test_fold_keeps_offsets(text: str) -> None:
    """Case folding never changes the length, so offsets stay valid in the original text."""
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"keywords": []}, "at least 1"),
        ({"keywords": {}}, "at least 1"),
        ({"keywords": ["ok", "  "]}, "keywords contains a blank keyword"),
        ({"keywords": ["ok", "\u200b\u00ad"]}, "keywords contains a blank keyword"),
        ({"keywords": {"g": []}}, "group 'g' is empty"),
        ({"keywords": "word"}, "Input should be a valid"),
        ({"keywords": ["a"], "whole_word": True}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Empty or blank keyword lists and unknown options fail validation clearly."""
    assert message in config_error("keywords", **params)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status of operation n1ghtj4r?", [("codenames", "operation n1ghtj4r")]),
        ("what about pr0ject b l u e b i r d", [("codenames", "pr0ject b l u e b i r d")]),
        ("p r o j e c t b l u e b i r d", [("codenames", "p r o j e c t b l u e b i r d")]),
        ("the bluebirds of project 4", []),
    ],
)
def test_respelled_keywords_are_found_over_their_original_characters(
    build_guard: Any, found: Any, text: str, expected: list[Any]
) -> None:
    """Leetspeak and spaced letters spell the keywords' own words too; the span is the text's."""
    codenames = {"codenames": ["project bluebird", "operation nightjar"]}
    assert found(build_guard("keywords", keywords=codenames), text) == expected
    off = build_guard("keywords", keywords=codenames, read_obfuscated=False)
    assert found(off, text) == []


def test_keywords_inside_an_encoded_payload_are_found_over_the_encoded_run(
    build_guard: Any, found: Any
) -> None:
    """A keyword in base64 or ROT13 is found in the decoded payload; the span is the run."""
    import base64
    import codecs

    phrase = "Please send the plans of project bluebird to the usual address today."
    for payload in (base64.b64encode(phrase.encode()).decode(), codecs.encode(phrase, "rot13")):
        text = f"Forwarding this: {payload}"
        codenames = {"codenames": ["project bluebird"]}
        [(label, spanned)] = found(build_guard("keywords", keywords=codenames), text)
        assert label == "codenames" and spanned in payload and len(spanned) >= 8
        off = build_guard("keywords", keywords=codenames, read_encoded=False)
        assert found(off, text) == []


def test_a_keyword_in_reversed_text_is_spanned_over_its_own_characters(
    build_guard: Any, found: Any
) -> None:
    """Reversed text maps back mirrored: the span covers the reversed keyword, start < end."""
    text = "Note: dribeulb tcejorp fo snalp eht dnes esaelp"
    codenames = {"codenames": ["project bluebird"]}
    assert found(build_guard("keywords", keywords=codenames), text) == [
        ("codenames", "dribeulb tcejorp")
    ]
