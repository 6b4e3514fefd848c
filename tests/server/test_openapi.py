"""The OpenAPI description is made from the registered wire shapes and covers every route;
every shape that reads a body has its field table."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from guardrail import fields
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.server.openapi import SPEC, build_spec
from guardrail.server.wires import WIRES

POLICY = Path(__file__).parents[1] / "e2e" / "policies" / "rules.yaml"
# the operator's browser console: HTML pages (and their own calls) behind admin keys, for
# people, not part of the API the SDKs call
NOT_API = ("/console",)


def _served() -> dict[str, set[str]]:
    app = create_app(Pipeline.from_file(POLICY))
    served: dict[str, set[str]] = {}
    for route in app.routes:
        assert isinstance(route, Route), f"{route!r}: only plain routes are described"
        if not route.path.startswith(NOT_API):
            methods = {m.lower() for m in route.methods or ()} - {"head"}
            served.setdefault(route.path, set()).update(methods)
    return served


def test_every_served_route_is_described() -> None:
    """Each path and method the app serves (the console aside) is in /openapi.json, and the
    description names no route the app does not serve."""
    described = {path: set(operations) for path, operations in SPEC["paths"].items()}
    assert _served() == described


def test_every_registered_shape_has_its_request_schema() -> None:
    """Each registered shape's operation points at its request type's schema, which exists."""
    schemas = SPEC["components"]["schemas"]
    for wire in WIRES:
        operation = SPEC["paths"][wire.path][wire.method.lower()]
        if wire.request is None:
            assert "requestBody" not in operation
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{wire.request.__name__}"
        assert schemas[wire.request.__name__]["type"] == "object"


def test_description_follows_the_registry() -> None:
    """A shape left out of the registry is left out of the description (it is generated)."""
    fewer = build_spec([w for w in WIRES if w.path != "/v1/responses"])
    assert "/v1/responses" not in fewer["paths"]
    assert "ResponsesRequest" not in fewer["components"]["schemas"]
    assert "/v1/chat/completions" in fewer["paths"]


def test_every_shape_with_a_body_has_its_field_table() -> None:
    """Each registered shape that reads a body has request rows in guardrail/fields.py under
    its route name, so a new shape cannot go without its table of text-bearing fields."""
    tabled = {row.wire for row in fields.TABLE if row.side == "request"}
    for wire in WIRES:
        if wire.request is not None:
            assert wire.route in tabled, wire.route
