"""`guardrail serve` as a real process: the demo flow with the built-in local upstream."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import openai
import pytest

from guardrail.testing import wait_until
from tests.e2e.clients import openai_client
from tests.e2e.conftest import POLICIES
from tests.helpers.servers import free_port, ready


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`guardrail serve --upstream local` on a free port, for this module."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "guardrail",
            "serve",
            "--policy",
            str(POLICIES / "rules.yaml"),
            "--port",
            str(port),
            "--upstream",
            "local",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until(lambda: ready(url) or process.poll() is not None, timeout_s=60):
            pytest.fail("guardrail serve did not become ready")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_demo_flow_redacts_and_restores(served: str) -> None:
    """The local upstream echoes the placeholder; the client sees its own address again."""
    raw = openai_client(served).chat.completions.with_raw_response.create(
        model="local", messages=[{"role": "user", "content": "Mail bo@example.com"}]
    )
    assert raw.parse().choices[0].message.content == "You said: Mail bo@example.com"
    assert raw.headers["x-guardrail-rules"] == "redact-pii"


def test_demo_flow_scripted_output_block(served: str) -> None:
    """A scripted local reply with a banned phrase is stopped mid-stream."""
    reply = quote("Sure. First, gather the materials. Then detonate now. Done.")
    stream = openai_client(served).chat.completions.create(
        model="local",
        stream=True,
        messages=[{"role": "user", "content": "go"}],
        extra_headers={"x-guardrail-local-reply": reply},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "detonate" not in text
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_demo_flow_blocked_input(served: str) -> None:
    """A banned prompt is a 400 from the served proxy."""
    with pytest.raises(openai.BadRequestError):
        openai_client(served).chat.completions.create(
            model="local", messages=[{"role": "user", "content": "kaboom"}]
        )


def test_invalid_policy_exits_2(tmp_path: Path) -> None:
    """An invalid policy stops `guardrail serve` with exit code 2 and the reason."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules: [{name: x}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "guardrail", "serve", "--policy", str(bad), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr
