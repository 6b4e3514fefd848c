"""Shadow mode end to end: evaluated, logged, counted and shown, never enforced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from guardrail.logging import configure
from guardrail.pipeline import Pipeline
from guardrail.policy.load import load_policy_text
from guardrail.server.app import create_app
from guardrail.testing import FakeUpstream, capture_decisions, serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.e2e.clients import openai_client
from tests.helpers.servers import FakeServer
from tests.operate.conftest import chat, metric

SHADOW_POLICY = """\
version: 1
name: shadow-trial
guards:
  banned: {kind: keywords, keywords: [kaboom]}
  strict: {kind: keywords, keywords: [zebra]}
rules:
  - {name: no-banned, guard: banned, stages: [input], action: block}
  - {name: try-strict, guard: strict, stages: [input, output], action: block, mode: shadow}
"""
HITS = "guardrail_rule_hits_total"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """A policy with one enforced and one shadow block rule."""
    return Pipeline(load_policy_text(SHADOW_POLICY))


@pytest.fixture(scope="module")
def proxy(pipeline: Pipeline, fake_server: FakeServer) -> Iterator[str]:
    """A proxy over the shadow policy."""
    app = create_app(pipeline, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        yield server.url


def test_shadow_block_lets_the_request_through(
    proxy: str, pipeline: Pipeline, fake: FakeUpstream
) -> None:
    """A shadow block rule that fires is recorded, logged, counted and shown, not enforced."""
    shadow = {"rule": "try-strict", "mode": "shadow", "action": "block"}
    before = metric(proxy, HITS, stage="input", **shadow)
    configure(level="INFO")  # another test may have left WARNING, which hides the events
    with capture_decisions(pipeline) as decisions, capture_logs() as logs:
        raw = openai_client(proxy).chat.completions.with_raw_response.create(
            model="fake-model", messages=[{"role": "user", "content": "a zebra"}]
        )
    assert raw.parse().choices[0].message.content == "echo: a zebra"
    assert raw.headers["x-guardrail-decision"] == "allow"
    assert raw.headers["x-guardrail-rules"] == ""
    assert raw.headers["x-guardrail-shadow-rules"] == "try-strict"
    assert fake.last.body["messages"][-1]["content"] == "a zebra"  # the upstream got it as is
    assert metric(proxy, HITS, stage="input", **shadow) == before + 1
    assert metric(proxy, HITS, stage="output", **shadow) >= 1  # the echo hits it again
    assert [h.rule for d in decisions for h in d.shadow_hits] == ["try-strict", "try-strict"]
    decided = [e for e in logs if e["event"] == "policy.decided" and e["stage"] == "input"]
    assert decided[-1]["shadow_rules"] == ["try-strict"] and decided[-1]["action"] == "allow"


def test_enforced_rule_still_blocks_next_to_a_shadow_rule(proxy: str, fake: FakeUpstream) -> None:
    """An enforced block beside a shadow hit blocks; both names are reported in their headers."""
    before = metric(proxy, HITS, rule="no-banned", mode="enforce", action="block")
    response = chat(proxy, "kaboom zebra")
    assert response.status_code == 400
    assert response.headers["x-guardrail-rules"] == "no-banned"
    assert response.headers["x-guardrail-shadow-rules"] == "try-strict"
    assert metric(proxy, HITS, rule="no-banned", mode="enforce", action="block") == before + 1
    assert fake.requests == []
