"""The ASGI app factory: OpenAI and Anthropic routes, health, readiness and metrics.

`create_app(policy, upstream)` takes a ready `Pipeline` (used at once) or a policy path
(loaded at start-up in a worker thread, so that `/healthz` answers while classifier bundles
load; `/readyz` says 503 until the policy is loaded and 200 after). A path, or a `Reloader`
over a server config (tenants behind proxy keys, `auth.py`), is watched and reloaded safely
(`reload.py`); spans and latency metrics come from `guardrail.telemetry`.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from guardrail.errors import GuardrailError, NotReady
from guardrail.logging import get_logger
from guardrail.pipeline import Pipeline
from guardrail.server import fallback, openapi, wires
from guardrail.server.auth import Tenancy, key_matches, unauthorized
from guardrail.server.console import CONSOLE_ROUTES, Console
from guardrail.server.framing import FramingGuard
from guardrail.server.limits import Limits
from guardrail.server.metrics import CONTENT_TYPE, Metrics
from guardrail.server.proxy import ErrorShape, Proxy, Wire
from guardrail.server.reload import Reloader, Snapshot
from guardrail.server.routes_openai import error_body
from guardrail.telemetry import (
    InstrumentedUpstream,
    instrument_pipeline,
    traced_request,
    tracer_from_settings,
    unwrap_guard,
)
from guardrail.upstream.base import Upstream

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = get_logger("guardrail.server")


class ProxyHolder:
    """What the routes reach through `app.state.guardrail`: who may call, and which proxy
    (tenant policy) answers them, once ready. A reload swaps `tenancy` in one assignment."""

    def __init__(
        self,
        upstream: Upstream,
        metrics: Metrics,
        *,
        limits: Limits,
        scan_system: bool = False,
        tracer: Tracer | None = None,
    ) -> None:
        self.upstream = InstrumentedUpstream(upstream, metrics, tracer)
        self.metrics = metrics
        self.tracer = tracer
        self.limits = limits  # resolved once, in create_app; every tenant's proxy shares them
        self.scan_system = scan_system
        self.tenancy: Tenancy | None = None
        self.error: str | None = None
        metrics.watch_inference(self.runtimes)

    @property
    def proxy(self) -> Proxy | None:
        """The proxy for callers without a key (None while loading or when keys are needed)."""
        return self.tenancy.open_proxy if self.tenancy is not None else None

    def _proxy(self, pipeline: Pipeline, tenant: str = "", *, keyed: bool = False) -> Proxy:
        timed = instrument_pipeline(pipeline, self.metrics, self.tracer)
        return Proxy(
            timed,
            self.upstream,
            self.metrics,
            tenant=tenant,
            forward_client_key=not keyed,
            scan_system=self.scan_system,
            limits=self.limits,
        )

    def ready(self, pipeline: Pipeline) -> None:
        """Serve every caller with one loaded pipeline, no keys asked."""
        self._serve(Tenancy.open(self._proxy(pipeline)))

    def install(self, snapshot: Snapshot) -> None:
        """Serve a new valid version (from `Reloader`): in-flight requests keep the old one."""
        config = snapshot.config
        if not config.keyed:
            tenancy = Tenancy.open(self._proxy(snapshot.pipelines[""]))
        else:
            tenancy = Tenancy.with_keys(
                (self._proxy(snapshot.pipelines[name], name, keyed=True), tenant.keys)
                for name, tenant in config.tenants.items()
            )
        self._serve(replace(tenancy, admin_keys=tuple(config.admin_keys)))

    def _serve(self, tenancy: Tenancy) -> None:
        self.tenancy = tenancy
        self.error = None
        self.metrics.policy_loaded.set(1)
        self.metrics.policy_info.clear()
        for tenant, proxy in tenancy.proxies.items():
            policy = proxy.pipeline.policy
            self.metrics.policy_info.labels(tenant, policy.name, policy.content_hash).set(1)

    def count_reload(self, result: str) -> None:
        """Count one reload attempt (`ok` / `failed`)."""
        self.metrics.policy_reloads.labels(result).inc()

    def runtimes(self) -> list[Any]:
        """Classifier runtimes of the policies being served (for the inference metrics)."""
        tenancy = self.tenancy
        proxies = tenancy.proxies.values() if tenancy is not None else ()
        guards = (unwrap_guard(g) for p in proxies for g in p.pipeline.policy.guards.values())
        return [g.runtime for g in guards if hasattr(getattr(g, "runtime", None), "pool")]

    async def handle(self, request: Request, wire: Wire) -> Response:
        """Proxy one chat-style call (`Proxy.handle`)."""
        return await self.call(request, wire, lambda proxy: proxy.handle(request, wire))

    async def call(self, request: Request, wire: ErrorShape, entry: Entry) -> Response:
        """503 while not ready, 401 without a valid key (client's format); else `entry` with
        the caller's proxy (tenant policy)."""
        tenancy = self.tenancy  # read once: this request keeps this version to its end
        if tenancy is None:
            not_ready = NotReady(self.error or "the policy is still loading")
            return retry_later(wire.error(not_ready, 503, {}))
        proxy = tenancy.resolve(request.headers)
        if proxy is None:
            self.metrics.requests.labels(wire.route, "error_401", "").inc()
            log.info("request.unauthorized", route=wire.route)
            return wire.error(unauthorized(), 401, {})
        if self.tracer is None:
            return retry_later(await entry(proxy))
        traced = traced_request(self.tracer, wire.route, proxy.tenant, lambda: entry(proxy))
        return retry_later(await traced)


RETRY_AFTER_S = 1  # a 503 is load or a guard that could not run in time: worth a retry soon


def retry_later(response: Response) -> Response:
    """A 503 (not ready, guard unavailable, overload) says when to try again (`Retry-After`),
    which both SDKs honour in their retry loops."""
    if response.status_code == 503 and "retry-after" not in response.headers:
        response.headers["retry-after"] = str(RETRY_AFTER_S)
    return response


Entry = Callable[[Proxy], Awaitable[Response]]
"""What one endpoint does with the proxy of the caller's tenant."""


def create_app(
    policy: Pipeline | str | Path | Reloader,
    upstream: Upstream | None = None,
    *,
    scan_system: bool = False,
    max_body_bytes: int | None = None,
    limits: Limits | None = None,
    tracer: Tracer | None = None,
    reload_on_sighup: bool = False,
) -> Starlette:
    """The guardrail proxy as an ASGI app (default upstream: the built-in local one).

    `limits` default to the settings (`GUARDRAIL_LIMITS_*`); `max_body_bytes` overrides one.
    `policy`: a Pipeline serves as it is; a path or a `Reloader` (server config: tenants and
    keys) is loaded at start-up unless already loaded, then watched and reloaded safely
    (`app.state.reloader`; docs/operate.md). `tracer`: OpenTelemetry spans (default: from
    the settings, None when no OTLP endpoint is set).
    """
    if upstream is None:
        from guardrail.upstream.local import LocalUpstream

        upstream = LocalUpstream()
    limits = limits or Limits.from_settings()
    if max_body_bytes is not None:
        limits = replace(limits, max_body_bytes=max_body_bytes)
    if tracer is None:
        tracer = tracer_from_settings()
    holder = ProxyHolder(upstream, Metrics(), limits=limits, scan_system=scan_system, tracer=tracer)
    reloader: Reloader | None = None
    if isinstance(policy, Pipeline):
        holder.ready(policy)
    else:
        reloader = policy if isinstance(policy, Reloader) else Reloader.for_policy(policy)
        reloader.bind(holder.install, holder.count_reload)  # installs now if already loaded

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        watcher: asyncio.Task[None] | None = None
        signals = False
        if reloader is not None:
            if holder.tenancy is None:
                await _load(holder, reloader)
            watcher = asyncio.create_task(reloader.watch())
            signals = reload_on_sighup and reloader.handle_signals(loop)
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
            if signals:
                loop.remove_signal_handler(signal.SIGHUP)
            await holder.upstream.aclose()

    app = Starlette(
        routes=[
            *_health_routes(),
            *wires.routes(),  # every registered wire shape
            *openapi.ROUTES,
            *CONSOLE_ROUTES,  # 404 unless the server config enables it
        ],
        middleware=[Middleware(FramingGuard)],  # request smuggling: before any route
        exception_handlers=fallback.HANDLERS,  # JSON 404 / 405 in the API's error shape
        lifespan=lifespan,
    )
    app.state.guardrail = holder
    app.state.reloader = reloader
    app.state.console = Console(holder, reloader)
    return app


async def _load(holder: ProxyHolder, reloader: Reloader) -> None:
    try:
        snapshot = await asyncio.to_thread(reloader.load)  # installs through `bind`
    except GuardrailError as exc:
        holder.error = f"policy failed to load: {exc}"
        log.error("server.policy_failed", error_code=exc.code)
        raise
    policies = sorted({p.policy.name for p in snapshot.pipelines.values()})
    log.info("server.ready", policies=policies, tenants=len(snapshot.config.tenants))


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
    tenancy = holder.tenancy
    if tenancy is None:
        status = "failed" if holder.error else "loading"
        return JSONResponse({"status": status, "error": holder.error}, status_code=503)
    if tenancy.open_proxy is None:  # tenants' names and policies are not for every caller
        body = {"status": "ready", "tenants": len(tenancy.proxies)}
        return JSONResponse({**body, "upstream": holder.upstream.name})
    policy = tenancy.open_proxy.pipeline.policy
    return JSONResponse(
        {
            "status": "ready",
            "policy": policy.name,
            "policy_hash": policy.content_hash,
            "upstream": holder.upstream.name,
        }
    )


async def metrics(request: Request) -> Response:
    """Prometheus metrics (`guardrail_*`); with `admin_keys` configured, only for those."""
    holder: ProxyHolder = request.app.state.guardrail
    admin_keys = holder.tenancy.admin_keys if holder.tenancy is not None else ()
    if admin_keys and not key_matches(request.headers, admin_keys):
        return JSONResponse(error_body(unauthorized(), 401, {}), status_code=401)
    return Response(holder.metrics.render(), media_type=CONTENT_TYPE)
