"""Policy loading: strict validation with file, line, column and field in every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.errors import PolicyError
from guardrail.policy.load import load_policy, load_policy_text
from guardrail.types import Action, FailMode, Mode, Stage

GOOD = """\
version: 1
name: t
defaults: {fail: open, timeout_ms: 100}
guards:
  words:
    kind: keywords
    keywords: [forbidden]
rules:
  - name: no-words
    guard: words
    stages: [input, output]
    action: block
tests:
  - {text: "a forbidden thing", expect: block}
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, file="p.yaml")
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_good_policy_compiles_with_defaults_applied() -> None:
    """Rule settings fall back to the policy defaults."""
    policy = load_policy_text(GOOD)
    (rule,) = policy.rules
    assert rule.fail is FailMode.OPEN and rule.timeout_ms == 100 and rule.mode is Mode.ENFORCE
    assert policy.stages == {Stage.INPUT, Stage.OUTPUT}
    assert policy.tests[0].expect is Action.BLOCK


def test_misspelt_key_on_line_7_is_reported_with_line_and_key() -> None:
    """A typo in a guard's parameters names line 7 and the unknown key."""
    text = GOOD.replace("    keywords: [forbidden]", "    keywrods: [forbidden]")
    found = problems_of(text)
    assert (7, "guards.words.keywrods", "unknown key 'keywrods' (not allowed here)") in found


BAD_CASES = [
    # (id, old, new, line, field fragment, message fragment)
    ("unknown top key", "version: 1", "version: 1\nrulez: []", 2, "rulez", "unknown key"),
    ("bad action", "action: block", "action: explode", 12, "rules.0.action", "redact"),
    ("bad stage", "stages: [input, output]", "stages: [inptu]", 11, "rules.0.stages.0", "input"),
    ("wrong type", "timeout_ms: 100", "timeout_ms: soon", 3, "defaults.timeout_ms", "integer"),
    ("undefined guard", "guard: words", "guard: wrds", 10, "rules.0.guard", "undefined guard"),
    ("unknown kind", "kind: keywords", "kind: magic", 6, "guards.words.kind", "unknown guard"),
    ("bad version", "version: 1", "version: 2", 1, "version", "1"),
    ("missing action", "    action: block\n", "", 9, "rules.0", "action"),
    (
        "threshold range",
        "action: block",
        "action: block\n    threshold: 3",
        13,
        "rules.0.threshold",
        "1",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "fragment"),
    [c[1:] for c in BAD_CASES],
    ids=[c[0] for c in BAD_CASES],
)
def test_invalid_policies_name_line_field_and_expectation(
    old: str, new: str, line: int, field: str, fragment: str
) -> None:
    """Each broken variant is rejected with the right line, field path and a useful message."""
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(ln == line and field in fld and fragment in msg for ln, fld, msg in found), found


def test_bad_regex_is_a_validation_error_with_location() -> None:
    """A pattern RE2 cannot compile (backreference) is reported at its own line and name."""
    text = GOOD.replace(
        "    kind: keywords\n    keywords: [forbidden]",
        "    kind: regex\n    patterns: {rep: '(a)\\1'}",
    )
    found = problems_of(text)
    assert any(
        ln == 7 and fld == "guards.words.patterns.rep" and "RE2" in m for ln, fld, m in found
    )


def test_yaml_syntax_error_has_line() -> None:
    """Broken YAML is reported with the line where the parser stopped."""
    found = problems_of("version: 1\nrules: [\n  {name: x\n")
    assert found[0][0] is not None and "YAML" in found[0][2]


def test_duplicate_yaml_key_rejected() -> None:
    """A key given twice in one mapping is an error, not a silent override."""
    assert problems_of("version: 1\nversion: 1\n")


def test_duplicate_rule_name_rejected() -> None:
    """Two rules with the same name in one file are an error at the second one."""
    rule = "  - {name: no-words, guard: words, stages: [input], action: warn}\n"
    found = problems_of(GOOD.replace("tests:", rule + "tests:"))
    assert any(ln == 13 and "duplicate rule" in m for ln, _, m in found)


def test_every_problem_is_reported_at_once() -> None:
    """Several mistakes in one file come back together."""
    text = GOOD.replace("kind: keywords", "kind: magic").replace("action: block", "action: x")
    assert len(problems_of(text)) >= 2


def test_extends_merges_guards_rules_and_defaults(tmp_path: Path) -> None:
    """A child policy inherits the base's guards and rules, and may replace a rule by name."""
    (tmp_path / "base.yaml").write_text(GOOD)
    (tmp_path / "child.yaml").write_text(
        "version: 1\nextends: base.yaml\ndefaults: {mode: shadow}\nrules:\n"
        "  - {name: no-words, guard: words, stages: [input], action: warn}\n"
        "  - {name: extra, guard: words, stages: [tool], action: block}\n"
    )
    policy = load_policy(tmp_path / "child.yaml")
    assert [r.name for r in policy.rules] == ["no-words", "extra"]
    assert policy.rules[0].action is Action.WARN
    assert policy.rules[0].mode is Mode.SHADOW and policy.rules[0].fail is FailMode.OPEN
    assert policy.name == "child" and len(policy.files) == 2


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    """Two files extending each other are rejected, not followed forever."""
    (tmp_path / "a.yaml").write_text("version: 1\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("version: 1\nextends: a.yaml\n")
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(tmp_path / "a.yaml")


def test_missing_file_is_policy_error(tmp_path: Path) -> None:
    """A path that does not exist gives a PolicyError naming it."""
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_content_hash_changes_with_content() -> None:
    """The audit hash identifies the policy version."""
    assert load_policy_text(GOOD).content_hash != load_policy_text(GOOD + "# x\n").content_hash
