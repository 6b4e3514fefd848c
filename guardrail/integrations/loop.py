"""One private event loop in a daemon thread, for synchronous callers of async code.

The sync OpenAI client and `litellm.completion` run the (async) pipeline here. A helper
thread rather than `asyncio.run` because a stream's guard is an async generator that lives
across many calls from the caller (one loop must own it from start to end), and because the
caller may itself be inside a running loop (then `asyncio.run` is refused). Guards keep no
loop-bound state (the classifier pool uses threads), so one loop serves every caller.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_CLEANUP_S = 30.0  # closing a stream is quick; never hang a caller on it


class BackgroundLoop:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="guardrail-loop", daemon=True
        )
        self._thread.start()
        atexit.register(self._stop_litellm_worker)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Start `coro` on the loop; the caller waits on the returned future when it likes."""
        if threading.get_ident() == self._thread.ident:
            coro.close()
            raise RuntimeError("a synchronous guardrail call was made from guardrail's own loop")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (its exception is raised here)."""
        return wait(self.submit(coro))

    def iterate(self, chunks: AsyncIterator[T]) -> Iterator[T]:
        """A sync iterator over an async one that lives on this loop; closing it closes both."""
        try:
            while True:
                try:
                    yield self.run(_next(chunks))
                except StopAsyncIteration:
                    return
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                self.cleanup(close())

    def _stop_litellm_worker(self) -> None:
        """At exit: litellm's logging worker, started on this loop by a sync `completion`,
        would otherwise be dropped pending ("Task was destroyed but it is pending!")."""
        from guardrail.upstream.litellm import stop_logging_worker

        if os.getpid() in _LOOPS and _LOOPS[os.getpid()] is self:
            self.cleanup(stop_logging_worker())

    def cleanup(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run clean-up work, and wait for it unless waiting could hang.

        A sync iterator that is garbage-collected runs its `finally` in whatever thread
        collects it: on the loop's own thread the work is scheduled, not awaited; at
        interpreter exit (the loop thread may be frozen) it is dropped.
        """
        if sys.is_finalizing() or not self._thread.is_alive():
            coro.close()
        elif threading.get_ident() == self._thread.ident:
            self._loop.create_task(coro)
        else:
            wait(asyncio.run_coroutine_threadsafe(coro, self._loop), timeout=_CLEANUP_S)


def wait(future: Future[T], timeout: float | None = None) -> T:
    """The future's result; an interrupt (or timeout) while waiting cancels the work."""
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


async def _next(chunks: AsyncIterator[T]) -> T:
    return await anext(chunks)


_LOCK = threading.Lock()
_LOOPS: dict[int, BackgroundLoop] = {}  # by process id: a forked child starts its own


def background_loop() -> BackgroundLoop:
    """The process-wide loop (started on first use)."""
    pid = os.getpid()
    with _LOCK:
        loop = _LOOPS.get(pid)
        if loop is None:
            _LOOPS.clear()
            loop = _LOOPS[pid] = BackgroundLoop()
        return loop
