"""The Upstream protocol: where a checked request goes to get its answer.

Every upstream speaks the OpenAI wire format inside guardrail: `complete` takes an OpenAI
`chat.completions` (or legacy `completions`) body and returns the response as a plain dict;
`stream` yields `chat.completion.chunk` (or text-completion chunk) dicts. Other providers are
reached through litellm (`upstream/litellm.py`), which translates; the Anthropic route of the
proxy translates to and from this format at the edge.

Errors are always `guardrail.errors.Upstream*`: each implementation maps its foreign errors
(litellm, httpx) in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from guardrail.upstream.formats import CHAT, AnswerFormat

LOCAL_HEADER_PREFIX = "x-guardrail-local-"


@dataclass(frozen=True)
class UpstreamRequest:
    """One call to an upstream."""

    body: dict[str, Any]
    format: AnswerFormat = CHAT  # what is asked for: chat or legacy text completions
    # The client's own key (Authorization bearer or x-api-key); used when the route for the
    # model has no key of its own (drop-in use: the proxy is transparent to credentials).
    api_key: str | None = None
    # Directives for the local upstream (`x-guardrail-local-*` request headers); others ignore.
    directives: Mapping[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The model name the client asked for."""
        return str(self.body.get("model") or "")


@runtime_checkable
class Upstream(Protocol):
    """A model provider, seen through the OpenAI wire format."""

    name: str

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        """The whole answer (`stream` is not set in the body)."""
        ...

    def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        """The answer as chunks. Errors before the first chunk raise on the first `anext`."""
        ...

    async def embed(self, request: UpstreamRequest) -> dict[str, Any]:
        """The OpenAI `/v1/embeddings` answer for `request.body` (already checked), as it came;
        NotSupported when this upstream serves no embeddings."""
        ...

    async def count_tokens(self, request: UpstreamRequest) -> dict[str, Any]:
        """Anthropic's `{"input_tokens": n}` for the checked Anthropic `request.body`, from the
        provider's own tokenizer; NotSupported when this upstream has no Anthropic route."""
        ...

    async def models(self, api_key: str | None = None) -> list[str]:
        """Model names this upstream serves (for `GET /v1/models`), asked with `api_key` (the
        caller's key, as for a completion) when the upstream has none of its own. A refusal
        (401, 403, 5xx) is an `UpstreamError`, never an empty list."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
