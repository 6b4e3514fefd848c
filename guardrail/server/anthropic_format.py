"""Anthropic Messages <-> the OpenAI wire format that every upstream speaks inside guardrail.

Requests: `system` becomes a system message, content blocks become OpenAI content parts,
`tool_result` blocks become `role: tool` messages (placed before the user's other content, as
OpenAI requires), `tool_use` blocks become `tool_calls`, `document` (text) and
`search_result` blocks become text parts. Fields with an OpenAI equivalent are renamed
(`stop_sequences` -> `stop`, `metadata.user_id` -> `user`, tools, tool_choice); Anthropic-only
fields that an OpenAI-compatible server would reject are dropped (`_DROPPED`); every other
field passes through as it is (litellm understands e.g. `thinking`).

Responses and streams go the other way: an OpenAI completion becomes a `message`, an OpenAI
chunk stream becomes the Anthropic event sequence, and `finish_reason: content_filter` (a
guardrail block) becomes `stop_reason: refusal`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from guardrail.errors import RequestError
from guardrail.streaming import BLOCK_KEY
from guardrail.wire import Json

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_DROPPED = frozenset({"top_k", "container", "mcp_servers", "service_tier", "context_management"})


# ------------------------------------------------------------------------- requests


def to_openai_request(body: Json) -> Json:
    """An Anthropic `messages` request as an OpenAI `chat.completions` request."""
    messages: list[Json] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text_of(system)})
    for message in body.get("messages") or ():
        messages.extend(_message(message))
    out: Json = {"messages": messages}
    for key, value in body.items():
        if key in ("messages", "system") or key in _DROPPED:
            continue
        out.update(_field(key, value))
    return out


def _field(key: str, value: Any) -> Json:
    if key == "stop_sequences":
        return {"stop": value}
    if key == "metadata":
        user = value.get("user_id") if isinstance(value, dict) else None
        return {"user": user} if user else {}
    if key == "tools":
        if not isinstance(value, list | None):
            raise RequestError("tools must be an array")
        tools = [_tool(t) for t in value or () if isinstance(t, dict) and "input_schema" in t]
        return {"tools": tools} if tools else {}
    if key == "tool_choice":
        return _tool_choice(value)
    if key == "stream" and value is True:
        return {"stream": True, "stream_options": {"include_usage": True}}
    return {key: value}


def _tool(tool: Json) -> Json:
    function: Json = {"name": tool.get("name"), "parameters": tool.get("input_schema")}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Json:
    if not isinstance(choice, dict):
        return {}
    kind = choice.get("type")
    out: Json = {}
    if kind in ("auto", "none"):
        out["tool_choice"] = kind
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out


def _text_of(content: Any) -> str:
    """The text of a string or a list of blocks (non-text blocks are left out)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list | None):
        raise RequestError("content must be a string or an array of content blocks")
    return "\n".join(part for block in content or () for part in _block_texts(block))


def _block_texts(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text":
        return [_string(block.get("text"))]
    if kind == "document":
        source = block.get("source")
        source = source if isinstance(source, dict) else {}
        if source.get("type") == "text":
            return [_string(source.get("data"))]
        if source.get("type") == "content":
            return [_text_of(source.get("content"))]
    if kind in ("search_result", "tool_result"):
        return [_text_of(block.get("content"))]
    return []


def _string(value: Any) -> str:
    """A text field's value: a string (None: empty). Anything else is refused, never turned
    into a string with `str()` -- that text would reach the model unchecked."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RequestError(f"a text field must be a string, got {type(value).__name__}")
    return value


def _message(message: Json) -> list[Json]:
    content = message.get("content")
    if message.get("role") == "assistant":
        return [_assistant(content)]
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[Json] = []
    parts: list[Json] = []
    for block in content or ():
        if isinstance(block, dict) and block.get("type") == "tool_result":
            text = _text_of(block.get("content"))
            call_id = block.get("tool_use_id")
            tools.append({"role": "tool", "tool_call_id": call_id, "content": text})
        elif isinstance(block, dict) and block.get("type") == "image":
            parts.append(_image(block))
        else:
            parts.extend({"type": "text", "text": t} for t in _block_texts(block))
    if not parts:
        return tools
    if all(p["type"] == "text" for p in parts) and len(parts) == 1:
        return [*tools, {"role": "user", "content": parts[0]["text"]}]
    return [*tools, {"role": "user", "content": parts}]


def _image(block: Json) -> Json:
    source = block.get("source")
    source = source if isinstance(source, dict) else {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    else:
        url = str(source.get("url", ""))
    return {"type": "image_url", "image_url": {"url": url}}


def _assistant(content: Any) -> Json:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[Json] = []
    for block in content or ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(_string(block.get("text")))
        elif block.get("type") == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
    message: Json = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


# ------------------------------------------------------------------------ responses


def _message_id(openai_id: Any) -> str:
    raw = str(openai_id or "guardrail")
    return raw if raw.startswith("msg_") else f"msg_{raw}"


def _arguments(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {"_raw_arguments": raw}  # the model produced invalid JSON: keep it visible


def _answer_text(message: Json) -> str:
    """An answer's text: `content` as a string or as a list of parts (some providers send
    parts), and a `refusal` (the model declining is its answer). Never a list or an object."""
    content = message.get("content")
    texts = [content] if isinstance(content, str) else []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") in ("text", "output_text", "refusal"):
            value = part.get("refusal" if part.get("type") == "refusal" else "text")
            texts.append(value if isinstance(value, str) else "")
    refusal = message.get("refusal")
    if isinstance(refusal, str):
        texts.append(refusal)
    return "".join(texts)


def to_anthropic_response(response: Json, model: str) -> Json:
    """An OpenAI chat completion (first choice) as an Anthropic `message`."""
    choices = response.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[Json] = []
    text = _answer_text(message)
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": _arguments(function.get("arguments")),
            }
        )
    usage = response.get("usage") or {}
    return {
        "id": _message_id(response.get("id")),
        "type": "message",
        "role": "assistant",
        "model": response.get("model") or model,
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        },
    }


# -------------------------------------------------------------------------- streams


@dataclass
class StreamEncoder:
    """OpenAI chunks (first choice) -> Anthropic stream events as (event name, data)."""

    model: str
    _started: bool = False
    _block: int = -1  # index of the open content block (-1: none)
    _block_kind: str = ""  # "text" or f"tool:{k}"
    _stop_reason: str | None = None
    _cut_by: Json | None = None  # the rule, stage and code of a block that cut the stream
    _usage: Json = field(default_factory=dict)

    async def encode(self, chunks: AsyncIterator[Json]) -> AsyncIterator[tuple[str, Json]]:
        """The whole event sequence, message_start to message_stop."""
        async for chunk in chunks:
            if not self._started:
                yield self._message_start(chunk)
            if chunk.get("usage"):
                self._usage = chunk["usage"]
            for choice in chunk.get("choices") or ():
                if int(choice.get("index") or 0) != 0:
                    continue  # Anthropic has one answer per message
                for event in self._choice(choice):
                    yield event
        if not self._started:
            yield self._message_start({})
        for event in self._finish():
            yield event

    def _message_start(self, chunk: Json) -> tuple[str, Json]:
        self._started = True
        message: Json = {
            "id": _message_id(chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return "message_start", {"type": "message_start", "message": message}

    def _choice(self, choice: Json) -> list[tuple[str, Json]]:
        events: list[tuple[str, Json]] = []
        delta = choice.get("delta") or {}
        text = delta.get("content")
        if isinstance(text, str) and text:
            events += self._open("text", {"type": "text", "text": ""})
            events.append(self._delta({"type": "text_delta", "text": text}))
        for call in delta.get("tool_calls") or ():
            events += self._tool(call)
        if choice.get("finish_reason"):
            self._stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")
            events += self._close()
        if isinstance(choice.get(BLOCK_KEY), dict):
            self._cut_by = choice[BLOCK_KEY]
        return events

    def _tool(self, call: Json) -> list[tuple[str, Json]]:
        events: list[tuple[str, Json]] = []
        function = call.get("function") or {}
        kind = f"tool:{call.get('index') or 0}"
        if kind != self._block_kind:
            start: Json = {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": {},
            }
            events += self._open(kind, start)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            events.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return events

    def _open(self, kind: str, block: Json) -> list[tuple[str, Json]]:
        if kind == self._block_kind:
            return []
        events = self._close()
        self._block += 1
        self._block_kind = kind
        start = {"type": "content_block_start", "index": self._block, "content_block": block}
        return [*events, ("content_block_start", start)]

    def _delta(self, delta: Json) -> tuple[str, Json]:
        return "content_block_delta", {
            "type": "content_block_delta",
            "index": self._block,
            "delta": delta,
        }

    def _close(self) -> list[tuple[str, Json]]:
        if not self._block_kind:
            return []
        self._block_kind = ""
        stop = {"type": "content_block_stop", "index": self._block}
        return [("content_block_stop", stop)]

    def _finish(self) -> list[tuple[str, Json]]:
        delta: Json = {"stop_reason": self._stop_reason or "end_turn", "stop_sequence": None}
        if self._cut_by:  # which rule cut the stream, as a block error names it
            delta[BLOCK_KEY] = self._cut_by
        usage = {"output_tokens": int(self._usage.get("completion_tokens") or 0)}
        return [
            *self._close(),
            ("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}),
            ("message_stop", {"type": "message_stop"}),
        ]
