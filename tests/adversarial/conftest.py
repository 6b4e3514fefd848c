"""Adversarial fixtures: the shipped `policies/default.yaml` behind a real proxy on 127.0.0.1,
in front of the real fake upstream, which records every body it receives.

Tests here attack the proxy as a client would and assert on two things only: what the fake
upstream received and what the client got back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.helpers.servers import FakeServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).parents[2]
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
ProxyFactory = Callable[..., str]


@pytest.fixture(scope="session")
def attack_proxy(fake_server: FakeServer) -> Iterator[ProxyFactory]:
    """`attack_proxy(policy=None)`: base URL of a proxy running `policy` (default:
    policies/default.yaml) over the fake upstream's direct HTTP seam; started on first use."""
    stack = ExitStack()
    running: dict[str, str] = {}

    def get(policy: str | Path | None = None) -> str:
        path = Path(policy) if policy is not None else DEFAULT_POLICY
        key = str(path)
        if key not in running:
            app = create_app(Pipeline.from_file(path), OpenAIHttpUpstream(fake_server.url + "/v1"))
            running[key] = stack.enter_context(serve_app(app)).url
        return running[key]

    with stack:
        yield get
