"""The litellm plug-in and GuardedLitellm with the request-aware guards of issue #23: the
request's `response_format` reaches json_schema `from_request`, and a canary `inject` policy
adds its per-request system message to what litellm sends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litellm.caching import DualCache
from litellm.exceptions import GuardrailRaisedException
from litellm.proxy._types import UserAPIKeyAuth
from litellm.types.utils import ModelResponse

from guardrail.integrations.litellm import GuardedLitellm, PolicyGuardrail
from guardrail.testing import FakeUpstream, Reply
from guardrail.upstream import shapes

E2E = Path(__file__).parents[1] / "e2e" / "policies"
AUTH = UserAPIKeyAuth()
TOKEN = re.compile(r"gr-[0-9a-f]{20}")
FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "n", "schema": {"type": "object", "required": ["n"]}},
}


def _plugin(policy: Path) -> PolicyGuardrail:
    return PolicyGuardrail(
        policy=str(policy),
        guardrail_name="guardrail",
        event_hook=["pre_call", "post_call"],
        default_on=True,
    )


def _request(**extra: Any) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "a number, please"}],
        "litellm_call_id": "call-1",
        "metadata": {},
        **extra,
    }


async def test_plugin_checks_the_answer_against_the_requests_schema() -> None:
    """post_call blocks an answer without the key the request's schema requires."""
    guard = _plugin(E2E / "json_from_request.yaml")
    data = _request(response_format=FORMAT)
    checked = await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion")
    assert checked["response_format"] == FORMAT  # passed on as it was
    response = ModelResponse(**shapes.chat_response('{"m": 1}', model="fake-model"))
    with pytest.raises(GuardrailRaisedException) as caught:
        await guard.async_post_call_success_hook(data, AUTH, response)
    assert "answer-matches-request" in caught.value.message


async def test_plugin_adds_the_canary_system_message() -> None:
    """pre_call puts the per-request canary first in the messages litellm sends."""
    guard = _plugin(E2E / "canary_inject.yaml")
    checked = await guard.async_pre_call_hook(AUTH, DualCache(), _request(), "acompletion")
    assert checked["messages"][0]["role"] == "system"
    assert TOKEN.search(checked["messages"][0]["content"])
    assert checked["messages"][1:] == [{"role": "user", "content": "a number, please"}]


async def test_guarded_litellm_sends_the_canary(base_url: str, fake: FakeUpstream) -> None:
    """GuardedLitellm under a canary `inject` policy: the upstream gets the system message."""
    fake.script(Reply(text="hello"))
    result = await GuardedLitellm(E2E / "canary_inject.yaml").acompletion(
        model="openai/gpt-test",
        api_base=base_url,
        api_key="test",
        messages=[{"role": "user", "content": "hi"}],
    )
    assert result.choices[0].message.content == "hello"
    sent = fake.requests[0].body["messages"]
    assert sent[0]["role"] == "system" and TOKEN.search(sent[0]["content"])
