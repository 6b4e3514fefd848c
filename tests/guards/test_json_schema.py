"""The `json_schema` guard: answers that are not one JSON document, or break the policy's
schema, and schemas that are refused when the policy loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardrail.guards.base import Guard
from guardrail.guards.registry import BuildContext, get_kind

ORDER = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"},
        "status": {"enum": ["shipped", "pending", "cancelled"]},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
    },
    "required": ["order_id", "status", "items"],
    "additionalProperties": False,
    "$defs": {
        "item": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            "required": ["sku", "qty"],
        }
    },
}
VALID = '{"order_id": "ORD-123456", "status": "shipped", "items": [{"sku": "A-1", "qty": 2}]}'


def _order(**changes: Any) -> str:
    """The valid order with some fields changed, as JSON."""
    return json.dumps({**json.loads(VALID), **changes})


def _label(guard: Guard, scan: Any, text: str) -> str | None:
    found = scan(guard, text)
    assert len(found) <= 1
    return found[0].label if found else None


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        f"  \n{VALID}\n",
        f"```json\n{VALID}\n```",
        f"```\n{VALID}```",
        json.dumps(json.loads(VALID), indent=2),
    ],
)
def test_valid_documents_pass(build_guard: Any, scan: Any, text: str) -> None:
    """A valid document passes, with white space around it, pretty-printed or fenced."""
    assert _label(build_guard("json_schema", schema=ORDER), scan, text) is None


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Sure! Your order ORD-123456 has shipped.", "invalid_json"),
        (f"Here is the JSON: {VALID}", "invalid_json"),
        (VALID[:-1], "invalid_json"),  # cut short
        (VALID + VALID, "invalid_json"),  # two documents
        (VALID[:-1] + ', "x": NaN}', "invalid_json"),
        (_order(order_id="ORD-12"), "schema_violation"),
        (_order(status="lost"), "schema_violation"),
        (_order(items=[{"sku": "A", "qty": 0}]), "schema_violation"),
        (_order(items=[]), "schema_violation"),
        (VALID[:-1] + ', "note": "extra"}', "schema_violation"),
        ('["ORD-123456"]', "schema_violation"),
    ],
)
def test_bad_answers_are_labelled(build_guard: Any, scan: Any, text: str, label: str) -> None:
    """Prose, cut or doubled documents and NaN are `invalid_json`; a wrong pattern, enum,
    minimum, empty list, extra key or root type is `schema_violation`."""
    assert _label(build_guard("json_schema", schema=ORDER), scan, text) == label


def test_finding_spans_the_whole_text(build_guard: Any, scan: Any) -> None:
    """One finding per bad text, score 1.0, spanning it; blank texts are not findings."""
    guard = build_guard("json_schema", schema=ORDER)
    found = scan(guard, VALID, "", "not json", "   ")
    assert [(f.text_index, f.label, f.score) for f in found] == [(2, "invalid_json", 1.0)]
    assert [(s.start, s.end) for s in found[0].spans] == [(0, len("not json"))]


def test_fence_can_be_refused(build_guard: Any, scan: Any) -> None:
    """`allow_fence: false` wants the bare document."""
    guard = build_guard("json_schema", schema=ORDER, allow_fence=False)
    assert _label(guard, scan, f"```json\n{VALID}\n```") == "invalid_json"


def test_nesting_too_deep_to_read_is_a_finding(build_guard: Any, scan: Any) -> None:
    """A document nested past Python's recursion limit is reported, not a guard error."""
    guard = build_guard("json_schema", schema={"type": "array"})
    assert _label(guard, scan, "[" * 100_000 + "]" * 100_000) == "invalid_json"
    deep_schema = {"$ref": "#/$defs/node", "$defs": {"node": {"items": {"$ref": "#/$defs/node"}}}}
    deep = build_guard("json_schema", schema=deep_schema)
    assert _label(deep, scan, "[" * 50 + "]" * 50) is None
    # parses, but validating it recurses past the limit: not proven valid
    assert _label(deep, scan, "[" * 900 + "]" * 900) == "schema_violation"


def test_schema_file_json_or_yaml(tmp_path: Path, scan: Any) -> None:
    """`schema_file` is read relative to the policy file, as JSON or YAML."""
    (tmp_path / "order.json").write_text(json.dumps(ORDER))
    (tmp_path / "order.yaml").write_text("type: object\nrequired: [order_id]\n")
    kind = get_kind("json_schema")
    for name, text, label in (
        ("order.json", VALID, None),
        ("order.yaml", "{}", "schema_violation"),
    ):
        config = kind.config.model_validate({"kind": "json_schema", "schema_file": name})
        guard = kind.build(config, BuildContext(name="g", policy_dir=tmp_path))
        assert _label(guard, scan, text) == label


def _refused(tmp_path: Path, message: str, **params: Any) -> None:
    kind = get_kind("json_schema")
    config = kind.config.model_validate({"kind": "json_schema", **params})
    with pytest.raises(ValueError, match=message):
        kind.build(config, BuildContext(name="g", policy_dir=tmp_path))


def test_bad_schemas_fail_at_load(tmp_path: Path) -> None:
    """A missing file, an invalid schema or a remote `$ref` (which jsonschema would fetch
    over the network while validating) is refused when the policy loads."""
    (tmp_path / "broken.json").write_text("{not: [json")
    _refused(tmp_path, "cannot read schema_file", schema_file="nope.json")
    _refused(tmp_path, "is not JSON or YAML", schema_file="broken.json")
    _refused(tmp_path, "invalid JSON Schema", schema={"type": "objekt"})
    remote = {"properties": {"a": {"$ref": "https://example.com/a.json"}}}
    _refused(tmp_path, "only local references", schema=remote)


def test_guard_satisfies_the_protocol(build_guard: Any) -> None:
    """The built guard is a `Guard` reporting its two labels, reading each text whole."""
    guard = build_guard("json_schema", name="shape", schema=ORDER)
    assert isinstance(guard, Guard) and guard.name == "shape"
    assert guard.reported_labels == {"invalid_json", "schema_violation"}  # type: ignore[attr-defined]
    assert guard.per_text is True  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "set exactly one of schema"),
        ({"schema": ORDER, "schema_file": "x.json"}, "set exactly one of schema"),
        ({"schema": "object"}, "Input should be a valid dictionary"),
        ({"schema": ORDER, "fence": True}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Both or neither source, a non-mapping schema and unknown keys fail validation."""
    assert message in config_error("json_schema", **params)
