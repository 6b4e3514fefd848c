"""Answers for requests no endpoint takes: unknown paths (404) and wrong methods (405).

Starlette's defaults are plain text (`Not Found`), which an SDK reports as an error without a
code. Here they are JSON in the API's own error shape, with a stable code (`not_found`,
`method_not_allowed`): Anthropic's shape for paths under `/v1/messages` or requests that
carry the `anthropic-version` header (every Anthropic SDK call does), OpenAI's otherwise.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from guardrail.errors import GuardrailError, MethodNotAllowed, NotFound
from guardrail.server import routes_anthropic, routes_openai


def is_anthropic(request: Request) -> bool:
    """Whether the caller speaks the Anthropic API (so errors take its shape)."""
    path = request.url.path
    return path.startswith("/v1/messages") or "anthropic-version" in request.headers


def error_response(request: Request, exc: GuardrailError, status: int) -> JSONResponse:
    """`exc` as JSON in the caller's API error shape."""
    shape = routes_anthropic.error_body if is_anthropic(request) else routes_openai.error_body
    return JSONResponse(shape(exc, status, {}), status_code=status)


async def not_found(request: Request, exc: Exception) -> Response:
    """404 for a path no route serves."""
    error = NotFound(f"no endpoint at {request.method} {request.url.path}")
    return error_response(request, error, 404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 for a known path asked with another method; `Allow` names the ones it has."""
    allow = exc.headers.get("Allow", "") if isinstance(exc, HTTPException) and exc.headers else ""
    where = f"{request.url.path} does not accept {request.method}"
    error = MethodNotAllowed(f"{where} (allowed: {allow})" if allow else where)
    response = error_response(request, error, 405)
    if allow:
        response.headers["Allow"] = allow
    return response


HANDLERS = {404: not_found, 405: method_not_allowed}
