"""`guardrail serve --workers N`: N processes answering on one port.

uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`) binds the socket once, spawns
the workers (`spawn`: fresh interpreters, nothing shared but the socket), replaces a worker
that dies or stops answering its health pings, and on SIGTERM/SIGINT sends SIGTERM to every
worker and waits: each one stops accepting, finishes its in-flight requests and exits.
SIGTTIN / SIGTTOU add / remove one worker (their inference pools keep the size they started
with). Two things differ from plain uvicorn:

- **SIGHUP** is forwarded to every worker, which reloads its policy in place (reload.py: the
  new version is built and swapped in, the last good one keeps serving if it is broken),
  instead of uvicorn's rolling restart: no connection is closed and no bundle is reloaded
  that did not change, and a broken edit is counted in `guardrail_policy_reloads`.
- each worker builds its app from the parent's parsed arguments (`worker_app`, an import
  string factory), read from the environment variable `GUARDRAIL_SERVE_ARGS` (JSON) that the
  parent sets before spawning. The parent has the policy loaded once first (in a short-lived
  process, so the parent does not hold the bundles), so a broken policy exits 2 before any
  worker starts.

Each worker's inference pool gets `cores // N` threads (at least 1) unless
`GUARDRAIL_INFERENCE_WORKERS` is set to a positive number, so workers x threads stay about
the number of cores. Where a worker owns fewer than 2 cores (cores // N < 2, e.g. N >= cores)
a lone pass's wide session (`inference_wide_alone`) is switched off in every worker.
Metrics are aggregated over the workers with prometheus_client's multiprocess mode, in a
fresh temporary `PROMETHEUS_MULTIPROC_DIR` per run, removed when the server stops
(guardrail/server/metrics.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from guardrail.cli.serve import WIDE_ENV
from guardrail.logging import get_logger
from guardrail.settings import usable_cores

if TYPE_CHECKING:
    from prometheus_client import Gauge
    from starlette.types import ASGIApp, Receive, Scope, Send

ARGS_ENV = "GUARDRAIL_SERVE_ARGS"
CONSOLE_SECRET_ENV = "GUARDRAIL_CONSOLE_SECRET"  # guardrail/server/console/session.py
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
POOL_ENV = "GUARDRAIL_INFERENCE_WORKERS"
_PATHS = ("policy", "server_config", "config")  # arguments that are paths


def encode_args(args: argparse.Namespace) -> str:
    """The parsed `serve` arguments as JSON (paths as strings; the handler left out)."""
    values = {k: v for k, v in vars(args).items() if k != "func"}
    return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})


def decode_args(raw: str) -> argparse.Namespace:
    """`encode_args`' JSON back into the namespace `run_serve` saw."""
    values: dict[str, Any] = json.loads(raw)
    for key in _PATHS:
        if values.get(key) is not None:
            values[key] = Path(values[key])
    return argparse.Namespace(**values)


def pool_size(workers: int, cores: int | None = None) -> int:
    """Inference threads per worker so that workers x threads is about the number of cores."""
    return max(1, (cores or os.cpu_count() or 1) // workers)


def wide_allowed(workers: int, cores: int | None = None) -> bool:
    """Whether each worker owns 2 or more cores, so that a lone pass may run on several
    (`inference_wide_alone`); with `workers` >= cores it stays off whatever the settings."""
    return (cores or usable_cores()) // workers >= 2


def serve_workers(args: argparse.Namespace) -> int:
    """Check the policy, then run `args.workers` workers until SIGTERM/SIGINT: 0, or 2 when
    the policy (or upstream) is invalid, 1 when a worker could not start."""
    import uvicorn

    if not policy_loads(args):
        return 2

    if os.environ.get(POOL_ENV, "0").strip() in ("", "0"):  # unset or "one per core"
        os.environ[POOL_ENV] = str(pool_size(args.workers))
    if not wide_allowed(args.workers):  # a worker's lone pass must not take another's core
        os.environ[WIDE_ENV] = "false"
    metrics_dir = tempfile.mkdtemp(prefix="guardrail-metrics-")
    os.environ[METRICS_DIR_ENV] = metrics_dir  # a fresh one per run: no stale worker files
    os.environ[ARGS_ENV] = encode_args(args)
    # one console session key for every worker: a login on one is valid on the others
    os.environ.setdefault(CONSOLE_SECRET_ENV, secrets.token_hex(32))
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        access_log=False,
        http=f"{__name__}:WorkerH11",
    )
    try:
        sock = config.bind_socket()  # exits 3 (uvicorn's startup failure) if the port is taken
        with sock:
            supervisor = Supervisor(config, sockets=[sock])
            supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 1 if supervisor.start_failed() else 0


def policy_loads(args: argparse.Namespace) -> bool:
    """Load the policy once, in a throwaway process (its bundles are not kept in the
    parent's memory for the whole run); it prints the problems on stderr."""
    import multiprocessing

    check = multiprocessing.get_context("spawn").Process(
        target=_check, args=(encode_args(args),), name="guardrail-policy-check"
    )
    check.start()
    check.join()
    return check.exitcode == 0


def _check(raw_args: str) -> None:
    from guardrail.cli.serve import load_checked
    from guardrail.logging import configure

    args = decode_args(raw_args)
    configure(level=args.log_level)
    raise SystemExit(0 if load_checked(args) is not None else 2)


class Supervisor(Multiprocess):
    """uvicorn's supervisor, but SIGHUP reloads every worker's policy in place."""

    def handle_hup(self) -> None:
        """Forward SIGHUP to every live worker (instead of uvicorn's rolling restart)."""
        pids = [p.pid for p in self.processes if p.pid is not None and p.exitcode is None]
        get_logger("guardrail.server").info("server.reload_workers", workers=len(pids))
        for pid in pids:
            with suppress(ProcessLookupError):  # exited since the check: it is replaced
                os.kill(pid, signal.SIGHUP)

    def start_failed(self) -> bool:
        """True when a worker could not start (the supervisor then stopped them all)."""
        return any(p.exitcode == STARTUP_FAILURE for p in self.processes)


def worker_app() -> ASGIApp:
    """The app of one worker (uvicorn calls it in each worker process)."""
    from guardrail.cli.serve import make_reloader
    from guardrail.logging import configure
    from guardrail.server.app import create_app
    from guardrail.server.limits import from_arguments
    from guardrail.server.malloc import fix_mmap_threshold
    from guardrail.server.metrics import forget_dead_workers
    from guardrail.upstream import build_upstream

    # until the app's lifespan installs its SIGHUP handler, a reload signal must not kill us
    # (the default action); a worker that is still starting loads the files as they are now
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    args = decode_args(os.environ[ARGS_ENV])
    configure(level=args.log_level)
    fix_mmap_threshold()  # memory long requests free goes back to the system
    forget_dead_workers()
    upstream = build_upstream(args.upstream, args.config, via=args.via, api=args.upstream_api)
    app = create_app(
        make_reloader(args),  # loaded by the app's lifespan: /healthz answers meanwhile
        upstream,
        scan_system=args.scan_system,
        reload_on_sighup=True,
        limits=from_arguments(args),
    )
    gauge = app.state.guardrail.metrics.worker_requests
    return app if gauge is None else CountRequests(app, gauge)


class CountRequests:
    """Counts the HTTP requests this worker answers (`guardrail_worker_requests{pid}`)."""

    def __init__(self, app: ASGIApp, gauge: Gauge) -> None:
        self.app, self.gauge = app, gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.gauge.inc()
        await self.app(scope, receive, send)


def __getattr__(name: str) -> Any:
    """`WorkerH11` (uvicorn imports it by name in each worker): the guarded h11 protocol
    (connections.py) made from the parent's arguments; built on first use, then kept."""
    if name == "WorkerH11":
        from guardrail.cli.serve import http_protocol

        cls = http_protocol(decode_args(os.environ[ARGS_ENV]))
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = cls
    return cls
