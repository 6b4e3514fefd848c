"""Upstreams: where checked requests are answered (see `base.Upstream`).

`build_upstream` picks one from the `guardrail serve` options without importing litellm
unless a route needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from guardrail.upstream.base import Upstream, UpstreamRequest

Via = Literal["auto", "litellm", "http"]
UpstreamApi = Literal["auto", "openai", "anthropic"]

__all__ = ["Upstream", "UpstreamRequest", "build_upstream"]


def build_upstream(
    upstream: str | None = None,
    config: str | Path | None = None,
    *,
    via: Via = "auto",
    api: UpstreamApi = "auto",
) -> Upstream:
    """`--upstream local|URL` and/or `--config FILE` -> an Upstream.

    A plain URL goes over the direct httpx path unless `via="litellm"`; a config file always
    goes through litellm (it may name any provider). A URL whose API is Anthropic's (`api=
    "anthropic"`, or `auto` and a host under anthropic.com) goes through litellm's Anthropic
    provider, natively. Timeouts and retries come from the settings (`GUARDRAIL_UPSTREAM_*`).
    """
    from guardrail.settings import get_settings

    settings = get_settings()
    if config is not None:
        from guardrail.upstream.litellm import LitellmUpstream
        from guardrail.upstream.routes import RouteTable

        return LitellmUpstream(RouteTable.from_file(config), retries=settings.upstream_retries)
    if upstream in (None, "local"):
        from guardrail.upstream.local import LocalUpstream

        return LocalUpstream()
    if not upstream.startswith(("http://", "https://")):
        raise ValueError(f"--upstream must be 'local' or an http(s) URL, got {upstream!r}")
    if upstream_api(upstream, api) == "anthropic":
        from guardrail.upstream.litellm import LitellmUpstream
        from guardrail.upstream.routes import RouteTable

        return LitellmUpstream(
            RouteTable.for_anthropic(upstream), retries=settings.upstream_retries
        )
    if via == "litellm":
        from guardrail.upstream.litellm import LitellmUpstream
        from guardrail.upstream.routes import RouteTable

        return LitellmUpstream(RouteTable.for_base_url(upstream), retries=settings.upstream_retries)
    from guardrail.upstream.openai_http import OpenAIHttpUpstream

    return OpenAIHttpUpstream(
        upstream,
        timeout_s=settings.upstream_timeout_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        retries=settings.upstream_retries,
    )


def upstream_api(url: str, api: UpstreamApi = "auto") -> Literal["openai", "anthropic"]:
    """Which API the server at `url` speaks: as given, or (`auto`) Anthropic's for a host
    under anthropic.com, else OpenAI's."""
    if api != "auto":
        return api
    host = (urlsplit(url).hostname or "").lower()
    return "anthropic" if host == "anthropic.com" or host.endswith(".anthropic.com") else "openai"
