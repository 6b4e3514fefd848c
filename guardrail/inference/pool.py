"""Concurrency for one model: CPU work off the event loop, shared passes, optional batching.

Measured on 2-core machines (MiniLM int8, 1 intra-op thread): batching did not raise CPU
throughput (78 texts/s at batch 1, 75 at batch 8) but two callers on one shared 1-thread
session reached 138-147 texts/s. So by default:

- every text is tokenised and scored in a small thread pool (one worker per core) that calls
  one shared session; a long text's windows are separate jobs, so they spread over workers;
- callers asking for the same text at the same time share one job (an in-flight table keyed
  by a hash of the text), and recent results are kept in a small LRU, so several guards over
  one bundle (e.g. `injection` and `harm`) cost one encoder pass per text (an `analyze` shares
  only a job that decodes entities: see below);
- micro-batching (`inference_batching`) collects windows of concurrent callers for up to
  `inference_batch_wait_ms` into one padded forward pass: for GPUs, or where it measurably
  wins (bench/bench_classifier.py measures both).

A pass that would run alone -- no other pass in flight in this process, no work queued for
the pool's workers and no other text in flight in this pool -- may run on `wide` where the
runtime gives one (a session of the same graph with one intra-op thread per core the pool
spans, `inference_wide_alone`): one request at a time then gets both cores for its pass
instead of leaving one idle. Under concurrency every pass stays on the 1-thread session, since
threads fighting for the same cores made passes several times slower. Which of the two a lone
pass takes is measured as it runs (`lone.LoneChoice`: a wide pass is slower where another
process keeps a core busy; docs/benchmarks.md, issue #20).

The core is thread-based and loop-agnostic (`submit` returns concurrent futures), so the
async `score` and the blocking `score_sync` (CLI, benchmarks) share it.

Token (span) heads come out of the same pass: `analyze` gives, besides the scores, each token
head's entities (per-token rows stitched over the windows, then decoded; see `entities.py`).
Until the first `analyze` (or `expect_entities`, which guards that analyze call when they are
built), `score` skips the character offsets and the decoding (about 5 % of a short text's call);
from then on every text is decoded, so that a `score` and an `analyze` of the same text still
share one pass.

Every window of a text is scored unless a caller asks for a sampled read (`sample=True`, a
guard's `long_text: sample`); `Analysis.unread` says how much of the text a result did not
read. `score_until` answers by a deadline: texts not finished by then get the windows scored
so far, with `unread` > 0 and `cut` set, so a guard can report a partial scan instead of
timing out blind (the rest of the text keeps being scored, and its result is cached).
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardrail.inference.entities import Entity, Tagged, TokenScheme
from guardrail.inference.fair import FairExecutor
from guardrail.inference.focus import Focus
from guardrail.inference.lone import PASSES, LoneChoice
from guardrail.inference.onnx import Output, Probs, Vectors
from guardrail.inference.windows import Row, Sampled, Window
from guardrail.logging import get_logger
from guardrail.settings import Settings
from guardrail.types import WORK_OWNER

Scores = dict[str, dict[str, float]]  # head -> label -> probability
Encode = Callable[[str], Sequence[Row | Window]]  # text -> the windows to score
Sample = Callable[[str, bool], Sampled]  # (text, with offsets) -> a sample of its windows
_SAMPLED = b"sampled"  # appended to a text's key: a sampled result never serves a whole read
# a pass over this many tokens leaves memory worth handing back (`InferencePool(release=)`):
# a 512-token window of guard-multilingual's 12 layers grows its arena by ~55 MB
RELEASE_TOKENS = 256

log = get_logger("guardrail.inference")
# rows -> head -> [rows, labels], or an `Output` that also has token heads' per-token probs
Forward = Callable[[Sequence[Row]], Mapping[str, Probs] | Output]


@dataclass(frozen=True)
class Analysis:
    """Everything one pass says about a text: scores per head, entities per token head."""

    scores: Scores
    entities: dict[str, tuple[Entity, ...]]  # token head -> entities in text order
    unread: float = 0.0  # share of the text no scored window covered (0.0 = read whole)
    cut: bool = False  # True when a deadline, not sampling, left text unread
    # the encoder's unit-length pooled embedding of each window read (read-only), when the
    # bundle declares one: guards that compare texts (`topics`) use it without another pass
    embeddings: Vectors | None = None

    def copy(self) -> Analysis:
        """A copy whose dicts a caller may change (entities, embeddings are immutable)."""
        return Analysis(
            _copy(self.scores), dict(self.entities), self.unread, self.cut, self.embeddings
        )


@dataclass(frozen=True)
class PoolOptions:
    """How the pool runs work; `from_settings` reads the `inference_*` settings."""

    workers: int = 1
    batching: bool = False
    max_batch: int = 16
    batch_wait_s: float = 0.002
    window_batch: int = 1
    cache_size: int = 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        """Options from the environment-backed settings."""
        return cls(
            workers=settings.worker_count(),
            batching=settings.inference_batching,
            max_batch=settings.inference_max_batch,
            batch_wait_s=settings.inference_batch_wait_ms / 1000.0,
            window_batch=settings.inference_window_batch,
            cache_size=settings.inference_cache_size,
        )


@dataclass
class PoolStats:
    """Counters since the pool was made (read them for tests and metrics)."""

    texts: int = 0  # texts asked for
    cache_hits: int = 0
    coalesced: int = 0  # asked for while the same text was already in flight
    encoded: int = 0  # texts tokenised (= jobs started)
    windows: int = 0  # windows scored
    batches: int = 0  # forward passes started by the pool
    focused: int = 0  # of `windows`: sub-windows of suspicious windows (inference/focus.py)
    wide: int = 0  # of `batches`: passes run alone on the wide session
    releases: int = 0  # memory handed back after long passes (`release`)


def text_key(text: str) -> bytes:
    """The in-flight / cache key of a text (a 128-bit hash, so texts are not kept as keys)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class _Job:
    """One text in flight: the per-head maximum and the entities of the windows so far."""

    key: bytes
    future: Future[Analysis]
    decodes: bool  # token heads' entities are decoded (else `Analysis.entities` stays empty)
    sample: bool = False  # a sampled read (`Sampled`), not every window
    owner: bytes = b""  # whose turn its work takes (the first caller's request, else the text)
    remaining: int = 0
    total: int = 0  # windows to score (0 until the text is tokenised)
    subs: int = 0  # of `total`: sub-windows of suspicious windows (they read no new text)
    subs_left: int = 0  # of `remaining`: those sub-windows not merged yet
    unread: float = 0.0  # share of the text the sample leaves out
    best: dict[str, Probs] = field(default_factory=dict)
    found: dict[str, list[Tagged]] = field(default_factory=dict)
    vectors: list[Vectors] = field(default_factory=list)  # embeddings of the windows so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(
        self,
        probs: Mapping[str, Probs],
        found: Mapping[str, list[Tagged]],
        rows: int,
        embeddings: Vectors | None = None,
        focused: bool = False,
    ) -> bool:
        """Fold in the results of `rows` windows (`focused`: sub-windows); True when every
        window is in."""
        with self.lock:
            if focused:
                self.subs_left -= rows
            if embeddings is not None:
                self.vectors.append(embeddings)
            for head, values in probs.items():
                top = values.max(axis=0)
                self.best[head] = np.maximum(self.best[head], top) if head in self.best else top
            for head, tagged in found.items():
                self.found.setdefault(head, []).extend(tagged)
            self.remaining -= rows
            return self.remaining == 0

    def progress(self, labels: Mapping[str, Sequence[str]]) -> Analysis:
        """The windows scored so far, as a cut-short result (no entities)."""
        with self.lock:
            # the text's windows read, and no more than the windows with their sub-windows:
            # sub-windows read no new text, and while any is pending the text is not done
            windows, left = self.total - self.subs, self.remaining - self.subs_left
            done = (
                min((windows - left) / windows, (self.total - self.remaining) / self.total)
                if windows
                else 0.0
            )
            scores = _scores(self.best, labels)
            vectors = _stack(self.vectors)
        return Analysis(scores, {}, 1.0 - (1.0 - self.unread) * done, True, vectors)


class InferencePool:
    """Scores texts with `encode` + `forward` on a thread pool; shares in-flight work."""

    def __init__(
        self,
        encode: Encode,
        forward: Forward,
        labels: Mapping[str, Sequence[str]],
        options: PoolOptions | None = None,
        executor: Executor | None = None,
        schemes: Mapping[str, TokenScheme] | None = None,
        locate: Encode | None = None,
        sample: Sample | None = None,
        focus: Focus | None = None,
        wide: Forward | None = None,
        skim: tuple[Forward, Forward | None] | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        """`encode` gives the rows to score; `locate` (default: `encode`) the same windows with
        character offsets, used when token heads' entities are decoded (see `schemes`);
        `sample` a sampled read's windows (without it, a sampled read reads every window);
        `focus` which windows are scored again as sub-windows (inference/focus.py); `wide`
        the forward for a pass that runs alone (module docstring); `skim` the (narrow, wide)
        forwards for a pass whose windows' entities nobody decodes: they may skip the token
        heads (a graph with the `token_heads` switch). `release` hands back the memory long
        passes left behind (`OnnxModel.release_memory`): called on a worker when the pool
        falls idle after a pass over `RELEASE_TOKENS` or more."""
        self.options = options or PoolOptions()
        self.stats = PoolStats()
        self._encode, self._locate, self._forward = encode, locate or encode, forward
        self._wide = wide
        self._skim = skim
        self._release = release
        self._grown = False  # a long pass ran since the last release
        self._lone = LoneChoice()  # which session a lone pass runs on (lone.py)
        self._sample, self._focus = sample, focus
        self._labels = {head: list(names) for head, names in labels.items()}
        self._schemes = dict(schemes or {})  # token heads whose entities are decoded
        # set by the first `analyze` or by `expect_entities`: from then on every text decodes
        self._decoding = False
        self._own_executor = executor is None
        # takes turns between texts: one long text's windows cannot hold every worker
        self.executor: Executor = executor or FairExecutor(self.options.workers, "guardrail-infer")
        self._lock = threading.Lock()
        self._closed = False
        self._inflight: dict[bytes, _Job] = {}
        # every unsettled result, also of jobs an `analyze` displaced from `_inflight`
        self._unsettled: set[Future[Analysis]] = set()
        # text key -> (result, whether its token heads were decoded)
        self._cache: OrderedDict[bytes, tuple[Analysis, bool]] = OrderedDict()
        self._batcher = (
            _Batcher(self._run_batch, self.options, self.executor)
            if self.options.batching
            else None
        )

    # -- public API -------------------------------------------------------------------------

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        """Every head's label probabilities for each text, in order (awaits off-loop work);
        token heads only where their entities are decoded, when the graph can skip them
        (`skim`)."""
        futures = self.submit(texts)
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        return [_copy(result.scores) for result in results]

    async def score_until(
        self, texts: Sequence[str], deadline: float | None = None, sample: bool = False
    ) -> list[Analysis]:
        """Each text's scores by `deadline` (`time.monotonic()`; None: wait for all): a text
        not finished by then gives the windows scored so far, with `unread` and `cut` set."""
        futures = self.submit(texts, sample=sample)
        waiting = [asyncio.wrap_future(f) for f in futures if not f.done()]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=timeout)
            for late in pending:  # the shared job goes on (and is cached); we stop waiting
                late.cancel()
        return [
            f.result().copy() if f.done() else self._progress(text, sample)
            for text, f in zip(texts, futures, strict=True)
        ]

    def score_sync(self, texts: Sequence[str]) -> list[Scores]:
        """Blocking `score` for code without an event loop (CLI, benchmarks)."""
        return [_copy(f.result().scores) for f in self.submit(texts)]

    async def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Scores and token heads' entities for each text, in order (one pass per window)."""
        futures = self.submit(texts, entities=True)
        results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        return [r.copy() for r in results]

    def analyze_sync(self, texts: Sequence[str]) -> list[Analysis]:
        """Blocking `analyze`."""
        return [f.result().copy() for f in self.submit(texts, entities=True)]

    def submit(
        self, texts: Sequence[str], entities: bool = False, sample: bool = False
    ) -> list[Future[Analysis]]:
        """One future per text; a text already cached or in flight reuses that result (with
        `entities`, only a result whose token heads were decoded). `sample`: a sampled read,
        where the pool has a sampler."""
        futures: list[Future[Analysis]] = []
        new: list[tuple[_Job, str]] = []
        sample = sample and self._sample is not None
        with self._lock:
            entities = entities and bool(self._schemes)  # nothing to decode without token heads
            self._decoding = decodes = self._decoding or entities
            self.stats.texts += len(texts)
            for text in texts:
                key = self._key(text, sample)
                found = self._existing(key, needs_entities=entities)
                futures.append(found or self._register(key, text, decodes, new, sample))
        for job, text in new:
            try:
                if self._closed:
                    raise RuntimeError("the inference pool is closed")
                self._submit(job.owner, self._start, job, text)
            except RuntimeError as exc:  # closed, or the executor was shut down
                self._fail(job.key, job.future, exc)
        return futures

    def expect_entities(self) -> None:
        """From now on decode token heads' entities for every text, `score`d ones too, so that
        an `analyze` of a text being scored shares its pass."""
        with self._lock:
            self._decoding = bool(self._schemes)

    @property
    def closed(self) -> bool:
        """True once `close` was called: the pool takes no more work."""
        return self._closed

    def close(self) -> None:
        """Stop the batcher and (if the pool made it) the thread pool; fail what is pending."""
        self._closed = True
        if self._batcher is not None:
            self._batcher.stop()
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pending, self._unsettled, self._inflight = self._unsettled, set(), {}
        for future in pending:
            _settle(future, exc=RuntimeError("the inference pool was closed"))

    # -- bookkeeping (callers hold self._lock) ----------------------------------------------

    @staticmethod
    def _key(text: str, sample: bool) -> bytes:
        return text_key(text) + _SAMPLED if sample else text_key(text)

    def _progress(self, text: str, sample: bool) -> Analysis:
        """What the text's job in flight has scored so far (nothing, if it is not found)."""
        with self._lock:
            job = self._inflight.get(self._key(text, sample and self._sample is not None))
        if job is None:  # finished (or failed) since: a new `submit` would see the cache
            return Analysis({}, {}, unread=1.0, cut=True)
        return job.progress(self._labels)

    def _existing(self, key: bytes, needs_entities: bool) -> Future[Analysis] | None:
        cached = self._cache.get(key)
        if cached is not None and (cached[1] or not needs_entities):
            self._cache.move_to_end(key)
            self.stats.cache_hits += 1
            return _done(cached[0])
        inflight = self._inflight.get(key)
        if inflight is None or (needs_entities and not inflight.decodes):
            return None
        self.stats.coalesced += 1
        return inflight.future

    def _register(
        self,
        key: bytes,
        text: str,
        decodes: bool,
        new: list[tuple[_Job, str]],
        sample: bool = False,
    ) -> Future[Analysis]:
        future: Future[Analysis] = Future()
        # RUNNING futures cannot be cancelled: one caller giving up (a guard timeout cancels
        # its asyncio wrapper, which cancels the source) must not cancel the shared result.
        future.set_running_or_notify_cancel()
        owner = WORK_OWNER.get()
        job = _Job(key, future, decodes, sample, owner=owner.encode() if owner else key)
        self._inflight[key] = job  # replaces a job without entities, which still finishes
        self._unsettled.add(future)
        new.append((job, text))
        return future

    # -- work (runs on the pool's threads) --------------------------------------------------

    def _submit(self, owner: bytes, fn: Callable[..., None], *args: Any) -> None:
        """Queue work for `owner` (a request, or a text outside one) in its turn, on a
        `FairExecutor`."""
        if isinstance(self.executor, FairExecutor):
            self.executor.submit_as(owner, fn, *args)
        else:
            self.executor.submit(fn, *args)

    def _start(self, job: _Job, text: str) -> None:
        try:
            windows = self._windows(job, text)
            with job.lock:
                job.remaining = job.total = len(windows)
            with self._lock:
                self.stats.encoded += 1
                self.stats.windows += len(windows)
            self._queue(windows, job, run_first=True)
        except BaseException as exc:
            self._fail(job.key, job.future, exc)

    def _queue(self, windows: Sequence[Window], job: _Job, run_first: bool = False) -> None:
        """Hand `windows` to the batcher or the workers in chunks (`run_first`: the first
        chunk runs on this thread)."""
        if self._batcher is not None:
            self._batcher.put(windows, job)
            return
        size = self.options.window_batch
        chunks = [windows[i : i + size] for i in range(0, len(windows), size)]
        for chunk in chunks[1:] if run_first else chunks:  # the rest go to other workers
            self._submit(job.owner, self._run_chunk, chunk, job)
        if run_first:
            self._run_chunk(chunks[0], job)

    def _windows(self, job: _Job, text: str) -> list[Window]:
        """The windows a job scores: every one, or the sampler's (then `job.unread` is set)."""
        if job.sample and self._sample is not None:
            sampled = self._sample(text, job.decodes)
            job.unread = sampled.unread
            return sampled.windows
        encode = self._locate if job.decodes else self._encode
        return [w if isinstance(w, Window) else Window(w) for w in encode(text)]

    def _run_chunk(self, windows: Sequence[Window], job: _Job) -> None:
        try:
            # sub-windows of suspicious windows add only focus labels: no entities from them
            decodes = job.decodes and not windows[0].focused
            output = self._pass([w.row for w in windows], decodes)
            self._refocus(windows, output, job)
            found = self._decode(windows, output) if decodes else {}
            if windows[0].focused and self._focus is not None:  # a chunk is all one kind
                done = job.merge(self._focus.restrict(output.probs), {}, len(windows), None, True)
            else:
                probs = self._reported(output.probs, job)
                done = job.merge(probs, found, len(windows), output.embeddings)
            if done:
                self._finish(job)
        except BaseException as exc:
            self._fail(job.key, job.future, exc)

    def _run_batch(self, items: Sequence[tuple[Window, _Job]]) -> None:
        try:
            decodes = [job.decodes and not window.focused for window, job in items]
            output = self._pass([w.row for w, _ in items], any(decodes))
            merged = [
                (job, window, part, self._decode([window], part) if decodes[i] else {})
                for i, ((window, job), part) in enumerate(
                    zip(items, _rows(output, len(items)), strict=True)
                )
            ]
            for job, window, part, _ in merged:
                self._refocus([window], part, job)
        except BaseException as exc:
            for _, job in items:
                self._fail(job.key, job.future, exc)
            return
        for job, window, part, found in merged:
            if window.focused and self._focus is not None:
                done = job.merge(self._focus.restrict(part.probs), {}, 1, None, True)
            else:
                done = job.merge(self._reported(part.probs, job), found, 1, part.embeddings)
            if done:
                self._finish(job)

    def _reported(self, probs: Mapping[str, Probs], job: _Job) -> Mapping[str, Probs]:
        """The heads a job reports: with skim forwards, a job that decodes no entities has no
        token-head scores, even from a pass it shared with one that does (a batch), so its
        result never depends on what it was batched with."""
        if job.decodes or self._skim is None:
            return probs
        return {head: p for head, p in probs.items() if head not in self._schemes}

    def _refocus(self, windows: Sequence[Window], output: Output, job: _Job) -> None:
        """Queue the sub-windows of the suspicious ones among `windows` (before their own
        results are merged, so the job cannot finish without them)."""
        if self._focus is None:
            return
        focus = self._focus
        subs = [s for i, w in enumerate(windows) for s in focus.windows(w, output.row(i).probs)]
        if not subs:
            return
        with job.lock:
            job.remaining += len(subs)
            job.total += len(subs)
            job.subs += len(subs)
            job.subs_left += len(subs)
        with self._lock:
            self.stats.windows += len(subs)
            self.stats.focused += len(subs)
        self._queue(subs, job)

    def _pass(self, rows: Sequence[Row], decodes: bool) -> Output:
        """One forward pass over `rows` (`decodes`: some row's entities are decoded)."""
        others, ticket = PASSES.enter()
        try:
            wide = self._wide if others == 0 and not self._backlog() else None
            lone, tokens = wide is not None, sum(len(row) for row in rows)
            if wide is None or not self._lone.wide(tokens):
                wide = None
            if self._skim is not None and not decodes:  # the same pass without token heads
                wide = self._skim[1] if wide is not None else None
                forward = wide or self._skim[0]
            else:
                forward = wide or self._forward
            started = time.perf_counter()
            result = forward(rows)
            if tokens >= RELEASE_TOKENS:  # `_release_if_idle` hands the memory back
                self._grown = True
            if lone and PASSES.started == ticket:  # no pass began meanwhile: a clean timing
                self._lone.record(wide is not None, time.perf_counter() - started, tokens)
        finally:
            PASSES.leave()
        with self._lock:
            self.stats.batches += 1
            self.stats.wide += wide is not None
        return result if isinstance(result, Output) else Output(dict(result), {})

    def _backlog(self) -> bool:
        """True when work waits for the pool's workers (a free one starts it right away, so
        this pass would not run alone for long), or another text is in flight here (its pass
        is about to start: it is being tokenised, or its first pass just ended)."""
        if isinstance(self.executor, FairExecutor) and self.executor.queued > 0:
            return True
        with self._lock:
            return len(self._inflight) > 1

    def _decode(self, windows: Sequence[Window], output: Output) -> dict[str, list[Tagged]]:
        """Each token head's per-token probability rows in these windows (those with offsets)."""
        return {
            head: [
                scheme.tag(probs, window)
                for window, probs in zip(windows, output.tokens[head], strict=True)
                if window.offsets
            ]
            for head, scheme in self._schemes.items()
            if head in output.tokens
        }

    def _finish(self, job: _Job) -> None:
        if job.future.done():  # another window of this text failed first
            return
        scores = _scores(job.best, self._labels)
        entities = {
            head: scheme.entities(job.found.get(head, ()))
            for head, scheme in self._schemes.items()
            if job.decodes
        }
        result = Analysis(scores, entities, job.unread, embeddings=_stack(job.vectors))
        with self._lock:
            if self._inflight.get(job.key) is job:
                del self._inflight[job.key]
            self._unsettled.discard(job.future)
            cached = self._cache.get(job.key)
            if self.options.cache_size and (cached is None or job.decodes or not cached[1]):
                self._cache[job.key] = (result, job.decodes)  # never drops decoded entities
                while len(self._cache) > self.options.cache_size:
                    self._cache.popitem(last=False)
        _settle(job.future, result=result)
        self._release_if_idle()

    def _release_if_idle(self) -> None:
        """Hand back the memory of long passes once no text is in flight here. A pass that
        starts meanwhile is safe (ONNX Runtime shrinks under the arena's own lock and frees
        only unused regions): it just keeps what it needs. The release counts as a pass
        (`PASSES`), so a pass starting meanwhile is not taken for a lone one."""
        with self._lock:
            if not self._grown or self._inflight or self._release is None:
                return
            self._grown = False
            self.stats.releases += 1
        PASSES.enter()
        try:
            self._release()
        except Exception:  # best effort: the memory stays, scoring goes on
            log.warning("inference.release_failed", exc_info=True)
        finally:
            PASSES.leave()

    def _fail(self, key: bytes, future: Future[Analysis], exc: BaseException) -> None:
        with self._lock:
            job = self._inflight.get(key)
            if job is not None and job.future is future:
                del self._inflight[key]
            self._unsettled.discard(future)
        _settle(future, exc=exc)


class _Batcher:
    """Collects windows from concurrent callers into padded forward passes (a daemon thread)."""

    def __init__(
        self,
        run: Callable[[Sequence[tuple[Window, _Job]]], None],
        options: PoolOptions,
        executor: Executor,
    ) -> None:
        self._run, self._executor = run, executor
        self._max, self._wait = options.max_batch, options.batch_wait_s
        self._queue: queue.SimpleQueue[tuple[Window, _Job] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def put(self, windows: Sequence[Window], job: _Job) -> None:
        """Queue a text's windows for the next batch."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="guardrail-batcher", daemon=True
                )
                self._thread.start()
        for window in windows:
            self._queue.put((window, job))

    def stop(self) -> None:
        """Let the thread finish the batch it holds and exit."""
        self._queue.put(None)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._collect(first)
            self._executor.submit(self._run, batch)
            if stopping:
                return

    def _collect(self, first: tuple[Window, _Job]) -> tuple[list[tuple[Window, _Job]], bool]:
        batch = [first]
        deadline = time.monotonic() + self._wait
        while len(batch) < self._max:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False


def _rows(output: Output, count: int) -> list[Output]:
    """One `Output` per row of a pass."""
    return [output.row(i) for i in range(count)]


def _settle(
    future: Future[Analysis], result: Analysis | None = None, exc: BaseException | None = None
) -> None:
    """Set a result or an exception unless the future is already settled (first one wins)."""
    try:
        if exc is not None:
            future.set_exception(exc)
        elif result is not None:
            future.set_result(result)
    except InvalidStateError:
        pass


def _done(scores: Analysis) -> Future[Analysis]:
    future: Future[Analysis] = Future()
    future.set_running_or_notify_cancel()
    future.set_result(scores)
    return future


def _scores(best: Mapping[str, Probs], labels: Mapping[str, Sequence[str]]) -> Scores:
    """head -> label -> probability, from the per-head maximum over windows."""
    return {
        head: {label: float(p) for label, p in zip(labels[head], values, strict=True)}
        for head, values in best.items()
    }


def _stack(vectors: Sequence[Vectors]) -> Vectors | None:
    """One read-only [windows, dim] array (None when the bundle gives no embedding)."""
    if not vectors:
        return None
    stacked: Vectors = np.concatenate(vectors, axis=0)
    stacked.flags.writeable = False
    return stacked


def _copy(scores: Scores) -> Scores:
    return {head: dict(labels) for head, labels in scores.items()}
