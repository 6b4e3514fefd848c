"""`guardrail calibrate` through the real CLI and the real guard-minilm bundle.

No threshold value is pinned (the bundle is retrained independently): each test reads the
scores from the real guard and checks a behaviour against them. The benign rows are
tests/fixtures/calibrate_benign.jsonl: 240 templated everyday prompts, shuffled (seed 17).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from guardrail.cli import main
from guardrail.cli.eval import CALIBRATE_DESCRIPTION
from guardrail.evaluate.calibrate import (
    MIN_EXPECTED_FP,
    MIN_LABEL_FP,
    classifier_rules,
    score_rows,
)
from guardrail.evaluate.metrics import union_rate
from guardrail.policy.load import load_policy

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures"
BENIGN = FIXTURES / "calibrate_benign.jsonl"
TARGET = 0.1  # 240 rows x 0.1 = 24 expected false positives: enough

pytestmark = pytest.mark.skipif(
    not (ROOT / "classifiers/guard-minilm/bundle.yaml").is_file(),
    reason="needs the classifier bundle classifiers/guard-minilm/bundle.yaml (not built here)",
)

HARM_POLICY = """\
version: 1
name: calibrate-tests
defaults: {timeout_ms: 20000}
guards:
  harm: {kind: classifier, bundle: guard-minilm, head: harm, labels: [unsafe]}
rules:
  - name: block-harm
    guard: harm
    threshold: 1.0
    stages: [input]
    action: block
"""


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in BENIGN.read_text().splitlines()]


def _calibrate(policy: Path, *extra: str, benign: Path = BENIGN) -> int:
    args = ["calibrate", "--policy", str(policy), "--benign", str(benign)]
    return main([*args, "--target-fpr", str(TARGET), *extra])


@pytest.fixture(scope="module")
def harm_scores(tmp_path_factory: pytest.TempPathFactory) -> list[float]:
    """The real guard's `unsafe` score on each benign row."""
    loaded = load_policy(_harm_policy(tmp_path_factory.mktemp("scores"), []))
    scores = asyncio.run(score_rows(loaded, classifier_rules(loaded), _texts()))
    return scores["block-harm"]["unsafe"]


def _top_text(scores: list[float]) -> str:
    """The benign row the harm head scores highest: it fires at any calibrated threshold."""
    return _texts()[max(range(len(scores)), key=scores.__getitem__)]


def _harm_policy(tmp_path: Path, expect_allow: list[str]) -> Path:
    """block-harm at threshold 1.0, with one `expect: allow` test per text."""
    path = tmp_path / "policy.yaml"
    tests = "".join(f"  - {{text: {json.dumps(t)}, expect: allow}}\n" for t in expect_allow)
    path.write_text(HARM_POLICY + (f"tests:\n{tests}" if tests else ""))
    return path


def test_too_few_rows_for_the_target_are_refused_before_scoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """30 rows x 0.1 = 3 expected false positives: exit 2, the minimum said, file unchanged."""
    path = _harm_policy(tmp_path, [])
    before = path.read_bytes()
    assert _calibrate(path, "--write", benign=FIXTURES / "eval_benign.jsonl") == 2
    err = capsys.readouterr().err
    assert f"fewer than the {MIN_EXPECTED_FP}" in err and "at least 100 rows" in err
    assert "nothing calibrated" in err
    assert path.read_bytes() == before


def test_union_fpr_of_a_two_label_rule_is_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """block-injection (injection + jailbreak): rows where either fires stay within the target."""
    path = tmp_path / "policy.yaml"
    shutil.copy(FIXTURES / "eval_classifier.yaml", path)
    assert _calibrate(path, "--rule", "block-injection", "--write") == 0
    out = capsys.readouterr().out
    policy = load_policy(path)
    rule = next(r for r in policy.rules if r.name == "block-injection")
    scores = asyncio.run(score_rows(policy, [rule], _texts()))["block-injection"]
    assert set(scores) == {"injection", "jailbreak"}
    measured = union_rate(scores, {label: rule.threshold_for(label) for label in scores})
    assert measured <= TARGET
    printed = re.search(r"block-injection: FPR now \S+ -> (\S+)", out)
    assert printed is not None and float(printed.group(1)) == round(measured, 4)


def test_a_proposal_that_fails_the_policy_tests_is_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], harm_scores: list[float]
) -> None:
    """Lowering the threshold would block a row a test expects allowed: exit 1, file unchanged."""
    top = _top_text(harm_scores)
    path = _harm_policy(tmp_path, [top])
    before = path.read_bytes()
    assert main(["test", str(path)]) == 0  # the test passes at the current threshold
    capsys.readouterr()
    assert _calibrate(path, "--write") == 1
    out = capsys.readouterr().out
    assert "0 passed, 1 failed" in out and "tests[0] FAILED: input: expected allow" in out
    assert "nothing written" in out
    assert path.read_bytes() == before
    assert top not in out  # rows are never printed


def test_allow_failing_tests_writes_and_still_lists_the_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], harm_scores: list[float]
) -> None:
    """--allow-failing-tests --write: the file changes, the failing test is still reported."""
    path = _harm_policy(tmp_path, [_top_text(harm_scores)])
    assert _calibrate(path, "--write", "--allow-failing-tests") == 0
    out = capsys.readouterr().out
    assert "tests[0] FAILED" in out and "WARNING accepting a proposal" in out
    assert "wrote thresholds" in out
    assert load_policy(path).rules[0].threshold_for("unsafe") < 1.0


def test_a_good_proposal_passes_the_tests_and_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], harm_scores: list[float]
) -> None:
    """The lowest-scoring row stays allowed: tests pass, the file gets the printed threshold."""
    scores = harm_scores
    bottom = _texts()[min(range(len(scores)), key=scores.__getitem__)]
    path = _harm_policy(tmp_path, [bottom])
    assert _calibrate(path, "--write") == 0
    out = capsys.readouterr().out
    assert "policy tests with the proposed thresholds: 1 passed, 0 failed" in out
    written = load_policy(path).rules[0].threshold_for("unsafe")
    assert f"unsafe: 1.0000 -> {written:.4f}" in out and "wrote thresholds" in out
    assert union_rate({"unsafe": scores}, {"unsafe": written}) <= TARGET


def test_positive_rows_are_left_out_of_the_fpr_and_give_recall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows labelled positive in --benign files are not negatives; recall is shown per label."""
    labelled = tmp_path / "labelled.jsonl"
    extra = [json.dumps({"text": t, "label": "unsafe"}) + "\n" for t in _texts()[:5]]
    labelled.write_text(BENIGN.read_text() + "".join(extra))
    assert _calibrate(_harm_policy(tmp_path, []), benign=labelled) == 0
    out = capsys.readouterr().out
    assert "left out 5 rows with a positive label" in out and "240 benign rows" in out
    assert re.search(r"block-harm on 'unsafe' \(5 rows\): 0\.0000 -> [01]\.\d{4}", out)


def test_several_benign_files_each_get_their_fpr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two --benign files: one calibration over both, and each file's FPR now and proposed."""
    lines = BENIGN.read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[:100]))
    second.write_text("".join(lines[100:]))
    args = ["calibrate", "--policy", str(_harm_policy(tmp_path, []))]
    assert main([*args, "--benign", str(first), str(second), "--target-fpr", str(TARGET)]) == 0
    out = capsys.readouterr().out
    assert "240 benign rows" in out
    for path, rows in ((first, 100), (second, 140)):
        assert re.search(
            rf"  on {re.escape(str(path))} \({rows} rows\): FPR 0\.0000 -> 0\.\d{{4}}", out
        )


def test_help_states_the_minimums_the_code_uses() -> None:
    """--help names the same minimum counts as the refusal checks."""
    assert f"at least {MIN_EXPECTED_FP}" in CALIBRATE_DESCRIPTION
    assert f"at least {MIN_LABEL_FP} per label" in CALIBRATE_DESCRIPTION
