"""The running proxy under generated traffic: schemathesis from its own OpenAPI description
(`GET /openapi.json`), and hypothesis bodies from the wire strategies. No request may get a
5xx or go unanswered (each call has a timeout); streams end with their end marker."""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from guardrail.server.openapi import SPEC
from tests.fuzz.conftest import Servers
from tests.fuzz.strategies import (
    SERVER_EXAMPLES,
    anthropic_body,
    json_values,
    openai_chat,
    openai_completion,
)

TIMEOUT_S = 30


def not_a_server_error_but_not_supported(ctx: Any, response: Any, case: Any) -> bool | None:
    """`not_a_server_error`, except the documented 501 `not_supported`: the fuzzed proxy's
    upstream is OpenAI-only, which cannot count Anthropic tokens (docs/api.md)."""
    if response.status_code == 501 and response.json()["error"]["code"] == "not_supported":
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error_but_not_supported,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=SERVER_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


# Loaded from the static description (schemathesis' lazy `from_fixture` loader does not run
# on pytest 9); `test_served_description_is_the_static_one` pins that the server serves it.
schema = schemathesis.openapi.from_dict(SPEC)
# Schemathesis' coverage phase (boundary values of every field) costs ~10 s here: it runs
# when GUARDRAIL_FUZZ_EXAMPLES is set (the long fuzz run), not in the quick default run.
schema.config.phases.coverage.enabled = "GUARDRAIL_FUZZ_EXAMPLES" in os.environ


@schema.parametrize()
@FUZZ
def test_openapi_operations(case: Any, servers: Servers) -> None:
    """Generated requests for every operation: no 5xx, no hang, and answers as described."""
    case.call_and_validate(base_url=servers.rules_http, checks=CHECKS, timeout=TIMEOUT_S)


def test_served_description_is_the_static_one(servers: Servers) -> None:
    """`GET /openapi.json` serves guardrail/server/openapi.py's description."""
    response = httpx.get(servers.default_local + "/openapi.json", timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == SPEC


ROUTES = {
    "/v1/chat/completions": openai_chat,
    "/v1/completions": openai_completion,
    "/v1/messages": anthropic_body,
}


@FUZZ
@given(
    route=st.sampled_from(sorted(ROUTES)),
    data=st.data(),
    stream=st.booleans(),
    which=st.sampled_from(["default_local", "rules_http"]),
)
def test_generated_bodies_never_5xx(
    servers: Servers, route: str, data: st.DataObject, stream: bool, which: str
) -> None:
    """Almost-right bodies get a 2xx with an end marker or a 4xx with a code, never 5xx."""
    body = data.draw(st.one_of(ROUTES[route], st.dictionaries(st.text(), json_values)))
    if stream:
        body = {**body, "stream": True}
    base = getattr(servers, which)
    response = httpx.post(base + route, json=body, timeout=TIMEOUT_S)
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str)
    elif response.headers["content-type"].startswith("text/event-stream"):
        end = "event: message_stop" if route == "/v1/messages" else "data: [DONE]"
        assert end in response.text


@FUZZ
@given(raw=st.binary(max_size=300), route=st.sampled_from(sorted(ROUTES)))
def test_arbitrary_bytes_never_5xx(servers: Servers, raw: bytes, route: str) -> None:
    """Arbitrary bytes as a body are refused with a 4xx, never a 5xx or a hang."""
    response = httpx.post(servers.rules_http + route, content=raw, timeout=TIMEOUT_S)
    assert 400 <= response.status_code < 500 or response.status_code == 200
