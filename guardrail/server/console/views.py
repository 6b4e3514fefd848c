"""What the console's pages show, as plain values for the templates (no HTTP here)."""

from __future__ import annotations

import asyncio
import itertools
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from guardrail.cli.check import run_policy_tests
from guardrail.pipeline import Pipeline
from guardrail.server.reload import Reloader
from guardrail.telemetry import unwrap_guard

MODEL_CARD = "MODEL_CARD.md"
VERSIONS_KEPT = 64  # policy versions whose test results are remembered


@dataclass(frozen=True)
class Piece:
    """A run of a text with the entities whose spans cover it (none: plain text)."""

    text: str
    entities: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """The run with invisible characters written out, e.g. `⟨U+200B⟩`."""
        return "".join(_visible(c) for c in self.text)


def _visible(char: str) -> str:
    if char in "\n\t" or unicodedata.category(char) not in ("Cf", "Cc", "Co", "Cn"):
        return char
    return f"⟨U+{ord(char):04X}⟩"


def pieces(text: str, spans: Iterable[Mapping[str, Any]]) -> list[Piece]:
    """`text` cut at every span edge; overlapping spans give a run all their entities (in
    the order the spans start).

    One sweep over the edges, keeping the spans open at each: a pasted text can have a span
    per character (invisible ones), and asking every span about every run took minutes of
    the event loop for a few tens of thousands."""
    kept = [(s["start"], s["end"], s["entity"]) for s in spans]
    kept = sorted(
        ((start, end, entity) for start, end, entity in kept if 0 <= start < end <= len(text)),
        key=lambda s: (s[0], -s[1]),
    )
    opening: dict[int, list[int]] = defaultdict(list)
    closing: dict[int, list[int]] = defaultdict(list)
    for i, (start, end, _) in enumerate(kept):
        opening[start].append(i)
        closing[end].append(i)
    open_now: dict[int, str] = {}  # span index -> entity, in the order the spans start
    out = []
    for start, end in itertools.pairwise(sorted({0, len(text), *opening, *closing})):
        for i in closing.get(start, ()):
            del open_now[i]
        for i in opening.get(start, ()):
            open_now[i] = kept[i][2]
        out.append(Piece(text[start:end], tuple(dict.fromkeys(open_now.values()))))
    return out


def plain_copy(pipeline: Pipeline) -> Pipeline:
    """The pipeline's policy and guards without the server's timing (no metrics, no spans)."""
    policy = pipeline.policy
    guards = {name: unwrap_guard(g) for name, g in policy.guards.items()}
    return Pipeline(replace(policy, guards=guards))


class PolicyTests:
    """Results of each served policy's `tests:`, run once per policy version (content hash)."""

    def __init__(self) -> None:
        self._done: dict[str, list[dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    async def results(self, pipeline: Pipeline) -> list[dict[str, Any]]:
        """`[{index, name, stage, expect, rule, passed, problem}]` for the policy's tests."""
        key = pipeline.policy.content_hash
        async with self._lock:  # one run per version, however many pages ask at once
            if key not in self._done:
                ran = await run_policy_tests(plain_copy(pipeline))
                if len(self._done) >= VERSIONS_KEPT:  # the oldest version's results go
                    del self._done[next(iter(self._done))]
                self._done[key] = [_test_row(i, t, problem) for i, t, problem in ran]
            return self._done[key]


def _test_row(index: int, test: Any, problem: str | None) -> dict[str, Any]:
    return {
        "index": index,
        "name": test.name or "",
        "stage": test.stage.value,
        "expect": test.expect.value,
        "rule": test.rule or "",
        "text": test.text,
        "passed": problem is None,
        "problem": problem or "",
    }


def bundles(pipeline: Pipeline) -> dict[str, Path]:
    """Bundle name -> folder, for the classifier bundles the policy's guards loaded."""
    found: dict[str, Path] = {}
    for guard in pipeline.policy.guards.values():
        bundle = getattr(getattr(unwrap_guard(guard), "runtime", None), "bundle", None)
        path = getattr(bundle, "path", None)
        if isinstance(path, Path):
            found[str(getattr(bundle, "name", path.name))] = path
    return found


def guard_rows(pipeline: Pipeline) -> list[dict[str, str]]:
    """The policy's guards: name, kind (class) and bundle, if any."""
    rows = []
    for name, guard in pipeline.policy.guards.items():
        inner = unwrap_guard(guard)
        bundle = getattr(getattr(inner, "runtime", None), "bundle", None)
        rows.append(
            {"name": name, "kind": type(inner).__name__, "bundle": str(getattr(bundle, "name", ""))}
        )
    return rows


def rule_rows(pipeline: Pipeline) -> list[dict[str, str]]:
    """The policy's rules as the policy view lists them."""
    return [
        {
            "name": r.name,
            "guard": r.guard,
            "stages": ", ".join(sorted(s.value for s in r.stages)),
            "action": r.action.value,
            "mode": r.mode.value,
            "fail": r.fail.value,
        }
        for r in pipeline.policy.rules
    ]


def history(reloader: Reloader | None) -> list[dict[str, Any]]:
    """Load and reload attempts, newest first, with their problems (file, line, message)."""
    if reloader is None:
        return []
    rows = []
    for event in reversed(reloader.history):
        rows.append(
            {
                "at": stamp(event.at),
                "reason": event.reason,
                "ok": event.ok,
                "version": event.version,
                "problems": [str(p) for p in event.problems],
            }
        )
    return rows


def stamp(at: float) -> str:
    """A UTC time for the pages."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) + "Z"


def last_error(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest failed attempt, if it came after the last good one."""
    for row in rows:
        return None if row["ok"] else row
    return None
