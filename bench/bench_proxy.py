"""Added latency and throughput of the guardrail proxy, measured in one run on 127.0.0.1.

    .venv/bin/python bench/bench_proxy.py [--requests 300] [--concurrency 16] [--quick]
        [--baseline REV] [--workers 1 2]

`--baseline REV` also runs (b) and (c) from the code and bundles of git revision REV (extracted
with `git archive` into a temporary folder, same venv), in the same run: "did this change make
the proxy slower" is answered by rows measured side by side, not by numbers from another day.

Every target sits in front of the same fake OpenAI-compatible upstream (guardrail.testing's
FakeUpstream, in its own process), and each target runs in its own process too:

  (a) direct        the fake upstream itself (the baseline)
  (b) rules         `guardrail serve` with a rules-only policy (invisible text, secrets, PII
                    redaction + restore, keywords), direct httpx upstream
  (b') rules/litellm the same policy, upstream calls through litellm (`--via litellm`)
  (c) default       `guardrail serve` with policies/default.yaml (ONNX classifiers), only when
                    its classifier bundle loads
  (d) litellm proxy `litellm --config` from its own venv (default .venv-litellm-proxy, built
                    by `make litellm-proxy-venv`), only when that exists

`--console` measures (b) twice more, alternating, served through a server config with and
without the browser console enabled (idle: nobody has it open; issue #25), and only those
beside (a): "does an enabled console cost the proxy anything".

`--wide` measures (c) with a lone pass on the 1-thread session (`--no-wide-alone`), on a
2-thread one (`--wide-alone`), the same with threads spinning in a pass and always, and with
one shared 2-thread session for every pass (`GUARDRAIL_INFERENCE_THREADS=2`, no spinning),
twice over, alternating (issue #20), and only those beside (a); each row notes how many of its
encoder passes ran wide (`guardrail_inference_wide`).

`--workers 1 2` measures (b) and (c) once per worker count (`guardrail serve --workers N`;
(b') and the baselines with 1), and notes how many requests each worker answered.

Every request carries a different prompt (a running reference number), so classifier result
caches never answer. Latency: sequential non-streamed (and streamed) chat requests; p50/p99
and the difference to (a). Throughput: a fixed number of requests at a fixed concurrency,
bounded in time. Numbers from a shared 2-core machine are noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LITELLM_VENV = Path(__file__).resolve().parents[1] / ".venv-litellm-proxy"  # make target
MASTER_KEY = "sk-bench-master-key"
TIME_CAP_S = 60.0  # no single measurement loop runs longer than this

RULES_POLICY = """
version: 1
name: bench-rules
guards:
  invisible: {kind: invisible_text}
  secrets: {kind: secrets}
  pii: {kind: pii, entities: [EMAIL, PHONE, CREDIT_CARD, IBAN, US_SSN, IP_ADDRESS]}
  banned: {kind: keywords, keywords: [forbidden phrase, detonate now]}
rules:
  - {name: strip-invisible, guard: invisible, stages: [input], action: rewrite}
  - {name: redact-secrets, guard: secrets, stages: [input, output], action: redact}
  - {name: redact-pii, guard: pii, stages: [input], action: redact, restore: true}
  - {name: no-banned-in, guard: banned, stages: [input], action: block}
  - {name: no-banned-out, guard: banned, stages: [output], action: block}
"""

PROMPT = (
    "Please summarise the following note for the team and keep it short. The quarterly "
    "numbers look fine, the launch moved to Thursday, and questions go to the usual channel. "
    "Mention that the office is closed on Monday."
)

FAKE_SERVER = (
    "import sys, uvicorn\n"
    "from guardrail.testing import FakeUpstream\n"
    "uvicorn.run(FakeUpstream().app, host='127.0.0.1', port=int(sys.argv[1]),"
    " log_level='warning', access_log=False)\n"
)


@dataclass
class Result:
    """One target's numbers (milliseconds, requests per second)."""

    name: str
    latencies: list[float] = field(default_factory=list)
    stream_latencies: list[float] = field(default_factory=list)
    rps: float = 0.0
    errors: int = 0
    note: str = ""


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def process(
    cmd: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 120.0,
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until `ready_url` answers 200, stop it afterwards."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        try:
            _wait_ready(proc, ready_url, timeout_s, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: Any) -> None:
    deadline = time.monotonic() + timeout_s
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        time.sleep(0.2)
    log.seek(0)
    tail = log.read()[-2000:].decode(errors="replace")
    raise RuntimeError(f"{proc.args!r} did not become ready:\n{tail}")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


_counter = itertools.count()


def prompt() -> str:
    """The bench prompt with a unique reference, so that no guard result cache can answer."""
    return f"{PROMPT} Reference number {next(_counter)}."


async def _one(client: httpx.AsyncClient, url: str, stream: bool) -> float:
    body = {"model": "bench-model", "messages": [{"role": "user", "content": prompt()}]}
    started = time.perf_counter()
    if stream:
        async with client.stream("POST", url, json={**body, "stream": True}) as response:
            response.raise_for_status()
            async for _ in response.aiter_bytes():
                pass
    else:
        response = await client.post(url, json=body)
        response.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def measure(base: str, args: argparse.Namespace, result: Result) -> None:
    """Sequential latency (plain and streamed), then throughput at a fixed concurrency."""
    url = base + "/v1/chat/completions"
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(headers=headers, timeout=30, limits=limits) as client:
        for _ in range(args.warmup):
            await _one(client, url, False)
            await _one(client, url, True)
        for stream, into in ((False, result.latencies), (True, result.stream_latencies)):
            deadline = time.monotonic() + TIME_CAP_S
            for _ in range(args.requests):
                if time.monotonic() > deadline:
                    break
                into.append(await _one(client, url, stream))
        result.rps, result.errors = await throughput(client, url, args)


async def throughput(
    client: httpx.AsyncClient, url: str, args: argparse.Namespace
) -> tuple[float, int]:
    """Completed requests per second with `concurrency` callers, bounded in count and time."""
    remaining = args.load_requests
    done = errors = 0
    deadline = time.monotonic() + TIME_CAP_S

    async def caller() -> None:
        nonlocal remaining, done, errors
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            try:
                await _one(client, url, False)
                done += 1
            except httpx.HTTPError:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(args.concurrency)))
    return done / (time.perf_counter() - started), errors


def guardrail_cmd(
    policy: Path, port: int, upstream: str, via: str = "auto", workers: int = 1
) -> list[str]:
    """`guardrail serve` for one target (`--workers` only when more than 1: older revisions
    do not know it)."""
    return [
        *_serve_cmd(policy, port, upstream, via),
        *(["--workers", str(workers)] * (workers > 1)),
    ]


def _serve_cmd(policy: Path, port: int, upstream: str, via: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "guardrail",
        "serve",
        "--policy",
        str(policy),
        "--port",
        str(port),
        "--upstream",
        upstream,
        "--via",
        via,
        "--log-level",
        "warning",
    ]


def litellm_config(tmp: Path, upstream: str) -> Path:
    """A litellm proxy config that sends `bench-model` to the fake upstream."""
    path = tmp / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: bench-model\n"
        "    litellm_params:\n"
        "      model: openai/bench-model\n"
        f"      api_base: {upstream}\n"
        "      api_key: none\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )
    return path


def default_policy_problem() -> str | None:
    """Why (c) cannot run, or None when policies/default.yaml loads with its bundles."""
    from guardrail.pipeline import Pipeline

    try:
        Pipeline.from_file(ROOT / "policies" / "default.yaml")
    except Exception as exc:
        return f"skipped: default policy does not load ({type(exc).__name__}: {exc})"[:160]
    return None


def run_target(
    name: str,
    cmd: list[str] | None,
    ready: str,
    base: str,
    args: argparse.Namespace,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Result:
    """Start one target (None: already running), measure it, stop it."""
    result = Result(name)
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    try:
        if cmd is None:
            asyncio.run(measure(base, args, result))
        else:
            with process(cmd, ready, env, cwd=cwd):
                asyncio.run(measure(base, args, result))
                if "--workers" in cmd:
                    result.note = worker_spread(base)
    except (RuntimeError, httpx.HTTPError) as exc:
        result.note = f"failed: {str(exc).splitlines()[0][:120]}"
    return result


def worker_spread(base: str) -> str:
    """How many requests each worker answered (`guardrail_worker_requests`)."""
    text = httpx.get(base + "/metrics", timeout=5).text
    counts = re.findall(r'^guardrail_worker_requests\{pid="\d+"\} (\S+)$', text, re.MULTILINE)
    return "requests per worker: " + " / ".join(str(int(float(c))) for c in counts)


def table(results: list[Result]) -> str:
    """The markdown table: absolute numbers and what each target adds to (a)."""
    base = results[0]
    b50, b99 = percentile(base.latencies, 50), percentile(base.latencies, 99)
    s50 = percentile(base.stream_latencies, 50)
    lines = [
        "| target | p50 ms | p99 ms | added p50 | added p99 | stream p50 | added stream p50 "
        "| req/s | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if not r.latencies:
            lines.append(f"| {r.name} | | | | | | | | {r.note} |")
            continue
        p50, p99 = percentile(r.latencies, 50), percentile(r.latencies, 99)
        st50 = percentile(r.stream_latencies, 50)
        note = r.note or (f"{r.errors} errors under load" if r.errors else "")
        lines.append(
            f"| {r.name} | {p50:.2f} | {p99:.2f} | {p50 - b50:+.2f} | {p99 - b99:+.2f} "
            f"| {st50:.2f} | {st50 - s50:+.2f} | {r.rps:.0f} | {note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every target once and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential requests each")
    parser.add_argument("--load-requests", type=int, default=600, help="requests under load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_VENV)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        metavar="N",
        help="measure (b) and (c) with each of these `guardrail serve --workers` counts",
    )
    parser.add_argument(
        "--console",
        action="store_true",
        help="only (a) and (b) through a server config, console off / enabled and idle, "
        "alternating twice",
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="only (a) and (c): lone passes on 1 / 2 threads (and variants), alternating twice",
    )
    parser.add_argument(
        "--wide-variant",
        action="append",
        choices=list(WIDE_VARIANTS),
        help="--wide: only these variants (repeatable; default all)",
    )
    parser.add_argument("--wide-rounds", type=int, default=2, help="--wide: rounds (default 2)")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        action="append",
        default=[],
        help="also measure (b) and (c) at this git revision (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.load_requests, args.warmup = 30, 60, 3
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "GUARDRAIL_INFERENCE_WORKERS": "0"}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        rules = tmp / "rules.yaml"
        rules.write_text(RULES_POLICY)
        fake_port = free_port()
        fake = f"http://127.0.0.1:{fake_port}"
        fake_cmd = [PYTHON, "-c", FAKE_SERVER, str(fake_port)]
        with process(fake_cmd, fake + "/v1/models"):
            results = [run_target("(a) direct to upstream", None, "", fake, args)]
            if args.console or args.wide:
                more = console_targets if args.console else wide_targets
                results += more(rules, fake, tmp, args, env)
                print(table(results))
                return 0
            for name, via, workers in (
                *((f"(b) guardrail, rules{_workers(n)}", "auto", n) for n in args.workers),
                ("(b') guardrail, rules, via litellm", "litellm", 1),
            ):
                port = free_port()
                results.append(
                    run_target(
                        name,
                        guardrail_cmd(rules, port, fake + "/v1", via, workers),
                        f"http://127.0.0.1:{port}/readyz",
                        f"http://127.0.0.1:{port}",
                        args,
                        env,
                    )
                )
            results += [default_target(fake, args, env, n) for n in args.workers]
            for rev in args.baseline:
                results += baseline_targets(rev, rules, fake, tmp, args, env)
            results.append(litellm_target(fake, tmp, args, env))
    print(table(results))
    print(
        f"\n{args.requests} sequential requests per column, {args.load_requests} at "
        f"concurrency {args.concurrency} for req/s; 127.0.0.1; {os.cpu_count()} CPUs."
    )
    return 0


def _workers(n: int) -> str:
    return f", {n} workers" if n > 1 else ""


def default_target(
    fake: str, args: argparse.Namespace, env: dict[str, str], workers: int = 1
) -> Result:
    """(c): the default policy with classifiers, when its bundle loads."""
    name = f"(c) guardrail, default policy{_workers(workers)}"
    problem = default_policy_problem()
    if problem:
        return Result(name, note=problem)
    port = free_port()
    cmd = guardrail_cmd(ROOT / "policies" / "default.yaml", port, fake + "/v1", workers=workers)
    return run_target(
        name, cmd, f"http://127.0.0.1:{port}/readyz", f"http://127.0.0.1:{port}", args, env
    )


CONSOLE_CONFIG = """\
version: 1
policy: {policy}
admin_keys: ["sha256:{admin}"]
console: {{enabled: {enabled}}}
"""


def console_targets(
    rules: Path, fake: str, tmp: Path, args: argparse.Namespace, env: dict[str, str]
) -> list[Result]:
    """(b) through a server config with the console off, then enabled and idle, twice over
    (alternating, so that drift on a shared machine shows as a difference between repeats)."""
    admin = hashlib.sha256(b"bench-console-admin-key").hexdigest()
    out = []
    for round_ in (1, 2):
        for enabled in ("false", "true"):
            config = tmp / f"server-console-{enabled}.yaml"
            config.write_text(CONSOLE_CONFIG.format(policy=rules, admin=admin, enabled=enabled))
            port = free_port()
            cmd = _serve_cmd(rules, port, fake + "/v1", "auto")
            cmd[cmd.index("--policy") : cmd.index("--policy") + 2] = [
                "--server-config",
                str(config),
            ]
            state = "console enabled, idle" if enabled == "true" else "console off"
            url = f"http://127.0.0.1:{port}"
            name = f"(b) guardrail, rules, {state} #{round_}"
            out.append(run_target(name, cmd, url + "/readyz", url, args, env))
    return out


_SPIN = "GUARDRAIL_INFERENCE_WIDE_SPINNING"
# --wide-variant key -> (row label, serve flag, environment)
WIDE_VARIANTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "narrow": ("lone passes 1 thread", "--no-wide-alone", {}),
    "wide": ("lone passes wide", "--wide-alone", {}),
    "wide-in-pass": ("lone passes wide, spinning in a pass", "--wide-alone", {_SPIN: "in_pass"}),
    "wide-spin": ("lone passes wide, spinning", "--wide-alone", {_SPIN: "on"}),
    "shared-2t": (
        "one 2-thread session, no spinning",
        "--no-wide-alone",
        {"GUARDRAIL_INFERENCE_THREADS": "2", "GUARDRAIL_INFERENCE_SPINNING": "off"},
    ),
}


def wide_targets(
    rules: Path, fake: str, tmp: Path, args: argparse.Namespace, env: dict[str, str]
) -> list[Result]:
    """(c) once per `--wide-variant` (default: every `WIDE_VARIANTS` entry), `--wide-rounds`
    times over (alternating, so that drift on a shared machine shows as a difference between
    repeats of one variant)."""
    del rules, tmp  # the same signature as console_targets
    out = []
    for round_ in range(1, args.wide_rounds + 1):
        for label, flag, more in (WIDE_VARIANTS[k] for k in args.wide_variant or WIDE_VARIANTS):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = guardrail_cmd(ROOT / "policies" / "default.yaml", port, fake + "/v1")
            result = Result(f"(c) default policy, {label} #{round_}")
            print(f"measuring {result.name} ...", file=sys.stderr, flush=True)
            try:
                with process([*cmd, flag], url + "/readyz", {**env, **more}):
                    asyncio.run(measure(url, args, result))
                    result.note = wide_share(url)
            except (RuntimeError, httpx.HTTPError) as exc:
                result.note = f"failed: {str(exc).splitlines()[0][:120]}"
            out.append(result)
    return out


def wide_share(base: str) -> str:
    """How many of the server's encoder passes ran on the wide session."""
    text = httpx.get(base + "/metrics", timeout=5).text

    def total(name: str) -> float:
        found = re.findall(rf"^guardrail_inference_{name}_total\{{[^}}]*\}} (\S+)$", text, re.M)
        return sum(float(v) for v in found)

    return f"wide passes: {total('wide'):.0f} / {total('batches'):.0f}"


def checkout(rev: str, into: Path) -> Path:
    """The tracked files of `rev` (code, policies, bundles) in `into`, via `git archive`."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def baseline_targets(
    rev: str, rules: Path, fake: str, tmp: Path, args: argparse.Namespace, env: dict[str, str]
) -> list[Result]:
    """(b) and (c) again, served by the code of `rev` (PYTHONPATH first, so it wins over this
    checkout's editable install) with that revision's policies and bundles."""
    old = checkout(rev, tmp / f"baseline-{len(list(tmp.glob('baseline-*')))}")
    old_env = {**env, "PYTHONPATH": str(old)}
    where = subprocess.run(
        [PYTHON, "-c", "import guardrail; print(guardrail.__file__)"],
        cwd=old,
        env={**os.environ, **old_env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).is_relative_to(old):
        raise SystemExit(f"--baseline: {rev} would import guardrail from {where}, not {old}")
    out = []
    for name, policy in (
        (f"(b) rules @ {rev}", rules),
        (f"(c) default policy @ {rev}", old / "policies" / "default.yaml"),
    ):
        port = free_port()
        cmd = guardrail_cmd(policy, port, fake + "/v1")
        out.append(
            run_target(
                name,
                cmd,
                f"http://127.0.0.1:{port}/readyz",
                f"http://127.0.0.1:{port}",
                args,
                old_env,
                cwd=old,
            )
        )
    return out


def litellm_target(fake: str, tmp: Path, args: argparse.Namespace, env: dict[str, str]) -> Result:
    """(d): litellm's own proxy, when its venv exists."""
    name = "(d) litellm proxy"
    binary = args.litellm_venv / "bin" / "litellm"
    if not binary.exists():
        return Result(
            name,
            note=f"skipped: {binary} not found (python -m venv "
            f"{args.litellm_venv} && {args.litellm_venv}/bin/pip install "
            "'litellm[proxy]')",
        )
    port = free_port()
    cmd = [
        str(binary),
        "--config",
        str(litellm_config(tmp, fake + "/v1")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    return run_target(
        name,
        cmd,
        f"http://127.0.0.1:{port}/health/liveliness",
        f"http://127.0.0.1:{port}",
        args,
        {**env, "LITELLM_LOG": "ERROR"},
    )


if __name__ == "__main__":
    sys.exit(main())
