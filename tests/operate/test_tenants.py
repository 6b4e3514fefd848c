"""Proxy keys and per-tenant policies through a real proxy, with the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from guardrail.server.app import create_app
from guardrail.server.auth import hash_key
from guardrail.server.reload import Reloader
from guardrail.testing import FakeUpstream, serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.helpers.servers import FakeServer
from tests.operate.conftest import POLICY_V1, POLICY_V2, chat, metric, write

KEY_ACME = "gr-acme-0123456789"
KEY_GLOBEX = "gr-globex-abcdefghij"
KEY_GLOBEX_2 = "gr-globex-second-key"
ADMIN = "gr-admin-key-for-metrics"
UPSTREAM_KEY = "sk-upstream-from-route-config"

# acme extends a shared base (blocks "kaboom") and adds PII redaction; globex blocks "zebra".
ACME = """\
version: 1
name: acme-policy
extends: base.yaml
guards:
  pii: {kind: pii, entities: [EMAIL]}
rules:
  - {name: mask-pii, guard: pii, stages: [input], action: redact, restore: true}
"""


def server_yaml(*extra_acme_keys: str) -> str:
    """The server config: two tenants, hashed keys, an admin key for /metrics."""
    acme = ", ".join(f'"{hash_key(k)}"' for k in (KEY_ACME, *extra_acme_keys))
    return f"""\
version: 1
tenants:
  acme: {{policy: policies/acme.yaml, keys: [{acme}]}}
  globex:
    policy: policies/globex.yaml
    keys: ["{hash_key(KEY_GLOBEX)}", "{hash_key(KEY_GLOBEX_2)}"]
admin_keys: ["{hash_key(ADMIN)}"]
reload: {{watch_ms: 0}}
"""


@dataclass
class Tenants:
    """A running keyed proxy and what it was built from."""

    url: str
    config: Path
    reloader: Reloader


@pytest.fixture(scope="module")
def tenants(fake_server: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    """A proxy with two tenants; the upstream key comes from the route config, not clients."""
    root = tmp_path_factory.mktemp("tenants")
    write(root / "policies" / "base.yaml", POLICY_V1)
    write(root / "policies" / "acme.yaml", ACME)
    write(root / "policies" / "globex.yaml", POLICY_V2.replace("ops-v2", "globex-policy"))
    config = write(root / "server.yaml", server_yaml())
    reloader = Reloader(config)
    upstream = OpenAIHttpUpstream(fake_server.url + "/v1", api_key=UPSTREAM_KEY)
    with serve_app(create_app(reloader, upstream)) as server:
        yield Tenants(server.url, config, reloader)


def oai(base: str, key: str) -> openai.OpenAI:
    """The real OpenAI SDK pointed at the proxy with a proxy key."""
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)


def ask(client: openai.OpenAI, text: str) -> str:
    """One chat call; the answer text."""
    answer = client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": text}]
    )
    return answer.choices[0].message.content or ""


@pytest.mark.parametrize("key", ["", "gr-not-a-key", KEY_ACME + "x"])
def test_missing_or_unknown_key_is_openai_401(tenants: Tenants, key: str) -> None:
    """Without a valid proxy key the OpenAI route answers 401 unauthorized, OpenAI-shaped."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(
        tenants.url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("unauthorized", "authentication_error")


def test_sdk_sees_authentication_errors(tenants: Tenants, fake: FakeUpstream) -> None:
    """Both SDKs raise their AuthenticationError with code unauthorized; nothing goes upstream."""
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(oai(tenants.url, "gr-wrong"), "hi")
    assert caught.value.code == "unauthorized"
    client = anthropic.Anthropic(base_url=tenants.url, api_key="gr-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        client.messages.create(
            model="fake-model", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    body = denied.value.response.json()
    assert body["type"] == "error"
    assert (body["error"]["type"], body["error"]["code"]) == (
        "authentication_error",
        "unauthorized",
    )
    assert fake.requests == []


def test_each_tenant_gets_its_own_policy(tenants: Tenants, fake: FakeUpstream) -> None:
    """acme's key selects acme's policy (extends the base), globex's keys select globex's."""
    acme, globex = oai(tenants.url, KEY_ACME), oai(tenants.url, KEY_GLOBEX_2)
    with pytest.raises(openai.BadRequestError) as blocked:
        ask(acme, "kaboom")
    assert blocked.value.body["rule"] == "no-banned"  # type: ignore[index]
    assert ask(acme, "zebra") == "echo: zebra"
    assert ask(globex, "kaboom") == "echo: kaboom"
    with pytest.raises(openai.BadRequestError):
        ask(globex, "zebra")


def test_anthropic_x_api_key_selects_the_tenant(tenants: Tenants, fake: FakeUpstream) -> None:
    """The Anthropic SDK's x-api-key header identifies the tenant just like a bearer key."""
    client = anthropic.Anthropic(base_url=tenants.url, api_key=KEY_GLOBEX, max_retries=0)
    message = client.messages.create(
        model="fake-model", max_tokens=16, messages=[{"role": "user", "content": "kaboom"}]
    )
    assert message.content[0].text == "echo: kaboom"  # type: ignore[union-attr]
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="fake-model", max_tokens=16, messages=[{"role": "user", "content": "zebra"}]
        )


def test_proxy_keys_never_reach_the_upstream(tenants: Tenants, fake: FakeUpstream) -> None:
    """The upstream sees the route's own key, never the client's proxy key."""
    assert ask(oai(tenants.url, KEY_ACME), "mail bo@example.com") == "echo: mail bo@example.com"
    seen = fake.last
    assert seen.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert not any(KEY_ACME in value for value in seen.headers.values())
    assert "bo@example.com" not in str(seen.body)  # acme's redaction ran before upstream


def test_no_upstream_key_means_none_is_sent(tenants: Tenants, fake_server: FakeServer) -> None:
    """With proxy keys and no upstream key configured, no Authorization goes upstream at all."""
    fake = fake_server.fake
    fake.reset()
    app = create_app(Reloader(tenants.config), OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        assert ask(oai(server.url, KEY_GLOBEX), "hello") == "echo: hello"
    assert "authorization" not in fake.last.headers


def test_metrics_need_an_admin_key_and_label_tenants_by_name(tenants: Tenants) -> None:
    """/metrics answers only the admin key; tenant labels are names, never keys or hashes."""
    chat(tenants.url, "zebra", key=KEY_ACME)
    assert httpx.get(tenants.url + "/metrics").status_code == 401
    tenant_headers = {"authorization": f"Bearer {KEY_ACME}"}
    assert httpx.get(tenants.url + "/metrics", headers=tenant_headers).status_code == 401
    text = httpx.get(tenants.url + "/metrics", headers={"x-api-key": ADMIN}).text
    admin = {"x-api-key": ADMIN}
    ok = metric(tenants.url, "guardrail_requests_total", admin, tenant="acme", outcome="ok")
    assert ok >= 1
    assert 'tenant="globex"' in text
    for secret in (KEY_ACME, KEY_GLOBEX, ADMIN, "sha256", "zebra", hash_key(KEY_ACME)[7:19]):
        assert secret not in text
    assert 'guardrail_policy_info{policy="acme-policy"' in text


def test_models_and_readyz_reveal_no_tenants(tenants: Tenants) -> None:
    """/v1/models needs a key; /readyz says ready without naming tenants or their policies."""
    assert httpx.get(tenants.url + "/v1/models").status_code == 401
    listed = httpx.get(tenants.url + "/v1/models", headers={"x-api-key": KEY_GLOBEX})
    assert listed.status_code == 200
    ready = httpx.get(tenants.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["tenants"] == 2
    assert "acme" not in str(ready) and "globex" not in str(ready)


def test_editing_the_server_config_adds_a_key(tenants: Tenants) -> None:
    """A key added to server.yaml works after the reload; a broken edit changes nothing."""
    new_key = "gr-acme-new-key"
    assert chat(tenants.url, "hi", key=new_key).status_code == 401
    write(tenants.config, server_yaml(new_key))
    assert tenants.reloader.check_now() is True
    assert chat(tenants.url, "hi", key=new_key).status_code == 200
    write(tenants.config, server_yaml(new_key).replace(hash_key(new_key), new_key))
    assert tenants.reloader.check_now() is False  # a plain key where a hash belongs
    assert chat(tenants.url, "hi", key=new_key).status_code == 200
    assert chat(tenants.url, "kaboom", key=new_key).status_code == 400  # still acme's policy
    write(tenants.config, server_yaml())  # leave the module's config as the fixture made it
    assert tenants.reloader.check_now() is True
