"""The error tree in guardrail/errors.py is whole: every code the source emits is in it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import guardrail.errors
from guardrail.errors import BLOCK_CODES, ERROR_CODES

SOURCE = Path(guardrail.errors.__file__).parent
# a tree line: the class name, then its code (`├── NotFound      not_found  (...)`)
TREE_LINE = re.compile(r"^ {4}[\s│├└─]*([A-Z]\w+)\s+([a-z][a-z0-9_]*)\b")
# a block-code line: indented code, then what it means
BLOCK_LINE = re.compile(r"^ {4}([a-z][a-z0-9_]*) {2,}\S")


def _trees() -> Iterator[ast.Module]:
    for path in sorted(SOURCE.rglob("*.py")):
        yield ast.parse(path.read_text(encoding="utf-8"), str(path))


def _string_constants() -> dict[str, str]:
    """Module-level `NAME = "literal"` assignments of the whole package."""
    found: dict[str, str] = {}
    for tree in _trees():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        found[target.id] = node.value.value
    return found


def _class_codes() -> set[str]:
    """`code = "..."` in the body of every error class of the package (a class whose base is
    one of errors.py's or named `...Error`): the codes its errors carry."""
    errors = {cls.__name__ for cls in ERROR_CODES.values()}
    codes = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
            if not any(b in errors or b.endswith("Error") for b in bases):
                continue
            for item in node.body:
                value = item.value if isinstance(item, ast.Assign | ast.AnnAssign) else None
                names = item.targets if isinstance(item, ast.Assign) else []
                if isinstance(item, ast.AnnAssign):
                    names = [item.target]
                if value is None or not any(
                    isinstance(n, ast.Name) and n.id == "code" for n in names
                ):
                    continue  # a field declared without a value (`code: str`) emits nothing
                assert isinstance(value, ast.Constant), ast.dump(item)
                codes.add(value.value)
    return codes


def _block_codes() -> set[str]:
    """The `code=` of every `Block(...)` the package builds (literals, named constants and
    error classes' codes; `rule.code` is the policy's own)."""
    constants = _string_constants()
    codes = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Block"):
                continue
            for keyword in node.keywords:
                if keyword.arg != "code":
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant):
                    codes.add(value.value)
                elif isinstance(value, ast.Name):
                    codes.add(constants[value.id])
                elif isinstance(value, ast.Attribute) and ast.unparse(value) != "rule.code":
                    codes.add(getattr(guardrail.errors, ast.unparse(value.value)).code)
                else:
                    assert ast.unparse(value) == "rule.code", ast.unparse(value)
    return codes


def _documented() -> tuple[dict[str, str], set[str]]:
    lines = (guardrail.errors.__doc__ or "").splitlines()
    tree = {m[1]: m[2] for line in lines if (m := TREE_LINE.match(line))}
    blocks = {m[1] for line in lines if (m := BLOCK_LINE.match(line))}
    return tree, blocks


def test_every_emitted_error_code_is_in_the_tree() -> None:
    """Each `code` an error class of the package declares (errors.py or elsewhere, e.g. the
    server's) is a line of the documented tree, under its own class name."""
    tree, _ = _documented()
    emitted = _class_codes()
    assert "not_ready" in emitted  # the scan sees classes outside errors.py too
    assert emitted - set(tree.values()) == set()


def test_every_emitted_block_code_is_documented() -> None:
    """Each block code guardrail itself sets (not a rule's own) is in the docstring's block
    codes and in BLOCK_CODES."""
    _, blocks = _documented()
    emitted = _block_codes() | {guardrail.errors.DEFAULT_BLOCK_CODE}
    assert "guard_unavailable" in emitted
    assert emitted <= blocks
    assert emitted <= BLOCK_CODES


def test_tree_lines_are_real_classes() -> None:
    """Every line of the tree names a class of errors.py that carries that code, and every
    class of errors.py is in the tree."""
    tree, _ = _documented()
    for name, code in tree.items():
        assert getattr(guardrail.errors, name).code == code, name
    assert {cls.__name__ for cls in ERROR_CODES.values()} == set(tree)
