"""Fixtures for the litellm plug-in tests (see support.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from guardrail.integrations.loop import background_loop
from guardrail.upstream.litellm import stop_logging_worker
from tests.integrations.support import base_url, fake, fake_server


@pytest.fixture(autouse=True)
def _stop_litellm_worker() -> Iterator[None]:
    """After each test, stop the logging worker that a sync `completion` made litellm start on
    guardrail's background loop: litellm moves it to the next test's loop and leaves the old
    task pending, which prints "Task was destroyed but it is pending!" at exit."""
    yield
    background_loop().run(stop_logging_worker())


__all__ = ["base_url", "fake", "fake_server"]
