"""The ASGI app factory: OpenAI and Anthropic routes, health, readiness and metrics.

`create_app(policy, upstream)` takes a ready `Pipeline` (used at once) or a policy path
(loaded at start-up in a worker thread, so that `/healthz` answers while classifier bundles
load; `/readyz` says 503 until the policy is loaded and 200 after).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from guardrail.errors import GuardrailError
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline
from guardrail.server import routes_anthropic, routes_openai
from guardrail.server.metrics import CONTENT_TYPE, Metrics
from guardrail.server.proxy import DEFAULT_MAX_BODY_BYTES, Proxy, Wire
from guardrail.upstream.base import Upstream

log = get_logger("guardrail.server")


class NotReady(GuardrailError):
    """The policy is still loading (or failed to load)."""

    code = "not_ready"
    http_status = 503


class ProxyHolder:
    """What the routes reach through `app.state.guardrail`: the proxy, once it is ready."""

    def __init__(self, upstream: Upstream, metrics: Metrics, **options: int | bool) -> None:
        self.upstream = upstream
        self.metrics = metrics
        self.options = options
        self.proxy: Proxy | None = None
        self.error: str | None = None

    def ready(self, pipeline: Pipeline) -> None:
        """Build the proxy around a loaded pipeline."""
        self.proxy = Proxy(pipeline, self.upstream, self.metrics, **self.options)  # type: ignore[arg-type]
        self.metrics.policy_loaded.set(1)

    async def handle(self, request: Request, wire: Wire) -> Response:
        """Proxy one call, or 503 in the client's format while not ready."""
        if self.proxy is None:
            return wire.error(NotReady(self.error or "the policy is still loading"), 503, {})
        return await self.proxy.handle(request, wire)

    async def models(self) -> list[str]:
        """Model names of the upstream."""
        return await self.upstream.models()


def create_app(
    policy: Pipeline | str | Path,
    upstream: Upstream | None = None,
    *,
    scan_system: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The guardrail proxy as an ASGI app (default upstream: the built-in local one)."""
    if upstream is None:
        from guardrail.upstream.local import LocalUpstream

        upstream = LocalUpstream()
    holder = ProxyHolder(
        upstream, Metrics(), scan_system=scan_system, max_body_bytes=max_body_bytes
    )
    if isinstance(policy, Pipeline):
        holder.ready(policy)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if holder.proxy is None:
            await _load(holder, Path(policy))  # type: ignore[arg-type]
        try:
            yield
        finally:
            await holder.upstream.aclose()

    app = Starlette(
        routes=[*_health_routes(), *routes_openai.ROUTES, *routes_anthropic.ROUTES],
        lifespan=lifespan,
    )
    app.state.guardrail = holder
    return app


async def _load(holder: ProxyHolder, path: Path) -> None:
    try:
        pipeline = await asyncio.to_thread(Pipeline.from_file, path)
    except GuardrailError as exc:
        holder.error = f"policy failed to load: {exc}"
        log.error("server.policy_failed", path=str(path), error_code=exc.code)
        raise
    holder.ready(pipeline)
    log.info("server.ready", policy=pipeline.policy.name, path=str(path))


def _health_routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: the policy (and the classifier bundles it names) is loaded."""
    holder: ProxyHolder = request.app.state.guardrail
    if holder.proxy is None:
        status = "failed" if holder.error else "loading"
        return JSONResponse({"status": status, "error": holder.error}, status_code=503)
    policy = holder.proxy.pipeline.policy
    return JSONResponse(
        {
            "status": "ready",
            "policy": policy.name,
            "policy_hash": policy.content_hash,
            "upstream": holder.upstream.name,
        }
    )


async def metrics(request: Request) -> Response:
    """Prometheus metrics (`guardrail_*`)."""
    holder: ProxyHolder = request.app.state.guardrail
    return Response(holder.metrics.render(), media_type=CONTENT_TYPE)
