"""Fault fixtures: a real fake upstream that misbehaves on cue, and real proxies in front of
it (uvicorn on 127.0.0.1), each built with the upstream settings a test needs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.server.limits import Limits
from guardrail.testing import FakeUpstream, serve_app
from guardrail.upstream.base import Upstream
from guardrail.upstream.openai_http import OpenAIHttpUpstream

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

RULES = Path(__file__).parents[1] / "e2e" / "policies" / "rules.yaml"
UPSTREAM_TIMEOUT_S = 1.0  # short, so that timeouts are quick; never asserted on
Proxy = Callable[..., str]


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeUpstream, str]]:
    """One fake OpenAI-compatible upstream for the fault tests."""
    fake = FakeUpstream()
    with serve_app(fake.app) as server:
        yield fake, server.url


@pytest.fixture
def fake(fake_server: tuple[FakeUpstream, str]) -> FakeUpstream:
    """The fake upstream, with nothing recorded or scripted."""
    fake_server[0].reset()
    return fake_server[0]


def upstream_for(url: str, via: str, *, retries: int = 0) -> Upstream:
    """The upstream seam under test, pointed at `url` (an OpenAI base URL ending in /v1)."""
    if via == "http":
        return OpenAIHttpUpstream(url, timeout_s=UPSTREAM_TIMEOUT_S, retries=retries)
    from guardrail.upstream.litellm import LitellmUpstream
    from guardrail.upstream.routes import Route, RouteTable

    route = Route(model="openai/{model}", api_base=url, timeout_s=UPSTREAM_TIMEOUT_S)
    return LitellmUpstream(RouteTable(models={"*": route}), retries=retries)


@pytest.fixture(scope="session")
def rules() -> Pipeline:
    """The rules-only end-to-end policy (no classifiers)."""
    return Pipeline.from_file(RULES)


@pytest.fixture(scope="session")
def proxy(fake_server: tuple[FakeUpstream, str], rules: Pipeline) -> Iterator[Proxy]:
    """`proxy(via="http", upstream_url=None, retries=0, pipeline=None, **limits)`: the base
    URL of a running proxy with those settings (started on first use, kept for the session)."""
    stack = ExitStack()
    running: dict[tuple[Any, ...], str] = {}

    def get(
        via: str = "http",
        upstream_url: str | None = None,
        retries: int = 0,
        pipeline: Pipeline | None = None,
        **limits: int,
    ) -> str:
        url = upstream_url or fake_server[1] + "/v1"
        key = (via, url, retries, pipeline, tuple(sorted(limits.items())))  # keeps it alive
        if key not in running:
            app = create_app(
                pipeline or rules,
                upstream_for(url, via, retries=retries),
                limits=Limits.from_settings(**limits),
            )
            running[key] = stack.enter_context(serve_app(app)).url
        return running[key]

    with stack:
        yield get


@pytest.fixture(params=["http", "litellm"])
def via(request: pytest.FixtureRequest) -> str:
    """Both upstream seams: the direct httpx path and litellm."""
    return str(request.param)
