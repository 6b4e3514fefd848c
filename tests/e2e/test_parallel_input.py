"""`options.parallel_input`: input checks run while the upstream already works on the call."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import openai
import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import DelayedGuard, FakeUpstream, Reply, serve_app, wait_until
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.e2e.clients import openai_client
from tests.e2e.conftest import POLICIES, ProxyFactory
from tests.helpers.servers import FakeServer


@pytest.fixture(scope="module")
def slow_guard_proxy(fake_server: FakeServer) -> Iterator[str]:
    """The parallel policy with guards that answer 1 s late, so the upstream call is surely
    in flight when the block lands."""
    policy = Pipeline.from_file(POLICIES / "parallel.yaml").policy
    guards = {name: DelayedGuard(guard, 1.0) for name, guard in policy.guards.items()}
    pipeline = Pipeline(dataclasses.replace(policy, guards=guards))
    app = create_app(pipeline, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        yield server.url


def test_benign_call_answers(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """With parallel input checks a benign call is sent once and answered normally."""
    answer = openai_client(proxy_url("parallel")).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hello there"}]
    )
    assert answer.choices[0].message.content == "echo: hello there"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_block_cancels_upstream_and_hides_its_answer(
    proxy_url: ProxyFactory, fake: FakeUpstream, stream: bool
) -> None:
    """A blocked input cancels the in-flight upstream call; its answer is never released."""
    fake.script(Reply(text="UPSTREAM ANSWER", delay_s=5.0))
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url("parallel")).chat.completions.create(
            model="gpt-test",
            stream=stream,
            messages=[{"role": "user", "content": "the forbidden phrase"}],
        )
    assert "UPSTREAM ANSWER" not in str(caught.value.body)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["rule"] == "no-banned-input"
    # the upstream either never got the call or saw the caller go away; it never finished
    assert wait_until(lambda: not fake.requests or fake.last.disconnected, timeout_s=10)
    assert not any(r.done for r in fake.requests)


@pytest.mark.parametrize("stream", [False, True])
def test_block_disconnects_in_flight_upstream_call(
    slow_guard_proxy: str, fake: FakeUpstream, stream: bool
) -> None:
    """When the block lands while the upstream is working, the upstream sees the caller go
    away and never completes its answer."""
    fake.script(Reply(text="UPSTREAM ANSWER", delay_s=8.0))
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(slow_guard_proxy).chat.completions.create(
            model="gpt-test",
            stream=stream,
            messages=[{"role": "user", "content": "the forbidden phrase"}],
        )
    assert "UPSTREAM ANSWER" not in str(caught.value.body)
    assert len(fake.requests) == 1  # the call went out before the check finished
    assert wait_until(lambda: fake.last.disconnected, timeout_s=10)
    assert not fake.last.done


def test_redacting_policy_checks_before_sending(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """parallel_input is turned off when input rules redact: PII never reaches the upstream."""
    answer = openai_client(proxy_url("parallel_redact")).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "mail kim@example.com"}]
    )
    assert "kim@example.com" not in json.dumps([r.body for r in fake.requests])
    assert answer.choices[0].message.content == "echo: mail kim@example.com"
