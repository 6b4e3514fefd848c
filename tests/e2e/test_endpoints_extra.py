"""Endpoints a user reaches with only `base_url` changed, beyond chat: unknown paths and
wrong methods answer JSON in the API's error shape; `/v1/models` asks the upstream with the
caller's (or the route's) key and reports its refusals as errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.server.auth import hash_key
from guardrail.server.limits import Limits
from guardrail.server.reload import Reloader
from guardrail.testing import FakeUpstream, Reply, serve_app
from guardrail.upstream.litellm import LitellmUpstream
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from guardrail.upstream.routes import Route, RouteTable
from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import POLICIES, ProxyFactory
from tests.helpers.servers import FakeServer, free_port

TIMEOUT_S = 10
UPSTREAM_KEY = "sk-upstream-only"


@pytest.fixture(scope="module")
def keyed() -> Iterator[dict[str, str]]:
    """A fake upstream that wants a key, behind proxies: one forwarding the caller's key, one
    with the route's own key, one whose upstream does not listen, one at a path with no
    model list."""
    pipeline = Pipeline.from_file(POLICIES / "rules.yaml")
    with ExitStack() as stack:
        fake = FakeUpstream(api_key=UPSTREAM_KEY)
        up = stack.enter_context(serve_app(fake.app)).url + "/v1"
        upstreams = {
            "forwarding": OpenAIHttpUpstream(up),
            "route_key": OpenAIHttpUpstream(up, api_key=UPSTREAM_KEY),
            "down": OpenAIHttpUpstream(f"http://127.0.0.1:{free_port()}/v1", retries=0),
            "no_list": OpenAIHttpUpstream(up + "/elsewhere", api_key=UPSTREAM_KEY),
        }
        yield {
            name: stack.enter_context(serve_app(create_app(pipeline, upstream))).url
            for name, upstream in upstreams.items()
        }


def _client(base: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)


def test_unknown_path_is_openai_json_404(proxy_url: ProxyFactory) -> None:
    """An unknown path answers a JSON 404 in OpenAI's shape with code `not_found`."""
    response = httpx.post(proxy_url() + "/v1/no-such-thing", json={}, timeout=TIMEOUT_S)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert "/v1/no-such-thing" in error["message"]


def test_unknown_path_is_sdk_not_found_error(proxy_url: ProxyFactory) -> None:
    """The openai SDK reports an unknown endpoint as NotFoundError carrying our code."""
    client = openai_client(proxy_url())
    with pytest.raises(openai.NotFoundError) as caught:
        client.post("/fine_tuning/nothing", cast_to=httpx.Response, body={})
    assert caught.value.code == "not_found"


def test_unknown_anthropic_path_is_anthropic_404(proxy_url: ProxyFactory) -> None:
    """A path under /v1/messages that does not exist answers in Anthropic's error shape."""
    response = httpx.post(proxy_url() + "/v1/messages/batches", json={}, timeout=TIMEOUT_S)
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert body["error"]["code"] == "not_found"


def test_anthropic_sdk_gets_not_found_error(proxy_url: ProxyFactory) -> None:
    """The anthropic SDK (it sends `anthropic-version`) gets NotFoundError in its shape."""
    client = anthropic_client(proxy_url())
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.post("/v1/files", cast_to=httpx.Response, body={})
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["type"], body["error"]["code"]) == ("error", "not_found")


def test_wrong_method_is_json_405(proxy_url: ProxyFactory) -> None:
    """GET on a POST-only endpoint answers JSON 405 `method_not_allowed` with `Allow`."""
    response = httpx.get(proxy_url() + "/v1/chat/completions", timeout=TIMEOUT_S)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_wrong_method_on_anthropic_path_is_anthropic_405(proxy_url: ProxyFactory) -> None:
    """GET /v1/messages answers 405 in Anthropic's shape."""
    response = httpx.get(proxy_url() + "/v1/messages", timeout=TIMEOUT_S)
    assert response.status_code == 405
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["code"] == "method_not_allowed"


# ---------------------------------------------------------------------------- /v1/models


def test_models_forwards_the_callers_key(keyed: dict[str, str]) -> None:
    """The caller's key reaches an upstream that needs one: its models are listed."""
    models = _client(keyed["forwarding"], UPSTREAM_KEY).models.list()
    assert [m.id for m in models.data] == ["fake-model"]


def test_models_upstream_401_is_an_error_not_an_empty_list(keyed: dict[str, str]) -> None:
    """A key the upstream refuses is a 401 OpenAI error with a code, not `[]`."""
    with pytest.raises(openai.AuthenticationError) as caught:
        _client(keyed["forwarding"], "sk-wrong").models.list()
    assert caught.value.code == "upstream_error"
    assert "Incorrect API key provided" in caught.value.message


def test_models_uses_the_routes_own_key(keyed: dict[str, str]) -> None:
    """An upstream configured with its own key lists models whatever the caller sent."""
    models = _client(keyed["route_key"], "sk-anything").models.list()
    assert [m.id for m in models.data] == ["fake-model"]


def test_models_unreachable_upstream_is_502(keyed: dict[str, str]) -> None:
    """An upstream that does not answer is a 502 `upstream_unavailable`, not an empty list."""
    response = httpx.get(keyed["down"] + "/v1/models", timeout=TIMEOUT_S)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


def test_models_upstream_without_a_list_is_empty(keyed: dict[str, str]) -> None:
    """An upstream that has no model list (404) lists no models: a 200 with no data."""
    assert _client(keyed["no_list"], "sk-anything").models.list().data == []


def test_chat_and_models_carry_the_same_key(keyed: dict[str, str]) -> None:
    """Chat through the same proxy succeeds with the key that lists models (same forwarding)."""
    answer = _client(keyed["forwarding"], UPSTREAM_KEY).chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "echo: hi"


# ------------------------------------------------------------------------ /v1/embeddings

EMAIL = "ann.lee@example.org"
DEFAULT_POLICY = Path(__file__).parents[2] / "policies" / "default.yaml"


def _sent_inputs(fake: FakeUpstream) -> list[str]:
    """The inputs the upstream embedded (litellm sends a lone string as a one-item list)."""
    assert fake.last.path == "/v1/embeddings"
    sent = fake.last.body["input"]
    return [sent] if isinstance(sent, str) else list(sent)


def test_embeddings_allowed(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """A benign input is embedded by the upstream; the SDK gets its vector back."""
    result = openai_client(proxy_url("rules", via)).embeddings.create(
        model="fake-embed", input="The sky is blue."
    )
    assert _sent_inputs(fake) == ["The sky is blue."]
    assert result.data[0].embedding == FakeUpstream.vector("The sky is blue.")
    assert result.usage.prompt_tokens == 4


def test_embeddings_pii_redacted(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """Every string of a list input is redacted: the upstream embeds the placeholder."""
    raw = openai_client(proxy_url("rules", via)).embeddings.with_raw_response.create(
        model="fake-embed", input=["plain words", f"write to {EMAIL} today"]
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert _sent_inputs(fake) == ["plain words", "write to <EMAIL_1> today"]
    result = raw.parse()
    assert [d.embedding for d in result.data] == [
        FakeUpstream.vector("plain words"),
        FakeUpstream.vector("write to <EMAIL_1> today"),
    ]
    assert raw.headers["x-guardrail-decision"] == "redact"
    assert raw.headers["x-guardrail-rules"] == "redact-pii"


def test_embeddings_default_policy_redacts_pii(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """With the shipped default policy, an e-mail in an embedding input never reaches the
    upstream."""
    openai_client(proxy_url(DEFAULT_POLICY)).embeddings.create(
        model="fake-embed", input=f"Customer note: reach me at {EMAIL} after five."
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert _sent_inputs(fake) == ["Customer note: reach me at <EMAIL_1> after five."]


@pytest.mark.parametrize("policy", ["rules", "refusal"])
def test_embeddings_blocked(proxy_url: ProxyFactory, fake: FakeUpstream, policy: str) -> None:
    """A blocked input is a 400 naming the rule (even with `on_block: refusal`: there is no
    answer to put a refusal in); nothing goes upstream."""
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url(policy)).embeddings.create(
            model="fake-embed", input=["fine", "the forbidden phrase please"]
        )
    assert caught.value.code == "content_blocked"
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["rule"], body["stage"]) == ("no-banned-input", "input")
    assert fake.requests == []


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_embeddings_token_ids_refused(
    proxy_url: ProxyFactory, fake: FakeUpstream, tokens: list[Any]
) -> None:
    """Token-id input cannot be checked: 400 `uncheckable_input`, never forwarded."""
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).embeddings.create(model="fake-embed", input=tokens)
    assert caught.value.code == "uncheckable_input"
    assert fake.requests == []


@pytest.mark.parametrize(
    "body",
    [{"model": "m"}, {"model": "m", "input": 3}, {"model": "m", "input": ["a", 1]}],
)
def test_embeddings_malformed_input_is_400(
    proxy_url: ProxyFactory, fake: FakeUpstream, body: dict[str, Any]
) -> None:
    """A missing input or one of another type is a 400 `invalid_request`."""
    response = httpx.post(proxy_url() + "/v1/embeddings", json=body, timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert fake.requests == []


def test_embeddings_limits(fake_server: FakeServer) -> None:
    """The chat limits hold: too many inputs is 413 `too_many_parts`, a long one
    `limit_exceeded`; nothing goes upstream."""
    pipeline = Pipeline.from_file(POLICIES / "rules.yaml")
    limits = Limits.from_settings(max_parts=3, max_messages=10, max_message_chars=50)
    upstream = OpenAIHttpUpstream(fake_server.url + "/v1")
    fake_server.fake.reset()
    with serve_app(create_app(pipeline, upstream, limits=limits)) as proxy:
        client = _client(proxy.url, "sk-test")
        with pytest.raises(openai.APIStatusError) as many:
            client.embeddings.create(model="m", input=["a", "b", "c", "d"])
        with pytest.raises(openai.APIStatusError) as long:
            client.embeddings.create(model="m", input=["short", "x" * 51])
        client.embeddings.create(model="m", input=["x" * 50, "y" * 50])
    assert (many.value.status_code, many.value.code) == (413, "too_many_parts")
    assert isinstance(many.value.body, dict)
    assert many.value.body["param"] == "input"
    assert (long.value.status_code, long.value.code) == (413, "limit_exceeded")
    assert len(fake_server.fake.requests) == 1


def test_embeddings_upstream_error_surfaces(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """An upstream failure is an OpenAI error with an upstream code, not a made-up vector."""
    fake.script(Reply(status=500))
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client(proxy_url()).embeddings.create(model="fake-embed", input="hi")
    assert (caught.value.status_code, caught.value.code) == (502, "upstream_error")


def test_embeddings_local_upstream_not_supported(proxy_url: ProxyFactory) -> None:
    """The built-in local upstream has no embedding model: 501 `not_supported`."""
    response = httpx.post(
        proxy_url("rules", "local") + "/v1/embeddings",
        json={"model": "m", "input": "hi"},
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "not_supported"


# ------------------------------------------------------------ /v1/messages/count_tokens


@pytest.fixture(scope="module")
def anthropic_route(fake_server: FakeServer) -> Iterator[str]:
    """A proxy whose `claude-test` model routes to an Anthropic API (the fake's count)."""
    routes = RouteTable(
        models={"claude-test": Route(model="anthropic/claude-native", api_base=fake_server.url)}
    )
    pipeline = Pipeline.from_file(POLICIES / "rules.yaml")
    with serve_app(create_app(pipeline, LitellmUpstream(routes))) as proxy:
        yield proxy.url


def _count(base: str, content: str) -> int:
    client = anthropic_client(base)
    result = client.messages.count_tokens(
        model="claude-test", messages=[{"role": "user", "content": content}]
    )
    return result.input_tokens


def test_count_tokens_from_anthropic_route(anthropic_route: str, fake: FakeUpstream) -> None:
    """The Anthropic route's own count comes back; it got the route's model and the key."""
    assert _count(anthropic_route, "Name three colours please.") == 4
    assert fake.last.path == "/v1/messages/count_tokens"
    assert fake.last.body["model"] == "claude-native"
    assert fake.last.headers["x-api-key"] == "sk-ant-test"
    assert fake.last.headers["anthropic-version"]


def test_count_tokens_redacts_pii(anthropic_route: str, fake: FakeUpstream) -> None:
    """Counted texts go through the input stage: the upstream counts the placeholder."""
    assert _count(anthropic_route, f"mail {EMAIL} now") == 3
    assert EMAIL not in json.dumps(fake.last.body)
    assert fake.last.body["messages"][0]["content"] == "mail <EMAIL_1> now"


def test_count_tokens_blocked(anthropic_route: str, fake: FakeUpstream) -> None:
    """A blocked text is an Anthropic-shaped 400 naming the rule; nothing is counted."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        _count(anthropic_route, "the forbidden phrase please")
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert (body["error"]["rule"], body["error"]["code"]) == ("no-banned-input", "content_blocked")
    assert fake.requests == []


def test_count_tokens_uncheckable_field_refused(anthropic_route: str, fake: FakeUpstream) -> None:
    """The /v1/messages field table holds: an unknown block type is a 400, never counted."""
    response = httpx.post(
        anthropic_route + "/v1/messages/count_tokens",
        json={
            "model": "claude-test",
            "messages": [{"role": "user", "content": [{"type": "mystery", "text": "x"}]}],
        },
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert fake.requests == []


@pytest.mark.parametrize("via", ["http", "litellm", "local"])
def test_count_tokens_openai_upstream_is_501(
    proxy_url: ProxyFactory, fake: FakeUpstream, via: str
) -> None:
    """An OpenAI-only upstream cannot count Claude's tokens: 501 `not_supported` in
    Anthropic's shape, never a made-up number."""
    with pytest.raises(anthropic.APIStatusError) as caught:
        _count(proxy_url("rules", via), "Name three colours please.")
    assert caught.value.status_code == 501
    assert caught.value.response.headers["x-should-retry"] == "false"
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["type"], body["error"]["code"]) == ("error", "not_supported")
    assert "Anthropic" in body["error"]["message"]
    assert fake.requests == []


def test_models_never_forward_a_proxy_key(tmp_path: Path) -> None:
    """With proxy keys, the caller's key is ours, not the provider's: an upstream that would
    accept exactly that key is asked without it (as chat is) and refuses."""
    proxy_key = "gr-tenant-key-0123456789"
    (tmp_path / "rules.yaml").write_text((POLICIES / "rules.yaml").read_text())
    config = tmp_path / "server.yaml"
    config.write_text(
        "version: 1\n"
        f'tenants:\n  t: {{policy: rules.yaml, keys: ["{hash_key(proxy_key)}"]}}\n'
        "reload: {watch_ms: 0}\n"
    )
    fake = FakeUpstream(api_key=proxy_key)
    with (
        serve_app(fake.app) as up,
        serve_app(create_app(Reloader(config), OpenAIHttpUpstream(up.url + "/v1"))) as proxy,
    ):
        models = httpx.get(proxy.url + "/v1/models", headers={"x-api-key": proxy_key})
        chat = _client(proxy.url, proxy_key).chat.completions.with_raw_response
        with pytest.raises(openai.AuthenticationError) as refused:
            chat.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert (models.status_code, models.json()["error"]["code"]) == (401, "upstream_error")
    assert "Incorrect API key" in models.json()["error"]["message"]
    assert "Incorrect API key" in refused.value.message
