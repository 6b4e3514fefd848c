"""A native Anthropic upstream (`--upstream-api anthropic`): both client APIs through the proxy
reach `<url>/v1/messages` in Anthropic's own format, checked, redacted and restored as usual."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.testing import FakeUpstream, serve_app
from guardrail.upstream import build_upstream, upstream_api
from guardrail.upstream.litellm import LitellmUpstream
from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import POLICIES
from tests.helpers.servers import FakeServer

EMAIL = "jane.doe@example.com"


@pytest.fixture(scope="module")
def proxy(fake_server: FakeServer) -> Iterator[str]:
    """The rules policy (PII redacted and restored) in front of the fake's Anthropic API."""
    upstream = build_upstream(fake_server.url, api="anthropic")
    assert isinstance(upstream, LitellmUpstream)
    with serve_app(create_app(Pipeline.from_file(POLICIES / "rules.yaml"), upstream)) as app:
        yield app.url


def test_openai_client_reaches_the_messages_api(proxy: str, fake: FakeUpstream) -> None:
    """An OpenAI chat call is sent to /v1/messages as Anthropic's format, with the key."""
    answer = openai_client(proxy).chat.completions.create(
        model="claude-test",
        max_tokens=50,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name three colours."},
        ],
    )
    assert answer.choices[0].message.content == "echo: Name three colours."
    assert fake.last.path == "/v1/messages"
    assert fake.last.body["model"] == "claude-test"
    assert fake.last.body["system"][0]["text"] == "Be brief."
    assert fake.last.headers["x-api-key"] == "sk-test-key"


def test_pii_is_redacted_upstream_and_restored(proxy: str, fake: FakeUpstream) -> None:
    """The Anthropic API sees the placeholder; the client gets its own email back."""
    answer = openai_client(proxy).chat.completions.create(
        model="claude-test", max_tokens=50, messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
    )
    assert EMAIL not in str(fake.last.body)
    assert "<EMAIL_1>" in str(fake.last.body)
    assert answer.choices[0].message.content == f"echo: Mail {EMAIL}"


def test_streamed_answer_through_the_messages_api(proxy: str, fake: FakeUpstream) -> None:
    """A streamed call reads Anthropic's events upstream and restores PII in the stream."""
    stream = openai_client(proxy).chat.completions.create(
        model="claude-test",
        max_tokens=50,
        stream=True,
        messages=[{"role": "user", "content": f"Write to {EMAIL} today"}],
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"echo: Write to {EMAIL} today"
    assert fake.last.body["stream"] is True
    assert EMAIL not in str(fake.last.body)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_anthropic_client_end_to_end(proxy: str, fake: FakeUpstream, stream: bool) -> None:
    """The Anthropic SDK through the proxy to a native Anthropic upstream, PII restored."""
    client = anthropic_client(proxy)
    messages = [{"role": "user", "content": f"Hello {EMAIL}"}]
    if stream:
        with client.messages.stream(
            model="claude-test",
            max_tokens=50,
            messages=messages,  # type: ignore[arg-type]
        ) as events:
            text = events.get_final_text()
    else:
        answer = client.messages.create(
            model="claude-test",
            max_tokens=50,
            messages=messages,  # type: ignore[arg-type]
        )
        text = answer.content[0].text  # type: ignore[union-attr]
    assert text == f"echo: Hello {EMAIL}"
    assert fake.last.path == "/v1/messages"
    assert fake.last.headers["x-api-key"] == "sk-ant-test"
    assert EMAIL not in str(fake.last.body)


@pytest.mark.parametrize(
    ("url", "api", "speaks"),
    [
        ("https://api.anthropic.com", "auto", "anthropic"),
        ("https://API.Anthropic.com/", "auto", "anthropic"),
        ("https://anthropic.com.evil.example", "auto", "openai"),
        ("https://evilanthropic.com", "auto", "openai"),
        ("http://127.0.0.1:8000/v1", "auto", "openai"),
        ("http://127.0.0.1:8000", "anthropic", "anthropic"),
        ("https://api.anthropic.com", "openai", "openai"),
    ],
)
def test_which_api_an_upstream_url_speaks(url: str, api: str, speaks: str) -> None:
    """Only a host under anthropic.com is taken for Anthropic unless the flag says so."""
    assert upstream_api(url, api) == speaks  # type: ignore[arg-type]


def test_count_tokens_reaches_the_anthropic_upstream(proxy: str, fake: FakeUpstream) -> None:
    """messages.count_tokens is answered by the Anthropic upstream's own count, not a 501."""
    result = anthropic_client(proxy).messages.count_tokens(
        model="claude-test", messages=[{"role": "user", "content": "Name three colours please."}]
    )
    assert result.input_tokens == 4
    assert fake.last.path == "/v1/messages/count_tokens"
