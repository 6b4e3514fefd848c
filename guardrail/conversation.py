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

  **The server decides stages; a mark only adds one.** A marked text is checked at the
  marked stage *and* at the stage its role or block type gives it (`Segment.also`), so a
  mark can never lower what a text is checked for (SECURITY.md, threat model).
- `output`: every text field of an answer: its text and content parts, refusal, reasoning,
  audio transcript, tool-call names and arguments, citation titles (docs/fields.md).

Not scanned: images, audio, files, Anthropic `thinking` blocks (they are signed; changing
them breaks the signature, and the translation drops them) and token-id prompts (rejected,
as they cannot be checked).

Every string in a message must be scanned or listed as not text in `guardrail.fields`: a
text field of the wrong type (a list where a string belongs), a part or block type we do not
know, or a string at a path the table does not list is a RequestError (400), never forwarded
unscanned and never turned into a string.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from guardrail import fields
from guardrail.errors import RequestError, UncheckableInput
from guardrail.types import Stage
from guardrail.wire import Json, copy_json

STAGE_MARK = "guardrail_stage"
"""Extension key on an OpenAI message or content part that names its stage."""

PathKey = str | int
WirePath = tuple[PathKey, ...]

_MARKABLE = {Stage.INPUT.value, Stage.RETRIEVED.value, Stage.TOOL.value}


@dataclass(frozen=True)
class Segment:
    """One scannable text, its stage and where it lives in the wire body."""

    stage: Stage
    text: str
    path: WirePath
    # For texts stored as JSON (tool-call arguments as a dict): write back with json.loads.
    json_value: bool = False
    # The stage the server gave this text when a client mark named another one: the text is
    # checked at both, so that a mark adds checks and never removes one.
    also: Stage | None = None

    def checked_at(self, stage: Stage) -> bool:
        """Whether this text belongs to `stage`'s checks."""
        return stage is self.stage or stage is self.also


@dataclass
class Conversation:
    """The segments of one wire body. `body` is the conversation's own copy."""

    body: Json
    segments: list[Segment] = field(default_factory=list)

    def texts(self, stage: Stage) -> list[str]:
        """The texts of one stage, in body order."""
        return [s.text for s in self.segments if s.checked_at(stage)]

    @property
    def stages(self) -> frozenset[Stage]:
        """Stages that have at least one text."""
        marked = frozenset(s.stage for s in self.segments)
        return marked | frozenset(s.also for s in self.segments if s.also is not None)

    @property
    def paths(self) -> set[WirePath]:
        """Where the segments live."""
        return {s.path for s in self.segments}

    def replace(self, stage: Stage, texts: Sequence[str]) -> bool:
        """Write new texts for `stage` back into the body; True if anything changed."""
        indices = [i for i, s in enumerate(self.segments) if s.checked_at(stage)]
        if len(indices) != len(texts):
            raise ValueError(f"{len(texts)} texts for {len(indices)} {stage} segments")
        changed = False
        for i, text in zip(indices, texts, strict=True):
            segment = self.segments[i]
            if text == segment.text:
                continue
            _write(self.body, segment, text)
            self.segments[i] = replace(segment, text=text)
            changed = True
        return changed


def _write(body: Json, segment: Segment, text: str) -> None:
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


def _require_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RequestError(f"{what} must be an array")
    return value


def _require_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{what} must be an object")
    return value


@dataclass(frozen=True)
class At:
    """Where a text is checked: its stage, and the server's stage if a mark named another."""

    stage: Stage
    also: Stage | None = None

    def marked(self, node: dict[str, Any]) -> At:
        """This placement after `node`'s `guardrail_stage` mark: the server's stage stays."""
        mark = node.get(STAGE_MARK)
        if mark is None:
            return self
        if not isinstance(mark, str) or mark not in _MARKABLE:
            raise RequestError(f"{STAGE_MARK} must be one of {sorted(_MARKABLE)}, got {mark!r}")
        server = self.also or self.stage
        stage = Stage(mark)
        return At(stage, None if stage is server else server)

    def segment(self, text: str, path: WirePath, *, json_value: bool = False) -> Segment:
        """A segment placed here."""
        return Segment(self.stage, text, path, json_value, self.also)


def _text(node: dict[str, Any], key: str, path: WirePath, *, strict: bool = True) -> str | None:
    """`node[key]` if it is a string, None if absent; any other type is refused (`strict`;
    else None, and `clean_chat_response` removes the field)."""
    value = node.get(key)
    if value is None or isinstance(value, str):
        return value
    if not strict:
        return None
    where = fields.dotted((*path, key))
    raise RequestError(f"{where} must be a string, got {type(value).__name__}")


def _known(kind: Any, known: Container[str]) -> bool:
    return isinstance(kind, str) and kind in known


def _checked(
    message: dict[str, Any], path: WirePath, segments: Iterable[Segment], wire: str
) -> list[Segment]:
    """The message's segments; a RequestError if it holds a string that is neither scanned
    nor listed as not text."""
    found = list(segments)
    passed = fields.passed_patterns(wire, "request", ("passed", "dropped"))
    ids = fields.id_patterns(wire, "request")
    for where in fields.unchecked_paths(message, path, {s.path for s in found}, passed, ids):
        raise RequestError(
            f"{fields.dotted(where)} is not a field guardrail can check (docs/fields.md)"
        )
    return found


# ---------------------------------------------------------------- OpenAI chat (request)


def parse_openai_chat(body: Json, *, scan_system: bool = False) -> Conversation:
    """Segments of an OpenAI `chat.completions` request (a copy of `body`)."""
    conv = Conversation(copy_json(body))
    messages = _require_list(conv.body.get("messages"), "messages")
    for i, message in enumerate(messages):
        message = _require_dict(message, f"messages[{i}]")
        stage = _openai_role_stage(message.get("role"), i, scan_system)
        if stage is None:
            continue  # the app's own system prompt (SECURITY.md, threat model)
        at = At(stage).marked(message)
        path: WirePath = ("messages", i)
        conv.segments += _checked(message, path, _openai_message(message, path, at), fields.CHAT)
    return conv


def _openai_role_stage(role: Any, index: int, scan_system: bool) -> Stage | None:
    if role in ("user", "assistant"):
        return Stage.INPUT
    if role in ("tool", "function"):
        return Stage.TOOL
    if role in ("system", "developer"):
        return Stage.INPUT if scan_system else None
    raise RequestError(f"messages[{index}].role {role!r} is not a known role")


def _openai_message(message: dict[str, Any], path: WirePath, at: At) -> Iterator[Segment]:
    yield from _openai_content(message.get("content"), (*path, "content"), at)
    for key in ("name", "refusal"):
        text = _text(message, key, path)
        if text is not None:
            yield at.segment(text, (*path, key))
    yield from _openai_tool_calls(message, path, at)


# Content part types and the keys of theirs that hold text; the rest of a part is not text.
_PART_TEXT = {
    "text": "text",
    "refusal": "refusal",
    "output_text": "text",
    "image_url": None,
    "input_audio": None,
    "file": None,
}


def _openai_content(content: Any, path: WirePath, at: At) -> Iterator[Segment]:
    if content is None:
        return
    if isinstance(content, str):
        yield at.segment(content, path)
        return
    answer = at.stage is Stage.OUTPUT  # an answer's odd parts are removed later, not refused
    if answer and not isinstance(content, list):
        return
    for j, part in enumerate(_require_list(content, fields.dotted(path))):
        if answer and not isinstance(part, dict):
            continue
        part = _require_dict(part, f"{fields.dotted(path)}[{j}]")
        kind = part.get("type")
        if not isinstance(kind, str) or kind not in _PART_TEXT:
            if answer:
                continue
            raise RequestError(f"{fields.dotted(path)}[{j}].type {kind!r} is not a known type")
        # marks are the client's; an answer's parts are always output
        yield from _openai_part(part, kind, (*path, j), at if answer else at.marked(part))


def _openai_part(part: dict[str, Any], kind: str, path: WirePath, at: At) -> Iterator[Segment]:
    key = _PART_TEXT[kind]
    strict = at.stage is not Stage.OUTPUT
    text = _text(part, key, path, strict=strict) if key is not None else None
    if key is not None and text is not None:
        yield at.segment(text, (*path, key))
    file = part.get("file")
    if kind == "file" and isinstance(file, dict):
        name = _text(file, "filename", (*path, "file"), strict=strict)
        if name is not None:
            yield at.segment(name, (*path, "file", "filename"))


# A tool call's body (`function`, or `custom` for custom tools) and its text-bearing keys.
_CALL_TEXTS = {"function": ("name", "arguments"), "custom": ("name", "input")}


def _openai_tool_calls(message: dict[str, Any], path: WirePath, at: At) -> Iterator[Segment]:
    calls = message.get("tool_calls")
    for k, call in enumerate(calls if isinstance(calls, list) else []):
        for kind, keys in _CALL_TEXTS.items():
            body = call.get(kind) if isinstance(call, dict) else None
            if isinstance(body, dict):
                yield from _openai_function(body, (*path, "tool_calls", k, kind), at, keys)
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        yield from _openai_function(legacy, (*path, "function_call"), at, _CALL_TEXTS["function"])


def _openai_function(
    function: dict[str, Any], path: WirePath, at: At, keys: Sequence[str]
) -> Iterator[Segment]:
    for key in keys:
        text = _text(function, key, path, strict=at.stage is not Stage.OUTPUT)
        if text is not None:
            yield at.segment(text, (*path, key))


def strip_stage_marks(body: Json) -> Json:
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


def parse_openai_completion(body: Json) -> Conversation:
    """Segments of a legacy `/v1/completions` request: the prompt(s) are `input`."""
    conv = Conversation(copy_json(body))
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


# ------------------------------------------------------------ OpenAI embeddings (request)


def parse_openai_embeddings(body: Json) -> Conversation:
    """Segments of an `/v1/embeddings` request: each string of `input` is `input`, as a user
    message is. Token ids (an array of integers, or of such arrays) cannot be checked, so
    they are refused (UncheckableInput), never forwarded."""
    conv = Conversation(copy_json(body))
    value = conv.body.get("input")
    if isinstance(value, str):
        conv.segments.append(Segment(Stage.INPUT, value, ("input",)))
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        conv.segments.extend(Segment(Stage.INPUT, v, ("input", i)) for i, v in enumerate(value))
    elif value is None:
        raise RequestError("input is required")
    elif isinstance(value, list) and all(_token_ids(v) for v in value):
        raise UncheckableInput(
            "input as token ids cannot be checked by the input guards; send the text instead"
        )
    else:
        raise RequestError("input must be a string or an array of strings")
    return conv


def _token_ids(value: Any) -> bool:
    """An integer (one token id) or an array of integers (one tokenised input)."""
    if isinstance(value, list):
        return all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------ Anthropic (request)


def parse_anthropic(body: Json, *, scan_system: bool = False) -> Conversation:
    """Segments of an Anthropic `messages` request (a copy of `body`)."""
    conv = Conversation(copy_json(body))
    if scan_system:
        system = conv.body.get("system")
        if isinstance(system, str):
            conv.segments.append(Segment(Stage.INPUT, system, ("system",)))
        elif isinstance(system, list):
            conv.segments.extend(_anthropic_blocks(system, ("system",), At(Stage.INPUT)))
    messages = _require_list(conv.body.get("messages"), "messages")
    for i, message in enumerate(messages):
        message = _require_dict(message, f"messages[{i}]")
        if message.get("role") not in ("user", "assistant"):
            raise RequestError(f"messages[{i}].role must be 'user' or 'assistant'")
        found = _anthropic_content(message.get("content"), ("messages", i, "content"))
        conv.segments += _checked(message, ("messages", i), found, fields.ANTHROPIC)
    return conv


def _anthropic_content(content: Any, path: WirePath) -> Iterator[Segment]:
    if isinstance(content, str):
        yield Segment(Stage.INPUT, content, path)
    else:
        yield from _anthropic_blocks(
            _require_list(content, fields.dotted(path)), path, At(Stage.INPUT)
        )


ANTHROPIC_BLOCKS = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "search_result",
        "thinking",
        "redacted_thinking",
    }
)
"""Block types a request may hold; any other type is refused (it could carry unseen text)."""


def _anthropic_blocks(blocks: list[Any], path: WirePath, at: At) -> Iterator[Segment]:
    for j, block in enumerate(blocks):
        where = (*path, j)
        if not isinstance(block, dict):
            raise RequestError(f"{fields.dotted(where)} must be an object")
        if not _known(block.get("type"), ANTHROPIC_BLOCKS):
            raise RequestError(f"{fields.dotted(where)}.type {block.get('type')!r} is not known")
        yield from _anthropic_block(block, where, at)


def _anthropic_block(block: dict[str, Any], path: WirePath, outer: At) -> Iterator[Segment]:
    kind = block.get("type")
    # a block's type decides the stage of what it holds; a client mark only adds one
    at = outer.marked(block)
    if kind == "text":
        text = _text(block, "text", path)
        if text is not None:
            yield at.segment(text, (*path, "text"))
    elif kind == "tool_use":
        name = _text(block, "name", path)
        if name is not None:
            yield at.segment(name, (*path, "name"))
        yield from _json_leaves(block.get("input"), (*path, "input"), at)
    elif kind == "tool_result":
        tool = At(Stage.TOOL).marked(block)
        yield from _anthropic_nested(block.get("content"), (*path, "content"), tool)
    elif kind == "document":
        yield from _anthropic_document(block, path, At(Stage.RETRIEVED).marked(block))
    elif kind == "search_result":
        content = _require_list(block.get("content"), fields.dotted((*path, "content")))
        retrieved = At(Stage.RETRIEVED).marked(block)
        yield from _anthropic_blocks(content, (*path, "content"), retrieved)


def _anthropic_nested(content: Any, path: WirePath, at: At) -> Iterator[Segment]:
    """A string or a list of blocks (tool results, content documents); nothing else."""
    if isinstance(content, str):
        yield at.segment(content, path)
    elif content is not None:
        yield from _anthropic_blocks(_require_list(content, fields.dotted(path)), path, at)


_DOCUMENT_SOURCES = frozenset({"text", "content", "base64", "url", "file"})


def _anthropic_document(block: dict[str, Any], path: WirePath, at: At) -> Iterator[Segment]:
    where: WirePath = (*path, "source")
    source = _require_dict(block.get("source"), fields.dotted(where))
    kind = source.get("type")
    if not _known(kind, _DOCUMENT_SOURCES):
        raise RequestError(f"{fields.dotted(where)}.type {kind!r} is not a known source")
    if kind == "text":
        data = _text(source, "data", where)
        if data is not None:
            yield at.segment(data, (*where, "data"))
    elif kind == "content":
        yield from _anthropic_nested(source.get("content"), (*where, "content"), at)


def _json_leaves(value: Any, path: WirePath, at: At) -> Iterator[Segment]:
    """Every string inside a JSON value (tool-call input), each its own segment."""
    if isinstance(value, str):
        yield at.segment(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_leaves(item, (*path, key), at)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from _json_leaves(item, (*path, k), at)


# ------------------------------------------------------------ OpenAI responses (output)


def parse_openai_chat_response(response: Json) -> Conversation:
    """`output` segments of a chat completion: every text-bearing field of each choice's
    message (`guardrail.fields`: content and its parts, refusal, reasoning, the audio
    transcript, tool-call names and arguments, citation titles and URLs)."""
    conv = Conversation(response)  # the response is ours already: no copy
    at = At(Stage.OUTPUT)
    for i, message in _chat_messages(response):
        path: WirePath = ("choices", i, "message")
        conv.segments.extend(_openai_content(message.get("content"), (*path, "content"), at))
        for where in _OUTPUT_TEXTS:
            text = _at_path(message, where)
            if isinstance(text, str):
                conv.segments.append(at.segment(text, (*path, *where)))
        conv.segments.extend(_openai_tool_calls(message, path, at))
        annotations = message.get("annotations")
        for k, note in enumerate(annotations if isinstance(annotations, list) else ()):
            for key in ("title", "url"):
                text = _at_path(note, ("url_citation", key))
                if isinstance(text, str):
                    where = (*path, "annotations", k, "url_citation", key)
                    conv.segments.append(at.segment(text, where))
    return conv


_OUTPUT_TEXTS: tuple[WirePath, ...] = (
    ("refusal",),
    ("reasoning_content",),
    ("audio", "transcript"),
)


def _chat_messages(response: Json) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, choice in enumerate(response.get("choices") or ()):
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            yield i, message


def _at_path(node: Any, path: WirePath) -> Any:
    """The value at `path`, or None where the path does not lead anywhere."""
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def clean_chat_response(response: Json) -> list[WirePath]:
    """Before an answer's output check: drop what the check would not see (in place).

    Each choice's `logprobs` become null (their tokens repeat the text outside the
    scanned fields), and a field holding a string that `guardrail.fields` does not list --
    an unknown field, a content part of an unknown type, a list where a string belongs --
    is removed (the message's, the choice's or the answer's own key), never passed unscanned.
    Returns the paths it set to null or removed.
    """
    return _drop_unlisted(response, parse_openai_chat_response(response), fields.CHAT)


def _drop_unlisted(response: Json, conv: Conversation, wire: str) -> list[WirePath]:
    dropped: list[WirePath] = []
    for i, choice in enumerate(response.get("choices") or ()):
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None
            dropped.append(("choices", i, "logprobs"))
    passed = fields.passed_patterns(wire, "response")
    bad = list(fields.unchecked_paths(response, (), conv.paths, passed))
    for where in bad:
        # the key right under the answer, its choice, or the choice's message
        depth = 4 if where[:1] == ("choices",) and where[2:3] == ("message",) else 3
        depth = depth if where[:1] == ("choices",) else 1
        node = _at_path(response, where[: depth - 1])
        if isinstance(node, dict) and where[depth - 1] in node:
            del node[where[depth - 1]]
            dropped.append(where[:depth])
    return dropped


def forget_mirrors(
    response: Json, before: Sequence[Segment], after: Conversation
) -> list[WirePath]:
    """Audio whose transcript the output check changed no longer says what the text says:
    drop the audio data (in place; returns the paths removed)."""
    old = {s.path: s.text for s in before}
    dropped: list[WirePath] = []
    for segment in after.segments:
        if segment.path[-2:] == ("audio", "transcript") and old.get(segment.path) != segment.text:
            audio = _at_path(response, segment.path[:-1])
            if isinstance(audio, dict) and audio.pop("data", None) is not None:
                dropped.append((*segment.path[:-1], "data"))
    return dropped


def clean_completion_response(response: Json) -> list[WirePath]:
    """Before a legacy answer's output check: `logprobs` become null, and fields holding a
    string `guardrail.fields` does not list are removed (in place; returns their paths)."""
    return _drop_unlisted(response, parse_openai_completion_response(response), fields.TEXT)


def parse_openai_completion_response(response: Json) -> Conversation:
    """`output` segments of a legacy text completion: each choice's text."""
    conv = Conversation(response)
    for i, choice in enumerate(response.get("choices") or ()):
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            conv.segments.append(Segment(Stage.OUTPUT, choice["text"], ("choices", i, "text")))
    return conv


def last_user_text(body: Json) -> str:
    """The text of the last user message of an OpenAI chat body ('' if none)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            parts = [p.get("text", "") for p in _parts(content) if p.get("type") == "text"]
            return "\n".join(t for t in parts if isinstance(t, str))
    return ""
