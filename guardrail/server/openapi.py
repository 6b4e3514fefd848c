"""An OpenAPI 3.1 description of the proxy's endpoints, served at `GET /openapi.json`.

Deliberately loose where the proxy is (it forwards fields it does not know): it names the
parts guardrail reads -- messages, roles, content, prompt, input, stream -- and the error shapes it
answers with. The fuzz tests (`tests/fuzz/`) generate requests from it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Json = dict[str, Any]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


_TEXT_PART: Json = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
_OPENAI_MESSAGE: Json = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool", "function"]},
        "content": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}, {"type": "null"}]
        },
        "name": {"type": "string"},
        "tool_call_id": {"type": "string"},
        "guardrail_stage": {"enum": ["input", "retrieved", "tool"]},
    },
}
_ANTHROPIC_BLOCK: Json = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["text", "tool_result", "document", "search_result", "image"]},
        "text": {"type": "string"},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]},
        "tool_use_id": {"type": "string"},
    },
}
_RESPONSES_PART: Json = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"enum": ["input_text", "output_text"]}, "text": {"type": "string"}},
}
_RESPONSES_ITEM: Json = {
    "type": "object",
    "properties": {
        "type": {"enum": ["message", "function_call", "function_call_output"]},
        "role": {"enum": ["user", "assistant", "system", "developer"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": _RESPONSES_PART}]},
        "call_id": {"type": "string"},
        "name": {"type": "string"},
        "arguments": {"type": "string"},
        "output": {"type": "string"},
    },
}
_SCHEMAS: Json = {
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                    "param": {"type": ["string", "null"]},
                },
            }
        },
    },
    "AnthropicError": {
        "type": "object",
        "required": ["type", "error"],
        "properties": {
            "type": {"const": "error"},
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "ChatRequest": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": {"type": "string"},
            "messages": {"type": "array", "items": _OPENAI_MESSAGE},
            "stream": {"type": "boolean"},
            "max_tokens": {"type": "integer", "minimum": 1},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        },
    },
    "CompletionRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "properties": {
            "model": {"type": "string"},
            "prompt": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "suffix": {"type": "string"},
            "stream": {"type": "boolean"},
            "max_tokens": {"type": "integer", "minimum": 1},
        },
    },
    "EmbeddingsRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string"},
            # token-id arrays are refused (400 uncheckable_input): they cannot be checked
            "input": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "encoding_format": {"enum": ["float", "base64"]},
            "dimensions": {"type": "integer", "minimum": 1},
        },
    },
    "ResponsesRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string"},
            "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": _RESPONSES_ITEM}]},
            "instructions": {"type": "string"},
            "stream": {"type": "boolean"},
            "max_output_tokens": {"type": "integer", "minimum": 1},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "MessagesRequest": {
        "type": "object",
        "required": ["model", "messages", "max_tokens"],
        "properties": {
            "model": {"type": "string"},
            "max_tokens": {"type": "integer", "minimum": 1},
            "system": {"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]},
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["role", "content"],
                    "properties": {
                        "role": {"enum": ["user", "assistant"]},
                        "content": {
                            "anyOf": [
                                {"type": "string"},
                                {"type": "array", "items": _ANTHROPIC_BLOCK},
                            ]
                        },
                    },
                },
            },
            "stream": {"type": "boolean"},
        },
    },
}
_SCHEMAS["CountTokensRequest"] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        key: value
        for key, value in _SCHEMAS["MessagesRequest"]["properties"].items()
        if key not in ("max_tokens", "stream")
    },
}

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


SPEC: Json = {
    "openapi": "3.1.0",
    "info": {"title": "guardrail proxy", "version": "1"},
    "paths": {
        "/v1/chat/completions": {
            "post": _call("OpenAI chat completions", "ChatRequest", "OpenAIError")
        },
        "/v1/completions": {
            "post": _call("OpenAI legacy completions", "CompletionRequest", "OpenAIError")
        },
        "/v1/embeddings": {
            "post": _call(
                "OpenAI embeddings (inputs checked like user messages)",
                "EmbeddingsRequest",
                "OpenAIError",
                passed=True,
            )
        },
        "/v1/responses": {"post": _call("OpenAI Responses API", "ResponsesRequest", "OpenAIError")},
        "/v1/messages": {"post": _call("Anthropic messages", "MessagesRequest", "AnthropicError")},
        "/v1/messages/count_tokens": {
            "post": _call(
                "Anthropic token count (texts checked as for messages; needs an Anthropic route)",
                "CountTokensRequest",
                "AnthropicError",
                passed=True,
            )
        },
        "/v1/models": {"get": _get("models of the upstream")},
        "/healthz": {"get": _get("liveness")},
        "/readyz": {"get": _get("readiness: the policy is loaded")},
        "/metrics": {"get": _get("Prometheus metrics", "text/plain")},
        "/openapi.json": {"get": _get("this description")},
    },
    "components": {"schemas": _SCHEMAS},
}


async def openapi_json(request: Request) -> Response:
    """`GET /openapi.json`."""
    return JSONResponse(SPEC)


ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"])]
