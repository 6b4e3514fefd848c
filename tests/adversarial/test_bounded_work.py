"""Bounded work per request (issue #16, class 4): one abusive request -- thousands of parts,
or one very long text -- must not hold `/healthz` or an ordinary request of another client.

These tests send the abusive request, wait until the proxy has it in flight, then ask for
`/healthz` and send an ordinary chat request, and assert on the order in which the three
complete (never on times). Over-limit part counts are refused with `too_many_parts`.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.adversarial.conftest import ProxyFactory

CHAT = "/v1/chat/completions"
PARTS_AT_LIMIT = 4096  # the default max_parts
LONG_TEXT_CHARS = 150_000  # under the default policy's 200,000-character length rule
WAIT_S = 120.0  # per call; generous, as the machine running the tests may be busy


def many_parts() -> dict[str, object]:
    """A user message of `PARTS_AT_LIMIT` distinct short text parts (no cache can answer)."""
    parts = [{"type": "text", "text": f"note {i} about the weather"} for i in range(PARTS_AT_LIMIT)]
    return {"model": "m", "messages": [{"role": "user", "content": parts}]}


def long_text() -> dict[str, object]:
    """One user message of `LONG_TEXT_CHARS` characters of plain prose."""
    text = ("The committee met on Tuesday to review the budget. " * 3_000)[:LONG_TEXT_CHARS]
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


_asked = itertools.count()


def ordinary() -> dict[str, object]:
    """What any other client sends meanwhile: a new question each time, so that no cached
    classifier result can answer it without waiting for the inference pool."""
    question = f"What is the capital of France? (question {next(_asked)})"
    return {"model": "m", "messages": [{"role": "user", "content": question}]}


class Race:
    """Calls run in threads; `order` lists their names as they complete."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.responses: dict[str, httpx.Response] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, name: str, call: Callable[[], httpx.Response]) -> None:
        """Run `call` in a thread; record its response and when it completed."""

        def run() -> None:
            response = call()
            with self._lock:
                self.order.append(name)
                self.responses[name] = response

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        """Wait for every call (each is bounded by its client timeout)."""
        for thread in self._threads:
            thread.join(timeout=WAIT_S + 5)


def in_flight(base: str) -> float:
    """The proxy's `guardrail_requests_in_flight` gauge."""
    text = httpx.get(base + "/metrics", timeout=WAIT_S).text
    found = re.search(r"^guardrail_requests_in_flight (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_in_flight(base: str) -> None:
    """Until the proxy is handling the abusive request (bounded: 200 polls)."""
    for _ in range(200):
        if in_flight(base) >= 1:
            return
        time.sleep(0.01)
    raise AssertionError("the abusive request never became in flight")


@pytest.mark.slow
@pytest.mark.parametrize("abusive", [many_parts, long_text], ids=["4096-parts", "150k-chars"])
def test_health_and_other_requests_answer_while_an_abusive_request_is_in_flight(
    attack_proxy: ProxyFactory, abusive: Callable[[], dict[str, object]]
) -> None:
    """/healthz and an ordinary request both complete (200) before the abusive one does."""
    base = attack_proxy()
    httpx.post(base + CHAT, json=ordinary(), timeout=WAIT_S)  # warm the classifiers
    race = Race()
    body = abusive()
    race.start("abusive", lambda: httpx.post(base + CHAT, json=body, timeout=WAIT_S))
    wait_in_flight(base)
    race.start("healthz", lambda: httpx.get(base + "/healthz", timeout=WAIT_S))
    race.start("ordinary", lambda: httpx.post(base + CHAT, json=ordinary(), timeout=WAIT_S))
    race.join()
    assert race.responses["healthz"].status_code == 200
    assert race.responses["ordinary"].status_code == 200, race.responses["ordinary"].text
    assert race.order[-1] == "abusive", race.order


def test_over_limit_part_count_is_refused_with_a_stable_code(attack_proxy: ProxyFactory) -> None:
    """200,000 tiny parts: 413 `too_many_parts` naming `max_parts`; the proxy still answers."""
    base = attack_proxy()
    parts = [{"type": "text", "text": "hi "}] * 200_000
    body = {"model": "m", "messages": [{"role": "user", "content": parts}]}
    refused = httpx.post(base + CHAT, json=body, timeout=WAIT_S)
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == "too_many_parts" and error["limit"] == "max_parts"
    assert error["maximum"] == PARTS_AT_LIMIT
    assert httpx.get(base + "/healthz", timeout=WAIT_S).status_code == 200
    assert httpx.post(base + CHAT, json=ordinary(), timeout=WAIT_S).status_code == 200


def test_anthropic_blocks_count_as_parts(attack_proxy: ProxyFactory) -> None:
    """Anthropic content blocks (and blocks inside a tool result) count towards max_parts."""
    base = attack_proxy()
    inner = [{"type": "text", "text": "row"}] * PARTS_AT_LIMIT
    blocks = [{"type": "tool_result", "tool_use_id": "t1", "content": inner}]
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": blocks}]}
    refused = httpx.post(base + "/v1/messages", json=body, timeout=WAIT_S)
    assert refused.status_code == 413
    assert "too_many_parts" in refused.text and "max_parts" in refused.text
