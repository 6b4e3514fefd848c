"""Evaluating a classifier -> judge cascade offline (see docs/cascades.md).

- `load_replay` / `use_replay`: recorded judge verdicts (JSON Lines) stand in for the model,
  so `guardrail eval --judge-replay FILE` runs the policy's real escalation without a call;
- `cascade_section`: the eval report's escalation rate and the confusion of the rows the
  classifier decided alone ("local") and of those the judge decided ("escalated");
- `propose_band`: the band that sends the fewest rows to the judge while the cascade as a
  whole meets a target FPR and recall, given what the judge gets right per row (replayed
  verdicts: 1 or 0; otherwise an assumed accuracy). Pure functions, no I/O but the file read.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrail.canonical import canonical
from guardrail.evaluate.data import DataError, _lines
from guardrail.evaluate.metrics import confusion
from guardrail.evaluate.runner import RowOutcome
from guardrail.guards.classifier import ClassifierGuard
from guardrail.guards.judge import JudgeGuard, Verdict, text_key
from guardrail.policy.compile import Policy
from guardrail.types import Action


def load_replay(path: Path) -> dict[str, Verdict]:
    """Verdicts by text key. Each line: `text` or `text_sha256`, `label`, `confidence` (or
    `score`), optional `reason`; other fields are ignored. DataError names a bad line."""
    replay: dict[str, Verdict] = {}
    for number, line in _lines(path):
        try:
            row = json.loads(line)
            fields = {k: row[k] for k in ("label", "confidence", "score", "reason") if k in row}
            verdict = Verdict.model_validate(fields)
            keys = _keys(row)
        except (ValueError, TypeError, KeyError, ValidationError) as exc:
            raise DataError(
                f"{path}:{number}: not a judge verdict ({type(exc).__name__})"
            ) from None
        replay.update(dict.fromkeys(keys, verdict))
    return replay


def _keys(row: Mapping[str, Any]) -> set[str]:
    if isinstance(row.get("text"), str):  # guards read the canonical form of a text
        return {text_key(row["text"]), text_key(canonical(row["text"]).text)}
    key = row["text_sha256"]
    if not isinstance(key, str) or len(key) != 64:
        raise ValueError("text_sha256 must be 64 hex digits")
    return {key.lower()}


def judges(policy: Policy) -> list[JudgeGuard]:
    """The policy's judge guards."""
    return [g for g in policy.guards.values() if isinstance(g, JudgeGuard)]


def escalating(policy: Policy) -> bool:
    """Whether a classifier of the policy escalates to a judge."""
    return any(
        isinstance(g, ClassifierGuard) and g.escalator is not None for g in policy.guards.values()
    )


def use_replay(policy: Policy, replay: Mapping[str, Verdict]) -> None:
    """Make every judge of the policy answer from `replay` (DataError when it has none)."""
    found = judges(policy)
    if not found:
        raise DataError("--judge-replay: the policy has no judge guard")
    for judge in found:
        judge.replay = replay


def start_recording(policy: Policy) -> dict[str, Verdict]:
    """Make every judge of the policy keep its verdicts in the returned mapping."""
    found = judges(policy)
    if not found:
        raise DataError("--judge-record: the policy has no judge guard")
    record: dict[str, Verdict] = {}
    for judge in found:
        judge.record = record
    return record


def write_replay(path: Path, record: Mapping[str, Verdict]) -> None:
    """Recorded verdicts as a replay file (text hashes, never texts)."""
    lines = [
        json.dumps({"text_sha256": key, **verdict.model_dump()}) + "\n"
        for key, verdict in sorted(record.items())
    ]
    path.write_text("".join(lines), encoding="utf-8")


def cascade_section(outcomes: Sequence[RowOutcome], predict: frozenset[Action]) -> dict[str, Any]:
    """Escalation rate, and metrics of the rows decided locally and of the escalated ones."""
    parts: dict[str, Any] = {}
    for name, rows in (
        ("local", [o for o in outcomes if not o.escalated]),
        ("escalated", [o for o in outcomes if o.escalated]),
    ):
        predicted = [o.action in predict for o in rows]
        parts[name] = {"rows": len(rows)} | confusion(
            [o.positive for o in rows], predicted
        ).as_dict()
    escalated = parts["escalated"]["rows"]
    return {"escalation_rate": round(escalated / len(outcomes), 6) if outcomes else 0.0} | parts


def format_cascade(section: Mapping[str, Any]) -> str:
    """The cascade section as text lines."""
    lines = [f"cascade: escalation rate {section['escalation_rate']:.4f}"]
    for name in ("local", "escalated"):
        s = section[name]
        lines.append(
            f"  {name:<9} rows {s['rows']:>6}  precision {s['precision']:.4f}  "
            f"recall {s['recall']:.4f}  fpr {s['fpr']:.4f}  (fp {s['fp']}, fn {s['fn']})"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class BandProposal:
    """A band and what the cascade would do with it on the rows it was chosen on."""

    low: float
    high: float
    escalation_rate: float
    fpr: float  # expected, over the whole cascade
    recall: float  # expected, over the whole cascade
    local_fpr: float  # of the rows decided by the classifier alone (below low / above high)
    local_fnr: float


def propose_band(
    scores: Sequence[float],
    truth: Sequence[bool],
    right: Sequence[float],
    target_fpr: float,
    target_recall: float,
    step: float = 0.005,
) -> BandProposal | None:
    """The band [low, high] with the fewest rows inside (then the narrowest) for which the
    cascade meets both targets: scores below `low` are negative, above `high` positive, the
    rest the judge's, right with probability `right[i]` per row. None when no band does."""
    rows = sorted(zip(scores, truth, right, strict=True))
    keys = [s for s, _, _ in rows]
    pos = list(accumulate((int(t) for _, t, _ in rows), initial=0))
    pos_ok = list(accumulate((p if t else 0.0 for _, t, p in rows), initial=0.0))
    neg_bad = list(accumulate((0.0 if t else 1 - p for _, t, p in rows), initial=0.0))
    n, n_pos = len(rows), pos[-1]
    n_neg = n - n_pos
    if not n_pos or not n_neg:
        return None
    grid = [round(i * step, 6) for i in range(round(1 / step) + 1)]
    best: tuple[int, float, BandProposal] | None = None
    for low in grid:
        i = bisect.bisect_left(keys, low)  # rows[:i] are below the band
        for high in (h for h in grid if h >= low):
            j = bisect.bisect_right(keys, high)  # rows[j:] are above it
            tp = (pos[n] - pos[j]) + (pos_ok[j] - pos_ok[i])
            fp = (n - j - (pos[n] - pos[j])) + (neg_bad[j] - neg_bad[i])
            if fp / n_neg > target_fpr or tp / n_pos < target_recall:
                continue
            key = (j - i, high - low)
            if best is None or key < best[:2]:
                fn_local = pos[i]
                fp_local = n - j - (pos[n] - pos[j])
                proposal = BandProposal(
                    low, high, (j - i) / n, fp / n_neg, tp / n_pos,
                    fp_local / n_neg, fn_local / n_pos,
                )  # fmt: skip
                best = (j - i, high - low, proposal)
    return None if best is None else best[2]


def accuracy_rights(truth: Iterable[bool], accuracy: float) -> list[float]:
    """The same chance of a right verdict on every row (an assumed judge accuracy)."""
    return [accuracy for _ in truth]
