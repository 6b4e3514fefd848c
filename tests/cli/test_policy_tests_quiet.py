"""A policy's own `tests:` examples are not traffic: they write no audit line."""

from __future__ import annotations

import structlog

from guardrail.cli.check import run_policy_tests
from guardrail.pipeline import Pipeline
from guardrail.types import Stage

POLICY = """
version: 1
name: quiet
guards:
  words: {kind: keywords, keywords: [forbidden]}
rules:
  - {name: block-words, guard: words, stages: [input], action: block}
tests:
  - {text: "a forbidden word", expect: block, rule: block-words}
  - {text: "hello", expect: allow}
"""


async def test_policy_tests_write_no_audit_lines(tmp_path) -> None:
    """run_policy_tests (guardrail test, calibrate, console policy view) logs no policy.decided."""
    path = tmp_path / "quiet.yaml"
    path.write_text(POLICY)
    pipeline = Pipeline.from_file(path)
    with structlog.testing.capture_logs(processors=[]) as logs:
        results = await run_policy_tests(pipeline)
    assert [problem for _, _, problem in results] == [None, None]
    assert not [e for e in logs if e["event"] == "policy.decided"]


async def test_a_real_check_still_writes_its_audit_line(tmp_path) -> None:
    """The same pipeline checking traffic still logs one policy.decided per check."""
    path = tmp_path / "quiet.yaml"
    path.write_text(POLICY)
    pipeline = Pipeline.from_file(path)
    with structlog.testing.capture_logs(processors=[]) as logs:
        await pipeline.check(Stage.INPUT, ["a forbidden word"], pipeline.new_request())
    assert len([e for e in logs if e["event"] == "policy.decided"]) == 1
