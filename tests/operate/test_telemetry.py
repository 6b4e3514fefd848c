"""Prometheus metrics and OpenTelemetry spans of a running proxy (in-memory span exporter)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail.pipeline import Pipeline
from guardrail.policy.load import load_policy_text
from guardrail.server.app import create_app
from guardrail.settings import Settings
from guardrail.telemetry import tracer_from_settings
from guardrail.testing import FakeUpstream, serve_app, wait_until
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.e2e.clients import openai_client
from tests.helpers.servers import FakeServer
from tests.operate.conftest import metric, write

POLICY = """\
version: 1
name: traced
guards:
  pii: {kind: pii, entities: [EMAIL]}
  banned: {kind: keywords, keywords: [kaboom]}
rules:
  - {name: mask-pii, guard: pii, stages: [input], action: redact, restore: true}
  - {name: no-banned, guard: banned, stages: [input, output], action: block}
"""
SECRET_TEXT = "bo@example.com"


@dataclass
class Traced:
    """A running proxy and the spans it exported."""

    url: str
    spans: InMemorySpanExporter


@pytest.fixture(scope="module")
def traced(fake_server: FakeServer) -> Iterator[Traced]:
    """A proxy with a tracer that exports to memory (no global tracer provider is set)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pipeline = Pipeline(load_policy_text(POLICY))
    upstream = OpenAIHttpUpstream(fake_server.url + "/v1")
    app = create_app(pipeline, upstream, tracer=provider.get_tracer("test"))
    with serve_app(app) as server:
        yield Traced(server.url, exporter)
    provider.shutdown()


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict."""
    return dict(span.attributes or {})


def parent_id(span: ReadableSpan) -> int | None:
    """The span id of a span's parent (None for a root span)."""
    return span.parent.span_id if span.parent is not None else None


def trace_of(request_id: str, exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    """The finished spans of the trace whose request span has this request id, by name."""
    spans = exporter.get_finished_spans()
    (root,) = [s for s in spans if attrs(s).get("guardrail.request_id") == request_id]
    trace_id = root.get_span_context().trace_id  # type: ignore[union-attr]
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        if span.get_span_context().trace_id == trace_id:  # type: ignore[union-attr]
            by_name.setdefault(span.name, []).append(span)
    return by_name


def text_free(by_name: dict[str, list[ReadableSpan]]) -> bool:
    """No span attribute carries the prompt's text."""
    values = (v for spans in by_name.values() for s in spans for v in attrs(s).values())
    return not any(SECRET_TEXT in str(v) for v in values)


def test_spans_request_checks_guards_upstream(traced: Traced, fake: FakeUpstream) -> None:
    """One request is one trace: request -> a check per stage -> a span per guard; upstream."""
    raw = openai_client(traced.url).chat.completions.with_raw_response.create(
        model="fake-model", messages=[{"role": "user", "content": f"mail {SECRET_TEXT}"}]
    )
    spans = trace_of(raw.headers["x-request-id"], traced.spans)
    (request,) = spans["guardrail.request"]
    root_id = request.get_span_context().span_id  # type: ignore[union-attr]
    assert parent_id(request) is None
    assert attrs(request)["guardrail.decision"] == "redact"
    checks = {attrs(s)["guardrail.stage"]: s for s in spans["guardrail.check"]}
    assert set(checks) == {"input", "output"}
    assert attrs(checks["input"])["guardrail.rules"] == ("mask-pii",)
    assert attrs(checks["input"])["guardrail.action"] == "redact"
    assert {parent_id(c) for c in checks.values()} == {root_id}
    assert {attrs(s)["guardrail.guard"] for s in spans["guardrail.guard"]} == {"pii", "banned"}
    (upstream,) = spans["guardrail.upstream"]
    assert parent_id(upstream) == root_id
    assert text_free(spans)


def test_streamed_output_checks_join_the_request_trace(traced: Traced, fake: FakeUpstream) -> None:
    """A stream's hold-back checks run after the headers, yet are children of its request span."""
    stream = openai_client(traced.url).chat.completions.with_raw_response.create(
        model="fake-model",
        stream=True,
        messages=[{"role": "user", "content": f"say {SECRET_TEXT} back"}],
    )
    request_id = stream.headers["x-request-id"]
    assert "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)

    def finished() -> bool:  # the request span ends with the stream, just after the last byte
        spans = traced.spans.get_finished_spans()
        return any(attrs(s).get("guardrail.request_id") == request_id for s in spans)

    assert wait_until(finished, timeout_s=10)
    spans = trace_of(request_id, traced.spans)
    stages = [attrs(s)["guardrail.stage"] for s in spans["guardrail.check"]]
    assert "input" in stages and "output" in stages
    (upstream,) = spans["guardrail.upstream"]
    assert attrs(upstream)["guardrail.stream"] is True
    assert text_free(spans)


def test_latency_histograms_per_guard_and_upstream(traced: Traced, fake: FakeUpstream) -> None:
    """Each guard and the upstream have their own latency histogram."""
    openai_client(traced.url).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hello"}]
    )
    for guard in ("pii", "banned"):
        count = metric(traced.url, "guardrail_guard_seconds_count", policy="traced", guard=guard)
        assert count >= 1
    assert metric(traced.url, "guardrail_upstream_seconds_count", kind="chat", stream="false") >= 1
    decisions = metric(
        traced.url, "guardrail_decisions_total", policy="traced", stage="input", action="allow"
    )
    assert decisions >= 1


def test_inference_counters_of_classifier_runtimes(tmp_path: Path, fake_server: FakeServer) -> None:
    """A classifier policy exposes its runtime's texts, windows and batch size per bundle."""
    from tests.helpers.tiny_bundle import build_tiny_bundle

    build_tiny_bundle(tmp_path / "tiny")
    policy = write(
        tmp_path / "policy.yaml",
        "version: 1\nguards:\n  inj: {kind: classifier, bundle: ./tiny, head: injection}\n"
        "rules:\n  - {name: no-injection, guard: inj, stages: [input], action: warn}\n",
    )
    app = create_app(Pipeline.from_file(policy), OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        openai_client(server.url).chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "please help me"}]
        )
        assert metric(server.url, "guardrail_inference_texts_total", bundle="tiny") >= 1
        assert metric(server.url, "guardrail_inference_batches_total", bundle="tiny") >= 1
        assert metric(server.url, "guardrail_inference_batch_size_mean", bundle="tiny") >= 1


def test_tracer_only_with_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTLP endpoint: no tracer. GUARDRAIL_OTLP_ENDPOINT: an OTLP-exporting tracer."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracer_from_settings(Settings()) is None
    tracer = tracer_from_settings(Settings(otlp_endpoint="http://127.0.0.1:4318"))
    assert tracer is not None and hasattr(tracer, "start_span")


def test_tracing_off_never_imports_opentelemetry(tmp_path: Path) -> None:
    """Without an endpoint a served request costs no OpenTelemetry import at all."""
    script = (
        "import asyncio, sys, httpx\n"
        "from guardrail.server.app import create_app\n"
        "from guardrail.pipeline import Pipeline\n"
        "from guardrail.policy.load import load_policy_text\n"
        f"app = create_app(Pipeline(load_policy_text({POLICY!r})))\n"
        "async def go():\n"
        "    t = httpx.ASGITransport(app=app)\n"
        "    async with httpx.AsyncClient(transport=t, base_url='http://p') as c:\n"
        "        body = {'model': 'local', 'messages': [{'role': 'user', 'content': 'hi'}]}\n"
        "        r = await c.post('/v1/chat/completions', json=body)\n"
        "        assert r.status_code == 200, r.text\n"
        "asyncio.run(go())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OTEL_") and k != "GUARDRAIL_OTLP_ENDPOINT"
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
