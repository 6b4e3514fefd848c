"""Review of session 9's serving-path changes: each test pins a bug the review found."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guardrail.errors import PolicyError
from guardrail.guards.json_schema import request_validator
from guardrail.inference.focus import Focus
from guardrail.inference.pool import InferencePool, PoolOptions
from guardrail.inference.windows import Window, Windowing
from guardrail.policy.load import load_policy_text
from guardrail.types import CheckContext, Stage
from tests.guards.conftest import build
from tests.helpers.tiny_bundle import build_tiny_bundle, relabel_injection_head


def _format(schema: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}


def _ref_bomb(levels: int) -> dict[str, Any]:
    """Each level's anyOf names the next level twice: 2**levels subschemas to try."""
    defs: dict[str, Any] = {
        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/d{i + 1}"}]}
        for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "string"}
    return {"$defs": defs, "$ref": "#/$defs/d0"}


def _nested_recursion() -> dict[str, Any]:
    """A recursive schema that fans out at every level of the document it validates."""
    branch = {"properties": {"a": {"$ref": "#"}}, "required": ["b"]}
    return {"anyOf": [branch, branch]}


@pytest.mark.parametrize("schema", [_ref_bomb(40), _nested_recursion()])
def test_client_schemas_whose_refs_fan_out_are_not_used(schema: dict[str, Any]) -> None:
    """A client's schema whose $refs expand past the bound (2**40 subschemas, or a recursion
    that doubles per document level) gives no validator: validating `1` against it would hold
    the event loop for longer than the age of the universe."""
    assert request_validator(_format(schema)) is None


def test_client_schemas_with_shared_refs_still_validate() -> None:
    """Local refs that expand to a small schema are used as before."""
    item = {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}
    schema = {
        "$defs": {"item": item},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/item"}, "b": {"$ref": "#/$defs/item"}},
    }
    validator = request_validator(_format(schema))
    assert validator is not None
    assert validator.is_valid({"a": {"sku": "x"}}) and not validator.is_valid({"a": {}})


def test_a_requests_schema_is_validated_off_the_event_loop() -> None:
    """A short answer checked against a client's schema does not run on the event loop (the
    cost of a schema within the bound is still the client's choice): another task gets a turn
    before the scan is done."""
    guard = build("json_schema", from_request=True)
    ctx = CheckContext(stage=Stage.OUTPUT, response_format=_format({"type": "string"}))

    async def run() -> list[bool]:
        scan = asyncio.create_task(guard.scan(['"ok"'], ctx))
        seen: list[bool] = []
        for _ in range(10_000):  # bounded: the scan ends long before
            await asyncio.sleep(0)
            seen.append(scan.done())
            if scan.done():
                break
        assert await scan == []
        return seen

    assert asyncio.run(run())[0] is False


class _Blocking:
    """A forward pass: rows holding token 1 are suspicious (0.9), the row [2, ...] waits for
    `release` (bounded), sub-windows with token 3 score 0.95."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, rows: Sequence[list[int]]) -> dict[str, np.ndarray]:
        if any(row[0] == 2 for row in rows):
            assert self.release.wait(10.0)
        bad = [0.95 if 3 in row and len(row) == 4 else 0.9 if 1 in row else 0.1 for row in rows]
        return {"h": np.array([[1.0 - b, b] for b in bad])}


def test_pending_parent_windows_count_as_unread_while_sub_windows_are_done() -> None:
    """A deadline's partial result says how much of the TEXT is unread: with one of two
    windows scored (and its three sub-windows), half the text is unread, not 1/5 of the
    windows (sub-windows read no new text)."""
    text = "two windows"
    windows = [Window([1, 1, 1, 1, 1, 1, 1, 3]), Window([2, 2, 2, 2, 2, 2, 2, 2])]
    focus = Focus("h", np.array([0.0, 1.0]), 0.5, Windowing(max_length=4, stride=2))
    forward = _Blocking()
    pool = InferencePool(
        lambda _: windows,
        forward,
        {"h": ["ok", "bad"]},
        PoolOptions(workers=2, cache_size=0),
        focus=focus,
    )

    async def partial() -> float:
        return (await pool.score_until([text], deadline=time.monotonic()))[0].unread

    try:
        seen: list[float] = []
        for _ in range(200):  # bounded: A and its 3 sub-windows take a few ms
            seen.append(asyncio.run(partial()))
            if pool.stats.batches >= 4 and len(seen) > 20:
                break
            time.sleep(0.01)
        assert pool.stats.focused == 3 and pool.stats.batches >= 4
        assert min(seen) >= 0.5
        forward.release.set()
        result = pool.submit([text])[0].result(timeout=10.0)
        assert result.unread == 0.0 and result.scores["h"]["bad"] == pytest.approx(0.95)
    finally:
        forward.release.set()
        pool.close()


def test_a_routed_bundle_must_report_every_label_the_guard_reports(tmp_path: Path) -> None:
    """`route_non_english` without `labels:` to a bundle whose head lacks one of the first
    bundle's labels is refused at load: non-English texts would get no score for it, so its
    rules could never fire on them (text passed that was not judged)."""
    first = build_tiny_bundle(tmp_path / "first", name="first")
    second = build_tiny_bundle(tmp_path / "second", name="second", seed=7)
    relabel_injection_head(second, ["benign", "attack", "other"])
    policy = f"""\
version: 1
guards:
  injection: {{kind: classifier, bundle: {first}, head: injection, route_non_english: {second}}}
rules:
  - {{name: inj, guard: injection, stages: [input], action: block}}
"""
    with pytest.raises(PolicyError, match="route_non_english"):
        load_policy_text(policy, file=str(tmp_path / "p.yaml"))
