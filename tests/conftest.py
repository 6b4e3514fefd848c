"""Suite-wide fixtures."""

from __future__ import annotations

import pytest

from guardrail.logging import configure


@pytest.fixture(autouse=True)
def _log_at_info() -> None:
    """Each test starts with guardrail's logging at INFO (as `serve` runs).

    `guardrail.cli.main` configures WARNING for CLI runs; without this reset a CLI test would
    silence the info events (`policy.decided`, `upstream.retry`) that later tests capture.
    """
    configure(level="INFO")
