"""`guardrail check` (one text through one stage) and `guardrail test` (a policy's examples)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from guardrail.errors import PolicyError
from guardrail.pipeline import Pipeline
from guardrail.policy.model import PolicyTest
from guardrail.types import Action, Decision, Stage


def register(subparsers: Any) -> None:
    """Add `check` and `test`."""
    check = subparsers.add_parser(
        "check",
        help="run one text through a policy stage (exit 0 allowed/redacted, 1 blocked)",
        description="Run one text through one stage of a policy and print the decision as JSON.",
        epilog="exit status: 0 allowed, redacted or rewritten; 1 blocked; 2 invalid policy. "
        "A block is exit 1 so that scripts can gate on it: `guardrail check ... || handle`.",
    )
    check.add_argument("--policy", required=True, type=Path)
    check.add_argument("--stage", default="input", choices=[s.value for s in Stage])
    check.add_argument("text", nargs="?", default="-", help="the text, or - for stdin")
    check.set_defaults(func=run_check)
    test = subparsers.add_parser(
        "test",
        help="run the `tests:` examples of policy files",
        epilog="exit status: 0 every example passed; 1 an example failed or a file is invalid.",
    )
    test.add_argument("files", nargs="+", type=Path)
    test.add_argument("-q", "--quiet", action="store_true", help="only print failures")
    test.set_defaults(func=run_test)


def decision_json(decision: Decision) -> dict[str, Any]:
    """The Decision as printed by `guardrail check` (stable keys)."""
    data = decision.model_dump(mode="json")
    data["blocked"] = decision.blocked
    data["rules_fired"] = list(decision.rules_fired)
    return data


async def _check_one(
    pipeline: Pipeline, stage: Stage, text: str, *, audit: bool = True
) -> Decision:
    state = pipeline.new_request()
    state.audit = audit
    return await pipeline.check(stage, [text], state)


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 allowed or rewritten, 1 blocked, 2 error."""
    try:
        pipeline = Pipeline.from_file(args.policy)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 2
    text = sys.stdin.read() if args.text == "-" else args.text
    decision = asyncio.run(_check_one(pipeline, Stage(args.stage), text))
    print(json.dumps(decision_json(decision), ensure_ascii=False, indent=2))
    return 1 if decision.blocked else 0


def _outcome(test: PolicyTest, decision: Decision) -> str | None:
    """None when the example passes, else what went wrong."""
    if decision.action is not test.expect:
        fired = ", ".join(decision.rules_fired) or "no rule"
        return f"expected {test.expect.value}, got {decision.action.value} ({fired})"
    expects_rule = test.rule is not None and test.expect is not Action.ALLOW
    if expects_rule and test.rule not in decision.rules_fired:
        return f"expected rule {test.rule!r} to fire, got {list(decision.rules_fired)}"
    return None


async def run_policy_tests(pipeline: Pipeline) -> list[tuple[int, PolicyTest, str | None]]:
    """Each `tests:` example of the pipeline's policy: (index, test, None or what went wrong)."""
    results = []
    for index, test in enumerate(pipeline.policy.tests):
        decision = await _check_one(pipeline, test.stage, test.text, audit=False)
        results.append((index, test, _outcome(test, decision)))
    return results


def _test_file(path: Path, quiet: bool) -> tuple[int, int]:
    try:
        pipeline = Pipeline.from_file(path)
    except PolicyError as exc:
        print(f"{path} ERROR\n{exc}")
        return 0, 1
    passed = failed = 0
    for index, test, problem in asyncio.run(run_policy_tests(pipeline)):
        label = f"{path}::tests[{index}]" + (f" ({test.name})" if test.name else "")
        if problem is None:
            passed += 1
            if not quiet:
                print(f"{label} PASSED")
        else:
            failed += 1
            print(f"{label} FAILED: {test.stage.value}: {problem}")
    return passed, failed


def run_test(args: argparse.Namespace) -> int:
    """Non-zero exit when any example fails or any file is invalid."""
    passed = failed = 0
    for path in args.files:
        p, f = _test_file(path, args.quiet)
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
