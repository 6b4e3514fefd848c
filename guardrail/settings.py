"""Process settings, read from the environment (prefix `GUARDRAIL_`) by pydantic-settings.

One flat model: each field's env name is `GUARDRAIL_` + the field name in upper case, e.g.
`GUARDRAIL_INFERENCE_THREADS=2`. List fields take JSON (`'["CUDAExecutionProvider"]'`).
Other parts of guardrail add their own fields here; keep the group prefix (`inference_` ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything guardrail reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="GUARDRAIL_", extra="ignore", frozen=True)

    # Where bundles are looked up by name, before the repository's `classifiers/` folder.
    bundles_dir: Path | None = None

    # ONNX Runtime intra-op threads per session. On small machines 1 thread per session and
    # several callers (see `inference_workers`) gives more throughput than 1 caller x N threads.
    inference_threads: int = Field(default=1, ge=1)
    # With inference_threads > 1, how the session's extra threads wait for work: "on" (ONNX
    # Runtime's default) busy-wait between operators and for a while after a pass, "in_pass"
    # only while a pass runs, "off" never (guardrail/inference/onnx.py `Spinning`).
    inference_spinning: Literal["on", "in_pass", "off"] = "on"
    # Size of the thread pool that runs tokenisation and forward passes off the event loop.
    # 0 = one worker per CPU core.
    inference_workers: int = Field(default=0, ge=0)
    # A pass that would run alone (no other pass in flight in this process, nothing queued)
    # runs on a second session of the same graph with one intra-op thread per core the pool
    # spans (`wide_threads`), so one request at a time uses every core; concurrent passes keep
    # 1 thread each. Off by itself when the pool has one worker (e.g. `serve --workers N` with
    # N >= cores). Costs a second copy of each bundle's session in memory.
    inference_wide_alone: bool = False
    # How the wide session's extra threads wait (as `inference_spinning`). "in_pass": on the
    # 2-core machine the only mode not measured slower than 1-thread lone passes ("off" pays a
    # thread wake-up per operator, "on" burns the core the next pass needs after each pass;
    # docs/benchmarks.md "A lone pass on both cores").
    inference_wide_spinning: Literal["on", "in_pass", "off"] = "in_pass"
    # ONNX Runtime execution providers, in order of preference; unavailable ones are skipped.
    inference_providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"])

    # Micro-batching: collect windows of concurrent callers into one padded forward pass.
    # Off by default: on CPU it did not raise throughput; turn it on for a GPU provider.
    inference_batching: bool = False
    inference_max_batch: int = Field(default=16, ge=1)  # windows per batched forward pass
    inference_batch_wait_ms: float = Field(default=2.0, ge=0.0)  # wait for more callers

    # Long texts: the windows of one text that go into one forward pass when not batching.
    # 1 = each window is its own job, so a long text's windows spread over the workers.
    inference_window_batch: int = Field(default=1, ge=1)
    # Every window of a text is scored. Only a guard whose policy says `long_text: sample`
    # reads less: at most this many windows per text (first/last `inference_edge_windows`
    # windows always, evenly spaced ones in between), and says so with a `partial_scan` finding.
    inference_max_windows: int = Field(default=16, ge=1)
    inference_edge_windows: int = Field(default=4, ge=0)
    # Sampled reads of texts longer than this (characters) tokenise only the character slices
    # that become the scored windows (bounds tokeniser work: ~1 s per MB otherwise).
    inference_slice_above_chars: int = Field(default=50_000, ge=1)

    # Results kept per runtime for texts seen recently (0 = no cache). In-flight requests
    # for the same text are always shared.
    inference_cache_size: int = Field(default=1024, ge=0)

    # Proxy limits (guardrail/server/limits.py, docs/robustness.md). Over a limit a request
    # is refused whole (413 limit_exceeded); a streamed answer ends with finish_reason length.
    limits_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    limits_max_messages: int = Field(default=2048, ge=1)
    # text parts (content parts, blocks, tool calls, prompts) per request: 413 too_many_parts
    limits_max_parts: int = Field(default=4096, ge=1)
    limits_max_message_chars: int = Field(default=1_000_000, ge=1)  # checked text per message
    limits_max_request_chars: int = Field(default=4_000_000, ge=1)  # checked text per request
    limits_max_completion_chars: int = Field(default=1_000_000, ge=1)  # per streamed answer
    # seconds a request body may take to arrive once its head is in (408 body_timeout)
    limits_max_body_seconds: int = Field(default=60, ge=1)

    # Connections of `guardrail serve` (guardrail/server/connections.py): open connections
    # at most (also kept under the file-descriptor limit), and the seconds a connection has
    # to send a whole request head before it is closed (slow or idle clients).
    server_max_connections: int = Field(default=1000, ge=1)
    server_header_timeout_s: float = Field(default=10.0, gt=0)

    # Upstream calls over HTTP (`--upstream URL`; litellm routes have their own timeout_s).
    upstream_timeout_s: float = Field(default=600.0, gt=0)  # also the longest pause mid-stream
    upstream_connect_timeout_s: float = Field(default=10.0, gt=0)
    # Retries of calls that failed before any byte was sent (connection refused / connect
    # timeout): safe for any request. Other failures are never retried here.
    upstream_retries: int = Field(default=2, ge=0)

    # Tracing (docs/operate.md): OTLP/HTTP base URL, e.g. http://127.0.0.1:4318. Unset (and
    # no OTEL_EXPORTER_OTLP_ENDPOINT): no tracing, and OpenTelemetry is never imported.
    otlp_endpoint: str | None = None

    def worker_count(self) -> int:
        """`inference_workers`, with 0 resolved to the number of CPU cores."""
        return self.inference_workers or os.cpu_count() or 1

    def wide_threads(self) -> int:
        """Intra-op threads of the session a lone pass runs on: the pool's workers, at most
        the cores this process may use; 0 (no wide session) when that is not more than
        `inference_threads` or `inference_wide_alone` is off."""
        if not self.inference_wide_alone:
            return 0
        threads = min(self.worker_count(), usable_cores())
        return threads if threads > self.inference_threads else 0


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def get_settings() -> Settings:
    """Settings read from the current environment (cheap; not cached, so tests can set env)."""
    return Settings()
