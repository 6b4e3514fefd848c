"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guardrail.logging import configure, route_to_stdlib
from guardrail.testing import FakeUpstream, serve_app
from tests.helpers.servers import FakeServer


@pytest.fixture(autouse=True)
def _log_at_info() -> None:
    """Each test starts with guardrail's logging at INFO (as `serve` runs).

    `guardrail.cli.main` configures WARNING for CLI runs; without this reset a CLI test would
    silence the info events (`policy.decided`, `upstream.retry`) that later tests capture.
    """
    configure(level="INFO")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After the last test, events go back to quiet stdlib logging: a thread or exit hook that
    logs once pytest stopped capturing would print stray JSON lines under the summary."""
    route_to_stdlib()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    """One real OpenAI-compatible fake upstream on 127.0.0.1 for the whole session."""
    fake = FakeUpstream()
    with serve_app(fake.app) as server:
        yield FakeServer(fake, server.url)


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeUpstream:
    """The fake upstream, with no recorded requests and no scripted replies."""
    fake_server.fake.reset()
    return fake_server.fake
