"""structlog set-up, in one place. Events have stable dotted names (`policy.decided`).

As a library guardrail stays quiet: unless the app has configured structlog itself, events go
through the stdlib `logging` loggers `guardrail.*` (one JSON object per message), and those
have a `NullHandler`, so nothing is printed until the app configures logging (e.g.
`logging.basicConfig(level=logging.INFO)`). The `guardrail` command, and so `guardrail serve`'s
audit log, calls `configure()`, which writes JSON lines to stderr directly.

By default no prompt or completion text, no API key and no Authorization header reaches a
log line: `drop_sensitive` removes such keys unless the event is marked `text_allowed=True`
(set by the pipeline only when a policy has `options.log_text: true`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.processors import JSONRenderer

SENSITIVE_KEYS = frozenset(
    {
        "text",
        "texts",
        "prompt",
        "completion",
        "content",
        "messages",
        "body",
        "authorization",
        "api_key",
        "x-api-key",
        "headers",
        "original",
        "originals",
    }
)
TEXT_KEYS = frozenset({"text", "texts", "prompt", "completion", "content", "messages"})


def drop_sensitive(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Remove text and secrets from an event (text stays only when explicitly allowed)."""
    allowed = event.pop("text_allowed", False) is True
    for key in list(event):
        if key.lower() in SENSITIVE_KEYS and not (allowed and key in TEXT_KEYS):
            del event[key]
    return event


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at write time (pytest's capsys swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", stream: TextIO | None = None, json: bool = True) -> None:
    """Configure structlog to write one JSON object per event (idempotent)."""
    renderer: Any = JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=_processors(renderer),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def _processors(renderer: Any) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_sensitive,
        renderer,
    ]


def route_to_stdlib() -> None:
    """Send events to stdlib `logging` (the library default; see the module docstring)."""
    structlog.configure(
        # Dropped before rendering when the stdlib logger would discard the record anyway.
        processors=[structlog.stdlib.filter_by_level, *_processors(JSONRenderer())],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "guardrail") -> Any:
    """A bound structlog logger (every module logs through this)."""
    return structlog.get_logger(name)


# Library default: quiet until the app configures logging. An app that configured structlog
# before importing guardrail keeps its own set-up.
logging.getLogger("guardrail").addHandler(logging.NullHandler())
if not structlog.is_configured():
    route_to_stdlib()
