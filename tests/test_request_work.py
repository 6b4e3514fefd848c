"""The work one guarded request costs, counted (issue #20): encoder passes and event-loop tasks.

Timings on a shared machine are noise; counts are not. These pin that the default policy's
prompt is read once for both classifier heads, the answer once more, and that a stage check
makes no task beyond one per guard.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import string
from collections.abc import Coroutine, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guardrail.guards.classifier import ClassifierGuard
from guardrail.inference.runtime import ClassifierRuntime
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import FakeUpstream, Reply, serve_app
from guardrail.types import Stage
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.helpers.servers import FakeServer

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "default.yaml"
_unique = itertools.count()
# letters, fresh per run: no result cache has seen the prompt, and it holds no long digit run
# (an `id()` did: 31 of 300 such 15-digit runs pass the Luhn check and are redacted as
# CREDIT_CARD, which made this test fail at random)
_RUN = "".join(random.choice(string.ascii_lowercase) for _ in range(8))


def prompt() -> str:
    """A benign prompt no cache has seen (about 60 tokens, like bench/bench_proxy.py's)."""
    return (
        "Please summarise the following note for the team and keep it short. The launch "
        "moved to Thursday and questions go to the usual channel. "
        f"Reference {_RUN} number {next(_unique)}."
    )


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The shipped default policy, loaded once (its bundle is shared by the tests)."""
    return Pipeline.from_file(DEFAULT_POLICY)


def runtime_of(pipeline: Pipeline) -> ClassifierRuntime:
    """The one runtime that the default policy's classifier guards share."""
    runtimes = {
        id(g.runtime): g.runtime
        for g in pipeline.policy.guards.values()
        if isinstance(g, ClassifierGuard)
    }
    assert len(runtimes) == 1
    return next(iter(runtimes.values()))


@pytest.fixture
def proxy(pipeline: Pipeline, fake_server: FakeServer) -> Iterator[tuple[str, FakeUpstream]]:
    """A real proxy with the default policy in front of the fake upstream."""
    fake_server.fake.reset()
    app = create_app(pipeline, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        yield server.url, fake_server.fake


def chat(url: str, text: str) -> httpx.Response:
    """One non-streamed chat request through the proxy."""
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=30)


def test_a_chat_request_costs_one_pass_for_the_prompt_and_one_for_the_answer(
    pipeline: Pipeline, proxy: tuple[str, FakeUpstream]
) -> None:
    """Default policy: injection and harm share the prompt's pass; the answer gets one more."""
    url, fake = proxy
    runtime = runtime_of(pipeline)
    chat(url, prompt()).raise_for_status()  # warm: the first request may load lazily
    passes, asked = runtime.forward_passes, runtime.pool.stats.texts
    response = chat(url, prompt())
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith(fake.echo_prefix)
    assert runtime.forward_passes - passes == 2
    assert runtime.pool.stats.texts - asked == 3  # injection + harm on input, harm on output


def test_an_answer_already_read_as_a_prompt_costs_no_pass(
    pipeline: Pipeline, proxy: tuple[str, FakeUpstream]
) -> None:
    """An answer identical to the prompt is served from the pool's cache: one pass in all."""
    url, fake = proxy
    runtime = runtime_of(pipeline)
    text = prompt()
    fake.script(Reply(text=text))
    passes = runtime.forward_passes
    response = chat(url, text)
    assert response.json()["choices"][0]["message"]["content"] == text
    assert runtime.forward_passes - passes == 1


class TaskCounter:
    """Counts the tasks an event loop creates (a real loop task factory)."""

    def __init__(self) -> None:
        self.created = 0

    def __call__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        self.created += 1
        return asyncio.Task(coro, loop=loop, **kwargs)


@pytest.mark.parametrize(
    ("stage", "guards"),
    [
        (Stage.INPUT, {"invisible", "secrets", "pii", "injection", "signatures", "harm", "size"}),
        (Stage.OUTPUT, {"secrets", "harm"}),
    ],
)
async def test_a_stage_check_makes_one_task_per_guard(
    pipeline: Pipeline, stage: Stage, guards: set[str]
) -> None:
    """Each guard of the stage runs in the one task `gather` makes for it: no task per
    timeout and none per classifier scan (each costs an event-loop turn per request)."""
    assert {r.guard for r in pipeline.policy.rules_for(stage)} == guards
    loop = asyncio.get_running_loop()
    counter, previous = TaskCounter(), loop.get_task_factory()
    loop.set_task_factory(counter)
    try:
        decision = await pipeline.check(stage, [prompt()], pipeline.new_request())
    finally:
        loop.set_task_factory(previous)
    assert decision.action.value == "allow"
    assert counter.created == len(guards)
