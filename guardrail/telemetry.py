"""Tracing (OpenTelemetry) and the timing wrappers behind the proxy's latency metrics.

Spans, when a tracer is configured (`GUARDRAIL_OTLP_ENDPOINT`, or the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`):

    guardrail.request            route, tenant, status, decision, request id
      guardrail.check            one per stage check: stage, action, rules, shadow rules
        guardrail.guard          one per guard run: guard, stage
      guardrail.upstream         upstream name, kind, stream (a stream's span lasts to its end)

Attributes are names and numbers only: never prompt or completion text, never a key, never
an exception message (only its type). With no tracer, nothing here imports OpenTelemetry and
the only cost is the `perf_counter` pairs of the Prometheus histograms.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from guardrail.guards.base import Guard
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline, RequestState
from guardrail.settings import Settings, get_settings
from guardrail.types import CheckContext, Decision, Finding, Stage
from guardrail.upstream.base import Upstream, UpstreamRequest
from guardrail.wire import Json

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.trace import Span, Tracer
    from prometheus_client import Histogram
    from starlette.responses import Response

    from guardrail.server.metrics import Metrics

log = get_logger("guardrail.telemetry")


def tracer_from_settings(settings: Settings | None = None) -> Tracer | None:
    """An OTLP/HTTP-exporting tracer when an endpoint is configured, else None.

    `GUARDRAIL_OTLP_ENDPOINT` is a base URL (`/v1/traces` is added); without it the exporter
    reads the standard `OTEL_EXPORTER_OTLP_*` variables itself. Needs the `otel` extra.
    """
    settings = settings or get_settings()
    standard = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not settings.otlp_endpoint and not any(os.environ.get(name) for name in standard):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("telemetry.unavailable", hint="pip install 'guardrail-proxy[otel]'")
        return None
    exporter = OTLPSpanExporter(endpoint=_traces_url(settings.otlp_endpoint))
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "guardrail")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    atexit.register(provider.shutdown)  # flush what is still queued
    log.info("telemetry.tracing", exporter="otlp-http")
    return provider.get_tracer("guardrail")


def _traces_url(base: str | None) -> str | None:
    if not base:
        return None  # the exporter reads OTEL_EXPORTER_OTLP_* itself
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


# ----------------------------------------------------------------------------- spans


def _span(tracer: Tracer, name: str, attributes: Mapping[str, Any]) -> Any:
    """A current span that records no exception text (messages may quote a prompt)."""
    return tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    )


def _failed(span: Span, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR))


def decision_attributes(decision: Decision) -> dict[str, Any]:
    """What a stage check's span says about its outcome (names and numbers only)."""
    attributes: dict[str, Any] = {
        "guardrail.action": decision.action.value,
        "guardrail.rules": list(decision.rules_fired),
        "guardrail.shadow_rules": sorted({h.rule for h in decision.shadow_hits}),
        "guardrail.unchecked": [f.guard for f in decision.unchecked],
        "guardrail.guard_ms": decision.guard_ms,
    }
    if decision.block is not None:
        attributes["guardrail.block_code"] = decision.block.code
    return attributes


class TracedPipeline(Pipeline):
    """A pipeline whose stage checks are spans."""

    def __init__(self, policy: Any, tracer: Tracer) -> None:
        super().__init__(policy)
        self.tracer = tracer

    async def check(self, stage: Stage, texts: Sequence[str], state: RequestState) -> Decision:
        """`Pipeline.check` inside a `guardrail.check` span."""
        attributes = {
            "guardrail.stage": stage.value,
            "guardrail.policy": self.policy.name,
            "guardrail.tenant": state.tenant,
            "guardrail.texts": len(texts),
        }
        with _span(self.tracer, "guardrail.check", attributes) as span:
            try:
                decision = await super().check(stage, texts, state)
            except BaseException as exc:
                _failed(span, exc)
                raise
            span.set_attributes(decision_attributes(decision))
            return decision


class TimedGuard:
    """A policy's guard, timed into `guardrail_guard_seconds` (and a span when tracing)."""

    def __init__(self, guard: Guard, histogram: Histogram, tracer: Tracer | None) -> None:
        self.name = guard.name
        self.inner = guard
        self._histogram = histogram
        self._tracer = tracer

    @property
    def default_thresholds(self) -> Mapping[str, float]:
        """The wrapped guard's thresholds."""
        return self.inner.default_thresholds

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """Scan with the wrapped guard; a timeout's cancellation is timed too."""
        started = time.perf_counter()
        try:
            if self._tracer is None:
                return await self.inner.scan(texts, ctx)
            attributes = {"guardrail.guard": self.name, "guardrail.stage": ctx.stage.value}
            with _span(self._tracer, "guardrail.guard", attributes) as span:
                try:
                    findings = await self.inner.scan(texts, ctx)
                except BaseException as exc:
                    _failed(span, exc)
                    raise
                span.set_attribute("guardrail.findings", len(findings))
                return findings
        finally:
            self._histogram.observe(time.perf_counter() - started)


def instrument_pipeline(pipeline: Pipeline, metrics: Metrics, tracer: Tracer | None) -> Pipeline:
    """A pipeline over the same policy whose guards are timed (and traced, with a tracer).

    The copy shares `observers` with the original, so that whoever observes the pipeline
    they handed to the server (e.g. `guardrail.testing.capture_decisions`) still sees every
    decision.
    """
    policy = pipeline.policy
    guards = {
        name: TimedGuard(guard, metrics.guard_seconds.labels(policy.name, name), tracer)
        for name, guard in policy.guards.items()
    }
    timed = replace(policy, guards=guards)
    copy = Pipeline(timed) if tracer is None else TracedPipeline(timed, tracer)
    copy.observers = pipeline.observers
    return copy


def unwrap_guard(guard: Any) -> Any:
    """The guard inside any `TimedGuard` wrapping."""
    while isinstance(guard, TimedGuard):
        guard = guard.inner
    return guard


# -------------------------------------------------------------------------- upstream


class InstrumentedUpstream:
    """An upstream whose calls are timed (`guardrail_upstream_seconds`) and traced."""

    def __init__(self, upstream: Upstream, metrics: Metrics, tracer: Tracer | None) -> None:
        self.inner = upstream
        self.name = upstream.name
        self._metrics = metrics
        self._tracer = tracer

    def _span(self, request: UpstreamRequest, stream: bool, kind: str = "") -> Span | None:
        if self._tracer is None:
            return None
        attributes: dict[str, Any] = {
            "guardrail.upstream": self.name,
            "guardrail.kind": kind or request.format.name,
            "guardrail.stream": stream,
        }
        return self._tracer.start_span(
            "guardrail.upstream", attributes=attributes, record_exception=False
        )

    def _observe(self, request: UpstreamRequest, stream: bool, started: float) -> None:
        seconds = time.perf_counter() - started
        self._metrics.upstream_seconds.labels(request.format.name, str(stream).lower()).observe(
            seconds
        )

    async def complete(self, request: UpstreamRequest) -> Json:
        """The wrapped upstream's answer, timed."""
        started, span = time.perf_counter(), self._span(request, stream=False)
        try:
            return await self.inner.complete(request)
        except BaseException as exc:
            if span is not None:
                _failed(span, exc)
            raise
        finally:
            self._observe(request, False, started)
            if span is not None:
                span.end()

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[Json]:
        """The wrapped upstream's chunks; timed to the first chunk, traced to the end."""
        started, span = time.perf_counter(), self._span(request, stream=True)
        chunks = self.inner.stream(request)
        timed = False
        try:
            async for chunk in chunks:
                if not timed:
                    timed = True
                    self._observe(request, True, started)
                yield chunk
        except BaseException as exc:
            if span is not None and not isinstance(exc, GeneratorExit):
                _failed(span, exc)
            raise
        finally:
            if not timed:
                self._observe(request, True, started)
            close = getattr(chunks, "aclose", None)
            if close is not None:
                with suppress(Exception):
                    await close()
            if span is not None:
                span.end()

    async def embed(self, request: UpstreamRequest) -> Json:
        """The wrapped upstream's embeddings, timed (kind label `embeddings`)."""
        started = time.perf_counter()
        span = self._span(request, stream=False, kind="embeddings")
        try:
            return await self.inner.embed(request)
        except BaseException as exc:
            if span is not None:
                _failed(span, exc)
            raise
        finally:
            seconds = time.perf_counter() - started
            self._metrics.upstream_seconds.labels("embeddings", "false").observe(seconds)
            if span is not None:
                span.end()

    async def count_tokens(self, request: UpstreamRequest) -> Json:
        """The wrapped upstream's token count (not timed: no answer is generated)."""
        return await self.inner.count_tokens(request)

    async def models(self, api_key: str | None = None) -> list[str]:
        """The wrapped upstream's models."""
        return await self.inner.models(api_key)

    async def aclose(self) -> None:
        """Close the wrapped upstream."""
        await self.inner.aclose()


# --------------------------------------------------------------------------- request


async def traced_request(
    tracer: Tracer, route: str, tenant: str, call: Callable[[], Awaitable[Response]]
) -> Response:
    """Run one proxied call inside a `guardrail.request` span (to the end of a stream)."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    attributes = {"guardrail.route": route, "guardrail.tenant": tenant}
    span = tracer.start_span(
        "guardrail.request", kind=SpanKind.SERVER, attributes=attributes, record_exception=False
    )
    try:
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            response = await call()
    except BaseException as exc:
        _failed(span, exc)
        span.end()
        raise
    span.set_attributes(
        {
            "http.response.status_code": response.status_code,
            "guardrail.decision": response.headers.get("x-guardrail-decision", ""),
            "guardrail.request_id": response.headers.get("x-request-id", ""),
        }
    )
    body = getattr(response, "body_iterator", None)
    if body is None:
        span.end()
    else:  # a stream: its output checks are children of this span, which ends with it
        response.body_iterator = _within(span, body)  # type: ignore[attr-defined]
    return response


async def _within(span: Span, body: AsyncIterator[Any]) -> AsyncIterator[Any]:
    iterator = aiter(body)
    try:
        while True:
            with _current(span):
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    return
            yield item
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            with suppress(Exception):
                await close()
        span.end()


@contextmanager
def _current(span: Span) -> Iterator[None]:
    """`span` is current only while the body makes its next item (never across a yield)."""
    from opentelemetry import trace

    with trace.use_span(span, record_exception=False, set_status_on_exception=False):
        yield
