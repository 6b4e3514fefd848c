"""The delay one abusive request adds to everybody else, measured in one run on 127.0.0.1.

    .venv/bin/python bench/bench_abuse.py [--requests 20] [--kinds parts,long,over]

`guardrail serve` with policies/default.yaml (ONNX classifiers) in front of the fake upstream,
each in its own process. For each kind of abusive request, the same sequence of ordinary
chat requests (each with a different prompt, so no cache answers) and `/healthz` probes runs
twice: once on a quiet server, once while a client keeps exactly one abusive request in
flight (sending the next as soon as one ends). The table gives p50 / max latency of both and
their difference, how many ordinary requests failed, and what the abusive requests got.

Abusive kinds:
  parts  4,096 distinct short text parts (the default max_parts)
  long   one 150,000-character message (the default policy blocks texts over 200,000)
  over   200,000 parts of 3 characters (over max_parts: refused with 413)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_proxy import (  # a sibling script, not a package
    FAKE_SERVER,
    PYTHON,
    ROOT,
    free_port,
    guardrail_cmd,
    percentile,
    process,
    prompt,
)

TIME_CAP_S = 120.0  # no phase runs longer than this
CHAT = "/v1/chat/completions"


def abusive_body(kind: str) -> bytes:
    """The JSON body of one abusive request of `kind`."""
    if kind == "parts":
        content: object = [
            {"type": "text", "text": f"note {i} about the weather"} for i in range(4096)
        ]
    elif kind == "long":
        content = ("The committee met on Tuesday to review the budget. " * 3000)[:150_000]
    elif kind == "over":
        content = [{"type": "text", "text": "hi "}] * 200_000
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": content}]}).encode()


@dataclass
class Phase:
    """Latencies (ms) of ordinary requests and health probes in one phase."""

    chat: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    failed: int = 0


def measure(base: str, requests: int) -> Phase:
    """`requests` ordinary chat calls, each followed by a /healthz probe (sequential)."""
    phase = Phase()
    deadline = time.monotonic() + TIME_CAP_S
    with httpx.Client(timeout=TIME_CAP_S) as client:
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            body = {"model": "m", "messages": [{"role": "user", "content": prompt()}]}
            started = time.perf_counter()
            status = client.post(base + CHAT, json=body).status_code
            phase.chat.append((time.perf_counter() - started) * 1000)
            phase.failed += status != 200
            started = time.perf_counter()
            client.get(base + "/healthz")
            phase.health.append((time.perf_counter() - started) * 1000)
    return phase


class Abuser:
    """Keeps one abusive request in flight until stopped; counts the statuses it got."""

    def __init__(self, base: str, body: bytes) -> None:
        self.base, self.body = base, body
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Abuser:
        self._thread.start()
        time.sleep(0.5)  # let the first one reach the guards
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=TIME_CAP_S)

    def _run(self) -> None:
        headers = {"content-type": "application/json"}
        with httpx.Client(timeout=TIME_CAP_S) as client:
            while not self._stop.is_set():
                response = client.post(self.base + CHAT, content=self.body, headers=headers)
                self.statuses[response.status_code] += 1


def row(kind: str, quiet: Phase, busy: Phase, statuses: Counter[int]) -> str:
    """One table row: p50/max of both phases and the added delay."""

    def cells(values: list[float], base: list[float]) -> str:
        p50, top = percentile(values, 50), max(values, default=float("nan"))
        return f"{p50:.0f} | {top:.0f} | +{p50 - percentile(base, 50):.0f}"

    got = ", ".join(f"{n}x {s}" for s, n in sorted(statuses.items()))
    return (
        f"| {kind} | {percentile(quiet.chat, 50):.0f} | {cells(busy.chat, quiet.chat)} | "
        f"{busy.failed}/{len(busy.chat)} | {percentile(quiet.health, 50):.1f} | "
        f"{cells(busy.health, quiet.health)} | {got} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure each kind, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="ordinary requests per phase")
    parser.add_argument("--kinds", default="parts,long,over")
    args = parser.parse_args(argv)
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    rows = []
    with tempfile.TemporaryDirectory():
        fake_port, port = free_port(), free_port()
        fake = f"http://127.0.0.1:{fake_port}"
        base = f"http://127.0.0.1:{port}"
        with process([PYTHON, "-c", FAKE_SERVER, str(fake_port)], fake + "/v1/models"):
            cmd = guardrail_cmd(ROOT / "policies" / "default.yaml", port, fake + "/v1")
            with process(cmd, base + "/readyz", env):
                measure(base, 3)  # warm up
                for kind in args.kinds.split(","):
                    quiet = measure(base, args.requests)
                    with Abuser(base, abusive_body(kind)) as abuser:
                        busy = measure(base, args.requests)
                    rows.append(row(kind, quiet, busy, abuser.statuses))
    print(
        "| abusive | chat p50 quiet | chat p50 | chat max | added p50 | failed | "
        "health p50 quiet | health p50 | health max | added p50 | abusive got |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print(f"\nms; {args.requests} ordinary requests per phase, each followed by /healthz.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
