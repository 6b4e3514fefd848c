"""Prometheus metrics of the proxy; every name starts with `guardrail_`.

Each app has its own registry, so that several apps (tests, embedded use) can live in one
process without clashing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from guardrail.types import Decision

CONTENT_TYPE = CONTENT_TYPE_LATEST
_MS_BUCKETS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class Metrics:
    """The proxy's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "guardrail_requests",
            "Proxied requests by route and outcome.",
            ["route", "outcome"],
            registry=r,
        )
        self.decisions = Counter(
            "guardrail_decisions",
            "Stage decisions by stage and action.",
            ["stage", "action"],
            registry=r,
        )
        self.rules = Counter(
            "guardrail_rule_hits",
            "Enforced rule hits by rule and stage.",
            ["rule", "stage"],
            registry=r,
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
        self.in_flight = Gauge(
            "guardrail_requests_in_flight", "Requests being handled now.", registry=r
        )
        self.policy_loaded = Gauge(
            "guardrail_policy_loaded",
            "1 when the policy (and its bundles) is loaded.",
            registry=r,
        )

    def record(self, decision: Decision) -> None:
        """Count one stage decision."""
        stage = decision.stage.value
        self.decisions.labels(stage, decision.action.value).inc()
        self.guard_ms.labels(stage).observe(decision.guard_ms)
        for rule in decision.rules_fired:
            self.rules.labels(rule, stage).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
