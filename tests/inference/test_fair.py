"""The inference pool's executor takes turns between texts, so one long text's windows do
not hold every worker while a short text waits (issue #16, class 4)."""

from __future__ import annotations

import threading
from concurrent.futures import wait

import pytest

from guardrail.inference.fair import FairExecutor

WAIT_S = 30.0


def test_a_late_owner_runs_after_one_item_of_a_busy_owner() -> None:
    """One worker; owner A queues 10 items, then B one: B runs second, not eleventh."""
    executor = FairExecutor(1)
    gate, order = threading.Event(), []
    try:
        held = executor.submit(gate.wait, WAIT_S)  # hold the only worker while we queue
        futures = [executor.submit_as("a", order.append, f"a{i}") for i in range(10)]
        futures.append(executor.submit_as("b", order.append, "b0"))
        gate.set()
        wait([held, *futures], timeout=WAIT_S)
    finally:
        executor.shutdown()
    assert order[:3] == ["a0", "b0", "a1"]
    assert order[3:] == [f"a{i}" for i in range(2, 10)]  # one owner's work keeps its order


def test_results_errors_and_shutdown() -> None:
    """Futures carry results and exceptions; after shutdown no new work is taken."""
    executor = FairExecutor(2)
    ok = executor.submit_as("x", pow, 2, 10)
    bad = executor.submit_as("y", int, "not a number")
    assert ok.result(timeout=WAIT_S) == 1024
    with pytest.raises(ValueError, match="invalid literal"):
        bad.result(timeout=WAIT_S)
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(pow, 2, 2)


def test_shutdown_can_cancel_queued_work() -> None:
    """shutdown(cancel_futures=True) cancels what has not started; the running item ends."""
    executor = FairExecutor(1)
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(WAIT_S)

    running = executor.submit(hold)
    assert started.wait(WAIT_S)
    queued = executor.submit_as("a", pow, 2, 2)
    threading.Timer(0.05, gate.set).start()
    executor.shutdown(wait=True, cancel_futures=True)
    assert queued.cancelled() and running.result(timeout=WAIT_S) is True
