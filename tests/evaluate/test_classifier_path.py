"""eval AUPRC and calibrate on classifier rules, with the real guard-minilm bundle.

These check structure and the calibration contract (the written threshold meets the target
on the given rows), not the model's quality: the bundle is retrained independently.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from guardrail.cli import main
from guardrail.evaluate.calibrate import classifier_rules, score_rows
from guardrail.evaluate.metrics import union_rate
from guardrail.policy.load import load_policy

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures"
POLICY = FIXTURES / "eval_classifier.yaml"
BENIGN = FIXTURES / "calibrate_benign.jsonl"  # 240 rows: enough for a 0.1 target
TARGET = 0.1

pytestmark = pytest.mark.skipif(
    not (ROOT / "classifiers/guard-minilm/bundle.yaml").is_file(),
    reason="needs the classifier bundle classifiers/guard-minilm/bundle.yaml (not built here)",
)


def _policy_copy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    shutil.copy(POLICY, path)
    return path


def _calibrate(policy: Path, *extra: str) -> int:
    args = ["calibrate", "--policy", str(policy), "--benign", str(BENIGN)]
    return main([*args, "--target-fpr", str(TARGET), *extra])


def test_eval_reports_auprc_for_classifier_rules(tmp_path: Path) -> None:
    """Classifier rules get AUPRC in [0, 1], overall and per label; the pii rule gets none."""
    out, png = tmp_path / "r.json", tmp_path / "pr.png"
    args = ["eval", "--policy", str(POLICY), "--data", str(FIXTURES / "eval_small.jsonl")]
    assert main([*args, "--json", str(out), "--plot", str(png)]) == 0
    rules = json.loads(out.read_text())["rules"]
    assert set(rules["block-injection"]["auprc_by_label"]) == {"injection", "jailbreak"}
    assert set(rules["block-harm"]["auprc_by_label"]) == {"unsafe"}
    for name in ("block-injection", "block-harm"):
        values = [rules[name]["auprc"], *rules[name]["auprc_by_label"].values()]
        assert all(0.0 <= v <= 1.0 for v in values)
    assert rules["mask-pii"]["auprc"] is None
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_calibrate_write_keeps_comments_and_meets_the_target(tmp_path: Path) -> None:
    """--write keeps every comment line, the file loads, and each new threshold meets the FPR."""
    path = _policy_copy(tmp_path)
    assert _calibrate(path, "--write") == 0
    written = path.read_text()
    comments = [line for line in POLICY.read_text().splitlines() if line.lstrip().startswith("#")]
    assert all(line in written.splitlines() for line in comments)
    assert "# both injection labels" in written and "# flow style" in written
    policy = load_policy(path)
    rules = classifier_rules(policy)
    texts = [json.loads(line)["text"] for line in BENIGN.read_text().splitlines()]
    scores = asyncio.run(score_rows(policy, rules, texts))
    for rule in rules:  # the rule (any label firing) meets the target, not each label alone
        labels = scores[rule.name]
        thresholds = {label: rule.threshold_for(label) for label in labels}
        assert union_rate(labels, thresholds) <= TARGET, rule.name
    assert "threshold" in written.split("name: block-injection")[1].split("name:")[0]


def test_calibrate_without_write_leaves_the_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --write the thresholds are printed per rule and label, and the file is untouched."""
    path = _policy_copy(tmp_path)
    assert _calibrate(path, "--rule", "block-harm") == 0
    assert path.read_bytes() == POLICY.read_bytes()
    out = capsys.readouterr().out
    assert "block-harm: FPR now " in out and "  unsafe: " in out and "block-injection" not in out


def test_calibrate_will_not_edit_a_rule_inherited_through_extends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule defined in the base file is not written into the child: exit 2, file unchanged."""
    shutil.copy(POLICY, tmp_path / "base.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("version: 1\nname: child  # inherits every rule\nextends: base.yaml\n")
    before = child.read_text()
    assert _calibrate(child, "--write") == 2
    assert child.read_text() == before
    assert "is not defined in this file" in capsys.readouterr().err
