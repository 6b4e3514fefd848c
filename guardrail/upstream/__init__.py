"""Upstreams: where checked requests are answered (see `base.Upstream`).

`build_upstream` picks one from the `guardrail serve` options without importing litellm
unless a route needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from guardrail.upstream.base import Upstream, UpstreamRequest

Via = Literal["auto", "litellm", "http"]

__all__ = ["Upstream", "UpstreamRequest", "build_upstream"]


def build_upstream(
    upstream: str | None = None, config: str | Path | None = None, *, via: Via = "auto"
) -> Upstream:
    """`--upstream local|URL` and/or `--config FILE` -> an Upstream.

    A plain URL goes over the direct httpx path unless `via="litellm"`; a config file always
    goes through litellm (it may name any provider). Timeouts and retries come from the
    settings (`GUARDRAIL_UPSTREAM_*`).
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
