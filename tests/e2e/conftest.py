"""End-to-end fixtures: a real fake upstream and real proxies, each a uvicorn server on
127.0.0.1 in a background thread (started once per session, stopped at the end)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import serve_app
from guardrail.upstream.base import Upstream
from guardrail.upstream.local import LocalUpstream
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.helpers.servers import FakeServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

POLICIES = Path(__file__).parent / "policies"
ProxyFactory = Callable[..., str]


def _upstream(via: str, fake_url: str) -> Upstream:
    if via == "http":
        return OpenAIHttpUpstream(fake_url + "/v1")
    if via == "litellm":
        from guardrail.upstream.litellm import LitellmUpstream
        from guardrail.upstream.routes import RouteTable

        return LitellmUpstream(RouteTable.for_base_url(fake_url + "/v1"))
    if via == "local":
        return LocalUpstream()
    raise ValueError(via)


@pytest.fixture(scope="session")
def proxy_url(fake_server: FakeServer) -> Iterator[ProxyFactory]:
    """`proxy_url(policy, via)`: the base URL of a running proxy (started on first use);
    `policy` is a name in tests/e2e/policies or a path."""
    stack = ExitStack()
    running: dict[tuple[str, str], str] = {}

    def get(policy: str | Path = "rules", via: str = "http") -> str:
        key = (str(policy), via)
        if key not in running:
            path = policy if isinstance(policy, Path) else POLICIES / f"{policy}.yaml"
            pipeline = Pipeline.from_file(path)
            app = create_app(pipeline, _upstream(via, fake_server.url))
            running[key] = stack.enter_context(serve_app(app)).url
        return running[key]

    with stack:
        yield get


@pytest.fixture(params=["http", "litellm"])
def via(request: pytest.FixtureRequest) -> str:
    """Both upstream seams: the direct httpx path and litellm."""
    return str(request.param)
