"""The canary guard's per-request token through the real proxy (issue #23; policy:
tests/e2e/policies/canary_inject.yaml)."""

from __future__ import annotations

import re

from guardrail.testing import FakeUpstream
from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import ProxyFactory

TOKEN = re.compile(r"gr-[0-9a-f]{20}")


def test_every_request_reaches_the_upstream_with_its_own_canary(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """Two requests: each upstream body starts with a system message holding a different
    token, the app's messages follow unchanged, and the clean answers reach the client."""
    client = openai_client(proxy_url("canary_inject"))
    messages = [
        {"role": "system", "content": "You are the support bot of Acme."},
        {"role": "user", "content": "Where is my parcel?"},
    ]
    for _ in range(2):
        answer = client.chat.completions.create(model="gpt-test", messages=messages)  # type: ignore[arg-type]
        assert answer.choices[0].message.content == "echo: Where is my parcel?"
    tokens = []
    for request in fake.requests:
        sent = request.body["messages"]
        assert sent[0]["role"] == "system" and sent[1:] == messages
        tokens += TOKEN.findall(sent[0]["content"])
    assert len(tokens) == 2 and tokens[0] != tokens[1]


def test_an_anthropic_request_gets_the_canary_as_a_system_message(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """Through the Anthropic Messages route the canary is added after the translation to the
    upstream's format: a system message before the app's `system`, not a user turn."""
    client = anthropic_client(proxy_url("canary_inject"))
    answer = client.messages.create(
        model="claude-test",
        max_tokens=50,
        system="You are the support bot of Acme.",
        messages=[{"role": "user", "content": "Where is my parcel?"}],
    )
    assert answer.content[0].text == "echo: Where is my parcel?"  # type: ignore[union-attr]
    sent = fake.requests[0].body["messages"]
    assert [m["role"] for m in sent] == ["system", "system", "user"]
    assert TOKEN.search(sent[0]["content"]) and sent[1]["content"].startswith("You are")
