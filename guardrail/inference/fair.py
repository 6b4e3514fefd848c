"""A thread pool that takes turns between owners, so one long text cannot hold the workers.

`ThreadPoolExecutor` runs work in submission order. The inference pool submits every window
of a text at once, so a 900,000-character text (hundreds of windows) queued ahead of a
one-window question made that question wait for all of them -- long enough to miss its time
budget (issue #16: one request must never stall the others). Here each owner has its own
queue, and a free worker takes the next item of the next owner in turn: a short text waits for
at most about one window per worker, however long the others. The pool passes the request
whose check started the work (`guardrail.types.WORK_OWNER`), or the text's key outside a
request, so a request that splits its input into many texts still gets one turn, not one per
text. Work of one owner still runs in the order it was submitted.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_LIVE: weakref.WeakSet[FairExecutor] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At exit, drop queued work and wait for running items: a daemon thread still inside
    ONNX Runtime when the interpreter goes away aborts the process."""
    for executor in list(_LIVE):
        executor.shutdown(wait=True, cancel_futures=True)


class FairExecutor(Executor):
    """`workers` daemon threads serving per-owner queues round-robin (see module docstring)."""

    def __init__(self, workers: int, name: str = "guardrail-fair") -> None:
        self._workers, self._name = max(1, workers), name
        self._queues: OrderedDict[Hashable, deque[_Item]] = OrderedDict()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._shutdown = False
        self._queued = 0  # items submitted and not yet taken by a worker
        _LIVE.add(self)

    @property
    def queued(self) -> int:
        """Work items waiting for a worker (a snapshot: it may change right after)."""
        return self._queued

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run `fn` in the turn of the anonymous owner (`None`)."""
        return self.submit_as(None, fn, *args, **kwargs)

    def submit_as(
        self, owner: Hashable, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """Run `fn` after the work `owner` already queued, taking turns with other owners."""
        future: Future[T] = Future()
        with self._ready:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queues.setdefault(owner, deque()).append((future, fn, args, kwargs))
            self._queued += 1
            if len(self._threads) < self._workers:
                self._spawn()
            self._ready.notify()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; with `cancel_futures`, cancel what has not started."""
        with self._ready:
            self._shutdown = True
            if cancel_futures:
                for queue in self._queues.values():
                    for future, *_ in queue:
                        future.cancel()
                self._queues.clear()
                self._queued = 0
            self._ready.notify_all()
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _spawn(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _take(self) -> _Item | None:
        """The next owner's first item (that owner then goes to the back); None at shutdown."""
        with self._ready:
            while not self._queues and not self._shutdown:
                self._ready.wait()
            if not self._queues:
                return None
            owner, queue = self._queues.popitem(last=False)
            item = queue.popleft()
            self._queued -= 1
            if queue:
                self._queues[owner] = queue
            return item

    def _work(self) -> None:
        while (item := self._take()) is not None:
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)
