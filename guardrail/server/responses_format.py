"""OpenAI chat answers and streams -> the OpenAI Responses API (`/v1/responses`).

The upstream answers in chat completions; the proxy checks and restores that answer (or the
chunk stream, through the same hold-back guards as chat) and only then are they translated
here, so the translation sees nothing the guards have not passed.

An answer becomes a `response` object: the message's text (and refusal) as one `message`
output item with `output_text` (`refusal`) content, each tool call as a `function_call`
item, usage as input/output tokens. `finish_reason` `length` and `content_filter` (a
guardrail block answered as a refusal, or the provider's own filter) make the response
`incomplete`, with `incomplete_details.reason` `max_output_tokens` / `content_filter`, as
OpenAI itself reports them.

A stream becomes the typed event sequence the OpenAI SDK reads: `response.created`,
`response.in_progress`, per item `response.output_item.added` ... `.done` (text:
`response.content_part.added`, `response.output_text.delta` / `.done`,
`response.content_part.done`; tool calls: `response.function_call_arguments.delta` /
`.done`) and at the end `response.completed` (or `response.incomplete`), each with its
`sequence_number`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from guardrail.streaming import BLOCK_KEY
from guardrail.wire import Json

Event = tuple[str, Json]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_PART_KEY = {"output_text": "text", "refusal": "refusal"}


def _id(prefix: str, raw: Any) -> str:
    text = raw if isinstance(raw, str) and raw else "guardrail"
    return text if text.startswith(prefix) else f"{prefix}{text}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(usage: Any) -> Json | None:
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _status(finish: Any) -> tuple[str, Json | None]:
    reason = _INCOMPLETE.get(finish) if isinstance(finish, str) else None
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def response_object(request: Json, *, rid: Any, created: Any, model: Any) -> Json:
    """A `response` object with the request's settings echoed, no output yet."""
    return {
        "id": _id("resp_", rid),
        "object": "response",
        "created_at": int(created) if isinstance(created, int | float) else int(time.time()),
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "metadata": request.get("metadata") or {},
        "model": model or request.get("model") or "",
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "store": False,
        "temperature": request.get("temperature"),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": request.get("user"),
    }


# ---------------------------------------------------------------------- whole answers


def to_response(answer: Json, request: Json) -> Json:
    """A checked chat completion (its first choice) as a Responses `response` object."""
    choices = _list(answer.get("choices")) or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    out = response_object(
        request, rid=answer.get("id"), created=answer.get("created"), model=answer.get("model")
    )
    status, details = _status(choice.get("finish_reason"))
    item_status = "completed" if status == "completed" else "incomplete"
    parts = _message_parts(message)
    if parts:
        message_id = _id("msg_", answer.get("id"))
        out["output"].append(_message_item(message_id, parts, item_status))
    for call in _list(message.get("tool_calls")):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            out["output"].append(_call_item(call, function, item_status))
    out.update(status=status, incomplete_details=details, usage=_usage(answer.get("usage")))
    return out


def _message_parts(message: Json) -> list[Json]:
    content = message.get("content")
    texts = [content] if isinstance(content, str) and content else []
    parts: list[Json] = []
    for part in content if isinstance(content, list) else ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "output_text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "refusal", "refusal": part["refusal"]})
    if texts:
        text = {"type": "output_text", "text": "".join(texts), "annotations": _notes(message)}
        parts.insert(0, {**text, "logprobs": []})
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    return parts


def _notes(message: Json) -> list[Json]:
    """Chat `url_citation` annotations (checked at output) as Responses annotations."""
    notes = []
    for note in _list(message.get("annotations")):
        cite = note.get("url_citation") if isinstance(note, dict) else None
        if isinstance(cite, dict) and isinstance(cite.get("url"), str):
            notes.append(
                {
                    "type": "url_citation",
                    "url": cite["url"],
                    "title": cite.get("title") if isinstance(cite.get("title"), str) else "",
                    "start_index": _count(cite.get("start_index")),
                    "end_index": _count(cite.get("end_index")),
                }
            )
    return notes


def _message_item(item_id: str, parts: list[Json], status: str) -> Json:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": parts,
    }


def _call_item(call: Json, function: Json, status: str) -> Json:
    call_id = call.get("id") if isinstance(call.get("id"), str) else "call_guardrail"
    arguments = function.get("arguments")
    return {
        "id": _id("fc_", call_id),
        "type": "function_call",
        "call_id": call_id,
        "name": function.get("name") if isinstance(function.get("name"), str) else "",
        "arguments": arguments if isinstance(arguments, str) else "",
        "status": status,
    }


# --------------------------------------------------------------------------- streams


@dataclass
class _Part:
    kind: str  # output_text | refusal
    text: str = ""


@dataclass
class _Item:
    index: int  # output_index
    body: Json  # the item as added (status in_progress)
    parts: list[_Part] = field(default_factory=list)
    status: str = ""  # set when the item is done


@dataclass
class StreamEncoder:
    """Guarded chat chunks (first choice) -> Responses stream events (name, data)."""

    request: Json
    _seq: int = 0
    _response: Json = field(default_factory=dict)
    _items: list[_Item] = field(default_factory=list)
    _message: _Item | None = None  # the open message item
    _calls: dict[int, _Item] = field(default_factory=dict)  # tool-call index -> item
    _finish: str | None = None
    _block: Json | None = None  # the rule, stage and code of a block that cut the stream
    _usage: Any = None

    async def encode(self, chunks: AsyncIterator[Json]) -> AsyncIterator[Event]:
        """The whole event sequence, `response.created` to `response.completed`."""
        async for chunk in chunks:
            for event in self.feed(chunk):
                yield event
        for event in self.finish():
            yield event

    def feed(self, chunk: Json) -> list[Event]:
        """The events one chunk makes."""
        events = [] if self._response else self._start(chunk)
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in _list(chunk.get("choices")):
            if isinstance(choice, dict) and choice.get("index") in (None, 0):
                events += self._choice(choice)
        return events

    def finish(self) -> list[Event]:
        """The closing events, once the chunks ended."""
        events = [] if self._response else self._start({})
        return events + self._end()

    def _event(self, kind: str, **data: Any) -> Event:
        event = {"type": kind, "sequence_number": self._seq, **data}
        self._seq += 1
        return kind, event

    def _start(self, chunk: Json) -> list[Event]:
        self._response = response_object(
            self.request,
            rid=chunk.get("id"),
            created=chunk.get("created"),
            model=chunk.get("model"),
        )
        return [
            self._event("response.created", response=dict(self._response)),
            self._event("response.in_progress", response=dict(self._response)),
        ]

    def _choice(self, choice: Json) -> list[Event]:
        events: list[Event] = []
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        for kind, key in (("output_text", "content"), ("refusal", "refusal")):
            text = delta.get(key)
            if isinstance(text, str) and text:
                events += self._text(kind, text)
        for call in _list(delta.get("tool_calls")):
            if isinstance(call, dict):
                events += self._call(call)
        if choice.get("finish_reason"):
            self._finish = choice["finish_reason"]
        if isinstance(choice.get(BLOCK_KEY), dict):
            self._block = choice[BLOCK_KEY]
        return events

    # ---- text

    def _text(self, kind: str, text: str) -> list[Event]:
        events: list[Event] = []
        item = self._message
        if item is None:
            item_id = _id("msg_", f"{self._response['id'][5:]}_{len(self._items)}")
            item = self._open(_message_item(item_id, [], "in_progress"))
            self._message = item
            events.append(self._added(item))
        if not item.parts or item.parts[-1].kind != kind:
            item.parts.append(_Part(kind))
            events.append(self._part_event("response.content_part.added", item, text=""))
        item.parts[-1].text += text
        extra: Json = {"logprobs": []} if kind == "output_text" else {}
        events.append(self._in_part(f"response.{kind}.delta", item, delta=text, **extra))
        return events

    def _part(self, part: _Part) -> Json:
        body: Json = {"type": part.kind, _PART_KEY[part.kind]: part.text}
        if part.kind == "output_text":
            body.update(annotations=[], logprobs=[])
        return body

    def _in_part(self, kind: str, item: _Item, **data: Any) -> Event:
        return self._event(
            kind,
            item_id=item.body["id"],
            output_index=item.index,
            content_index=len(item.parts) - 1,
            **data,
        )

    def _part_event(self, kind: str, item: _Item, *, text: str | None = None) -> Event:
        part = item.parts[-1]
        body = self._part(_Part(part.kind, text) if text is not None else part)
        return self._in_part(kind, item, part=body)

    # ---- tool calls

    def _call(self, call: Json) -> list[Event]:
        events: list[Event] = []
        k = _count(call.get("index"))
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        item = self._calls.get(k)
        if item is None:
            if self._message is not None:
                events += self._close(self._message)
            body = _call_item(call, function | {"arguments": ""}, "in_progress")
            item = self._calls[k] = self._open(body)
            events.append(self._added(item))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.body["arguments"] += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.body["id"],
                    output_index=item.index,
                    delta=arguments,
                )
            )
        return events

    # ---- items

    def _open(self, body: Json) -> _Item:
        item = _Item(len(self._items), body)
        self._items.append(item)
        return item

    def _added(self, item: _Item) -> Event:
        return self._event("response.output_item.added", output_index=item.index, item=item.body)

    def _final(self, item: _Item, status: str) -> Json:
        body = {**item.body, "status": status}
        if body["type"] == "message":
            body["content"] = [self._part(p) for p in item.parts]
        return body

    def _close(self, item: _Item, status: str = "completed") -> list[Event]:
        if item.status:
            return []
        item.status = status
        if item is self._message:
            self._message = None
        events: list[Event] = []
        if item.body["type"] == "function_call":
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item.body["id"],
                    output_index=item.index,
                    name=item.body["name"],
                    arguments=item.body["arguments"],
                )
            )
        for j, part in enumerate(item.parts):
            where = {"item_id": item.body["id"], "output_index": item.index, "content_index": j}
            key = _PART_KEY[part.kind]
            extra: Json = {"logprobs": []} if part.kind == "output_text" else {}
            done = f"response.{part.kind}.done"
            events.append(self._event(done, **where, **{key: part.text}, **extra))
            events.append(self._event("response.content_part.done", **where, part=self._part(part)))
        final = self._final(item, status)
        events.append(self._event("response.output_item.done", output_index=item.index, item=final))
        return events

    def _end(self) -> list[Event]:
        status, details = _status(self._finish)
        if details is not None and self._block:  # which rule cut it, as a block error says
            details = {**details, **self._block}
        item_status = "completed" if status == "completed" else "incomplete"
        events: list[Event] = []
        for item in self._items:
            events += self._close(item, item_status)
        response = {
            **self._response,
            "status": status,
            "incomplete_details": details,
            "output": [self._final(i, i.status) for i in self._items],
            "usage": _usage(self._usage),
        }
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=response)]
