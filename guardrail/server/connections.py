"""Connection-level defences of `guardrail serve`: slow and idle clients cannot hold it.

Issue #16: 20,000 connections that never finished their headers exhausted the file
descriptors, and asyncio logged a traceback for every failed `accept()` (107 MB in 40 s).
uvicorn's own settings do not cover it: `timeout_keep_alive` only runs between requests and
stops at the first byte, and `limit_concurrency` answers 503 to new requests but accepts (and
keeps) every connection. So `guardrail serve` runs h11 through `guarded_protocol(limits)`:

- **header deadline**: a connection has `header_timeout_s` to send a whole request head,
  counted from when it opened (or finished its previous answer), however slowly it trickles
  bytes; then it is closed. Heads are at most 16 KiB (h11's `max_incomplete_event_size`).
- **connection cap**: at most `max_connections` open connections. One over the cap closes
  the connection that has waited longest for its head (a slow or idle client) -- or, when
  every connection is busy with a request, the new one. The cap stays under the process's
  file-descriptor limit (`fd_budget`), so `accept()` never fails for want of descriptors.
- a request **body** that does not arrive within `max_body_seconds` is answered 408
  `body_timeout` by the proxy (`read_json`).

Each of these events is logged once per minute with a count (`once_a_minute`), never per
connection; `quiet_accept_errors` does the same for asyncio's and uvicorn's own messages.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from guardrail.logging import get_logger
from guardrail.settings import Settings, get_settings

log = get_logger("guardrail.server")

EVERY_S = 60.0  # the shortest gap between two log lines of one kind
FDS_PER_CONNECTION = 2  # a client connection and, at worst, one upstream connection
FDS_RESERVED = 64  # model files, the listening socket, logs, the metrics endpoint ...


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections `guardrail serve` keeps, and how long a head may take."""

    max_connections: int
    header_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ConnectionLimits:
        """`GUARDRAIL_SERVER_MAX_CONNECTIONS` / `GUARDRAIL_SERVER_HEADER_TIMEOUT_S`."""
        settings = settings or get_settings()
        return cls(settings.server_max_connections, settings.server_header_timeout_s)


class RateLimited:
    """Counts events by name; lets one through per `every_s`, carrying the count since."""

    def __init__(self, every_s: float = EVERY_S) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def due(self, name: str) -> int:
        """0 while `name` is being held back, else how many happened since it last passed."""
        self._counts[name] = self._counts.get(name, 0) + 1
        now = time.monotonic()
        if now - self._last.get(name, -self.every_s) < self.every_s:
            return 0
        self._last[name] = now
        return self._counts.pop(name)


_events = RateLimited()


def once_a_minute(event: str, **fields: Any) -> None:
    """Log `event` (warning) at most once a minute, with `count`: how many since the last."""
    count = _events.due(event)
    if count:
        log.warning(event, count=count, every_s=_events.every_s, **fields)


class _QuietRepeats(logging.Filter):
    """Lets each message of a logger through once a minute, without its traceback after the
    first time, noting how many were held back."""

    def __init__(self) -> None:
        super().__init__()
        self._limit = RateLimited()

    def filter(self, record: logging.LogRecord) -> bool:
        count = self._limit.due(str(record.msg))
        if not count:
            return False
        if count > 1:
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg} ({count} times in the last {EVERY_S:.0f} s)"
        return True


def quiet_accept_errors() -> None:
    """Rate-limit asyncio's `accept()` errors and uvicorn's per-connection warnings."""
    for name in ("asyncio", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietRepeats) for f in logger.filters):
            logger.addFilter(_QuietRepeats())


def fd_budget(wanted: int) -> int:
    """`wanted`, or fewer if the file-descriptor limit (raised to its hard limit first)
    cannot hold that many connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # keep the soft limit we have
    return max(1, min(wanted, (soft - FDS_RESERVED) // FDS_PER_CONNECTION))


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the header deadline and the connection cap."""
    waiting: OrderedDict[GuardedH11, None] = OrderedDict()  # for a head, oldest first

    class GuardedH11(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections and not _evict(waiting):
                once_a_minute("server.connection_refused", limit=limits.max_connections)
                transport.close()
                return
            self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # a whole head arrived
                self._stop_waiting()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()  # the next request's head has the same deadline

        def _await_head(self) -> None:
            self._stop_waiting()
            waiting[self] = None
            self._head_timer = self.loop.call_later(limits.header_timeout_s, self._too_slow)

        def _stop_waiting(self) -> None:
            waiting.pop(self, None)
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _too_slow(self) -> None:
            self._head_timer = None
            once_a_minute("server.header_timeout", timeout_s=limits.header_timeout_s)
            self.shut()

        def shut(self) -> None:
            """Close the connection (no answer: the client has not asked anything yet)."""
            self._stop_waiting()
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11


def _evict(waiting: OrderedDict[Any, None]) -> bool:
    """Close the connection that has waited longest for its head; False if none waits."""
    if not waiting:
        return False
    oldest, _ = waiting.popitem(last=False)
    once_a_minute("server.connection_evicted", reason="connection cap; it sent no request")
    oldest.shut()
    return True
