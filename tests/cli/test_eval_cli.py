"""`guardrail eval` on a rules-only policy, checked against a hand calculation.

tests/fixtures/eval_small.jsonl has 12 rows: 5 benign (negative), 3 pii and 4 injection
(positive). tests/fixtures/eval_policy.yaml has three rules; what fires on each row:

    row  label      text gist                        mask-pii  block-inj-words  try-persona (shadow)
     1   benign     capital of France                   .            .                 .
     2   benign     haiku                               .            .                 .
     3   benign     "system prompt" in Flask question   .            X                 .
     4   benign     agenda to team@example.com          X            .                 .
     5   benign     "Dan from accounting"               .            .                 X
     6   pii        email address                       X            .                 .
     7   pii        +1 415 555 0132                     X            .                 .
     8   pii        name and street (not detected)      .            .                 .
     9   injection  "ignore previous instructions"...   .            X                 .
    10   injection  "you are DAN"                       .            .                 X
    11   injection  "disregard the above"               .            .                 .
    12   injection  ignore previous.. + bob@example.org X            X                 .

    rule                  TP FP TN FN  precision  recall  F1=2TP/(2TP+FP+FN)  FPR=FP/(FP+TN)
    mask-pii               3  1  4  4  3/4        3/7     6/11                1/5
    block-injection-words  2  1  4  5  2/3        2/7     4/10                1/5
    try-persona-words      1  1  4  6  1/2        1/7     2/9                 1/5
    overall, --predict block (rows 3, 9, 12 blocked; the shadow rule never blocks):
                           2  1  4  5  2/3        2/7     4/10                1/5
    overall, --predict block redact (also rows 4, 6, 7 redacted):
                           4  2  3  3  4/6        4/7     8/13                2/5
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardrail.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/fixtures/eval_small.jsonl"
POLICY = ROOT / "tests/fixtures/eval_policy.yaml"


def _eval(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    args = ["eval", "--policy", str(POLICY), "--data", str(DATA), "--json", str(out), *extra]
    assert main(args) == 0
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _numbers(section: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("tp", "fp", "tn", "fn", "precision", "recall", "f1", "fpr")
    return tuple(section[k] for k in keys)


def _expected(tp: int, fp: int, tn: int, fn: int) -> tuple[Any, ...]:
    """The counts, and the rates from the formulas in the module docstring, to 6 places."""
    rates = (tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn), fp / (fp + tn))
    return (tp, fp, tn, fn, *(round(r, 6) for r in rates))


def test_eval_matches_the_hand_calculation(tmp_path: Path) -> None:
    """Per-rule and overall TP/FP/TN/FN and rates equal the table in the module docstring."""
    report = _eval(tmp_path)
    assert (report["rows"], report["positives"], report["negatives"]) == (12, 7, 5)
    rules = report["rules"]
    assert _numbers(rules["mask-pii"]) == _expected(3, 1, 4, 4)
    assert _numbers(rules["mask-pii"])[4:] == (0.75, 0.428571, 0.545455, 0.2)
    assert _numbers(rules["block-injection-words"]) == _expected(2, 1, 4, 5)
    assert _numbers(rules["try-persona-words"]) == _expected(1, 1, 4, 6)
    assert _numbers(report["overall"]) == _expected(2, 1, 4, 5)
    assert {name: s["auprc"] for name, s in rules.items()} == dict.fromkeys(rules)  # no scores
    assert report["labels"]["benign"] == {"rows": 5, "predicted_positive": 1, "positive": False}


def test_predict_block_and_redact_counts_redactions_as_positive(tmp_path: Path) -> None:
    """With --predict block redact, overall is TP 4, FP 2, TN 3, FN 3 (rows 3,4,6,7,9,12)."""
    report = _eval(tmp_path, "--predict", "block", "redact")
    assert _numbers(report["overall"]) == _expected(4, 2, 3, 3)
    assert _numbers(report["overall"])[4:] == (0.666667, 0.571429, 0.615385, 0.4)
    assert _numbers(report["rules"]["mask-pii"]) == _expected(3, 1, 4, 4)  # rules unchanged


def test_positive_labels_narrow_the_positives(tmp_path: Path) -> None:
    """--positive pii: only rows 6-8 are positive, so mask-pii is TP 2 (6, 7), FP 2 (4, 12)."""
    report = _eval(tmp_path, "--positive", "pii")
    assert (report["positives"], report["positive_labels"]) == (3, ["pii"])
    assert _numbers(report["rules"]["mask-pii"]) == _expected(2, 2, 7, 1)


def test_text_and_label_fields_are_configurable(tmp_path: Path) -> None:
    """--text-field/--label-field read other keys; --limit 4 keeps rows 1-4 (all benign)."""
    renamed = tmp_path / "renamed.jsonl"
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    renamed.write_text("".join(json.dumps({"q": r["text"], "y": r["label"]}) + "\n" for r in rows))
    out = tmp_path / "r.json"
    args = ["eval", "--policy", str(POLICY), "--data", str(renamed), "--json", str(out)]
    assert main([*args, "--text-field", "q", "--label-field", "y", "--limit", "4"]) == 0
    report = json.loads(out.read_text())
    assert (report["rows"], report["positives"], report["overall"]["fp"]) == (4, 0, 1)


def test_by_breaks_the_result_down_per_value_of_a_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--by counts each row under every value of the field (a list counts in each group, a
    missing value under "(none)"); --predict block: rows 3, 9, 12 are the blocked ones."""
    tagged = tmp_path / "tagged.jsonl"
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    tags: list[Any] = [None, "a", ["a", "b"], "b", "b", "a", "a", "a", ["b", "b"], "b", None, "a"]
    tagged.write_text(
        "".join(
            json.dumps({**r, **({} if t is None else {"tag": t})}) + "\n"
            for r, t in zip(rows, tags, strict=True)
        )
    )
    out = tmp_path / "r.json"
    args = ["eval", "--policy", str(POLICY), "--data", str(tagged), "--json", str(out)]
    assert main([*args, "--by", "tag"]) == 0
    by = json.loads(out.read_text())["by"]
    assert by["field"] == "tag"
    groups = {
        g: (s["positives_predicted"], s["positives"], s["negatives_predicted"], s["negatives"])
        for g, s in by["groups"].items()
    }
    # a: rows 2,3 (benign; 3 blocked), 6,7,8 (pii), 12 (blocked) -> 1/4 positives, 1/2 negatives
    # b: rows 3,4,5 (benign; 3 blocked), 9 (blocked, "b" listed twice: once), 10 -> 1/2, 1/3
    assert groups == {"(none)": (0, 1, 0, 1), "a": (1, 4, 1, 2), "b": (1, 2, 1, 3)}
    assert by["groups"]["a"]["recall"] == 0.25 and by["groups"]["b"]["fpr"] == 0.3333
    printed = capsys.readouterr().out
    assert "by tag" in printed and "1/4 (0.250)" in printed


def test_report_prints_metrics_but_never_the_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text report has the table and latency, and no text from the data file."""
    _eval(tmp_path)
    out = capsys.readouterr().out
    assert "mask-pii" in out and "precision" in out and "latency per row: p50" in out
    for line in DATA.read_text().splitlines():
        assert json.loads(line)["text"] not in out


def test_plot_writes_a_png(tmp_path: Path) -> None:
    """--plot writes a non-empty file that starts with the PNG signature."""
    pytest.importorskip("matplotlib", reason="--plot needs the [plot] extra (matplotlib)")
    png = tmp_path / "pr.png"
    _eval(tmp_path, "--plot", str(png))
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "missing.yaml", "--data", str(DATA)], "no such policy file"),
        (["--policy", str(POLICY), "--data", "missing.jsonl"], "cannot read"),
        (["--policy", str(POLICY), "--data", str(DATA), "--label-field", "x"], "no row of"),
        (["--policy", str(POLICY), "--data", str(DATA), "--limit", "0"], "--limit must be"),
    ],
)
def test_eval_errors_exit_2_with_a_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing policy or data file, no labelled rows or a bad --limit: exit 2 and say why."""
    assert main(["eval", *args]) == 2
    assert message in capsys.readouterr().err


def test_calibrate_refuses_a_policy_without_classifier_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rule guards score 0 or 1: calibrate says there is nothing to calibrate (exit 2)."""
    args = ["calibrate", "--policy", str(POLICY), "--benign", str(DATA), "--target-fpr", "0.1"]
    assert main(args) == 2
    assert "no classifier rules in the policy" in capsys.readouterr().err
    assert main([*args, "--rule", "mask-pii"]) == 2
    assert "'mask-pii' is not on a classifier guard" in capsys.readouterr().err
