"""Endpoints a user reaches with only `base_url` changed, beyond chat: unknown paths and
wrong methods answer JSON in the API's error shape."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.e2e.clients import anthropic_client, openai_client
from tests.e2e.conftest import ProxyFactory

TIMEOUT_S = 10


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
