"""Writing thresholds into a policy file keeps every other line byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from guardrail.errors import PolicyError
from guardrail.evaluate.policy_edit import PolicyEditError, edit_thresholds, write_checked
from guardrail.policy.load import load_policy, load_policy_text

ROOT = Path(__file__).resolve().parents[2]
POLICIES = [*sorted((ROOT / "policies").glob("*.yaml")), ROOT / "tests/fixtures/eval_policy.yaml"]

POLICY = """\
# top comment
version: 1
guards:
  words: {kind: keywords, keywords: [alpha, beta]}   # a flow guard
  more:
    kind: keywords
    keywords:
      first: [gamma]
      second: [delta]
rules:
  - name: block-words    # the block rule
    guard: words
    stages: [input]
    action: block

  - {name: flow-rule, guard: words, stages: [input], action: warn}  # flow style

  - name: tuned
    guard: more
    thresholds:
      first: 0.5   # tuned by hand
    action: block
    stages: [input]
  - name: single
    guard: words
    threshold: 0.4  # old value
    stages: [output]
    action: warn
"""


def _added_and_removed(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("+ ")], [d[2:] for d in diff if d.startswith("- ")]


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_no_edit_gives_back_the_file_unchanged(path: Path) -> None:
    """Shipped policies (escapes such as \\u200b included) survive the round trip exactly."""
    text = path.read_text()
    assert edit_thresholds(text, {}) == text


def test_block_rule_gets_one_threshold_line_after_guard() -> None:
    """A one-label rule gains `threshold:` under `guard:`; comments and blank lines stay."""
    after = edit_thresholds(POLICY, {"block-words": {"words": 0.75}})
    added, removed = _added_and_removed(POLICY, after)
    assert (added, removed) == (["    threshold: 0.75"], [])
    assert after.index("guard: words\n    threshold: 0.75") > after.index("# the block rule")
    assert load_policy_text(after).rules[0].threshold_for("words") == 0.75


def test_flow_rule_stays_one_valid_flow_mapping() -> None:
    """A `{...}` rule gets the key inside its braces and keeps its trailing comment."""
    after = edit_thresholds(POLICY, {"flow-rule": {"first": 0.2, "second": 0.3}})
    added, removed = _added_and_removed(POLICY, after)
    assert len(added) == len(removed) == 1
    assert added[0].startswith("  - {name: flow-rule, guard: words, thresholds: {first: 0.2,")
    assert added[0].endswith("# flow style")  # ruamel may re-space the comment
    rule = YAML(typ="safe").load(after)["rules"][1]
    assert rule["thresholds"] == {"first": 0.2, "second": 0.3}


def test_existing_thresholds_are_merged_keeping_their_comment() -> None:
    """New labels join an existing `thresholds:` mapping; the old one keeps its comment."""
    after = edit_thresholds(POLICY, {"tuned": {"first": 0.6, "second": 0.7}})
    added, removed = _added_and_removed(POLICY, after)
    assert removed == ["      first: 0.5   # tuned by hand"]
    assert added == ["      first: 0.6   # tuned by hand", "      second: 0.7"]
    rule = load_policy_text(after).rules[2]
    assert (rule.threshold_for("first"), rule.threshold_for("second")) == (0.6, 0.7)


def test_existing_threshold_value_is_replaced_in_place() -> None:
    """`threshold: 0.4  # old value` becomes the new value on the same line."""
    after = edit_thresholds(POLICY, {"single": {"words": 0.9}})
    assert _added_and_removed(POLICY, after) == (
        ["    threshold: 0.9  # old value"],
        ["    threshold: 0.4  # old value"],
    )


def test_unknown_rule_is_an_error() -> None:
    """A rule the file does not define (e.g. inherited through `extends`) is not invented."""
    with pytest.raises(PolicyEditError, match="'nope' is not defined in this file"):
        edit_thresholds(POLICY, {"nope": {"x": 0.5}})


def test_write_checked_restores_the_original_when_the_check_fails(tmp_path: Path) -> None:
    """A written file that fails to load is replaced by the original text."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    broken = POLICY.replace("action: block\n", "action: explode\n", 1)
    with pytest.raises(PolicyError):
        write_checked(path, broken, load_policy)
    assert path.read_text() == POLICY


def test_write_checked_keeps_a_file_that_passes(tmp_path: Path) -> None:
    """A written file that loads stays written."""
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    edited = edit_thresholds(POLICY, {"single": {"words": 0.9}})
    write_checked(path, edited, load_policy)
    assert path.read_text() == edited
