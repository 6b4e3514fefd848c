"""Prometheus metrics of the proxy; every name starts with `guardrail_`.

Each app has its own registry, so that several apps (tests, embedded use) can live in one
process without clashing.

Several worker processes (`guardrail serve --workers N`, or any server that sets
`PROMETHEUS_MULTIPROC_DIR` before the workers start): prometheus_client's multiprocess mode.
Every worker writes its values to files in that directory and `/metrics`, whichever worker
answers it, reads them all (`MultiProcessCollector`): counters and histograms are summed over
the workers (dead ones included, so totals never go back), `requests_in_flight` is summed
over the live ones, `policy_loaded` is their minimum, and `policy_info` and
`worker_requests` carry a `pid` label per live worker (which policy version each one serves;
how the kernel spreads connections). The inference counters live in the worker's runtimes,
so a thread copies them into such files every second (`InferenceSync`).
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from guardrail.types import PARTIAL_SCAN, Decision

if TYPE_CHECKING:  # onnxruntime is heavy; metrics only read the runtimes' counters
    from guardrail.inference.runtime import ClassifierRuntime

CONTENT_TYPE = CONTENT_TYPE_LATEST
_MS_BUCKETS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_S_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def multiprocess_dir() -> str | None:
    """prometheus_client's multiprocess directory, when that mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The proxy's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess_dir = multiprocess_dir()
        r = self.registry
        # `tenant` is the tenant's name from the server config ("" without proxy keys).
        self.requests = Counter(
            "guardrail_requests",
            "Proxied requests by route, outcome and tenant.",
            ["route", "outcome", "tenant"],
            registry=r,
        )
        self.decisions = Counter(
            "guardrail_decisions",
            "Stage decisions by tenant, policy, stage and action.",
            ["tenant", "policy", "stage", "action"],
            registry=r,
        )
        self.rules = Counter(
            "guardrail_rule_hits",
            "Rule hits by rule, stage, action and mode (mode=shadow: would have fired, "
            "not enforced).",
            ["tenant", "policy", "rule", "stage", "action", "mode"],
            registry=r,
        )
        # A text a guard did not read whole: `reason` budget (out of time), sampled (the
        # guard's `long_text: sample`), or timeout / error (not read at all, rule failed open
        # or closed). Never counted as a pass.
        self.partial_scans = Counter(
            "guardrail_partial_scans",
            "Texts a guard read only in part or not at all, by guard, stage and reason.",
            ["tenant", "policy", "guard", "stage", "reason"],
            registry=r,
        )
        self.guard_seconds = Histogram(
            "guardrail_guard_seconds",
            "Time of one guard's scan (timeouts included), by policy and guard.",
            ["policy", "guard"],
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "guardrail_upstream_seconds",
            "Upstream time to the whole answer (streams: to the first chunk).",
            ["kind", "stream"],
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.policy_reloads = Counter(
            "guardrail_policy_reloads",
            "Policy / server config reloads by result (failed: the last good one serves on).",
            ["result"],
            registry=r,
        )
        self.policy_info = _InfoGauge(
            "guardrail_policy_info",
            "1 for each tenant's policy now serving, with its content hash.",
            ["tenant", "policy", "policy_hash"],
            registry=r,
            multiprocess_mode="liveall",  # a pid label: the version each worker serves
        )
        self.guard_ms = Histogram(
            "guardrail_guard_ms",
            "Guard time per stage check, in milliseconds.",
            ["stage"],
            buckets=_MS_BUCKETS,
            registry=r,
        )
        self.request_seconds = Histogram(
            "guardrail_request_seconds",
            "Time to the response headers, in seconds.",
            ["route"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "guardrail_upstream_errors",
            "Upstream failures by error code.",
            ["code"],
            registry=r,
        )
        # A classifier score sent to a judge (guards/escalation.py): result positive /
        # negative (the judge decided), over_budget / too_long (the classifier did).
        self.escalations = Counter(
            "guardrail_escalations",
            "Classifier labels a judge was asked about, by guard, label and result.",
            ["guard", "label", "result"],
            registry=r,
        )
        self.judge_seconds = Histogram(
            "guardrail_judge_seconds",
            "Time of one judge call (cached verdicts not counted), by judge.",
            ["judge"],
            buckets=_S_BUCKETS,
            registry=r,
        )
        self.judge_disagreements = Counter(
            "guardrail_judge_disagreements",
            "Judge verdicts that differ from the classifier at its default threshold.",
            ["guard", "label"],
            registry=r,
        )
        self.in_flight = Gauge(
            "guardrail_requests_in_flight",
            "Requests being handled now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.policy_loaded = Gauge(
            "guardrail_policy_loaded",
            "1 when the policy (and its bundles) is loaded.",
            registry=r,
            multiprocess_mode="livemin",  # 1 only when every live worker has it
        )
        # Also told of every decision `record` counts: the console's live view (which keeps
        # nothing while the console is off).
        self.taps: list[Callable[[Decision, str, str], None]] = []
        # only with several workers: the HTTP requests each live worker answered
        self.worker_requests = (
            Gauge(
                "guardrail_worker_requests",
                "HTTP requests (any path) answered by each live worker since it started.",
                registry=r,
                multiprocess_mode="liveall",
            )
            if self.multiprocess_dir
            else None
        )

    def record(self, decision: Decision, tenant: str = "", policy: str = "") -> None:
        """Count one stage decision and its rule hits (shadow hits too, as mode=shadow)."""
        stage = decision.stage.value
        self.decisions.labels(tenant, policy, stage, decision.action.value).inc()
        self.guard_ms.labels(stage).observe(decision.guard_ms)
        hits = dict.fromkeys(
            (h.rule, h.action, h.mode) for h in (*decision.hits, *decision.shadow_hits)
        )
        for rule, action, mode in hits:  # once per rule and decision, however many texts hit
            self.rules.labels(tenant, policy, rule, stage, action.value, mode.value).inc()
        for guard, reason in _not_read_whole(decision):
            self.partial_scans.labels(tenant, policy, guard, stage, reason).inc()
        self._record_escalations(decision)
        for tap in self.taps:
            tap(decision, tenant, policy)

    def _record_escalations(self, decision: Decision) -> None:
        # one judge call serves every label of a text, and (joined small texts, coalesce.py)
        # may be copied onto several texts: the copies carry the same judge_ms
        calls: set[tuple[str, float]] = set()
        for finding in decision.escalations:
            record = finding.escalation
            if record is None:
                continue
            self.escalations.labels(finding.guard, finding.label, record.result).inc()
            if record.agrees is False:
                self.judge_disagreements.labels(finding.guard, finding.label).inc()
            call = (record.judge, record.judge_ms)
            if record.judge_ms > 0 and call not in calls:
                calls.add(call)
                self.judge_seconds.labels(record.judge).observe(record.judge_ms / 1000)

    def watch_inference(self, runtimes: Callable[[], Iterable[ClassifierRuntime]]) -> None:
        """Expose the pool counters of the runtimes that `runtimes()` returns at scrape time."""
        if self.multiprocess_dir:
            self._sync: InferenceSync | None = InferenceSync(runtimes, self.registry)
        else:
            self.registry.register(InferenceCollector(runtimes))

    def render(self) -> bytes:
        """The text exposition format (every worker's, in multiprocess mode)."""
        if not self.multiprocess_dir:
            return generate_latest(self.registry)
        sync = getattr(self, "_sync", None)
        if sync is not None:
            sync.sync()  # this worker's newest counts; the others' are at most 1 s old
        forget_dead_workers(self.multiprocess_dir)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(WorkersCollector(self.multiprocess_dir))
        return generate_latest(registry)


class _InfoGauge(Gauge):
    """`clear()` across processes: files keep every label set a worker ever wrote, so the old
    ones are set to 0 (and left out of `/metrics` by `WorkersCollector`)."""

    def clear(self) -> None:
        if not multiprocess_dir():
            super().clear()
            return
        with self._lock:
            label_sets = list(self._metrics)
        for values in label_sets:
            self.labels(*values).set(0)


class WorkersCollector(Collector):
    """Every worker's metrics from the multiprocess directory, summed as the docstring of
    this module says, with `guardrail_inference_batch_size_mean` from the summed counters."""

    def __init__(self, path: str) -> None:
        self._path = path

    def collect(self) -> Iterator[Metric]:
        """The merged families; policy versions no longer served left out."""
        files = glob.glob(os.path.join(self._path, "*.db"))
        totals: dict[str, dict[str, float]] = {"windows": {}, "batches": {}}
        merged: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        for metric in merged:
            if metric.name == "guardrail_policy_info":
                metric.samples = [s for s in metric.samples if s.value != 0]
            for field, by_bundle in totals.items():
                if metric.name == f"guardrail_inference_{field}":
                    for sample in metric.samples:
                        if sample.name.endswith("_total"):
                            by_bundle[sample.labels["bundle"]] = sample.value
            yield metric
        batch = GaugeMetricFamily(
            "guardrail_inference_batch_size_mean",
            "Mean windows per forward pass since start (all workers).",
            labels=["bundle"],
        )
        for bundle, windows in totals["windows"].items():
            batches = totals["batches"].get(bundle, 0.0)
            batch.add_metric([bundle], windows / batches if batches else 0.0)
        yield batch


_LIVE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db$")


def forget_dead_workers(path: str | None = None) -> None:
    """Drop the per-worker gauges of workers that are gone (killed, or replaced by uvicorn),
    and have this process drop its own when it exits."""
    path = path or multiprocess_dir()
    if not path:
        return
    pids = {int(m.group(1)) for f in os.listdir(path) if (m := _LIVE_FILE.search(f))}
    for pid in pids - {os.getpid()}:
        if not _alive(pid):
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    if os.getpid() not in _CLEANED_AT_EXIT:
        _CLEANED_AT_EXIT.add(os.getpid())
        atexit.register(mark_process_dead, os.getpid(), path)


_CLEANED_AT_EXIT: set[int] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours, but alive
        return True
    return True


class InferenceSync:
    """Copies this worker's runtime pool counters into multiprocess counters: at each scrape
    it answers, and every `every_s` for the scrapes other workers answer."""

    def __init__(
        self,
        runtimes: Callable[[], Iterable[ClassifierRuntime]],
        registry: CollectorRegistry,
        every_s: float = 1.0,
    ) -> None:
        self._runtimes = runtimes
        self._counters = {
            name: Counter(f"guardrail_inference_{name}", doc, ["bundle"], registry=registry)
            for name, doc in InferenceCollector._FIELDS
        }
        # runtime -> field -> value copied so far (weak: a replaced runtime is forgotten)
        self._copied: WeakKeyDictionary[ClassifierRuntime, dict[str, int]] = WeakKeyDictionary()
        self._lock = threading.Lock()
        self._every_s = every_s
        threading.Thread(target=self._run, name="guardrail-metrics-sync", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self._every_s)
            try:
                self.sync()
            except Exception:  # a runtime being swapped out; the next round copies it
                continue

    def sync(self) -> None:
        """Add what each runtime counted since the last copy."""
        with self._lock:
            for runtime in {id(r): r for r in self._runtimes()}.values():
                stats, bundle = runtime.pool.stats, runtime.bundle.name
                copied = self._copied.setdefault(runtime, {})
                for name, counter in self._counters.items():
                    value = int(getattr(stats, name))
                    if value > copied.get(name, 0):
                        counter.labels(bundle).inc(value - copied.get(name, 0))
                    copied[name] = value


def _not_read_whole(decision: Decision) -> list[tuple[str, str]]:
    """(guard, reason) once per guard that read a text of the decision in part or not at all."""
    hits = (*decision.hits, *decision.shadow_hits)
    # a closed hit's label is its failure's reason; budget ones are also in `partial`
    closed = [(h.guard, h.label) for h in hits if h.failed_closed and h.label != PARTIAL_SCAN]
    failed = [(f.guard, f.reason) for f in decision.unchecked]
    partial = [(f.guard, f.reason or "budget") for f in decision.partial]
    return list(dict.fromkeys([*closed, *failed, *partial]))


class InferenceCollector(Collector):
    """Classifier runtime counters (`PoolStats`), read when Prometheus scrapes.

    `windows / batches` is the mean batch size of forward passes; `texts - cache_hits -
    coalesced` is the number of texts that needed their own encoder pass.
    """

    _FIELDS = (
        ("texts", "Texts asked to be scored."),
        ("cache_hits", "Texts answered from the recent-results cache."),
        ("coalesced", "Texts that joined an identical text already being scored."),
        ("windows", "Windows (model inputs) scored."),
        ("batches", "Forward passes run (windows / batches = mean batch size)."),
        ("wide", "Of the forward passes: those run alone on the wide (multi-thread) session."),
    )

    def __init__(self, runtimes: Callable[[], Iterable[ClassifierRuntime]]) -> None:
        self._runtimes = runtimes

    def describe(self) -> list[Metric]:
        """Nothing up front: the runtimes are only known at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One sample per bundle and counter."""
        families = {
            name: CounterMetricFamily(f"guardrail_inference_{name}", doc, labels=["bundle"])
            for name, doc in self._FIELDS
        }
        batch = GaugeMetricFamily(
            "guardrail_inference_batch_size_mean",
            "Mean windows per forward pass since start.",
            labels=["bundle"],
        )
        seen: set[int] = set()
        for runtime in self._runtimes():
            if id(runtime) in seen:
                continue
            seen.add(id(runtime))
            stats, bundle = runtime.pool.stats, runtime.bundle.name
            for name, family in families.items():
                family.add_metric([bundle], getattr(stats, name))
            batch.add_metric([bundle], stats.windows / stats.batches if stats.batches else 0.0)
        yield from families.values()
        yield batch
