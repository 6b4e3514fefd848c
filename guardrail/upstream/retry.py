"""Retries of upstream calls that failed before any byte of the request was sent.

Only a refused connection or a connect timeout is retried: the provider never saw the call,
so sending it again cannot run it twice. Everything else (timeouts after sending, resets,
error statuses) goes back to the client at once; its SDK decides whether to try again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx

from guardrail.logging import get_logger

log = get_logger("guardrail.upstream")

T = TypeVar("T")
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def never_sent(exc: BaseException) -> bool:
    """Whether `exc` (or an error it came from) says the request never left this process."""
    return any(isinstance(c, NOT_SENT) for c in _causes(exc))


def backoff_s(attempt: int) -> float:
    """Pause before retry number `attempt` (0-based): 50 ms, doubling, at most 1 s."""
    return float(min(0.05 * 2**attempt, 1.0))


async def with_retries(call: Callable[[], Awaitable[T]], retries: int, upstream: str) -> T:
    """`await call()`, again up to `retries` times while it fails before sending."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if attempt >= retries or not never_sent(exc):
                raise
            log.info(
                "upstream.retry",
                upstream=upstream,
                attempt=attempt + 1,
                error_type=type(exc).__name__,
            )
            await asyncio.sleep(backoff_s(attempt))
            attempt += 1
