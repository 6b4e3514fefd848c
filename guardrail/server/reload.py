"""Safe hot reload of the server config and the policies it names.

A reload builds a complete new version -- every tenant's policy loaded and validated, its
guards built (classifier bundles hash-checked) -- in a worker thread, never on the event
loop, and only then swaps it in (`install`, one assignment). If anything is wrong the last
good version keeps serving, `policy.reload_failed` lists the problems (file, line, field)
and `guardrail_policy_reloads_total{result="failed"}` counts it. Requests that started
before a swap finish under the pipeline they started with.

What triggers a reload:

- `check_now()`: reload if a watched file changed since the last attempt (the polling
  watcher calls it every `reload.watch_ms`; tests call it directly, deterministically);
- `reload_now()`: reload everything, changed or not (SIGHUP; e.g. after replacing a bundle).

Watched files: the server config file and every policy file, including those reached through
`extends` (`Policy.files`), plus files named by the problems of a failed attempt. A change is
a different (mtime, size, sha256); a version that failed is not retried until a file changes
again, so one bad edit counts once.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from guardrail.errors import PolicyError, PolicyProblem
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline
from guardrail.policy.compile import Policy
from guardrail.server.config import ServerConfig, parse_server_config

log = get_logger("guardrail.reload")


@dataclass(frozen=True)
class Fingerprint:
    """What a file looked like: a change in any part is a change."""

    mtime_ns: int
    size: int
    sha256: str  # of the text as the policy loader reads it (so it matches `content_hash`)


STALE = Fingerprint(-1, -1, "")  # never equal to a real file: forces the next check to reload


def fingerprint(path: Path) -> Fingerprint | None:
    """The file's fingerprint, or None when it cannot be read."""
    try:
        stat = path.stat()
        data = path.read_bytes()
    except OSError:
        return None
    try:  # universal newlines, as `Path.read_text` gives the loader
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    except UnicodeDecodeError:
        digest = hashlib.sha256(data).hexdigest()
    return Fingerprint(stat.st_mtime_ns, stat.st_size, digest)


Files = dict[Path, Fingerprint | None]


@dataclass(frozen=True)
class Snapshot:
    """One complete, valid version of what the server serves."""

    config: ServerConfig
    pipelines: Mapping[str, Pipeline]  # tenant name ("" = every caller) -> pipeline
    files: Mapping[Path, Fingerprint | None]  # every file it was built from
    version: int


@dataclass(frozen=True)
class ReloadEvent:
    """One load or reload attempt, for the console's policy view (no policy text in it)."""

    at: float  # time.time()
    reason: str  # "start", "changed", "signal", ...
    ok: bool
    version: int | None  # the version serving after the attempt
    problems: tuple[PolicyProblem, ...] = ()


HISTORY = 20  # reload attempts remembered


class Reloader:
    """Loads versions, watches their files, and installs each new valid version."""

    def __init__(
        self, source: Path | ServerConfig, *, watch_ms: int | None = None, base_dir: Path = Path()
    ) -> None:
        # source: a server config file (re-read on reload), or a config made in code
        self.config_path = source if isinstance(source, Path) else None
        self._static = source if isinstance(source, ServerConfig) else None
        self.base_dir = self.config_path.parent if self.config_path else base_dir
        self._watch_ms = watch_ms
        self.current: Snapshot | None = None
        self._lock = threading.Lock()
        self._seen: Files = {}
        self._install: Callable[[Snapshot], None] | None = None
        self._on_result: Callable[[str], None] = lambda result: None
        self._tasks: set[asyncio.Future[bool]] = set()
        self.history: deque[ReloadEvent] = deque(maxlen=HISTORY)  # newest last

    @classmethod
    def for_policy(cls, path: str | Path, *, watch_ms: int | None = None) -> Reloader:
        """One policy file for every caller (no keys)."""
        return cls(ServerConfig(policy=str(path)), watch_ms=watch_ms)

    @property
    def watch_ms(self) -> int:
        """Polling interval (0: no polling); the constructor's value beats the config's."""
        if self._watch_ms is not None:
            return self._watch_ms
        return self.current.config.reload.watch_ms if self.current else 0

    def bind(self, install: Callable[[Snapshot], None], on_result: Callable[[str], None]) -> None:
        """Where new versions go, and who counts reload results (`ok` / `failed`)."""
        self._install, self._on_result = install, on_result
        if self.current is not None:
            install(self.current)

    # ---------------------------------------------------------------- loading (blocking)

    def load(self) -> Snapshot:
        """The first version (blocking); `PolicyError` with every problem when invalid."""
        with self._lock:
            if self.current is None:
                snapshot = self._build(previous=None)
                self._adopt(snapshot)
                self.history.append(ReloadEvent(time.time(), "start", True, snapshot.version))
            assert self.current is not None
            return self.current

    def check_now(self) -> bool | None:
        """Reload if a watched file changed: True installed, False failed, None no change.

        Blocking and thread-safe: call it from a worker thread (`check_async`), never on the
        event loop. Concurrent calls reload a given change once.
        """
        with self._lock:
            seen = _fingerprints(self._seen)
            if self.current is None or seen == self._seen:
                return None
            return self._reload("changed", seen, force=False)

    def reload_now(self, reason: str = "signal") -> bool:
        """Reload everything now, changed or not (blocking, like `check_now`)."""
        with self._lock:
            return self._reload(reason, _fingerprints(self._seen), force=True)

    async def check_async(self) -> bool | None:
        """`check_now` in a worker thread."""
        return await asyncio.to_thread(self.check_now)

    def _reload(self, reason: str, seen: Files, *, force: bool) -> bool:
        started = time.perf_counter()
        try:
            snapshot = self._build(previous=None if force else self.current)
        except Exception as exc:  # PolicyError, or a surprise: either way the old one serves
            problems = exc.problems if isinstance(exc, PolicyError) else [_surprise(exc)]
            # also watch the files the problems name (a new base, a policy not written yet)
            extra = {Path(p.file) for p in problems if p.file} - set(seen)
            self._seen = {**seen, **_fingerprints(dict.fromkeys(extra))}
            self._on_result("failed")
            version = self.current.version if self.current else None
            self.history.append(ReloadEvent(time.time(), reason, False, version, tuple(problems)))
            log.warning(
                "policy.reload_failed",
                reason=reason,
                problems=[p.as_dict() for p in problems],
                serving_version=self.current.version if self.current else None,
            )
            return False
        self._adopt(snapshot)
        self._on_result("ok")
        self.history.append(ReloadEvent(time.time(), reason, True, snapshot.version))
        log.info(
            "policy.reloaded",
            reason=reason,
            version=snapshot.version,
            policies={t or "*": _describe(p.policy) for t, p in snapshot.pipelines.items()},
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return True

    def _adopt(self, snapshot: Snapshot) -> None:
        self.current = snapshot
        self._seen = dict(snapshot.files)
        if self._install is not None:
            self._install(snapshot)

    def _build(self, previous: Snapshot | None) -> Snapshot:
        config, files = self._read_config()
        by_path: dict[Path, Pipeline] = {}
        pipelines: dict[str, Pipeline] = {}
        problems: list[PolicyProblem] = []
        for tenant, path in config.policies(self.base_dir).items():
            key = path.resolve()
            if key not in by_path:
                try:
                    by_path[key] = _reusable(previous, key) or Pipeline.from_file(path)
                except PolicyError as exc:
                    problems += exc.problems  # go on: one attempt reports every tenant's problems
                    continue
            pipelines[tenant] = by_path[key]
        if problems:
            raise PolicyError(problems)
        for pipeline in by_path.values():
            files.update(_policy_files(pipeline.policy))
        version = (self.current.version + 1) if self.current else 1
        return Snapshot(config, pipelines, files, version)

    def _read_config(self) -> tuple[ServerConfig, Files]:
        if self.config_path is None:
            assert self._static is not None
            return self._static, {}
        path = self.config_path
        try:
            data = path.read_bytes()
            stat = path.stat()
        except OSError as exc:
            problem = PolicyProblem(str(path), None, None, "", f"cannot read: {exc}")
            raise PolicyError([problem]) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError([PolicyProblem(str(path), None, None, "", "not UTF-8")]) from None
        config = parse_server_config(text, str(path))
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return config, {path: Fingerprint(stat.st_mtime_ns, stat.st_size, digest)}

    # ------------------------------------------------------------------ async triggers

    async def watch(self) -> None:
        """Poll the watched files every `watch_ms` until cancelled (0: idle, re-read each s)."""
        while True:
            interval = self.watch_ms
            await asyncio.sleep(interval / 1000 if interval > 0 else 1.0)
            if interval <= 0:
                continue
            try:
                await self.check_async()
            except Exception as exc:  # never let the watcher die
                log.error("policy.watch_failed", error_type=type(exc).__name__)

    def handle_signals(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Reload on SIGHUP (only possible in the main thread); True when installed."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "SIGHUP"
        ):
            return False
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        return True

    def _on_sighup(self) -> None:
        task = asyncio.ensure_future(asyncio.to_thread(self.reload_now, "signal"))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)


def _fingerprints(files: Mapping[Path, object]) -> Files:
    return {path: fingerprint(path) for path in files}


def _policy_files(policy: Policy) -> Files:
    """Fingerprints of a policy's files; STALE if they no longer match what was loaded."""
    files = _fingerprints(dict.fromkeys(policy.files))
    digests = "".join(fp.sha256 if fp else "" for fp in files.values())
    if hashlib.sha256(digests.encode()).hexdigest()[:16] != policy.content_hash:
        return dict.fromkeys(files, STALE)  # changed while loading: reload again next check
    return files


def _reusable(previous: Snapshot | None, path: Path) -> Pipeline | None:
    """The previous version's pipeline for `path`, if none of its files changed since."""
    if previous is None:
        return None
    for pipeline in previous.pipelines.values():
        policy = pipeline.policy
        if policy.path is None or policy.path.resolve() != path:
            continue
        before = {f: previous.files.get(f) for f in policy.files}
        if STALE not in before.values() and _fingerprints(before) == before:
            return pipeline
    return None


def _describe(policy: Policy) -> str:
    return f"{policy.name}@{policy.content_hash}"


def _surprise(exc: Exception) -> PolicyProblem:
    return PolicyProblem("", None, None, "", f"unexpected error: {type(exc).__name__}")
