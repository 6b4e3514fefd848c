"""Property tests: whatever text the loader gets, it only ever raises PolicyError."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.errors import PolicyError
from guardrail.policy.load import load_policy_text

EXAMPLES = int(os.environ.get("GUARDRAIL_FUZZ_EXAMPLES", "150"))

KEYS = [
    "version",
    "name",
    "guards",
    "rules",
    "tests",
    "defaults",
    "options",
    "kind",
    "keywords",
    "patterns",
    "guard",
    "stages",
    "action",
    "threshold",
    "extends",
    "mode",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["input", "block", "regex", "(a"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)


def _problems(text: str) -> list[str] | None:
    """None when the text loads; else the problems (any other exception fails the test)."""
    try:
        load_policy_text(text)
    except PolicyError as exc:
        return [str(p) for p in exc.problems]
    return None


def _yaml(value: object) -> str:
    import json

    return json.dumps(value)  # JSON is YAML: lets hypothesis build deep structures cheaply


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_structured_garbage_only_raises_policy_error(data: dict[str, object]) -> None:
    """Random policy-shaped documents either load or raise PolicyError, nothing else."""
    problems = _problems(_yaml(data))
    assert problems is None or problems


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_policy_error(text: str) -> None:
    """Any text at all, including broken YAML and odd unicode, gives PolicyError or a policy."""
    problems = _problems(text)
    assert problems is None or all(problems)


@pytest.mark.parametrize("name", [[], {"a": 1}, ["x", "y"]])
def test_a_rule_name_that_is_not_a_string_is_a_policy_problem(name: object) -> None:
    """A rule whose `name` is a list or mapping (found by the fuzz test above) is reported as a
    problem, never a TypeError from the duplicate-name check."""
    import json

    with pytest.raises(PolicyError):
        load_policy_text(json.dumps({"rules": [{"name": name}, {"name": name}]}))
