"""Shared by the wrapper and litellm tests: a real fake upstream on 127.0.0.1 and policies."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from guardrail.testing import FakeUpstream, ServerThread, serve_app, wait_until

POLICIES = Path(__file__).parent / "policies"
EMAIL = "jane.doe@example.com"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[FakeUpstream, ServerThread]]:
    """One fake OpenAI-compatible upstream per test module (uvicorn in a thread)."""
    fake = FakeUpstream()
    with serve_app(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(fake_server: tuple[FakeUpstream, ServerThread]) -> FakeUpstream:
    """The fake upstream with no recorded requests and no scripted replies."""
    fake_server[0].reset()
    return fake_server[0]


@pytest.fixture
def base_url(fake_server: tuple[FakeUpstream, ServerThread]) -> str:
    """The fake upstream's OpenAI base URL (`.../v1`)."""
    return fake_server[1].url + "/v1"


PROXY_CLI = os.environ.get("GUARDRAIL_LITELLM_PROXY", "")
REPO = Path(__file__).resolve().parents[2]
needs_litellm_proxy = pytest.mark.skipif(
    not (PROXY_CLI and Path(PROXY_CLI).exists()),
    reason="set GUARDRAIL_LITELLM_PROXY to the litellm CLI of a venv with litellm[proxy]",
)


def free_port() -> int:
    """A port the OS says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def alive(url: str) -> bool:
    """Whether a litellm proxy answers its liveness probe."""
    try:
        return httpx.get(url + "/health/liveliness", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def litellm_proxy(folder: Path, env: Mapping[str, str]) -> Iterator[str]:
    """A litellm proxy process running `folder/config.yaml`; yields its base URL (no /v1)."""
    port = free_port()
    full_env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no price-map download at start-up
        "PYTHONPATH": str(REPO),  # this checkout's guardrail
        **env,
    }
    command = [PROXY_CLI, "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)]
    log_path = Path(tempfile.mkdtemp(prefix="litellm-proxy-")) / "proxy.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=folder, env=full_env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        started = wait_until(lambda: alive(url) or process.poll() is not None, timeout_s=180)
        if not (started and alive(url)):
            pytest.fail("litellm proxy did not start:\n" + log_path.read_text()[-4000:])
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        shutil.rmtree(log_path.parent, ignore_errors=True)
