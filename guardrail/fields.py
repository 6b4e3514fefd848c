"""Every field of each wire shape that can carry text, and what guardrail does with it.

The table is data that the code enforces, not only documents: the request parsers
(`guardrail.conversation`) refuse a message that holds a string at a path that is neither
scanned nor listed here as `passed`, and the answer checks remove such fields from a response
(`unchecked_paths`). `docs/fields.md` is generated from it (`python -m guardrail.fields`) and
a test keeps the two equal.

Paths are relative to the body: `name[]` is any index of the array `name`, `*` any key or
index, `**` everything below.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Treatment = Literal["scanned", "passed", "dropped", "rejected"]
Side = Literal["request", "response", "stream"]
WirePath = tuple[str | int, ...]


@dataclass(frozen=True)
class Field:
    """One row: where a string lives and what happens to it."""

    wire: str
    side: Side
    path: str
    treatment: Treatment
    how: str
    catch_all: bool = False  # "any other string below here": a rule, not a listed field

    def tokens(self) -> tuple[str, ...]:
        """The path as match tokens: keys, `#` (an array index), `*`, `**`."""
        out: list[str] = []
        for key in self.path.split("."):
            if key.endswith("[]"):
                out += [key[:-2], "#"]
            else:
                out.append(key)
        return tuple(out)


_IN = "scanned at `input` (a `guardrail_stage` mark adds its stage, never removes `input`)"
_TOOL = "scanned at `tool` (a mark adds its stage)"
_OUT = "scanned at `output`; rewrites written back"
_SYS = "the app's own text: scanned at `input` only with `--scan-system`"
_ID = "passed: an identifier or enum, not text the model reads as prose"
_BIN = "passed: binary or a reference (image, audio, file); cannot be scanned"
_DROP_TR = "dropped by the translation to the upstream's format: never reaches the model"

_TOP = ("id", "object", "model", "system_fingerprint", "service_tier")
"""An answer's own keys that hold strings: identifiers, passed as they are."""

CHAT = "openai.chat"
TEXT = "openai.completions"
ANTHROPIC = "anthropic.messages"
RESPONSES = "openai.responses"
EMBEDDINGS = "openai.embeddings"
COUNT_TOKENS = "anthropic.count_tokens"
_NO = "refused with 400 `uncheckable_input`: guardrail cannot check it"

TABLE: tuple[Field, ...] = (
    # ------------------------------------------------------------ OpenAI chat, request
    Field(CHAT, "request", "messages[].content", "scanned", _IN + "; `tool` for role tool"),
    Field(CHAT, "request", "messages[].content[].text", "scanned", _IN + "; must be a string"),
    Field(CHAT, "request", "messages[].content[].refusal", "scanned", _IN),
    Field(CHAT, "request", "messages[].content[].file.filename", "scanned", _IN),
    Field(CHAT, "request", "messages[].name", "scanned", _IN),
    Field(CHAT, "request", "messages[].refusal", "scanned", _IN),
    Field(CHAT, "request", "messages[].tool_calls[].function.arguments", "scanned", _IN),
    Field(CHAT, "request", "messages[].tool_calls[].function.name", "scanned", _IN),
    Field(CHAT, "request", "messages[].tool_calls[].custom.input", "scanned", _IN),
    Field(CHAT, "request", "messages[].tool_calls[].custom.name", "scanned", _IN),
    Field(CHAT, "request", "messages[].function_call.arguments", "scanned", _IN),
    Field(CHAT, "request", "messages[].function_call.name", "scanned", _IN),
    Field(CHAT, "request", "messages[].role", "passed", _ID),
    Field(CHAT, "request", "messages[].guardrail_stage", "passed", "our mark; removed"),
    Field(CHAT, "request", "messages[].tool_call_id", "passed", _ID),
    Field(CHAT, "request", "messages[].tool_calls[].id", "passed", _ID),
    Field(CHAT, "request", "messages[].tool_calls[].type", "passed", _ID),
    Field(CHAT, "request", "messages[].audio.id", "passed", _ID),
    Field(CHAT, "request", "messages[].cache_control.*", "passed", _ID),
    Field(CHAT, "request", "messages[].content[].type", "passed", _ID + " (unknown: 400)"),
    Field(CHAT, "request", "messages[].content[].guardrail_stage", "passed", "our mark"),
    Field(CHAT, "request", "messages[].content[].cache_control.*", "passed", _ID),
    Field(CHAT, "request", "messages[].content[].image_url.*", "passed", _BIN),
    Field(CHAT, "request", "messages[].content[].input_audio.*", "passed", _BIN),
    Field(CHAT, "request", "messages[].content[].file.file_data", "passed", _BIN),
    Field(CHAT, "request", "messages[].content[].file.file_id", "passed", _BIN),
    Field(CHAT, "request", "system / developer messages", "passed", _SYS),
    Field(CHAT, "request", "messages[].**", "rejected", "any other string: 400", True),
    Field(CHAT, "request", "tools, response_format, …", "passed", "the app's configuration"),
    # --------------------------------------------------------- OpenAI chat, response
    Field(CHAT, "response", "choices[].message.content", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.content[].text", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.content[].refusal", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.refusal", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.reasoning_content", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.audio.transcript", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.tool_calls[].function.arguments", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.tool_calls[].function.name", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.function_call.arguments", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.function_call.name", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.annotations[].url_citation.title", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.annotations[].url_citation.url", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.tool_calls[].custom.name", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.tool_calls[].custom.input", "scanned", _OUT),
    Field(CHAT, "response", "choices[].message.role", "passed", _ID),
    Field(CHAT, "response", "choices[].message.content[].type", "passed", _ID),
    Field(CHAT, "response", "choices[].message.tool_calls[].id", "passed", _ID),
    Field(CHAT, "response", "choices[].message.tool_calls[].type", "passed", _ID),
    Field(CHAT, "response", "choices[].message.annotations[].type", "passed", _ID),
    Field(CHAT, "response", "choices[].message.audio.id", "passed", _ID),
    Field(
        CHAT,
        "response",
        "choices[].message.audio.data",
        "passed",
        _BIN + "; removed when the check changed the transcript",
    ),
    Field(CHAT, "response", "choices[].finish_reason", "passed", _ID),
    Field(CHAT, "response", "choices[].logprobs.**", "dropped", "set to null: tokens not scanned"),
    *(Field(CHAT, "response", key, "passed", _ID) for key in _TOP),
    Field(CHAT, "response", "moderation.**", "dropped", "removed: provider metadata"),
    Field(CHAT, "response", "choices[].message.**", "dropped", "any other: key removed", True),
    Field(CHAT, "response", "choices[].**", "dropped", "any other string: key removed", True),
    Field(CHAT, "response", "**", "dropped", "any other string: key removed", True),
    # ----------------------------------------------------------- OpenAI chat, stream
    Field(CHAT, "stream", "choices[].delta.content", "scanned", "held back and scanned"),
    Field(CHAT, "stream", "choices[].delta.refusal", "scanned", "held back and scanned"),
    Field(CHAT, "stream", "choices[].delta.reasoning_content", "scanned", "held back, scanned"),
    Field(CHAT, "stream", "choices[].delta.audio.transcript", "scanned", "held back, scanned"),
    Field(
        CHAT,
        "stream",
        "choices[].delta.tool_calls[].function.arguments",
        "scanned",
        "held back and scanned",
    ),
    Field(
        CHAT,
        "stream",
        "choices[].delta.tool_calls[].function.name",
        "scanned",
        "scanned whole before the call's header is sent; a name in pieces ends the stream",
    ),
    Field(CHAT, "stream", "choices[].delta.role", "passed", _ID),
    Field(CHAT, "stream", "choices[].delta.tool_calls[].id", "passed", _ID),
    Field(CHAT, "stream", "choices[].delta.tool_calls[].type", "passed", _ID),
    Field(CHAT, "stream", "choices[].delta.audio.id", "passed", _ID),
    Field(CHAT, "stream", "choices[].delta.audio.data", "dropped", _BIN + ": removed"),
    Field(CHAT, "stream", "choices[].delta.function_call.*", "dropped", "legacy: removed"),
    Field(CHAT, "stream", "choices[].finish_reason", "passed", _ID),
    Field(CHAT, "stream", "choices[].logprobs.**", "dropped", "set to null"),
    *(Field(CHAT, "stream", key, "passed", _ID) for key in _TOP),
    Field(CHAT, "stream", "moderation.**", "dropped", "removed: provider metadata"),
    Field(CHAT, "stream", "obfuscation", "dropped", "removed: random padding"),
    Field(CHAT, "stream", "choices[].delta.**", "dropped", "any other key: removed", True),
    Field(CHAT, "stream", "**", "dropped", "any other key: removed", True),
    # ----------------------------------------------------- OpenAI completions (legacy)
    Field(TEXT, "request", "prompt", "scanned", "scanned at `input`; token ids: 400"),
    Field(TEXT, "request", "prompt[]", "scanned", "scanned at `input`; must be strings"),
    Field(TEXT, "request", "suffix", "scanned", "scanned at `input`"),
    Field(TEXT, "response", "choices[].text", "scanned", _OUT),
    Field(TEXT, "response", "choices[].finish_reason", "passed", _ID),
    Field(TEXT, "response", "choices[].logprobs.**", "dropped", "set to null: tokens not scanned"),
    *(Field(TEXT, "response", key, "passed", _ID) for key in _TOP),
    Field(TEXT, "response", "**", "dropped", "any other string: key removed", True),
    Field(TEXT, "stream", "choices[].text", "scanned", "held back and scanned"),
    Field(TEXT, "stream", "choices[].finish_reason", "passed", _ID),
    Field(TEXT, "stream", "choices[].logprobs.**", "dropped", "set to null"),
    *(Field(TEXT, "stream", key, "passed", _ID) for key in _TOP),
    # ------------------------------------------------------- Anthropic, request
    # `messages[].**.` is a content block at any depth (tool_result, search_result and
    # document blocks hold blocks of their own)
    Field(ANTHROPIC, "request", "system", "passed", _SYS),
    Field(ANTHROPIC, "request", "messages[].content", "scanned", _IN),
    Field(ANTHROPIC, "request", "messages[].**.text", "scanned", _IN + "; string only"),
    Field(ANTHROPIC, "request", "messages[].**.input.**", "scanned", _IN + " (tool_use)"),
    Field(ANTHROPIC, "request", "messages[].**.name", "scanned", _IN + " (tool_use)"),
    Field(ANTHROPIC, "request", "messages[].**.content", "scanned", _TOOL + " (tool_result)"),
    Field(
        ANTHROPIC,
        "request",
        "messages[].**.source.data",
        "scanned",
        "document of type text: scanned at `retrieved` (string only); base64: " + _BIN,
    ),
    Field(
        ANTHROPIC,
        "request",
        "messages[].**.source.content",
        "scanned",
        "document of type content: scanned at `retrieved`",
    ),
    Field(ANTHROPIC, "request", "messages[].role", "passed", _ID),
    Field(ANTHROPIC, "request", "messages[].**.type", "passed", _ID + " (unknown block: 400)"),
    Field(ANTHROPIC, "request", "messages[].**.guardrail_stage", "passed", "our mark"),
    Field(ANTHROPIC, "request", "messages[].**.cache_control.*", "passed", _ID),
    Field(ANTHROPIC, "request", "messages[].**.id", "passed", _ID),
    Field(ANTHROPIC, "request", "messages[].**.tool_use_id", "passed", _ID),
    Field(ANTHROPIC, "request", "messages[].**.source.media_type", "passed", _ID),
    Field(ANTHROPIC, "request", "messages[].**.source.data", "passed", _BIN + " (base64)"),
    Field(ANTHROPIC, "request", "messages[].**.source.url", "passed", _BIN),
    Field(ANTHROPIC, "request", "messages[].**.source.file_id", "passed", _BIN),
    Field(ANTHROPIC, "request", "messages[].**.source", "dropped", _DROP_TR + " (search_result)"),
    Field(ANTHROPIC, "request", "messages[].**.title", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.context", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.citations.**", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.caller.*", "dropped", _DROP_TR + " (tool_use)"),
    Field(ANTHROPIC, "request", "messages[].**.toolset_name", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.thinking", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.signature", "dropped", _DROP_TR),
    Field(ANTHROPIC, "request", "messages[].**.data", "dropped", _DROP_TR + " (redacted_thinking)"),
    Field(ANTHROPIC, "request", "messages[].**", "rejected", "any other string: 400", True),
    Field(ANTHROPIC, "response", "content[].text", "scanned", _OUT + " (as OpenAI content)"),
    Field(ANTHROPIC, "response", "content[].name", "scanned", _OUT + " (tool_use)"),
    Field(ANTHROPIC, "response", "content[].input.**", "scanned", _OUT + " (tool arguments)"),
    Field(ANTHROPIC, "stream", "delta.text", "scanned", "held back and scanned"),
    Field(ANTHROPIC, "stream", "delta.partial_json", "scanned", "held back and scanned"),
    Field(ANTHROPIC, "stream", "content_block.name", "scanned", "scanned whole (tool_use)"),
    # ------------------------------------------------------ OpenAI Responses, request
    # translated to chat completions for the upstream (guardrail/server/responses_request.py)
    Field(RESPONSES, "request", "input", "scanned", "a string: scanned at `input`"),
    Field(RESPONSES, "request", "input[].content", "scanned", _IN + "; system/developer: " + _SYS),
    Field(RESPONSES, "request", "input[].content[].text", "scanned", _IN + " (input/output_text)"),
    Field(RESPONSES, "request", "input[].content[].refusal", "scanned", _IN),
    Field(RESPONSES, "request", "input[].name", "scanned", _IN + " (function_call)"),
    Field(RESPONSES, "request", "input[].arguments", "scanned", _IN + " (function_call)"),
    Field(RESPONSES, "request", "input[].output", "scanned", _TOOL + " (function_call_output)"),
    Field(RESPONSES, "request", "input[].output[].text", "scanned", _TOOL),
    Field(RESPONSES, "request", "instructions", "passed", _SYS),
    Field(RESPONSES, "request", "input[].type", "passed", _ID + " (other item types: 400)"),
    Field(RESPONSES, "request", "input[].role", "passed", _ID),
    Field(RESPONSES, "request", "input[].id", "passed", _ID),
    Field(RESPONSES, "request", "input[].call_id", "passed", _ID),
    Field(RESPONSES, "request", "input[].status", "passed", _ID),
    Field(RESPONSES, "request", "input[].phase", "dropped", _DROP_TR),
    Field(RESPONSES, "request", "input[].namespace", "dropped", _DROP_TR + " (function_call)"),
    Field(RESPONSES, "request", "input[].caller.*", "dropped", _DROP_TR),
    Field(RESPONSES, "request", "input[].guardrail_stage", "passed", "our mark; removed"),
    Field(RESPONSES, "request", "input[].content[].type", "passed", _ID + " (others: 400)"),
    Field(RESPONSES, "request", "input[].output[].type", "passed", _ID + " (others: 400)"),
    Field(RESPONSES, "request", "input[].content[].guardrail_stage", "passed", "our mark; removed"),
    Field(RESPONSES, "request", "input[].output[].guardrail_stage", "passed", "our mark; removed"),
    Field(RESPONSES, "request", "input[].content[].annotations.**", "dropped", _DROP_TR),
    Field(RESPONSES, "request", "input[].content[].logprobs.**", "dropped", _DROP_TR),
    Field(RESPONSES, "request", "input_image / input_file / input_audio parts", "rejected", _NO),
    Field(RESPONSES, "request", "input[] of type reasoning, web_search_call, …", "rejected", _NO),
    Field(RESPONSES, "request", "tools[] other than function", "rejected", _NO),
    Field(RESPONSES, "request", "previous_response_id, conversation, prompt", "rejected", _NO),
    Field(RESPONSES, "request", "input[].**", "rejected", "any other string: 400", True),
    Field(RESPONSES, "request", "tools, tool_choice, text.format, …", "passed", "app config"),
    Field(RESPONSES, "request", "metadata.*", "dropped", "not sent upstream; echoed back"),
    # the answer: the upstream's chat completion is checked as chat (above), then translated
    Field(RESPONSES, "response", "output[].content[].text", "scanned", _OUT + " (as chat)"),
    Field(RESPONSES, "response", "output[].content[].refusal", "scanned", _OUT + " (as chat)"),
    Field(RESPONSES, "response", "output[].content[].annotations[].title", "scanned", _OUT),
    Field(RESPONSES, "response", "output[].content[].annotations[].url", "scanned", _OUT),
    Field(RESPONSES, "response", "output[].name", "scanned", _OUT + " (function_call)"),
    Field(RESPONSES, "response", "output[].arguments", "scanned", _OUT + " (function_call)"),
    Field(RESPONSES, "response", "reasoning_content, audio", "dropped", "not translated"),
    Field(RESPONSES, "stream", "response.output_text.delta", "scanned", "held back and scanned"),
    Field(RESPONSES, "stream", "response.refusal.delta", "scanned", "held back and scanned"),
    Field(
        RESPONSES,
        "stream",
        "response.function_call_arguments.delta",
        "scanned",
        "held back and scanned",
    ),
    Field(RESPONSES, "stream", "output_item.added item.name", "scanned", "scanned whole"),
    # ---------------------------------------------- OpenAI embeddings (routes_openai.py)
    Field(EMBEDDINGS, "request", "input", "scanned", "a string: scanned at `input`"),
    Field(EMBEDDINGS, "request", "input[]", "scanned", "scanned at `input`; must be strings"),
    Field(EMBEDDINGS, "request", "input as token ids (integers, arrays of them)", "rejected", _NO),
    *(Field(EMBEDDINGS, "request", k, "passed", _ID) for k in ("model", "encoding_format", "user")),
    Field(EMBEDDINGS, "response", "**", "passed", "as it came: vectors (or their base64)", True),
    # ----------------------------------------- Anthropic token counting (routes_anthropic.py)
    Field(COUNT_TOKENS, "request", "messages.**", "scanned", "as an Anthropic messages request"),
    Field(COUNT_TOKENS, "request", "system", "passed", _SYS),
    Field(COUNT_TOKENS, "response", "input_tokens", "passed", "a number"),
)


@functools.cache
def passed_patterns(
    wire: str, side: Side, treatments: tuple[Treatment, ...] = ("passed",)
) -> re.Pattern[str]:
    """One pattern for the paths where a string may stay unscanned (see `path_key`)."""
    return _compile(
        [
            f.tokens()
            for f in TABLE
            if f.wire == wire and f.side == side and f.treatment in treatments
        ]
    )


_SEP = "\x1f"


def path_key(path: WirePath) -> str:
    """A path as one string a compiled pattern can match: `k<key>` or `#` (an index), each
    followed by a separator; a separator inside a key is replaced, so no key can forge one."""
    return "".join(
        ("#" if isinstance(key, int) else "k" + key.replace(_SEP, "?")) + _SEP for key in path
    )


def _compile(patterns: Sequence[Sequence[str]]) -> re.Pattern[str]:
    token = {"#": "#" + _SEP, "*": f"[^{_SEP}]*{_SEP}", "**": f"(?:[^{_SEP}]*{_SEP})*"}
    alternatives = [
        "".join(token.get(t) or "k" + re.escape(t) + _SEP for t in pattern) for pattern in patterns
    ]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")


def matches(pattern: Sequence[str], path: WirePath) -> bool:
    """Whether a concrete path matches a row's tokens."""
    return _compile([pattern]).fullmatch(path_key(path)) is not None


IDENTIFIER = re.compile(r"[!-~]{0,256}")
"""What a string at an identifier/enum row may be: printable ASCII without spaces, at most 256
characters (provider ids, roles, types, media types). Anything else there is text nobody
scans, so it is refused like an unlisted field."""


@functools.cache
def id_patterns(wire: str, side: Side) -> re.Pattern[str]:
    """One pattern for the identifier/enum rows (passed because they cannot carry prose)."""
    return _compile(
        [
            f.tokens()
            for f in TABLE
            if f.wire == wire
            and f.side == side
            and f.treatment == "passed"
            and f.how.startswith(_ID)
        ]
    )


def unchecked_paths(
    node: Any,
    path: WirePath,
    scanned: set[WirePath],
    passed: re.Pattern[str],
    ids: re.Pattern[str] | None = None,
) -> Iterator[WirePath]:
    """Paths below `node` (at `path`) of strings neither scanned nor matching `passed`, and
    (with `ids`) strings at identifier rows that do not look like an identifier.

    Paths are matched generically, so `passed` is no place for fields that may carry text:
    the parsers scan those (or refuse them) before this walk.
    """
    if isinstance(node, str):
        if path not in scanned and _unchecked(node, path_key(path), passed, ids):
            yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from unchecked_paths(value, (*path, key), scanned, passed, ids)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from unchecked_paths(value, (*path, index), scanned, passed, ids)


def _unchecked(text: str, key: str, passed: re.Pattern[str], ids: re.Pattern[str] | None) -> bool:
    if passed.fullmatch(key) is None:
        return True
    return ids is not None and ids.fullmatch(key) is not None and not IDENTIFIER.fullmatch(text)


def dotted(path: WirePath) -> str:
    """`("messages", 0, "content")` as `messages[0].content`."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


# --------------------------------------------------------------------------- docs


_HEADER = """# Text-bearing fields, per wire shape

Generated from `guardrail/fields.py` by `python -m guardrail.fields > docs/fields.md`; a test
fails when the two differ. The request parsers and the answer checks enforce the same table:
a request that puts a string anywhere in a message that is not listed here is refused with
HTTP 400 (`invalid_request`), and a string the table does not know in an answer is removed
before the client sees it. A value of the wrong type in a text field (a list or an object
where a string belongs) is refused, never turned into a string.

Treatments: **scanned** (the policy's rules for that stage run on it; redactions are written
back in place), **passed** (it cannot carry prose: identifiers, enums, binary data, or the
app's own configuration -- see SECURITY.md, threat model), **dropped** (removed or never
forwarded), **rejected** (HTTP 400). In a request, a string at an identifier or enum row
("passed: an identifier or enum") must look like one -- printable ASCII without spaces, at
most 256 characters -- or the request is refused with 400 like an unlisted field: an id is
not a place for text nobody scans.

`[]` is any array index, `*` any key, `**` anything below.
"""

_TITLES = {CHAT: "OpenAI chat completions", TEXT: "OpenAI text completions (legacy)"}
_TITLES[ANTHROPIC] = "Anthropic messages"
_TITLES[RESPONSES] = "OpenAI Responses API (`/v1/responses`)"
_TITLES[EMBEDDINGS] = "OpenAI embeddings (`/v1/embeddings`)"
_TITLES[COUNT_TOKENS] = "Anthropic token counting (`/v1/messages/count_tokens`)"


def render() -> str:
    """docs/fields.md."""
    lines = [_HEADER]
    for wire in (CHAT, TEXT, ANTHROPIC, RESPONSES, EMBEDDINGS, COUNT_TOKENS):
        for side in ("request", "response", "stream"):
            rows = [f for f in TABLE if f.wire == wire and f.side == side]
            if not rows:
                continue
            lines += [f"## {_TITLES[wire]}: {side}", "", "| field | treatment | how |"]
            lines.append("|---|---|---|")
            lines += [f"| `{f.path}` | {f.treatment} | {f.how} |" for f in rows]
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
