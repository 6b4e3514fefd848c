"""An OpenAPI 3.1 description of the proxy's endpoints, served at `GET /openapi.json`.

Generated from the registered wire shapes (`wires.py`): each names its path, method, summary
and the TypedDicts (`guardrail/wire.py`) of the request it reads and the errors it answers
with. Deliberately loose where the proxy is (it forwards fields it does not know): it names
the parts guardrail reads -- messages, roles, content, prompt, input, stream. The fuzz tests
(`tests/fuzz/`) generate requests from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from guardrail.server.proxy import Served
from guardrail.server.wires import WIRES
from guardrail.wire import Json


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas(wires: Sequence[Served]) -> Json:
    """JSON schemas of the shapes' request and error types (TypedDicts of guardrail/wire.py),
    each under its class name, nested types included."""
    types = {t.__name__: t for w in wires for t in (w.request, w.error_type) if t is not None}
    mode: JsonSchemaMode = "validation"
    adapters = [(name, mode, TypeAdapter[Any](t)) for name, t in sorted(types.items())]
    _, schemas = TypeAdapter.json_schemas(adapters, ref_template=_REF)
    defs: Json = schemas.get("$defs", {})
    return defs


_REF = "#/components/schemas/{model}"


_ERROR_STATUSES = {
    "400": "invalid request or blocked by a rule",
    "401": "missing or unknown proxy key",
    "408": "the request body did not arrive in time (body_timeout)",
    "413": "over a limit (limit_exceeded, too_many_parts)",
    "502": "the upstream failed",
    "503": "not ready, or a guard could not run (fail: closed)",
    "504": "the upstream timed out",
}


_PASS_STATUSES = {
    **_ERROR_STATUSES,
    "501": "the configured upstream cannot serve this endpoint (not_supported)",
}


def _call(summary: str, request: str, error: str, *, passed: bool = False) -> Json:
    """One POST endpoint; `passed`: the upstream's JSON answer as it came, never a stream."""
    content: Json = {"application/json": {"schema": {"type": "object"}}}
    if not passed:
        content["text/event-stream"] = {}
    description = "the upstream's answer" if passed else "the answer, or events when streamed"
    responses: Json = {"200": {"description": description, "content": content}}
    for status, description in (_PASS_STATUSES if passed else _ERROR_STATUSES).items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": _ref(error)}},
        }
    return {
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(request)}},
        },
        "responses": responses,
    }


def _get(summary: str, media: str = "application/json") -> Json:
    return {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {media: {}}},
            "503": {"description": "not ready", "content": {media: {}}},
        },
    }


def _operation(wire: Served) -> Json:
    if wire.request is None:
        return _get(wire.summary)
    error = wire.error_type.__name__
    return _call(wire.summary, wire.request.__name__, error, passed=wire.answers == "passed")


def build_spec(wires: Sequence[Served]) -> Json:
    """The description of the registered shapes and of the server's own routes."""
    paths: Json = {w.path: {w.method.lower(): _operation(w)} for w in wires}
    paths.update(
        {
            "/healthz": {"get": _get("liveness")},
            "/readyz": {"get": _get("readiness: the policy is loaded")},
            "/metrics": {"get": _get("Prometheus metrics", "text/plain")},
            "/openapi.json": {"get": _get("this description")},
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "guardrail proxy", "version": "1"},
        "paths": paths,
        "components": {"schemas": _schemas(wires)},
    }


SPEC: Json = build_spec(WIRES)


async def openapi_json(request: Request) -> Response:
    """`GET /openapi.json`."""
    return JSONResponse(SPEC)


ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"])]
