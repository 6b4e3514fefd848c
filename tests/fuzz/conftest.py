"""Fuzz fixtures: real proxies on 127.0.0.1 -- the shipped default policy (classifiers
included) over the local upstream, and the rules policy over HTTP to a real fake upstream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import FakeUpstream, serve_app
from guardrail.upstream.local import LocalUpstream
from guardrail.upstream.openai_http import OpenAIHttpUpstream

ROOT = Path(__file__).parents[2]
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
RULES_POLICY = ROOT / "tests" / "e2e" / "policies" / "rules.yaml"
CHUNK_CHARS = 2048  # stream pieces of echoed answers (100k-character answers stay quick)


@dataclass
class Servers:
    """Base URLs of the proxies under test."""

    default_local: str  # policies/default.yaml -> the built-in local upstream
    rules_http: str  # the rules policy -> OpenAIHttpUpstream -> FakeUpstream
    fake: FakeUpstream


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The two proxies (and the fake upstream), for the whole session."""
    fake = FakeUpstream(echo_chunk_chars=CHUNK_CHARS)
    with serve_app(fake.app) as upstream:
        default_app = create_app(Pipeline.from_file(DEFAULT_POLICY), LocalUpstream())
        http = OpenAIHttpUpstream(upstream.url + "/v1", timeout_s=10.0, retries=0)
        rules_app = create_app(Pipeline.from_file(RULES_POLICY), http)
        with serve_app(default_app) as default, serve_app(rules_app) as rules:
            yield Servers(default.url, rules.url, fake)
