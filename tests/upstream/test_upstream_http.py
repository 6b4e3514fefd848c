"""Both OpenAI-compatible seams (direct httpx and litellm) against the real fake upstream:
answers as dicts, streams as chunk dicts, and every failure as a guardrail Upstream* error."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guardrail.errors import UpstreamError, UpstreamUnavailable
from guardrail.testing import FakeUpstream, Reply, serve_app
from guardrail.upstream import build_upstream
from guardrail.upstream.base import Upstream, UpstreamRequest
from guardrail.upstream.formats import TEXT

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def fake_url() -> Iterator[tuple[FakeUpstream, str]]:
    """A fake upstream server for this module."""
    fake = FakeUpstream()
    with serve_app(fake.app) as server:
        yield fake, server.url + "/v1"


@pytest.fixture(params=["http", "litellm"])
def upstream(request: pytest.FixtureRequest, fake_url: tuple[FakeUpstream, str]) -> Upstream:
    """The upstream under test, pointed at the fake."""
    fake_url[0].reset()
    return build_upstream(fake_url[1], via=request.param)


def chat(text: str = "hi") -> UpstreamRequest:
    """A minimal chat request."""
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": text}]}
    return UpstreamRequest(body, api_key="client-key")


async def collect(upstream: Upstream, request: UpstreamRequest) -> list[dict[str, Any]]:
    """Every chunk of a stream."""
    return [c async for c in upstream.stream(request)]


def test_complete(upstream: Upstream) -> None:
    """A whole answer comes back as an OpenAI chat.completion dict."""
    answer = asyncio.run(upstream.complete(chat("ping")))
    assert answer["choices"][0]["message"]["content"] == "echo: ping"


def test_stream(upstream: Upstream, fake_url: tuple[FakeUpstream, str]) -> None:
    """A stream comes back as chunk dicts whose deltas add up to the answer."""
    fake_url[0].script(Reply(chunks=["one ", "two ", "three"]))
    chunks = asyncio.run(collect(upstream, chat()))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "one two three"


def test_text_completion(upstream: Upstream) -> None:
    """Legacy completions go to /v1/completions."""
    request = UpstreamRequest({"model": "gpt-test", "prompt": "abc"}, format=TEXT)
    assert asyncio.run(upstream.complete(request))["choices"][0]["text"] == "echo: abc"


def test_status_error_is_mapped(upstream: Upstream, fake_url: tuple[FakeUpstream, str]) -> None:
    """An upstream error status becomes UpstreamError carrying that status (no retries)."""
    fake_url[0].script(Reply(status=503, error="overloaded"))
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(upstream.complete(chat()))
    assert caught.value.status == 503
    assert len(fake_url[0].requests) == 1


def test_stream_status_error_is_mapped(
    upstream: Upstream, fake_url: tuple[FakeUpstream, str]
) -> None:
    """An error status on a streamed call raises UpstreamError on the first chunk."""
    fake_url[0].script(Reply(status=400, error="bad"))
    with pytest.raises(UpstreamError):
        asyncio.run(collect(upstream, chat()))


@pytest.mark.parametrize("via", ["http", "litellm"])
def test_refused_connection_is_unavailable(via: str) -> None:
    """Nobody listening on the port is UpstreamUnavailable, streamed or not."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    upstream = build_upstream(f"http://127.0.0.1:{port}/v1", via=via)  # type: ignore[arg-type]
    with pytest.raises(UpstreamUnavailable):
        asyncio.run(upstream.complete(chat()))
    with pytest.raises(UpstreamUnavailable):
        asyncio.run(collect(upstream, chat()))


def test_client_key_forwarded(upstream: Upstream, fake_url: tuple[FakeUpstream, str]) -> None:
    """The client's key is sent to the upstream when the route has none."""
    asyncio.run(upstream.complete(chat()))
    assert fake_url[0].last.headers["authorization"] == "Bearer client-key"


def test_serving_paths_do_not_import_litellm() -> None:
    """The server, the local and the direct upstream never import litellm."""
    code = (
        "import sys\n"
        "import guardrail.server.app, guardrail.cli.serve, guardrail.testing\n"
        "from guardrail.upstream import build_upstream\n"
        "build_upstream('local'); build_upstream('http://127.0.0.1:1/v1')\n"
        "assert 'litellm' not in sys.modules, 'litellm was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr


def test_config_routes_through_litellm(
    fake_url: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--config FILE` maps a client model name to a litellm model, base URL and key variable."""
    fake, url = fake_url
    fake.reset()
    config = tmp_path / "models.yaml"
    config.write_text(
        f"models:\n  team-model:\n    model: openai/served-name\n    api_base: {url}\n"
        "    api_key_env: GUARDRAIL_TEST_UPSTREAM_KEY\n"
    )
    monkeypatch.setenv("GUARDRAIL_TEST_UPSTREAM_KEY", "key-from-env")
    upstream = build_upstream(config=config)
    body = {"model": "team-model", "messages": [{"role": "user", "content": "hi"}]}
    answer = asyncio.run(upstream.complete(UpstreamRequest(body, api_key="client-key")))
    assert answer["choices"][0]["message"]["content"] == "echo: hi"
    assert fake.last.body["model"] == "served-name"
    assert fake.last.headers["authorization"] == "Bearer key-from-env"
    assert asyncio.run(upstream.models()) == ["team-model"]
