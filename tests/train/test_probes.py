"""The probe generator (held out) and the training-time generator share nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from classifiers.train import overdefense, probes


def _templates(module: object) -> set[str]:
    found: set[str] = set()
    for value in vars(module).values():
        if isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
            found.update(v[0] for v in value if isinstance(v, tuple) and isinstance(v[0], str))
        if isinstance(value, dict):
            for slot in value.values():
                if isinstance(slot, list):
                    found.update(v for v in slot if isinstance(v, str))
    return found


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z']+", text.lower()))


def test_probe_and_training_generators_share_no_template_or_slot_value() -> None:
    """No string (template or slot value) of probes.py appears in overdefense.py."""
    shared = _templates(probes) & _templates(overdefense)
    assert shared == set()


def test_no_probe_text_is_a_training_row() -> None:
    """No generated probe text equals a text overdefense.py can generate without data."""
    generated = (
        *overdefense.instructing_rows(),
        *overdefense.steering_rows(),
        *overdefense.tool_argument_rows(),
        *overdefense.hate_rows(),
    )
    train = {_words(e.text) for e in generated} - {()}  # a text of no words (binary, Morse)
    for name, (generate, _label, _stage) in probes.SETS.items():
        assert not train & {_words(t) for t in generate()}, name


def test_probe_sets_are_deterministic_and_labelled(tmp_path: Path) -> None:
    """Two runs write the same rows; every row has text, label, stage and probe name."""
    first = probes.write(tmp_path / "a")
    second = probes.write(tmp_path / "b")
    assert first == second and min(first.values()) >= 50
    for name in probes.SETS:
        a = (tmp_path / "a" / f"{name}.jsonl").read_text()
        assert a == (tmp_path / "b" / f"{name}.jsonl").read_text()
        rows = [json.loads(line) for line in a.splitlines()]
        assert {r["probe"] for r in rows} == {name}
        assert {r["label"] for r in rows} <= {"benign", "unsafe", "injection"}
        assert len({r["text"] for r in rows}) == len(rows)
