"""A guard that errors or times out, through a real proxy and the real SDKs: its rule's
`fail` mode decides (closed: 503 guard_unavailable, open: the call goes on), and the audit
event says the guard did not check the text (`unchecked`) -- never that it passed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import anthropic
import openai
import pytest
import structlog

from guardrail.pipeline import Pipeline
from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.model import Options
from guardrail.testing import FakeUpstream, Reply
from guardrail.types import Action, CheckContext, FailMode, Finding, Mode, Stage
from tests.e2e.clients import anthropic_client, openai_client
from tests.faults.conftest import Proxy

Failure = Literal["error", "timeout"]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


class BrokenGuard:
    """A guard kind that never answers: it raises, or sleeps past any rule timeout."""

    def __init__(self, failure: Failure) -> None:
        self.name = "broken"
        self.failure = failure

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """No labels of its own."""
        return {}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """Fail the way it was built to."""
        if self.failure == "error":
            raise RuntimeError("the guard broke")
        await asyncio.sleep(30)
        return []


def broken_pipeline(failure: Failure, fail: FailMode, stages: frozenset[Stage]) -> Pipeline:
    """A one-rule policy around a BrokenGuard (100 ms timeout)."""
    rule = CompiledRule(
        name="broken-rule",
        guard="broken",
        stages=stages,
        action=Action.BLOCK,
        mode=Mode.ENFORCE,
        fail=fail,
        timeout_ms=100,
        message="no",
        code="content_blocked",
        labels=None,
        thresholds={},
        threshold=None,
        restore=False,
    )
    policy = Policy(
        name="broken",
        path=None,
        content_hash="0",
        options=Options(stream_window_chars=16),
        rules=(rule,),
        guards={"broken": BrokenGuard(failure)},
    )
    return Pipeline(policy)


@pytest.fixture
def audit() -> Iterator[list[dict[str, Any]]]:
    """The `policy.decided` audit events the running proxies write meanwhile."""
    with structlog.testing.capture_logs() as logs:
        yield logs


def decided(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the audit events."""
    return [e for e in logs if e["event"] == "policy.decided"]


@pytest.mark.parametrize("failure", ["error", "timeout"])
def test_fail_closed_is_503_and_unchecked(
    proxy: Proxy, fake: FakeUpstream, audit: list[dict[str, Any]], failure: Failure
) -> None:
    """fail: closed is 503 guard_unavailable with Retry-After, no upstream call; the audit
    lists it unchecked."""
    pipeline = broken_pipeline(failure, FailMode.CLOSED, frozenset({Stage.INPUT}))
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client(proxy(pipeline=pipeline)).chat.completions.create(**CHAT)
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == "1"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "guard_unavailable"
    assert caught.value.body["rule"] == "broken-rule"
    assert fake.requests == []
    [event] = decided(audit)
    assert (event["action"], event["block_code"]) == ("block", "guard_unavailable")
    assert event["unchecked"] == ["broken"]


@pytest.mark.parametrize("failure", ["error", "timeout"])
def test_fail_open_goes_on_and_is_unchecked(
    proxy: Proxy, fake: FakeUpstream, audit: list[dict[str, Any]], failure: Failure
) -> None:
    """fail: open lets the call through; the audit lists the guard unchecked, not passed."""
    pipeline = broken_pipeline(failure, FailMode.OPEN, frozenset({Stage.INPUT}))
    answer = openai_client(proxy(pipeline=pipeline)).chat.completions.create(**CHAT)
    assert answer.choices[0].message.content == "echo: hello there"
    [event] = decided(audit)
    assert event["action"] == "allow"
    assert event["unchecked"] == ["broken"]
    assert event["rules"] == []


def test_fail_closed_in_anthropic_shape(proxy: Proxy, fake: FakeUpstream) -> None:
    """The Anthropic route answers a fail-closed guard with a 503 overloaded_error."""
    pipeline = broken_pipeline("error", FailMode.CLOSED, frozenset({Stage.INPUT}))
    with pytest.raises(anthropic.InternalServerError) as caught:
        anthropic_client(proxy(pipeline=pipeline)).messages.create(
            model="m", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 503
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert caught.value.body["error"]["code"] == "guard_unavailable"


@pytest.mark.parametrize("fail", [FailMode.OPEN, FailMode.CLOSED])
def test_output_guard_failure_on_a_stream(
    proxy: Proxy, fake: FakeUpstream, audit: list[dict[str, Any]], fail: FailMode
) -> None:
    """Broken output guard: closed ends the stream with content_filter, open streams on."""
    pipeline = broken_pipeline("timeout", fail, frozenset({Stage.OUTPUT}))
    fake.script(Reply(text="an answer that is long enough to fill a window", chunk_chars=5))
    stream = openai_client(proxy(pipeline=pipeline)).chat.completions.create(**CHAT, stream=True)
    chunks = [c for c in stream if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    events = decided(audit)
    assert events and all(e["unchecked"] == ["broken"] for e in events)
    if fail is FailMode.CLOSED:
        assert text == ""
        assert chunks[-1].choices[0].finish_reason == "content_filter"
    else:
        assert text == "an answer that is long enough to fill a window"
        assert chunks[-1].choices[0].finish_reason == "stop"
