"""CPU per guarded request, split by thread, next to the encoder pass alone (issue #20).

    .venv/bin/python bench/bench_request_cpu.py [--requests 300] [--concurrency 1 16]

Where does a request's time go beyond the ONNX passes? Wall-clock numbers on a shared machine
swing by 2x between runs; CPU seconds per request swing much less, so this reads them from
/proc (Linux) for a real `guardrail serve` (one worker) in front of the fake upstream, the
same set-up and prompts as bench/bench_proxy.py:

- per request: CPU of the event-loop thread (HTTP both ways, rule guards, decide, the pool's
  bookkeeping) and of the inference threads (tokenise, forward pass, post-processing), and
  encoder passes (`guardrail_inference_batches_total` from /metrics);
- for reference, in this process: the CPU of one tokenise + forward pass of the same prompt
  on one thread, back to back (what a pass costs without anything around it).

Rules-only policy and the default policy run one after the other, at each concurrency.

`--handoff` measures instead what a busy event-loop thread does to one inference thread in
the same process (the GIL they share): passes per second and CPU of a thread that tokenises
and runs passes back to back, alone and while the main thread runs pure Python, at GIL switch
intervals of 5 ms (CPython's default) and 0.5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_proxy as bp  # the sibling benchmark: same fake upstream, same prompts

PASSES = re.compile(r"^guardrail_inference_batches_total\{[^}]*\} (\S+)$", re.M)


def thread_cpu_ms(pid: int) -> dict[str, float]:
    """CPU milliseconds so far of the process's event-loop thread and of all its others."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    out = {"loop": 0.0, "other": 0.0}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) * tick_ms  # utime + stime
        out["loop" if int(tid) == pid else "other"] += used
    return out


def passes(base: str) -> float:
    """Encoder passes the server has run (0 without classifiers)."""
    headers = {"authorization": f"Bearer {bp.MASTER_KEY}"}
    text = httpx.get(base + "/metrics", headers=headers, timeout=10).text
    return sum(float(v) for v in PASSES.findall(text))


async def drive(url: str, count: int, concurrency: int) -> float:
    """`count` chat requests at `concurrency`; requests per second."""
    headers = {"authorization": f"Bearer {bp.MASTER_KEY}"}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:

        async def one() -> None:
            async with gate:
                body = {
                    "model": "bench-model",
                    "messages": [{"role": "user", "content": bp.prompt()}],
                }
                (await client.post(url, json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - started)


def measure(pid: int, base: str, count: int, concurrency: int) -> dict[str, float]:
    """CPU ms per request by thread kind, passes per request, req/s."""
    url = base + "/v1/chat/completions"
    before, passes_before = thread_cpu_ms(pid), passes(base)
    rps = asyncio.run(drive(url, count, concurrency))
    after, passes_after = thread_cpu_ms(pid), passes(base)
    row = {k: (after[k] - before[k]) / count for k in after}
    row.update(passes=(passes_after - passes_before) / count, rps=rps)
    return row


def pass_alone_ms(rounds: int = 200) -> float | None:
    """Median CPU ms of one tokenise + forward pass of a bench prompt, back to back."""
    from guardrail.errors import BundleError
    from guardrail.inference.runtime import get_runtime

    try:
        runtime = get_runtime("guard-minilm")
    except BundleError:  # no bundle here: the default policy's rows say so too
        return None
    cpu = []
    for _ in range(rounds):
        text = bp.prompt()
        started = time.thread_time()
        runtime.forward(runtime.rows(text))
        cpu.append((time.thread_time() - started) * 1000)
    return statistics.median(cpu[rounds // 10 :])  # the first passes warm the session


def handoff(seconds: float = 3.0) -> None:
    """Passes/s and CPU of one inference thread, alone and beside a busy main thread."""
    import threading

    from guardrail.inference.runtime import get_runtime

    runtime = get_runtime("guard-minilm")
    print("| GIL switch interval | main thread | passes/s | inference thread CPU | main CPU |")
    print("|---|---|---:|---:|---:|")
    for interval in (0.005, 0.0005):
        sys.setswitchinterval(interval)
        for busy in (False, True):
            stop = time.monotonic() + seconds
            done, used = [0], [0.0]

            def work(done: list[int] = done, used: list[float] = used, stop: float = stop) -> None:
                started = time.thread_time()
                while time.monotonic() < stop:
                    runtime.forward(runtime.rows(bp.prompt()))
                    done[0] += 1
                used[0] = time.thread_time() - started

            thread = threading.Thread(target=work)
            main_started = time.thread_time()
            thread.start()
            while busy and time.monotonic() < stop:
                sum(i * i for i in range(200))  # pure Python: holds the GIL but for switches
            thread.join()
            main_cpu = (time.thread_time() - main_started) / seconds
            state = "busy (pure Python)" if busy else "idle (waits)"
            print(
                f"| {interval * 1000:g} ms | {state} | {done[0] / seconds:.0f} | "
                f"{used[0] / seconds:.2f} | {main_cpu:.2f} |"
            )
    sys.setswitchinterval(0.005)


def main(argv: list[str] | None = None) -> int:
    """Print one row per policy and concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--handoff", action="store_true", help="the GIL hand-off test only")
    args = parser.parse_args(argv)
    if args.handoff:
        handoff()
        print(f"\nLoad average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs.")
        return 0
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "GUARDRAIL_INFERENCE_WORKERS": "0"}
    policies = [("rules", None), ("default", bp.ROOT / "policies" / "default.yaml")]
    print(
        "| policy | concurrency | req/s | loop thread ms/req | inference threads ms/req "
        "| total ms/req | passes/req |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(bp.RULES_POLICY)
        fake_port = bp.free_port()
        fake = f"http://127.0.0.1:{fake_port}"
        with bp.process([bp.PYTHON, "-c", bp.FAKE_SERVER, str(fake_port)], fake + "/v1/models"):
            for name, policy in policies:
                port = bp.free_port()
                base = f"http://127.0.0.1:{port}"
                cmd = bp.guardrail_cmd(policy or rules, port, fake + "/v1")
                with bp.process(cmd, base + "/readyz", env=env) as server:
                    measure(server.pid, base, 30, 1)  # warm-up
                    for concurrency in args.concurrency:
                        r = measure(server.pid, base, args.requests, concurrency)
                        print(
                            f"| {name} | {concurrency} | {r['rps']:.0f} | {r['loop']:.2f} | "
                            f"{r['other']:.2f} | {r['loop'] + r['other']:.2f} | "
                            f"{r['passes']:.2f} |"
                        )
    alone = pass_alone_ms()
    if alone is not None:
        print(
            f"\nOne tokenise + forward pass of a bench prompt alone: {alone:.2f} ms CPU "
            f"(median, one thread, back to back). Load average {os.getloadavg()[0]:.1f}; "
            f"{os.cpu_count()} CPUs."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
