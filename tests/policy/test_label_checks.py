"""A rule's `labels` and `thresholds` keys are checked against what its guard reports, and one
load reports every problem of a file (issue #21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.cli import main
from guardrail.errors import PolicyError
from guardrail.policy.load import load_policy_text

RULES = """\
version: 1
guards:
  pii:
    kind: pii
  words:
    kind: keywords
    keywords: {money: [cash], crime: [heist]}
rules:
  - name: redact-pii
    guard: pii
    stages: [input]
    action: redact
    labels: [EMAL, PHONE]
  - name: words
    guard: words
    stages: [input]
    action: block
    thresholds: {Money: 0.9}
"""


def problems(text: str) -> list[tuple[int | None, int | None, str, str]]:
    """(line, column, field, message) of each problem `text` has."""
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, file="p.yaml")
    return [(p.line, p.column, p.field, p.message) for p in info.value.problems]


def test_misspelt_label_names_line_column_and_the_close_label() -> None:
    """`labels: [EMAL]` on a pii guard is an error at the label, suggesting EMAIL."""
    found = problems(RULES)
    line, col, field, message = found[0]
    assert (line, col, field) == (13, 14, "rules.0.labels.0")
    assert "never reports label 'EMAL'" in message and "did you mean 'EMAIL'?" in message


def test_misspelt_threshold_key_is_an_error_with_a_suggestion() -> None:
    """A `thresholds` key that is no label of the guard is an error (any letter case hint)."""
    (threshold,) = [p for p in problems(RULES) if p[2].startswith("rules.1.thresholds")]
    assert threshold[:3] == (18, 18, "rules.1.thresholds.Money")
    assert "did you mean 'money'?" in threshold[3]


def test_classifier_threshold_typo_is_caught() -> None:
    """`thresholds: {injecton: 0.99}` on the injection head names `injection`."""
    text = (
        "version: 1\nguards:\n  inj: {kind: classifier, bundle: guard-minilm, head: injection}\n"
        "rules:\n  - {name: r, guard: inj, stages: [input], action: block,"
        " thresholds: {injecton: 0.99}}\n"
    )
    ((line, _, field, message),) = problems(text)
    assert (line, field) == (5, "rules.0.thresholds.injecton")
    assert "did you mean 'injection'?" in message


def test_labels_the_guard_reports_load() -> None:
    """Correct labels and threshold keys load as before."""
    text = RULES.replace("EMAL", "EMAIL").replace("Money", "money")
    policy = load_policy_text(text)
    assert policy.rules[0].labels == frozenset({"EMAIL", "PHONE"})


FOUR_PROBLEMS = """\
version: 1
defaults: {timeout_ms: soon}
guards:
  words: {kind: keywords, keywords: [cash]}
rules:
  - {name: a, guard: words, stages: [input], action: block}
  - {name: a, guard: words, stages: [input], action: warn}
  - {name: b, guard: nothing, stages: [input], action: block}
  - {name: c, guard: words, stages: [input], action: explode}
  - {name: d, guard: words, stages: [input], action: block, labels: [word]}
"""


def test_one_run_reports_every_problem_of_the_file() -> None:
    """Schema errors, a duplicate rule, an undefined guard and a wrong label come together."""
    found = {(line, field) for line, _, field, _ in problems(FOUR_PROBLEMS)}
    assert found == {
        (2, "defaults.timeout_ms"),
        (7, "rules.1.name"),
        (8, "rules.2.guard"),
        (9, "rules.3.action"),
        (10, "rules.4.labels.0"),
    }


def test_policy_validate_prints_every_problem_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`guardrail policy validate` lists all five problems as file:line:col and exits 2."""
    path = tmp_path / "p.yaml"
    path.write_text(FOUR_PROBLEMS)
    assert main(["policy", "validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:{n}:{c}" for n, c in ((2, 12), (7, 6), (8, 15), (9, 46), (10, 70))
    ]
    assert "did you mean 'words'?" in lines[-1]  # a plain keyword list reports the guard name


def test_regex_list_of_strings_shows_the_expected_form() -> None:
    """`patterns` as a list of strings says which two forms are accepted."""
    text = (
        "version: 1\nguards:\n  ids: {kind: regex, patterns: ['ORD-[0-9]+']}\n"
        "rules:\n  - {name: r, guard: ids, stages: [input], action: block}\n"
    )
    ((_, _, field, message),) = problems(text)
    assert field == "guards.ids.patterns"
    assert "{name: order_id, pattern:" in message and "patterns: {order_id:" in message


def test_a_guard_that_fails_the_schema_is_still_defined() -> None:
    """A rule naming a guard that is not a mapping gets no extra 'undefined guard' error."""
    text = "version: 1\nguards:\n  x: 5\nrules:\n"
    text += "  - {name: a, guard: x, stages: [input], action: block}\n"
    assert [field for _, _, field, _ in problems(text)] == ["guards.x"]
