"""Set rule thresholds in a policy file in place, keeping its comments and layout.

ruamel.yaml's round trip keeps comments and key order, but it re-renders some scalars (a
`"\\u200b"` escape becomes the invisible character itself) and may re-indent. So the edit is
done on the parsed document, the document is dumped before and after the edit with the
indentation that best reproduces the file, and only the lines that the edit changed are
carried over into the original text. Every other line stays byte for byte as it was.
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

# (mapping, sequence, offset) indentations tried, most common first.
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (4, 6, 4), (3, 3, 0))


class PolicyEditError(ValueError):
    """The edit cannot be made (rule not in the file, or the file is not a policy mapping)."""


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, document: Any) -> str:
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _same_lines(a: str, b: str) -> int:
    return sum(x == y for x, y in zip(a.splitlines(), b.splitlines(), strict=False))


def _best_yaml(text: str) -> YAML:
    """The YAML set-up whose dump of the unedited file matches the most of its lines."""
    document = _yaml(INDENTS[0]).load(text)
    return max((_yaml(i) for i in INDENTS), key=lambda y: _same_lines(text, _dump(y, document)))


def _rule_map(document: Any, name: str) -> CommentedMap:
    rules = document.get("rules") if isinstance(document, CommentedMap) else None
    for rule in rules or ():
        if isinstance(rule, CommentedMap) and rule.get("name") == name:
            return rule
    raise PolicyEditError(f"rule {name!r} is not defined in this file (only its own rules)")


def _flow_map(values: Mapping[str, float]) -> CommentedMap:
    mapping = CommentedMap(values)
    mapping.fa.set_flow_style()  # valid inside block and flow (`{...}`) rules alike
    return mapping


def set_rule_thresholds(rule: CommentedMap, thresholds: Mapping[str, float]) -> None:
    """One label and no `thresholds:` key -> `threshold: v`; else merge into `thresholds:`."""
    position = list(rule).index("guard") + 1 if "guard" in rule else len(rule)
    existing = rule.get("thresholds")
    if len(thresholds) == 1 and existing is None:
        value = next(iter(thresholds.values()))
        if "threshold" in rule:
            rule["threshold"] = value
        else:
            rule.insert(position, "threshold", value)
    elif isinstance(existing, CommentedMap):
        existing.update(thresholds)
    else:
        rule.insert(position, "thresholds", _flow_map(thresholds))


def transplant(original: str, before: str, after: str) -> str:
    """Apply the line changes between two dumps to the original text."""
    lines = original.splitlines(keepends=True)
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(lines) != len(old):  # the dump does not line up with the file: take it whole
        return after
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out += lines[i1:i2] if tag == "equal" else new[j1:j2]
    return "".join(out)


def edit_thresholds(text: str, thresholds: Mapping[str, Mapping[str, float]]) -> str:
    """The policy text with rule -> label -> threshold set (raises `PolicyEditError`)."""
    yaml = _best_yaml(text)
    document = yaml.load(text)
    before = _dump(yaml, document)
    for name, values in thresholds.items():
        set_rule_thresholds(_rule_map(document, name), values)
    return transplant(text, before, _dump(yaml, document))


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    shutil.copymode(path, temporary)
    os.replace(temporary, path)


def write_checked(path: Path, text: str, check: Callable[[Path], None]) -> None:
    """Write `text` to `path`, then `check(path)`; if the check raises, restore the original."""
    original = path.read_text(encoding="utf-8")
    _write(path, text)
    try:
        check(path)
    except BaseException:
        _write(path, original)
        raise
