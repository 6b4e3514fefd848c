"""The litellm upstream: every provider litellm knows, behind the `Upstream` protocol.

This is the only module that imports litellm, and it does so lazily (importing it costs
seconds and ~190 MB, and by default it downloads a price map: `LITELLM_LOCAL_MODEL_COST_MAP`
is set first). litellm's exceptions are translated to `guardrail.errors.Upstream*` here, in
`map_error`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any

import httpx

from guardrail.errors import (
    NotSupported,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from guardrail.upstream import anthropic_tokens
from guardrail.upstream.base import UpstreamRequest
from guardrail.upstream.retry import with_retries
from guardrail.upstream.routes import RouteTable

# Guardrail's own request fields never go to a provider.
_DROP = frozenset({"model"})
_CALLS = {"chat": "acompletion", "text": "atext_completion"}  # litellm's call per format


@cache
def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # litellm wraps mid-stream failures without chaining (`original_exception`)
        wrapped = getattr(current, "original_exception", None)
        wrapped = wrapped if isinstance(wrapped, BaseException) else None
        current = current.__cause__ or wrapped or current.__context__


def map_error(exc: BaseException) -> UpstreamError:
    """litellm's exception -> ours (the one place where this happens)."""
    if isinstance(exc, UpstreamError):
        return exc
    errors = _litellm().exceptions
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", "") or exc) or type(exc).__name__
    causes = list(_causes(exc))
    # litellm reports a refused connection as InternalServerError("Connection error."); the
    # transport error it came from is further down the chain.
    if any(isinstance(c, errors.Timeout | httpx.TimeoutException) for c in causes):
        return UpstreamTimeout(message)
    if any(isinstance(c, errors.APIConnectionError | httpx.TransportError) for c in causes):
        return UpstreamUnavailable(message)
    if isinstance(exc, errors.APIResponseValidationError):
        return UpstreamBadResponse(message, status=status)
    return UpstreamError(message, status=status if isinstance(status, int) else None)


class LitellmUpstream:
    """Routes each model name through a `RouteTable` to `litellm.acompletion`."""

    name = "litellm"

    def __init__(self, routes: RouteTable, *, retries: int = 2) -> None:
        self.routes = routes
        self.retries = retries  # of calls that failed before sending (see upstream/retry.py)
        _litellm()  # import now, at start-up, not on the first request

    def _kwargs(self, request: UpstreamRequest, stream: bool) -> dict[str, Any]:
        route = self.routes.resolve(request.model)
        kwargs = {k: v for k, v in request.body.items() if k not in _DROP}
        kwargs.update(model=route.target(request.model), stream=stream, timeout=route.timeout_s)
        if route.api_base:
            kwargs["api_base"] = route.api_base
        # openai-compatible servers often need no key, but the SDK insists on one
        kwargs["api_key"] = route.api_key(request.api_key) or "none"
        # litellm never retries: calls that never left are retried by `with_retries`, other
        # failures are the client's decision (its SDK retries already)
        kwargs.setdefault("max_retries", 0)
        if not stream:
            kwargs.pop("stream_options", None)
        return kwargs

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        """One whole answer."""
        litellm = _litellm()
        call = getattr(litellm, _CALLS[request.format.name])
        kwargs = self._kwargs(request, stream=False)
        try:
            response = await with_retries(lambda: call(**kwargs), self.retries, self.name)
        except Exception as exc:
            raise map_error(exc) from exc
        return _as_dict(response)

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        """The answer as OpenAI-shaped chunk dicts."""
        litellm = _litellm()
        call = getattr(litellm, _CALLS[request.format.name])
        chunks: Any = None
        kwargs = self._kwargs(request, stream=True)
        try:
            chunks = await with_retries(lambda: call(**kwargs), self.retries, self.name)
            async for chunk in chunks:
                yield _as_dict(chunk)
        except Exception as exc:
            raise map_error(exc) from exc
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:  # the client went away: release the provider's connection
                await close()

    async def embed(self, request: UpstreamRequest) -> dict[str, Any]:
        """The embeddings answer, through `litellm.aembedding` on the model's route."""
        kwargs = self._kwargs(request, stream=False)
        kwargs.pop("stream")
        call = _litellm().aembedding
        try:
            response = await with_retries(lambda: call(**kwargs), self.retries, self.name)
        except Exception as exc:
            raise map_error(exc) from exc
        return _as_dict(response)

    async def count_tokens(self, request: UpstreamRequest) -> dict[str, Any]:
        """Anthropic's own count, for a route to an `anthropic/` model (`anthropic_tokens`);
        NotSupported for any other route: a local estimate would not be Claude's count."""
        route = self.routes.resolve(request.model)
        target = route.target(request.model)
        if not target.startswith(anthropic_tokens.PROVIDER_PREFIX):
            raise NotSupported(
                f"count_tokens needs an Anthropic route; model {request.model!r} goes to "
                f"{target.split('/')[0]!r}"
            )
        return await anthropic_tokens.count_tokens(
            request.body,
            model=target.removeprefix(anthropic_tokens.PROVIDER_PREFIX),
            api_key=route.api_key(request.api_key),
            api_base=route.api_base,
            timeout_s=route.timeout_s,
        )

    async def models(self, api_key: str | None = None) -> list[str]:
        """The configured model names (the route table answers; no provider is asked)."""
        return self.routes.names

    async def aclose(self) -> None:
        """litellm keeps its own client cache; its logging worker is stopped (see below)."""
        await stop_logging_worker()


async def stop_logging_worker() -> None:
    """Stop litellm's logging worker when it runs on this loop.

    litellm starts it as a task on the loop of its first call and never ends it, so a loop
    closed under it prints "Task was destroyed but it is pending!" at exit.
    """
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
    except ImportError:  # another litellm version: nothing we know how to stop
        return
    task = getattr(GLOBAL_LOGGING_WORKER, "_worker_task", None)
    if isinstance(task, asyncio.Task) and task.get_loop() is asyncio.get_running_loop():
        await GLOBAL_LOGGING_WORKER.stop()


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    dump = getattr(value, "model_dump", None)
    if dump is None:
        raise UpstreamBadResponse(f"unexpected answer type {type(value).__name__}")
    data: dict[str, Any] = dump(exclude_none=False)
    return data
