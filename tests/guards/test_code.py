"""The `code` guard: code blocks in prompts and answers, by language-agnostic line signals,
with per-language labels and statements when `languages` is set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from guardrail.guards.base import Guard
from tests.guards.code_probes import (
    HELD_OUT_PROSE,
    HELD_OUT_SNIPPETS,
    PROSE,
    SNIPPETS,
    STATEMENTS,
)

ALL_LANGUAGES = ["python", "javascript", "sql", "shell", "c", "java", "go", "rust", "html", "php"]


def _flagged(guard: Guard, scan: Any, texts: Sequence[str]) -> int:
    """How many texts get a finding at the default rule threshold (0.5)."""
    return sum(any(f.score >= 0.5 for f in scan(guard, text)) for text in texts)


def test_quality_on_the_probes(build_guard: Any, scan: Any) -> None:
    """Prose with semicolons, braces and lists is not code; snippets in ten languages are."""
    guard = build_guard("code")
    rows = {
        "tuning": (_flagged(guard, scan, PROSE), len(PROSE), SNIPPETS),
        "held out": (_flagged(guard, scan, HELD_OUT_PROSE), len(HELD_OUT_PROSE), HELD_OUT_SNIPPETS),
    }
    for name, (false_pos, prose, snippets) in rows.items():
        found = _flagged(guard, scan, [text for _, text in snippets])
        print(f"| {name} | {false_pos}/{prose} | {found}/{len(snippets)} |")
    assert _flagged(guard, scan, PROSE) == 0
    assert _flagged(guard, scan, [text for _, text in SNIPPETS]) == len(SNIPPETS)
    assert _flagged(guard, scan, HELD_OUT_PROSE) <= 1
    assert _flagged(guard, scan, [text for _, text in HELD_OUT_SNIPPETS]) >= 6


def test_block_span_covers_the_code_not_the_prose(build_guard: Any, scan: Any) -> None:
    """In an answer that explains code, the span starts at the first and ends at the last
    code line."""
    code = "def area(r):\n    return 3.14159 * r * r\n\nprint(area(2))"
    text = f"Sure, here is how you compute it.\n\n{code}\n\nLet me know if it helps."
    [finding] = scan(build_guard("code"), text)
    [span] = finding.spans
    assert text[span.start : span.end] == code
    assert finding.label == "code" and finding.score >= 0.5


def test_fenced_block_is_code_whatever_it_holds(build_guard: Any, scan: Any) -> None:
    """A fenced block is one span from fence to fence, labelled by its info string."""
    text = "Run this:\n```bash\nmake build\n```\nthen wait."
    [finding] = scan(build_guard("code", languages=["shell"]), text)
    span = finding.spans[0]
    assert (finding.label, text[span.start : span.end]) == ("shell", "```bash\nmake build\n```")


@pytest.mark.parametrize(("language", "text"), SNIPPETS)
def test_snippets_are_labelled_with_their_language(
    build_guard: Any, scan: Any, language: str, text: str
) -> None:
    """With `languages`, a block is labelled with the language its statements match most."""
    labels = {f.label for f in scan(build_guard("code", languages=ALL_LANGUAGES), text)}
    assert language in labels


@pytest.mark.parametrize(("language", "text", "statement"), STATEMENTS)
def test_single_statements_in_prose_are_found_by_language(
    build_guard: Any, found: Any, language: str, text: str, statement: str
) -> None:
    """`DROP TABLE`, `rm -rf`, `curl | sh`, `os.system(...)` inside a sentence are spans."""
    assert found(build_guard("code", languages=[language]), text) == [(language, statement)]


def test_languages_filter_reports_only_those(build_guard: Any, scan: Any) -> None:
    """A python block is not reported by a guard that asks only for SQL."""
    text = "import os\nimport sys\nprint(os.getcwd())"
    assert scan(build_guard("code", languages=["sql"]), text) == []
    assert {f.label for f in scan(build_guard("code", languages=["python"]), text)} == {"python"}


@pytest.mark.parametrize("text", PROSE + HELD_OUT_PROSE)
def test_prose_has_no_statements(build_guard: Any, scan: Any, text: str) -> None:
    """Everyday sentences ("select the best option from", "delete from your memory",
    "drop me a line") hold no statement of any language."""
    assert scan(build_guard("code", languages=ALL_LANGUAGES), text) == []


def test_min_lines_one_takes_single_code_lines(build_guard: Any, scan: Any) -> None:
    """`min_lines: 1` reports a lone code line; the default needs two."""
    text = "Then write total = price * quantity; and you are done"
    line = "result = compute(x, y);"
    assert scan(build_guard("code"), line) == []
    assert [f.label for f in scan(build_guard("code", min_lines=1), line)] == ["code"]
    assert scan(build_guard("code", min_lines=1), text) == []


def test_guard_satisfies_the_protocol(build_guard: Any) -> None:
    """The built guard is a `Guard` whose labels are `code` or the chosen languages."""
    guard = build_guard("code", name="no-code")
    assert isinstance(guard, Guard) and guard.name == "no-code"
    assert guard.reported_labels == {"code"}  # type: ignore[attr-defined]
    picked = build_guard("code", languages=["sql", "shell"])
    assert picked.reported_labels == {"sql", "shell"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"languages": ["cobol"]}, "Input should be 'python'"),
        ({"languages": []}, "languages must not be empty"),
        ({"min_lines": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Unknown languages and impossible line counts fail validation with a clear reason."""
    assert message in config_error("code", **params)


@pytest.mark.timeout(20)
def test_hostile_input_runs_in_linear_time(build_guard: Any, scan: Any) -> None:
    """Long lines of brackets, SQL keywords and shell prefixes finish at once."""
    guard = build_guard("code", languages=ALL_LANGUAGES)
    text = "SELECT " * 20_000 + "(" * 20_000 + "\n" + "x = 1;\n" * 5_000 + "sudo " * 10_000
    assert isinstance(scan(guard, text), list)
