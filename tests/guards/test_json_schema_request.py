"""json_schema's `from_request` (issue #23): the request's `response_format` as the schema,
held to the rules for a client's schema (local refs only, RE2 patterns, no
patternProperties), with the policy's schema as the fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from guardrail.guards.json_schema import (
    INVALID_JSON,
    SCHEMA_VIOLATION,
    JsonSchemaConfig,
    request_validator,
)
from guardrail.types import CheckContext, Stage
from tests.guards.conftest import build

ORDER = {
    "type": "object",
    "properties": {"id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"}},
    "required": ["id"],
}


def _format(schema: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}


def _labels(guard: Any, text: str, response_format: dict[str, Any] | None) -> list[str]:
    ctx = CheckContext(stage=Stage.OUTPUT, response_format=response_format)
    return [f.label for f in asyncio.run(guard.scan([text], ctx))]


def test_from_request_needs_no_policy_schema_but_takes_at_most_one() -> None:
    """`from_request: true` alone is valid; schema and schema_file together never are."""
    JsonSchemaConfig.model_validate({"kind": "json_schema", "from_request": True})
    with pytest.raises(ValidationError, match="exactly one"):
        JsonSchemaConfig.model_validate({"kind": "json_schema"})
    with pytest.raises(ValidationError, match="exactly one"):
        JsonSchemaConfig.model_validate(
            {"kind": "json_schema", "from_request": True, "schema": {}, "schema_file": "x.json"}
        )


def test_the_requests_schema_decides() -> None:
    """A valid order passes; a bad id breaks the request's pattern; prose is not JSON."""
    guard = build("json_schema", from_request=True)
    assert _labels(guard, '{"id": "ORD-123456"}', _format(ORDER)) == []
    assert _labels(guard, '{"id": "ORD-1"}', _format(ORDER)) == [SCHEMA_VIOLATION]
    assert _labels(guard, "It shipped.", _format(ORDER)) == [INVALID_JSON]


def test_json_object_mode_and_no_format() -> None:
    """json_object requires an object; without a response_format nothing is checked."""
    guard = build("json_schema", from_request=True)
    assert _labels(guard, "[1, 2]", {"type": "json_object"}) == [SCHEMA_VIOLATION]
    assert _labels(guard, '{"a": 1}', {"type": "json_object"}) == []
    assert _labels(guard, "prose", None) == []
    assert _labels(guard, "prose", {"type": "text"}) == []


def test_the_policy_schema_is_the_fallback() -> None:
    """Without a usable request schema, the policy's schema applies; with one, the request's."""
    guard = build("json_schema", from_request=True, schema={"type": "array"})
    assert _labels(guard, '{"id": "ORD-123456"}', None) == [SCHEMA_VIOLATION]
    assert _labels(guard, '{"id": "ORD-123456"}', _format(ORDER)) == []
    remote = _format({"$ref": "https://example.com/schema.json"})
    assert _labels(guard, "[1]", remote) == []  # remote $ref refused: the policy's array rule


def test_without_from_request_the_request_is_ignored() -> None:
    """A guard without `from_request` keeps to the policy's schema whatever the request says."""
    guard = build("json_schema", schema={"type": "array"})
    assert _labels(guard, '{"id": "ORD-123456"}', _format(ORDER)) == [SCHEMA_VIOLATION]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://example.com/schema.json"},  # would be fetched
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},  # Python re
        {"type": "string", "pattern": "^(?=a)"},  # lookahead: not RE2
        {"type": "nonsense"},  # not a valid schema
    ],
)
def test_client_schemas_that_break_the_rules_are_not_used(schema: dict[str, Any]) -> None:
    """Remote refs, patternProperties, non-RE2 patterns and invalid schemas give no
    validator, so the policy's schema (if any) applies instead."""
    assert request_validator(_format(schema)) is None


def test_a_backtracking_pattern_cannot_hang_the_guard() -> None:
    """`(a+)+$` against 'aaa...!' is linear with RE2 (Python's re would run for minutes)."""
    guard = build("json_schema", from_request=True)
    evil = _format({"type": "string", "pattern": "^(a+)+$"})
    assert _labels(guard, '"' + "a" * 40 + '!"', evil) == [SCHEMA_VIOLATION]
    assert _labels(guard, '"' + "a" * 40 + '"', evil) == []


def test_request_validators_are_cached_by_content() -> None:
    """The same schema sent twice (keys in any order) compiles once."""
    first = request_validator(_format({"type": "object", "required": ["a"]}))
    second = request_validator(_format({"required": ["a"], "type": "object"}))
    assert first is not None and first is second
