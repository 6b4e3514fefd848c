"""The litellm plug-in: its hooks with real litellm objects, and guarded litellm SDK calls.

The hooks are called here as litellm's proxy calls them (same arguments, litellm's own
request dicts, responses and stream chunks); `test_litellm_proxy.py` runs the real proxy
where a venv with `litellm[proxy]` is available.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import litellm
import pytest
from litellm.caching import DualCache
from litellm.exceptions import GuardrailRaisedException, ModifyResponseException
from litellm.integrations.custom_guardrail import is_guardrail_intervention
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.types_utils.utils import get_instance_fn
from litellm.types.utils import ModelResponse, ModelResponseStream

from guardrail.errors import ContentBlocked, PolicyError
from guardrail.integrations.litellm import (
    GuardedLitellm,
    PolicyGuardrail,
    guarded_acompletion,
    guarded_completion,
)
from guardrail.testing import FakeUpstream, Reply
from guardrail.upstream import shapes
from tests.integrations.support import EMAIL, POLICIES

RULES = POLICIES / "rules.yaml"
REFUSAL = POLICIES / "refusal.yaml"
REFUSAL_TEXT = "Sorry, that is against the policy."
AUTH = UserAPIKeyAuth()


def plugin(policy: Any = RULES, **kwargs: Any) -> PolicyGuardrail:
    """The plug-in as litellm's proxy builds it from a config entry."""
    options: dict[str, Any] = {
        "guardrail_name": "guardrail",
        "event_hook": ["pre_call", "post_call"],
        "default_on": True,
    }
    return PolicyGuardrail(policy=str(policy), **{**options, **kwargs})


def request(text: str, **extra: Any) -> dict[str, Any]:
    """A proxy request dict, as litellm hands it to pre_call hooks."""
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": text}],
        "litellm_call_id": "call-1",
        "metadata": {},
        **extra,
    }


def answer(text: str) -> ModelResponse:
    """litellm's own whole answer object."""
    return ModelResponse(**shapes.chat_response(text, model="fake-model"))


async def chunks(pieces: list[str]) -> AsyncIterator[ModelResponseStream]:
    """litellm's own stream chunks for a text split into `pieces`."""
    for chunk in shapes.chat_chunks(pieces, model="fake-model"):
        yield ModelResponseStream(**chunk)


async def streamed(guard: PolicyGuardrail, data: dict[str, Any], pieces: list[str]) -> list[Any]:
    """Every chunk the streaming hook lets through."""
    hook = guard.async_post_call_streaming_iterator_hook(AUTH, chunks(pieces), data)
    return [chunk async for chunk in hook]


def text_of(chunk_list: list[Any]) -> str:
    """The content of a list of stream chunks."""
    return "".join(c.choices[0].delta.content or "" for c in chunk_list if c.choices)


# ------------------------------------------------------------------------- proxy hooks


def test_config_path_resolves_to_the_plugin() -> None:
    """The `guardrail:` value of the README's config.yaml loads our class through litellm."""
    assert get_instance_fn("guardrail.integrations.litellm.PolicyGuardrail") is PolicyGuardrail


def test_missing_policy_is_not_skippable() -> None:
    """No policy is a PolicyError (litellm's proxy skips guardrails failing with ValueError)."""
    with pytest.raises(PolicyError) as caught:
        PolicyGuardrail(guardrail_name="guardrail", event_hook="pre_call")
    assert not isinstance(caught.value, ValueError | TypeError)


async def test_pre_call_redacts_and_post_call_restores() -> None:
    """pre_call rewrites the messages litellm sends on; post_call puts the e-mail back."""
    guard = plugin()
    data = request(f"Mail {EMAIL} today")
    checked = await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion")
    assert checked["messages"] == [{"role": "user", "content": "Mail <EMAIL_1> today"}]
    response = answer("echo: Mail <EMAIL_1> today")
    restored = await guard.async_post_call_success_hook(data, AUTH, response)
    assert restored.choices[0].message.content == f"echo: Mail {EMAIL} today"


async def test_pre_call_block_is_a_guardrail_intervention() -> None:
    """A blocked prompt raises litellm's guardrail exception (400) naming the rule."""
    with pytest.raises(GuardrailRaisedException) as caught:
        await plugin().async_pre_call_hook(AUTH, DualCache(), request("kaboom"), "acompletion")
    assert caught.value.status_code == 400
    assert "no-banned-input" in caught.value.message
    assert is_guardrail_intervention(caught.value)


async def test_post_call_block_raises() -> None:
    """A banned phrase in a whole answer raises naming the output rule."""
    guard = plugin()
    data = request("recipe?")
    await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion")
    with pytest.raises(GuardrailRaisedException) as caught:
        await guard.async_post_call_success_hook(data, AUTH, answer("the secret sauce"))
    assert "no-banned-output" in caught.value.message


async def test_refusal_mode_uses_litellm_passthrough() -> None:
    """Under on_block: refusal a block is litellm's passthrough (a 200 with the refusal)."""
    guard = plugin(REFUSAL)
    data = request("kaboom")
    with pytest.raises(ModifyResponseException) as caught:
        await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion")
    assert caught.value.message == REFUSAL_TEXT
    assert caught.value.detection_info["rule"] == "no-banned-input"


async def test_streaming_hook_restores_and_cuts() -> None:
    """The stream hook restores placeholders across chunks and cuts a violation."""
    guard = plugin()
    data = request(f"mail {EMAIL}")
    await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion")
    # more clean text than the hold-back's look-ahead (at least 96 characters) and a check
    # step: a sentence is released (and restored) before the violation arrives
    reply = "Writing to <EMAIL_1> now. " * 8 + "Then detonate now, and more text after."
    out = await streamed(guard, data, shapes.split(reply, 3))
    assert all(isinstance(c, ModelResponseStream) for c in out)
    text = text_of(out)
    assert text.startswith(f"Writing to {EMAIL} now.")
    assert "detonate" not in text
    assert out[-1].choices[0].finish_reason == "content_filter"


async def test_streaming_hook_passes_benign_stream() -> None:
    """A benign stream passes whole, ending with its own finish_reason."""
    reply = "A calm and benign answer, in many small pieces. " * 3
    out = await streamed(plugin(), request("hi"), shapes.split(reply, 4))
    assert text_of(out) == reply
    assert out[-1].choices[0].finish_reason == "stop"


async def test_not_default_on_runs_only_when_requested() -> None:
    """Without default_on the plug-in runs only for requests that name it, as litellm's do."""
    guard = plugin(default_on=False)
    data = request("kaboom")
    assert await guard.async_pre_call_hook(AUTH, DualCache(), data, "acompletion") is data
    asked = request("kaboom", metadata={"guardrails": ["guardrail"]})
    with pytest.raises(GuardrailRaisedException):
        await guard.async_pre_call_hook(AUTH, DualCache(), asked, "acompletion")


async def test_other_call_types_pass() -> None:
    """Calls that are not completions (embeddings, ...) are not touched."""
    data = {"model": "m", "input": ["kaboom"], "litellm_call_id": "x"}
    assert await plugin().async_pre_call_hook(AUTH, DualCache(), data, "aembedding") is data


# ------------------------------------------------------------------ in-process litellm


def kwargs(base_url: str, text: str, **extra: Any) -> dict[str, Any]:
    """litellm.completion arguments for the fake upstream (an OpenAI-compatible server)."""
    return {
        "model": "openai/fake-model",
        "api_base": base_url,
        "api_key": "test",
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


async def test_guarded_acompletion_redacts_and_restores(base_url: str, fake: FakeUpstream) -> None:
    """litellm.acompletion under a policy: the upstream sees a placeholder, the caller the value."""
    result = await guarded_acompletion(policy=RULES, **kwargs(base_url, f"Mail {EMAIL}"))
    assert isinstance(result, litellm.ModelResponse)
    assert result.choices[0].message.content == f"echo: Mail {EMAIL}"
    assert EMAIL not in json.dumps(fake.last.body)


async def test_guarded_acompletion_block_raises(base_url: str, fake: FakeUpstream) -> None:
    """A blocked prompt raises ContentBlocked before litellm calls anything."""
    with pytest.raises(ContentBlocked) as caught:
        await guarded_acompletion(policy=RULES, **kwargs(base_url, "kaboom"))
    assert caught.value.rule == "no-banned-input"
    assert fake.requests == []


async def test_guarded_acompletion_stream_is_cut(base_url: str, fake: FakeUpstream) -> None:
    """A litellm stream goes through the hold-back window and is cut on a violation."""
    fake.script(Reply(text="Harmless words to begin with. Then kaboom, and more.", chunk_chars=3))
    stream = await guarded_acompletion(policy=RULES, **kwargs(base_url, "go", stream=True))
    out = [chunk async for chunk in stream]
    assert "kaboom" not in text_of(out)
    assert out[-1].choices[0].finish_reason == "content_filter"


def test_guarded_completion_sync(base_url: str, fake: FakeUpstream) -> None:
    """The sync litellm.completion path guards whole answers and streams."""
    result = guarded_completion(policy=RULES, **kwargs(base_url, f"to {EMAIL}"))
    assert result.choices[0].message.content == f"echo: to {EMAIL}"
    fake.script(Reply(text=f"Mail <EMAIL_1> now. {'More words. ' * 4}", chunk_chars=3))
    out = list(guarded_completion(policy=RULES, **kwargs(base_url, f"to {EMAIL}", stream=True)))
    assert text_of(out) == f"Mail {EMAIL} now. {'More words. ' * 4}"


async def test_guarded_litellm_refusal(base_url: str, fake: FakeUpstream) -> None:
    """Under on_block: refusal the in-process call returns litellm's own refusal answer."""
    guarded = GuardedLitellm(REFUSAL)
    result = await guarded.acompletion(**kwargs(base_url, "kaboom"))
    assert isinstance(result, litellm.ModelResponse)
    assert result.choices[0].message.content == REFUSAL_TEXT
    assert result.choices[0].finish_reason == "content_filter"
    assert fake.requests == []
