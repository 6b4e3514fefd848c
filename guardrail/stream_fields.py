"""The text-bearing side fields of a chat stream, checked like its content.

`StreamGuard` (guardrail/streaming.py) holds back and checks a choice's `content` and its
tool-call arguments. A delta can carry text elsewhere too: `refusal`, `reasoning_content`,
`audio.transcript`, a tool call's `name`. `FieldGuard` runs in front of it and gives each of
those the same treatment -- its own hold-back channel, released only once checked -- and
drops every delta key that no check covers (docs/fields.md), so a field the guard does not
know never reaches the client. It hands `content`, tool-call arguments and `role` on
unchanged for `StreamGuard` to deal with.

A tool call's name is checked whole before the call's header goes on: OpenAI sends a name
whole, in the call's first delta, and a name sent in pieces could slip text past the check
piece by piece, so it ends the stream as a bad upstream answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from guardrail.errors import UpstreamBadResponse
from guardrail.streaming import (
    BLOCK_KEY,
    CONTENT_FILTER,
    Holdback,
    MakeHoldback,
    Release,
    block_fields,
    chunk_index,
)
from guardrail.types import Decision
from guardrail.upstream.formats import CHAT, AnswerFormat
from guardrail.wire import Json

Chunk = Json  # one OpenAI stream chunk

SIDE_TEXTS = ("refusal", "reasoning_content")
"""Delta keys whose text this guard checks (besides `audio.transcript` and tool names)."""
PASSED_ON = ("role", "content", "tool_calls")
"""Delta keys handed on as they are (`StreamGuard` checks content and tool arguments)."""
CHUNK_KEYS = frozenset(
    {"id", "object", "created", "model", "system_fingerprint", "service_tier", "usage", "choices"}
)
"""A chunk's own keys that go on; others (`obfuscation`, vendor extras) are dropped."""
_AUDIO = "audio"


@dataclass
class FieldGuard:
    """Checks and filters the side fields of an OpenAI chat chunk stream."""

    make_holdback: MakeHoldback
    refusal: str | None = None  # on a block, say this in the final chunk (on_block: refusal)
    format: AnswerFormat = CHAT  # without deltas (legacy text): only a chunk's own keys
    blocked: Decision | None = None
    # told of a block at once (the flow hands it to the StreamGuard behind this one, which
    # then ends the stream and holds the block for the edges' logs)
    on_block: Callable[[Decision], None] | None = None
    _channels: dict[tuple[int, str], Holdback] = field(default_factory=dict)
    _named: set[tuple[int, int]] = field(default_factory=set)
    _last: Chunk = field(default_factory=dict)  # the last chunk's own keys (id, model, ...)

    async def guard(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        """The filtered stream; ends with a `content_filter` chunk on a block."""
        try:
            async for chunk in chunks:
                out = await self._chunk(chunk)
                yield out
                if self.blocked is not None:
                    return
            rest = await self._flush_all()
            if rest is not None:
                yield rest
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    async def _chunk(self, chunk: Chunk) -> Chunk:
        chunk = {key: value for key, value in chunk.items() if key in CHUNK_KEYS}
        self._last = {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
        choices = chunk.get("choices")
        if not self.format.deltas or not isinstance(choices, list) or not choices:
            return chunk  # legacy choices: StreamGuard keeps only their text
        out = []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = chunk_index(choice)
            delta = await self._delta(index, choice)
            if self.blocked is not None:
                return self._block_chunk(chunk, index)
            out.append({**choice, "delta": delta})
        return {**chunk, "choices": out}

    async def _delta(self, index: int, choice: Chunk) -> Chunk:
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        final = choice.get("finish_reason") is not None
        out = {key: delta[key] for key in PASSED_ON if key in delta and key != "tool_calls"}
        for key in (*SIDE_TEXTS, _AUDIO):
            value = delta.get(key)
            text = value.get("transcript") if key == _AUDIO and isinstance(value, dict) else value
            released = await self._feed(index, key, text, final=final)
            if released:
                out[key] = {"transcript": released} if key == _AUDIO else released
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            out["tool_calls"] = [await self._call(index, call) for call in calls]
        return out

    async def _feed(self, index: int, key: str, text: Any, *, final: bool) -> str:
        """Feed a side channel; at the choice's end, release (after a check) what it holds."""
        if self.blocked is not None:
            return ""
        holdback = self._channels.get((index, key))
        released = ""
        if isinstance(text, str) and text:
            if holdback is None:
                holdback = self._channels[(index, key)] = self.make_holdback()
            released = self._take(await holdback.feed(text))
        if final and holdback is not None and self.blocked is None:
            del self._channels[(index, key)]
            released += self._take(await holdback.close())
        return released

    def _take(self, release: Release) -> str:
        self.blocked = release.blocked
        if release.blocked is not None and self.on_block is not None:
            self.on_block(release.blocked)
        return release.text if release.blocked is None else ""

    async def _call(self, index: int, call: Any) -> Chunk:
        """A tool-call delta: its name checked whole; arguments handed on; no other keys."""
        call = call if isinstance(call, dict) else {}
        k = chunk_index(call)
        out: Chunk = {"index": k}
        out.update({key: call[key] for key in ("id", "type") if isinstance(call.get(key), str)})
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        checked: Chunk = {}
        if "arguments" in function:
            checked["arguments"] = function["arguments"]
        name = function.get("name")
        if isinstance(name, str) and name:
            checked["name"] = await self._name(index, k, name)
        if checked:
            out["function"] = checked
        return out

    async def _name(self, index: int, k: int, name: str) -> str:
        if (index, k) in self._named:
            raise UpstreamBadResponse("the upstream sent a tool-call name in pieces")
        self._named.add((index, k))
        holdback = self.make_holdback()
        text = self._take(await holdback.feed(name))
        if self.blocked is None:
            text += self._take(await holdback.close())
        return text

    async def _flush_all(self) -> Chunk | None:
        """The stream ended without a finish chunk: release what the channels hold."""
        deltas: dict[int, Chunk] = {}
        for (index, key), holdback in sorted(self._channels.items()):
            text = self._take(await holdback.close())
            if self.blocked is not None:
                return self._block_chunk(self._last, index)
            if text:
                deltas.setdefault(index, {})[key] = {"transcript": text} if key == _AUDIO else text
        self._channels.clear()
        if not deltas:
            return None
        choices = [{"index": i, "delta": d, "finish_reason": None} for i, d in deltas.items()]
        return {**self._last, "choices": choices}

    def _block_chunk(self, chunk: Chunk, index: int) -> Chunk:
        delta: Chunk = {"content": self.refusal} if self.refusal else {}
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": CONTENT_FILTER}
        if self.blocked is not None:
            choice[BLOCK_KEY] = block_fields(self.blocked)
        return {**{k: v for k, v in chunk.items() if k != "usage"}, "choices": [choice]}
