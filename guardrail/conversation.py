"""Wire formats <-> one internal shape: a `Conversation` of text `Segment`s.

A segment is one piece of text a guard may scan, the `Stage` it belongs to, and a `path` that
says where it lives in the wire body, so that a rewritten (redacted) text can be written back
in place. Everything else in the body -- unknown fields, images, tool schemas -- is left
untouched.

Which text belongs to which stage (the same for every wire format):

- `input`: user messages. Assistant turns that the client sends back as history are scanned
  as `input` too: they are under the client's control (a forged assistant turn is a known
  jailbreak), and an earlier answer may carry PII that was restored for the client and must
  be redacted again before it goes upstream. System / developer prompts are the app's own
  text and are skipped unless `scan_system=True` (then they are `input`).
- `tool`: results of tool calls -- OpenAI `role: "tool"` / `role: "function"` messages,
  Anthropic `tool_result` blocks.
- `retrieved`: documents the app put into the prompt -- Anthropic `document` blocks (plain
  text or content sources; PDFs and URLs are not text we can scan) and `search_result`
  blocks. OpenAI chat has no document type, so a message or a content part may carry our
  extension key `"guardrail_stage": "retrieved"` (or `"tool"` / `"input"`); the proxy
  removes the key before the request goes upstream (`strip_stage_marks`).
- `output`: assistant text and tool-call arguments in a response.

Not scanned: images, audio, files, Anthropic `thinking` blocks (they are signed; changing
them breaks the signature) and token-id prompts (rejected, as they cannot be checked).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from guardrail.errors import RequestError
from guardrail.types import Stage

STAGE_MARK = "guardrail_stage"
"""Extension key on an OpenAI message or content part that names its stage."""

PathKey = str | int
WirePath = tuple[PathKey, ...]
Body = dict[str, Any]

_MARKABLE = {Stage.INPUT.value, Stage.RETRIEVED.value, Stage.TOOL.value}


@dataclass(frozen=True)
class Segment:
    """One scannable text, its stage and where it lives in the wire body."""

    stage: Stage
    text: str
    path: WirePath
    # For texts stored as JSON (tool-call arguments as a dict): write back with json.loads.
    json_value: bool = False


@dataclass
class Conversation:
    """The segments of one wire body. `body` is the conversation's own copy."""

    body: Body
    segments: list[Segment] = field(default_factory=list)

    def texts(self, stage: Stage) -> list[str]:
        """The texts of one stage, in body order."""
        return [s.text for s in self.segments if s.stage is stage]

    @property
    def stages(self) -> frozenset[Stage]:
        """Stages that have at least one text."""
        return frozenset(s.stage for s in self.segments)

    def replace(self, stage: Stage, texts: Sequence[str]) -> bool:
        """Write new texts for `stage` back into the body; True if anything changed."""
        indices = [i for i, s in enumerate(self.segments) if s.stage is stage]
        if len(indices) != len(texts):
            raise ValueError(f"{len(texts)} texts for {len(indices)} {stage} segments")
        changed = False
        for i, text in zip(indices, texts, strict=True):
            segment = self.segments[i]
            if text == segment.text:
                continue
            _write(self.body, segment, text)
            self.segments[i] = Segment(segment.stage, text, segment.path, segment.json_value)
            changed = True
        return changed


def _write(body: Body, segment: Segment, text: str) -> None:
    value: Any = text
    if segment.json_value:
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # a rewrite broke the JSON: keep the text rather than the original
    node: Any = body
    for key in segment.path[:-1]:
        node = node[key]
    node[segment.path[-1]] = value


def _copy(body: Body) -> Body:
    # JSON bodies hold only dict/list/str/number/bool/None: a JSON round trip is a deep copy
    # that is faster than copy.deepcopy.
    copied: Body = json.loads(json.dumps(body))
    return copied


def _require_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RequestError(f"{what} must be an array")
    return value


def _require_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{what} must be an object")
    return value


def _marked_stage(node: dict[str, Any], default: Stage) -> Stage:
    mark = node.get(STAGE_MARK)
    if mark is None:
        return default
    if not isinstance(mark, str) or mark not in _MARKABLE:
        raise RequestError(f"{STAGE_MARK} must be one of {sorted(_MARKABLE)}, got {mark!r}")
    return Stage(mark)


# ---------------------------------------------------------------- OpenAI chat (request)


def parse_openai_chat(body: Body, *, scan_system: bool = False) -> Conversation:
    """Segments of an OpenAI `chat.completions` request (a copy of `body`)."""
    conv = Conversation(_copy(body))
    messages = _require_list(conv.body.get("messages"), "messages")
    for i, message in enumerate(messages):
        message = _require_dict(message, f"messages[{i}]")
        stage = _openai_role_stage(message.get("role"), i, scan_system)
        if stage is None:
            continue
        stage = _marked_stage(message, stage)
        path: WirePath = ("messages", i)
        conv.segments.extend(_openai_content(message.get("content"), (*path, "content"), stage))
        conv.segments.extend(_openai_tool_calls(message, path, stage))
    return conv


def _openai_role_stage(role: Any, index: int, scan_system: bool) -> Stage | None:
    if role in ("user", "assistant"):
        return Stage.INPUT
    if role in ("tool", "function"):
        return Stage.TOOL
    if role in ("system", "developer"):
        return Stage.INPUT if scan_system else None
    raise RequestError(f"messages[{index}].role {role!r} is not a known role")


def _openai_content(content: Any, path: WirePath, stage: Stage) -> Iterator[Segment]:
    if content is None:
        return
    if isinstance(content, str):
        yield Segment(stage, content, path)
        return
    for j, part in enumerate(_require_list(content, ".".join(map(str, path)))):
        part = _require_dict(part, f"content part {j}")
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            # marks are the client's; an answer's parts are always output
            marked = stage if stage is Stage.OUTPUT else _marked_stage(part, stage)
            yield Segment(marked, part["text"], (*path, j, "text"))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            yield Segment(stage, part["refusal"], (*path, j, "refusal"))


def _openai_tool_calls(message: dict[str, Any], path: WirePath, stage: Stage) -> Iterator[Segment]:
    calls = message.get("tool_calls")
    for k, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            where = (*path, "tool_calls", k, "function", "arguments")
            yield Segment(stage, function["arguments"], where)
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
        yield Segment(stage, legacy["arguments"], (*path, "function_call", "arguments"))


def strip_stage_marks(body: Body) -> Body:
    """Remove our `guardrail_stage` extension keys (in place) before a body goes upstream."""
    for message in body.get("messages") or ():
        if isinstance(message, dict):
            message.pop(STAGE_MARK, None)
            for part in _parts(message.get("content")):
                part.pop(STAGE_MARK, None)
    return body


def _parts(content: Any) -> Iterable[dict[str, Any]]:
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                yield part
                yield from _parts(part.get("content"))


# ------------------------------------------------------------ OpenAI completions (request)


def parse_openai_completion(body: Body) -> Conversation:
    """Segments of a legacy `/v1/completions` request: the prompt(s) are `input`."""
    conv = Conversation(_copy(body))
    prompt = conv.body.get("prompt")
    if isinstance(prompt, str):
        conv.segments.append(Segment(Stage.INPUT, prompt, ("prompt",)))
    elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        conv.segments.extend(Segment(Stage.INPUT, p, ("prompt", i)) for i, p in enumerate(prompt))
    elif prompt is None:
        raise RequestError("prompt is required")
    else:
        raise RequestError(
            "prompt must be a string or an array of strings (token ids cannot be checked)"
        )
    suffix = conv.body.get("suffix")
    if isinstance(suffix, str):
        conv.segments.append(Segment(Stage.INPUT, suffix, ("suffix",)))
    return conv


# ------------------------------------------------------------------ Anthropic (request)


def parse_anthropic(body: Body, *, scan_system: bool = False) -> Conversation:
    """Segments of an Anthropic `messages` request (a copy of `body`)."""
    conv = Conversation(_copy(body))
    if scan_system:
        system = conv.body.get("system")
        if isinstance(system, str):
            conv.segments.append(Segment(Stage.INPUT, system, ("system",)))
        elif isinstance(system, list):
            conv.segments.extend(_anthropic_blocks(system, ("system",), Stage.INPUT))
    messages = _require_list(conv.body.get("messages"), "messages")
    for i, message in enumerate(messages):
        message = _require_dict(message, f"messages[{i}]")
        if message.get("role") not in ("user", "assistant"):
            raise RequestError(f"messages[{i}].role must be 'user' or 'assistant'")
        content = message.get("content")
        path: WirePath = ("messages", i, "content")
        if isinstance(content, str):
            conv.segments.append(Segment(Stage.INPUT, content, path))
        else:
            blocks = _require_list(content, f"messages[{i}].content")
            conv.segments.extend(_anthropic_blocks(blocks, path, Stage.INPUT))
    return conv


def _anthropic_blocks(blocks: list[Any], path: WirePath, stage: Stage) -> Iterator[Segment]:
    for j, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise RequestError(f"content block {j} must be an object")
        yield from _anthropic_block(block, (*path, j), _marked_stage(block, stage))


def _anthropic_block(block: dict[str, Any], path: WirePath, stage: Stage) -> Iterator[Segment]:
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        yield Segment(stage, block["text"], (*path, "text"))
    elif kind == "tool_use":
        yield from _json_leaves(block.get("input"), (*path, "input"), stage)
    elif kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            yield Segment(Stage.TOOL, content, (*path, "content"))
        elif isinstance(content, list):
            yield from _anthropic_blocks(content, (*path, "content"), Stage.TOOL)
    elif kind == "document":
        yield from _anthropic_document(block, path)
    elif kind == "search_result":
        content = block.get("content")
        if isinstance(content, list):
            yield from _anthropic_blocks(content, (*path, "content"), Stage.RETRIEVED)


def _anthropic_document(block: dict[str, Any], path: WirePath) -> Iterator[Segment]:
    source = block.get("source")
    if not isinstance(source, dict):
        return
    where: WirePath = (*path, "source")
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        yield Segment(Stage.RETRIEVED, source["data"], (*where, "data"))
    elif source.get("type") == "content":
        content = source.get("content")
        if isinstance(content, str):
            yield Segment(Stage.RETRIEVED, content, (*where, "content"))
        elif isinstance(content, list):
            yield from _anthropic_blocks(content, (*where, "content"), Stage.RETRIEVED)


def _json_leaves(value: Any, path: WirePath, stage: Stage) -> Iterator[Segment]:
    """Every string inside a JSON value (tool-call input), each its own segment."""
    if isinstance(value, str):
        yield Segment(stage, value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_leaves(item, (*path, key), stage)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _json_leaves(item, (*path, k), stage)


# ------------------------------------------------------------ OpenAI responses (output)


def parse_openai_chat_response(response: Body) -> Conversation:
    """`output` segments of a chat completion: each choice's text and tool-call arguments."""
    conv = Conversation(response)  # the response is ours already: no copy
    for i, choice in enumerate(response.get("choices") or ()):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        path: WirePath = ("choices", i, "message")
        # content may also come as a list of parts from some providers: scan those too
        conv.segments.extend(
            _openai_content(message.get("content"), (*path, "content"), Stage.OUTPUT)
        )
        conv.segments.extend(_openai_tool_calls(message, path, Stage.OUTPUT))
    return conv


def parse_openai_completion_response(response: Body) -> Conversation:
    """`output` segments of a legacy text completion: each choice's text."""
    conv = Conversation(response)
    for i, choice in enumerate(response.get("choices") or ()):
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            conv.segments.append(Segment(Stage.OUTPUT, choice["text"], ("choices", i, "text")))
    return conv


def last_user_text(body: Body) -> str:
    """The text of the last user message of an OpenAI chat body ('' if none)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            parts = [p.get("text", "") for p in _parts(content) if p.get("type") == "text"]
            return "\n".join(t for t in parts if isinstance(t, str))
    return ""
