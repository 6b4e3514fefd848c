"""A built-in local upstream for demos and tests: deterministic, no network, no model.

What it answers, first match wins:

1. the `x-guardrail-local-reply` request header (percent-encoded UTF-8 allowed), verbatim;
2. a scripted reply: the first entry of `replies` whose key occurs in the last user message;
3. an echo: `You said: <last user message>` (it echoes what reached the upstream, so a
   redacted e-mail comes back as `<EMAIL_1>` and the proxy restores it for the client).

Streams come in pieces of `chunk_chars` characters (header `x-guardrail-local-chunk-chars`
overrides it per request), so output guards and the hold-back window can be exercised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import unquote

from guardrail.errors import NotSupported, RequestError
from guardrail.upstream import shapes
from guardrail.upstream.base import LOCAL_HEADER_PREFIX, UpstreamRequest

REPLY_HEADER = f"{LOCAL_HEADER_PREFIX}reply"
CHUNK_HEADER = f"{LOCAL_HEADER_PREFIX}chunk-chars"


class LocalUpstream:
    """Answers from the request itself (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        replies: Mapping[str, str] | None = None,
        *,
        chunk_chars: int = 4,
        model: str = "local",
    ) -> None:
        self.replies = dict(replies or {})
        self.chunk_chars = chunk_chars
        self.model = model

    def reply(self, request: UpstreamRequest) -> str:
        """The text this upstream answers to `request`."""
        scripted = request.directives.get(REPLY_HEADER)
        if scripted is not None:
            return unquote(scripted)
        prompt = self._prompt(request)
        for key, reply in self.replies.items():
            if key in prompt:
                return reply
        return f"You said: {prompt}"

    @staticmethod
    def _prompt(request: UpstreamRequest) -> str:
        return request.format.prompt(request.body)

    def _chunk_chars(self, request: UpstreamRequest) -> int:
        raw = request.directives.get(CHUNK_HEADER)
        if raw is None:
            return self.chunk_chars
        try:
            return max(1, int(raw))
        except ValueError as exc:
            raise RequestError(f"{CHUNK_HEADER} must be an integer") from exc

    async def complete(self, request: UpstreamRequest) -> dict[str, Any]:
        """The whole answer."""
        model = request.model or self.model
        prompt_tokens = shapes.count_tokens(self._prompt(request))
        fmt = request.format
        answer_id = f"{fmt.id_prefix}-local"
        return fmt.answer(
            self.reply(request), model=model, id=answer_id, prompt_tokens=prompt_tokens
        )

    async def stream(self, request: UpstreamRequest) -> AsyncIterator[dict[str, Any]]:
        """The answer in small pieces."""
        model = request.model or self.model
        pieces = shapes.split(self.reply(request), self._chunk_chars(request))
        options = request.body.get("stream_options")
        usage = isinstance(options, dict) and options.get("include_usage") is True
        fmt = request.format
        chunks = fmt.chunks(pieces, model=model, id=f"{fmt.id_prefix}-local", include_usage=usage)
        for chunk in chunks:
            yield chunk
            await asyncio.sleep(0)  # let the proxy interleave other requests

    async def embed(self, request: UpstreamRequest) -> dict[str, Any]:
        """No embeddings here: the local upstream has no model to make them with."""
        raise NotSupported("the local upstream serves no embeddings; use --upstream URL")

    async def count_tokens(self, request: UpstreamRequest) -> dict[str, Any]:
        """Not here: the local upstream has no tokenizer to count with."""
        raise NotSupported(
            "count_tokens needs an Anthropic upstream (a --config route to an anthropic/ "
            "model); an OpenAI-compatible upstream cannot count Claude's tokens"
        )

    async def models(self, api_key: str | None = None) -> list[str]:
        """The one local model."""
        return [self.model]

    async def aclose(self) -> None:
        """Nothing to release."""
