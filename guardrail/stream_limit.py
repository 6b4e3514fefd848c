"""The `max_completion_chars` cap on a streamed answer: no HTTP here, so every edge's flow
(guardrail/flow.py) can apply it. The limit's value is resolved with the other limits in
guardrail/server/limits.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from guardrail.logging import get_logger
from guardrail.upstream.formats import CHAT, AnswerFormat
from guardrail.wire import Json

log = get_logger("guardrail.server")
LENGTH = "length"
_FINISH = "finish_reason"


async def cap_completion(
    chunks: AsyncIterator[Json],
    max_chars: int,
    *,
    format: AnswerFormat = CHAT,
    request_id: str = "",
) -> AsyncIterator[Json]:
    """OpenAI chunks, ended with `finish_reason: "length"` once `max_chars` of text came.

    Text counts over every choice and channel (content, tool-call arguments, legacy text).
    The chunk that crosses the limit is cut at it; every choice still open then gets its
    final chunk, and the upstream stream is closed.
    """
    used = 0
    open_choices: dict[int, Json] = {}
    try:
        async for chunk in chunks:
            choices = chunk.get("choices")
            if not isinstance(choices, list) or not choices:
                yield chunk
                continue
            used, over = _take(choices, used, max_chars)
            _track(open_choices, choices)
            if not over:
                yield chunk
                continue
            log.info("stream.limit_reached", limit="max_completion_chars", request_id=request_id)
            yield _final_chunk(chunk, choices, open_choices, format)
            return
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


def _final_chunk(
    chunk: Json, choices: list[Any], open_choices: dict[int, Json], format: AnswerFormat
) -> Json:
    """The (cut) choices of `chunk` and every other open choice, each finished with
    `finish_reason: "length"`."""
    out: list[Any] = []
    for choice in choices:
        if isinstance(choice, dict):
            choice[_FINISH] = LENGTH
            out.append(choice)
    present = {c.get("index") for c in out}
    for index in open_choices:
        if index not in present:
            out.append(format.make_choice(index, {}, LENGTH))
    return {**chunk, "choices": out}


def _track(open_choices: dict[int, Json], choices: list[Any]) -> None:
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        raw = choice.get("index")
        index = raw if isinstance(raw, int) else 0
        if choice.get(_FINISH):
            open_choices.pop(index, None)
        else:
            open_choices[index] = choice


def _take(choices: list[Any], used: int, max_chars: int) -> tuple[int, bool]:
    """Count the text of `choices` (in place: cut what passes `max_chars`); (used, over)."""
    over = False
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        for holder, key in _text_fields(choice):
            text = holder[key]
            room = max(0, max_chars - used)
            if len(text) > room:
                holder[key] = text[:room]
                over = True
            used += len(holder[key])
    return used, over


def _text_fields(choice: Json) -> Iterator[tuple[Json, str]]:
    """(dict, key) of each text in a chunk's choice."""
    if isinstance(choice.get("text"), str):
        yield choice, "text"
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return
    if isinstance(delta.get("content"), str):
        yield delta, "content"
    for call in delta.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            yield function, "arguments"


# ---------------------------------------------------------------------------- CLI
