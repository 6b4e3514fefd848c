"""OpenAI Responses API requests (`POST /v1/responses`): read, checked, and translated.

`parse_responses` finds every text of a request in the Responses body itself (so redactions
are written back in place, as for the other wire shapes); `to_chat_request` then turns the
checked body into the OpenAI `chat.completions` request every upstream speaks inside
guardrail. The translation builds new messages from the fields the parser read, so nothing
it did not see can reach the model.

Stages, as for chat (guardrail.conversation): user and assistant messages, and
`function_call` items (the model's own earlier calls, sent back as history), are `input`;
`function_call_output` items are `tool`; `instructions` and system / developer messages are
the app's own text, `input` only with `--scan-system`. A `guardrail_stage` mark on an item
or a content part adds its stage and never removes the server's.

What the guards cannot read is refused with `UncheckableInput` (HTTP 400,
`uncheckable_input`), never passed along unchecked: images, files and audio; reasoning items
(their content is encrypted) and every other item type; built-in tools (web search, file
search, MCP, ...: the upstream would fetch text we never see); and references to state kept
by the provider (`previous_response_id`, `conversation`, stored `prompt` templates).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from guardrail import fields
from guardrail.conversation import At, Conversation, Segment, WirePath
from guardrail.errors import RequestError, UncheckableInput
from guardrail.types import Stage
from guardrail.wire import Json, copy_json

ROLES = frozenset({"user", "assistant", "system", "developer"})
TEXT_PARTS = {"input_text": "text", "output_text": "text", "refusal": "refusal"}
"""Content part types guardrail reads, and the key of each that holds the text."""
ITEMS = frozenset({"message", "function_call", "function_call_output"})

# Fields of the request, by what becomes of them (anything else: 400 invalid_request).
_SAME = frozenset(
    {"model", "temperature", "top_p", "parallel_tool_calls", "user", "prompt_cache_key"}
)
_RENAMED = {"max_output_tokens": "max_tokens", "safety_identifier": "user"}
_OWN = frozenset({"input", "instructions", "tools", "tool_choice", "text", "reasoning", "stream"})
_IGNORED = frozenset(
    {
        "metadata",
        "store",
        "include",
        "truncation",
        "top_logprobs",
        "stream_options",
        "service_tier",
        "prompt_cache_retention",
        "prompt_cache_options",
    }
)
"""Accepted and not sent upstream: they concern the provider's stored responses, logprobs
(which would repeat the text outside the checked fields) or its caching and billing."""
_STATEFUL = ("previous_response_id", "conversation", "prompt")
_UNSUPPORTED = ("background", "max_tool_calls")


def parse_responses(body: Json, *, scan_system: bool = False) -> Conversation:
    """Segments of a Responses request (a copy of `body`); refuses what cannot be checked."""
    _check_fields(body)
    conv = Conversation(copy_json(body))
    instructions = conv.body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise RequestError("instructions must be a string")
    if instructions and scan_system:
        conv.segments.append(Segment(Stage.INPUT, instructions, ("instructions",)))
    value = conv.body.get("input")
    if isinstance(value, str):
        conv.segments.append(Segment(Stage.INPUT, value, ("input",)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            conv.segments += _item(item, ("input", i), scan_system)
    else:
        raise RequestError("input must be a string or an array of items")
    _check_tools(conv.body.get("tools"), conv.body.get("tool_choice"))
    return conv


def _check_fields(body: Json) -> None:
    for key in _STATEFUL:
        if body.get(key) is not None:
            raise UncheckableInput(
                f"{key} refers to state kept by the provider, which guardrail cannot read "
                "or check; send the whole conversation in `input` instead"
            )
    for key in _UNSUPPORTED:
        if body.get(key) not in (None, False):
            raise RequestError(f"{key} is not supported by guardrail's /v1/responses")
    known = _SAME | _RENAMED.keys() | _OWN | _IGNORED
    for key in body:
        if key not in known and key not in _STATEFUL and key not in _UNSUPPORTED:
            raise RequestError(f"{key} is not a Responses field guardrail knows (docs/fields.md)")


def _item(item: Any, path: WirePath, scan_system: bool) -> list[Segment]:
    where = fields.dotted(path)
    if not isinstance(item, dict):
        raise RequestError(f"{where} must be an object")
    kind = item.get("type", "message" if "role" in item else None)
    if not isinstance(kind, str):
        raise RequestError(f"{where} needs a `type` (or, for a message, a `role`)")
    if kind not in ITEMS:
        raise UncheckableInput(
            f"{where}.type {kind!r} is not an item guardrail can check on /v1/responses "
            f"(it reads {', '.join(sorted(ITEMS))})"
        )
    if kind == "message":
        role = item.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise RequestError(f"{fields.dotted(path)}.role {role!r} is not a known role")
        at = At(Stage.INPUT).marked(item)
        found = _checked(item, path, list(_content(item.get("content"), (*path, "content"), at)))
        # the app's own prompt (SECURITY.md, threat model): read for its parts, not scanned
        return [] if role in ("system", "developer") and not scan_system else found
    if kind == "function_call":
        return _checked(item, path, list(_function_call(item, path, At(Stage.INPUT).marked(item))))
    return _checked(item, path, list(_function_output(item, path, At(Stage.TOOL).marked(item))))


def _content(content: Any, path: WirePath, at: At) -> Iterator[Segment]:
    if isinstance(content, str):
        yield at.segment(content, path)
        return
    if not isinstance(content, list):
        raise RequestError(f"{fields.dotted(path)} must be a string or an array of parts")
    for j, part in enumerate(content):
        where = (*path, j)
        if not isinstance(part, dict):
            raise RequestError(f"{fields.dotted(where)} must be an object")
        kind = part.get("type")
        if not isinstance(kind, str) or kind not in TEXT_PARTS:
            raise UncheckableInput(
                f"{fields.dotted(where)}.type {kind!r} is not a content part guardrail can "
                "check on /v1/responses (it reads input_text, output_text and refusal)"
            )
        key = TEXT_PARTS[kind]
        text = part.get(key)
        if not isinstance(text, str):
            raise RequestError(f"{fields.dotted((*where, key))} must be a string")
        yield at.marked(part).segment(text, (*where, key))


def _function_call(item: Json, path: WirePath, at: At) -> Iterator[Segment]:
    for key in ("name", "arguments"):
        text = item.get(key)
        if not isinstance(text, str):
            raise RequestError(f"{fields.dotted((*path, key))} must be a string")
        yield at.segment(text, (*path, key))
    if not isinstance(item.get("call_id"), str):
        raise RequestError(f"{fields.dotted((*path, 'call_id'))} must be a string")


def _function_output(item: Json, path: WirePath, at: At) -> Iterator[Segment]:
    if not isinstance(item.get("call_id"), str):
        raise RequestError(f"{fields.dotted((*path, 'call_id'))} must be a string")
    output = item.get("output")
    yield from _content(output, (*path, "output"), at)


def _checked(item: Json, path: WirePath, found: list[Segment]) -> list[Segment]:
    """The item's segments; a RequestError if it holds a string neither scanned nor listed."""
    passed = fields.passed_patterns(fields.RESPONSES, "request", ("passed", "dropped"))
    ids = fields.id_patterns(fields.RESPONSES, "request")
    scanned = {s.path for s in found}
    for where in fields.unchecked_paths(item, path, scanned, passed, ids):
        raise RequestError(
            f"{fields.dotted(where)} is not a field guardrail can check (docs/fields.md)"
        )
    return found


def _check_tools(tools: Any, choice: Any) -> None:
    if tools is not None and not isinstance(tools, list):
        raise RequestError("tools must be an array")
    for i, tool in enumerate(tools or ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise UncheckableInput(
                f"tools[{i}].type {kind!r} is not supported: guardrail cannot check what a "
                "built-in tool brings into the conversation; only function tools are"
            )
        if not isinstance(tool.get("name"), str):
            raise RequestError(f"tools[{i}].name must be a string")
    if isinstance(choice, dict) and choice.get("type") != "function":
        raise UncheckableInput(
            f"tool_choice type {choice.get('type')!r} is not supported: only function tools are"
        )
    if choice is not None and not isinstance(choice, dict | str):
        raise RequestError("tool_choice must be a string or an object")


# ----------------------------------------------------------------------- translation


def to_chat_request(body: Json) -> Json:
    """A checked Responses request as an OpenAI `chat.completions` request."""
    messages: list[Json] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    value = body.get("input")
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
    for item in value if isinstance(value, list) else ():
        _append(messages, item)
    out: Json = {"messages": messages}
    for key, field in body.items():
        out.update(_field(key, field))
    return out


def _field(key: str, value: Any) -> Json:
    if key in _SAME:
        return {key: value}
    if key in _RENAMED:
        return {_RENAMED[key]: value}
    if key == "stream" and value is True:
        return {"stream": True, "stream_options": {"include_usage": True}}
    if key == "tools" and value:
        return {"tools": [_tool(t) for t in value]}
    if key == "tool_choice":
        return _tool_choice(value)
    if key == "text" and isinstance(value, dict):
        return _response_format(value.get("format"))
    if key == "reasoning" and isinstance(value, dict) and value.get("effort"):
        return {"reasoning_effort": value["effort"]}
    return {}


def _tool(tool: Json) -> Json:
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Json:
    if isinstance(choice, dict):
        return {"tool_choice": {"type": "function", "function": {"name": choice.get("name")}}}
    return {"tool_choice": choice} if choice is not None else {}


def _response_format(fmt: Any) -> Json:
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return {}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return {"response_format": {"type": fmt.get("type")}}


def _append(messages: list[Json], item: Json) -> None:
    kind = item.get("type", "message")
    if kind == "function_call":
        call = {
            "id": item["call_id"],
            "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and "tool_calls" in last:
            last["tool_calls"].append(call)  # parallel calls: one assistant turn
        elif last is not None and last["role"] == "assistant":
            last["tool_calls"] = [call]
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        content = _content_of(item.get("output"), joined=False)
        messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
    else:
        role = "system" if item["role"] == "developer" else item["role"]
        content = _content_of(item.get("content"), joined=role == "assistant")
        messages.append({"role": role, "content": content})


def _content_of(content: Any, *, joined: bool) -> str | list[Json]:
    """A string, or the (already checked) text parts as chat text parts (`joined`: as one
    string, for assistant turns)."""
    if isinstance(content, str):
        return content
    texts: list[str] = [part[TEXT_PARTS[part["type"]]] for part in content]
    return "".join(texts) if joined else [{"type": "text", "text": t} for t in texts]
