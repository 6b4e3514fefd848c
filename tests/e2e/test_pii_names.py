"""Names found by a model (the tiny bundle's pii token head) are redacted through the real
proxy and restored for the client: the upstream never sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory
from tests.helpers.tiny_bundle import build_tiny_bundle

NAME, PLACE = "Alice Smith", "London"


@pytest.fixture(scope="module")
def names_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A policy whose pii guard adds PERSON/LOCATION entities from the tiny pii bundle."""
    folder = tmp_path_factory.mktemp("names")
    build_tiny_bundle(folder / "tiny-pii", pii=True)
    policy = folder / "names.yaml"
    policy.write_text(
        """version: 1
name: e2e-names
options: {stream_window_chars: 32}
guards:
  pii:
    kind: pii
    entities: [EMAIL]
    model: {bundle: ./tiny-pii, entities: [PERSON, LOCATION]}
rules:
  - {name: redact-pii, guard: pii, stages: [input], action: redact, restore: true}
"""
    )
    return policy


def test_name_is_redacted_upstream_and_restored(
    proxy_url: ProxyFactory, fake: FakeUpstream, names_policy: Path
) -> None:
    """The upstream gets <PERSON_1> and <LOCATION_1>; the client's answer has the originals."""
    client = openai_client(proxy_url(names_policy))
    prompt = f"Write to {NAME} in {PLACE} and a@b.io"
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    sent = json.dumps(fake.last.body)
    assert NAME not in sent and PLACE not in sent and "a@b.io" not in sent
    assert "Write to <PERSON_1> in <LOCATION_1> and <EMAIL_1>" in sent
    assert raw.parse().choices[0].message.content == f"echo: {prompt}"
    assert raw.headers["x-guardrail-decision"] == "redact"
    assert raw.headers["x-guardrail-rules"] == "redact-pii"


def test_streamed_answer_restores_the_name(
    proxy_url: ProxyFactory, fake: FakeUpstream, names_policy: Path
) -> None:
    """A streamed answer that uses the placeholder gets the name back, chunk by chunk."""
    client = openai_client(proxy_url(names_policy))
    tail = "More words. " * 6
    fake.script(Reply(text=f"Dear <PERSON_1>, see you. {tail}", chunk_chars=3))
    stream = client.chat.completions.create(
        model="gpt-test",
        stream=True,
        messages=[{"role": "user", "content": f"Greet {NAME} please"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"Dear {NAME}, see you. {tail}"
    assert NAME not in json.dumps(fake.last.body)
