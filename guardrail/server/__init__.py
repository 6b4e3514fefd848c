"""The HTTP proxy: OpenAI- and Anthropic-compatible endpoints in front of an upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrail.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # The app is imported on first use, not with the package: the flow below the server
    # (`guardrail.flow`) uses `server.limits` / `server.metrics` without the whole app.
    if name == "create_app":
        from guardrail.server.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
