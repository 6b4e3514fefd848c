"""OpenAI wire shapes built from plain text: responses and stream chunks.

Used by the local upstream, the fake upstream in `guardrail.testing`, and the proxy when it
answers by itself (a refusal). Pure functions; ids are derived from a caller's value so that
answers stay deterministic.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

from guardrail.wire import Json


def usage(prompt_tokens: int, completion_tokens: int) -> Json:
    """An OpenAI `usage` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def count_tokens(text: str) -> int:
    """A rough, deterministic token count (words) for usage numbers."""
    return len(text.split())


def chat_response(
    text: str | None,
    *,
    model: str,
    id: str = "chatcmpl-guardrail",
    finish_reason: str = "stop",
    tool_calls: Sequence[Json] = (),
    prompt_tokens: int = 0,
) -> Json:
    """A `chat.completion` with one choice."""
    message: Json = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    return {
        "id": id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage(prompt_tokens, count_tokens(text or "")),
    }


def text_response(
    text: str,
    *,
    model: str,
    id: str = "cmpl-guardrail",
    finish_reason: str = "stop",
    prompt_tokens: int = 0,
) -> Json:
    """A legacy `text_completion` with one choice."""
    return {
        "id": id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage(prompt_tokens, count_tokens(text)),
    }


def chat_chunk(
    delta: Json,
    *,
    model: str,
    id: str = "chatcmpl-guardrail",
    finish_reason: str | None = None,
    index: int = 0,
    created: int | None = None,
) -> Json:
    """One `chat.completion.chunk` with one choice."""
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [
            {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        ],
    }


def chat_chunks(
    pieces: Iterable[str],
    *,
    model: str,
    id: str = "chatcmpl-guardrail",
    finish_reason: str = "stop",
    tool_calls: Sequence[Json] = (),
    include_usage: bool = False,
) -> Iterator[Json]:
    """A whole chat stream: role, one chunk per piece, tool calls, finish (and usage)."""
    created = int(time.time())
    yield chat_chunk({"role": "assistant", "content": ""}, model=model, id=id, created=created)
    completion = 0
    for piece in pieces:
        completion += count_tokens(piece)
        yield chat_chunk({"content": piece}, model=model, id=id, created=created)
    for k, call in enumerate(tool_calls):
        delta = {"tool_calls": [{"index": k, **call}]}
        yield chat_chunk(delta, model=model, id=id, created=created)
    yield chat_chunk({}, model=model, id=id, finish_reason=finish_reason, created=created)
    if include_usage:
        yield {
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage(0, completion),
        }


def text_chunks(
    pieces: Iterable[str], *, model: str, id: str = "cmpl-guardrail", finish_reason: str = "stop"
) -> Iterator[Json]:
    """A whole legacy text-completion stream."""
    created = int(time.time())
    base = {"id": id, "object": "text_completion", "created": created, "model": model}
    for piece in pieces:
        choice = {"index": 0, "text": piece, "logprobs": None, "finish_reason": None}
        yield {**base, "choices": [choice]}
    final = {"index": 0, "text": "", "logprobs": None, "finish_reason": finish_reason}
    yield {**base, "choices": [final]}


def split(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters (at least one piece, maybe empty)."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


async def as_stream(chunks: Iterable[Json]) -> AsyncIterator[Json]:
    """Ready-made chunks (a refusal, a scripted answer) as the async stream edges consume."""
    for chunk in chunks:
        yield chunk
