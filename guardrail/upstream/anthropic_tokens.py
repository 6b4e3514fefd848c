"""Anthropic's token counting (`POST /v1/messages/count_tokens`), asked of Anthropic itself.

A token count is only true for the tokenizer of the model that will read the text; Claude's
is not published, and litellm's `acount_tokens` falls back to a tiktoken estimate when the
provider call fails. So guardrail never counts locally: the checked request goes to the
Anthropic API of a route whose model is `anthropic/...` (`LitellmUpstream.count_tokens`),
and every other upstream answers `NotSupported` (501). The call is a plain HTTPS POST
(litellm has no public, non-estimating entry point for it); errors map to `Upstream*` as on
the httpx chat path.
"""

from __future__ import annotations

from typing import Any

import httpx

from guardrail.errors import UpstreamBadResponse
from guardrail.upstream.openai_http import _json_object, _request_error, _status_error

ANTHROPIC_API = "https://api.anthropic.com"
API_VERSION = "2023-06-01"  # the version header Anthropic requires; count_tokens exists in it
PROVIDER_PREFIX = "anthropic/"


async def count_tokens(
    body: dict[str, Any], *, model: str, api_key: str | None, api_base: str | None, timeout_s: float
) -> dict[str, Any]:
    """The provider's `{"input_tokens": n}` for the (checked) Anthropic `body`."""
    url = (api_base or ANTHROPIC_API).rstrip("/")
    url += "/messages/count_tokens" if url.endswith("/v1") else "/v1/messages/count_tokens"
    headers = {"anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(url, json={**body, "model": model}, headers=headers)
    except httpx.HTTPError as exc:
        raise _request_error(exc) from exc
    if response.status_code >= 400:
        raise _status_error(response.status_code, response.content)
    answer = _json_object(response.content)
    if not isinstance(answer.get("input_tokens"), int):
        raise UpstreamBadResponse("upstream token count has no integer input_tokens")
    return answer
