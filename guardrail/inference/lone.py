"""When a forward pass runs alone, and which session it then runs on (issue #20).

One request at a time leaves all but one core idle while its pass runs on a 1-thread session.
The runtime can open a second, "wide" session of the same graph with one intra-op thread per
core (`inference_wide_alone`); the pool (pool.py) runs a pass there only when no other pass is
in flight in the process (`PASSES`, shared by every pool), since under concurrency threads
fighting for the same cores make every pass slower.

A wide pass is only faster when the other cores are really free: where another process keeps
one busy, a 2-thread pass measured slower than a 1-thread one (docs/benchmarks.md). So
`LoneChoice` keeps the recent times of lone passes on each session, per length class, and
sends a lone pass to the one with the lower median for its length; every `probe_every`-th
lone pass of a class goes to the other, so a change (the neighbour leaves, or comes back) is
noticed. Until both are measured, lone passes run wide.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque


class InFlight:
    """Forward passes running now in this process, over every pool (they share the cores)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._started = 0  # passes ever entered: unchanged over a pass = none began meanwhile

    def enter(self) -> tuple[int, int]:
        """Count one more pass in: how many others were running, and its `started` number."""
        with self._lock:
            self._count += 1
            self._started += 1
            return self._count - 1, self._started

    @property
    def started(self) -> int:
        """Passes entered so far."""
        return self._started

    def leave(self) -> None:
        """Count a pass out."""
        with self._lock:
            self._count -= 1

    @property
    def count(self) -> int:
        """Passes in flight now (a snapshot)."""
        return self._count


PASSES = InFlight()


class LoneChoice:
    """Which session a lone pass runs on: the one measured faster for passes of about its
    length (token counts in powers of two: a pass's cost is not proportional to its length),
    with probes of the other."""

    def __init__(self, probe_every: int = 16, keep: int = 5) -> None:
        self._lock = threading.Lock()
        self._every, self._keep = max(2, probe_every), keep
        # (length class, wide) -> the last `keep` timings: their median is robust to one cold
        # or preempted pass, and follows a change within a few probes
        self._seconds: dict[tuple[int, bool], deque[float]] = {}
        self._count: dict[int, int] = {}  # length class -> lone passes asked for

    def wide(self, tokens: int) -> bool:
        """True when the next lone pass of `tokens` tokens should run on the wide session."""
        size = _size(tokens)
        with self._lock:
            count = self._count[size] = self._count.get(size, 0) + 1
            preferred = self._preferred(size)
            return preferred if count % self._every else not preferred

    def record(self, wide: bool, seconds: float, tokens: int) -> None:
        """Fold in what a lone pass of `tokens` tokens on that session took."""
        key = (_size(tokens), wide)
        with self._lock:
            self._seconds.setdefault(key, deque(maxlen=self._keep)).append(seconds)

    def seconds(self, tokens: int) -> tuple[float | None, float | None]:
        """The median seconds of recent lone passes of about `tokens` tokens: (wide,
        1-thread); None where not measured yet."""
        size = _size(tokens)
        with self._lock:
            return self._median(size, True), self._median(size, False)

    def _median(self, size: int, wide: bool) -> float | None:
        found = self._seconds.get((size, wide))
        return statistics.median(found) if found else None

    def _preferred(self, size: int) -> bool:
        wide, narrow = self._median(size, True), self._median(size, False)
        return wide is None or narrow is None or wide <= narrow


def _size(tokens: int) -> int:
    """A pass's length class: its token count rounded up to a power of two."""
    return max(1, tokens - 1).bit_length()
