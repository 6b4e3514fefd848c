"""The typed wire: what guardrail reads from requests, as TypedDicts, and the JSON helpers.

`Json` is the one alias for a JSON object as it came off the wire. The parsers
(`guardrail/conversation.py`, `server/responses_request.py`) take `Json`, not these types:
their input is untrusted and they check every value they read (refusing what does not fit
with a stable error code). The TypedDicts below say what those parsers accept -- the fields
guardrail reads and their types -- and the OpenAPI description (`server/openapi.py`) is
generated from them through the registered wire shapes (`server/wires.py`), so the document
and the shapes cannot drift apart. Loose where the proxy is: unknown fields are forwarded.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Required

from pydantic import Field
from typing_extensions import TypedDict

Json = dict[str, Any]
"""A JSON object as it came (or goes) over the wire."""


def copy_json(value: Json) -> Json:
    """A deep copy of a JSON object (what goes upstream never aliases what was checked).

    JSON bodies hold only dict/list/str/number/bool/None: a JSON round trip is a deep copy
    that is faster than copy.deepcopy."""
    copied: Json = json.loads(json.dumps(value))
    return copied


Positive = Annotated[int, Field(ge=1)]
Temperature = Annotated[float, Field(ge=0, le=2)]


class TextPart(TypedDict):
    """A text content part (OpenAI chat, Anthropic `system` and nested content)."""

    type: Literal["text"]
    text: str


# ------------------------------------------------------------------- OpenAI chat / text


class ChatMessage(TypedDict, total=False):
    """A chat message; `guardrail_stage` is our extension (it may only add checks)."""

    role: Required[Literal["system", "developer", "user", "assistant", "tool", "function"]]
    content: str | list[TextPart] | None
    name: str
    tool_call_id: str
    guardrail_stage: Literal["input", "retrieved", "tool"]


class ChatRequest(TypedDict, total=False):
    """`POST /v1/chat/completions`."""

    model: Required[str]
    messages: Required[list[ChatMessage]]
    stream: bool
    max_tokens: Positive
    temperature: Temperature


class CompletionRequest(TypedDict, total=False):
    """`POST /v1/completions` (legacy); token-id prompts are refused."""

    model: Required[str]
    prompt: Required[str | list[str]]
    suffix: str
    stream: bool
    max_tokens: Positive


class EmbeddingsRequest(TypedDict, total=False):
    """`POST /v1/embeddings`; token-id inputs are refused (400 `uncheckable_input`)."""

    model: Required[str]
    input: Required[str | list[str]]
    encoding_format: Literal["float", "base64"]
    dimensions: Positive


# --------------------------------------------------------------------- OpenAI Responses


class ResponsesPart(TypedDict):
    """A text part of a Responses message item."""

    type: Literal["input_text", "output_text"]
    text: str


class ResponsesItem(TypedDict, total=False):
    """An input item: a message, a function call or its output."""

    type: Literal["message", "function_call", "function_call_output"]
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ResponsesPart]
    call_id: str
    name: str
    arguments: str
    output: str


class ResponsesRequest(TypedDict, total=False):
    """`POST /v1/responses`."""

    model: Required[str]
    input: Required[str | list[ResponsesItem]]
    instructions: str
    stream: bool
    max_output_tokens: Positive
    temperature: Temperature
    metadata: dict[str, str]


# ------------------------------------------------------------------- Anthropic messages


class AnthropicBlock(TypedDict, total=False):
    """A content block of an Anthropic message."""

    type: Required[Literal["text", "tool_result", "document", "search_result", "image"]]
    text: str
    content: str | list[TextPart]
    tool_use_id: str


class AnthropicMessage(TypedDict):
    """An Anthropic message."""

    role: Literal["user", "assistant"]
    content: str | list[AnthropicBlock]


class CountTokensRequest(TypedDict, total=False):
    """`POST /v1/messages/count_tokens`."""

    model: Required[str]
    messages: Required[list[AnthropicMessage]]
    system: str | list[TextPart]


class MessagesRequest(CountTokensRequest, total=False):
    """`POST /v1/messages`."""

    max_tokens: Required[Positive]
    stream: bool


# ----------------------------------------------------------------------- error answers


class OpenAIErrorDetail(TypedDict, total=False):
    """The `error` of an OpenAI-shaped error (a block adds `rule` and `stage`)."""

    message: Required[str]
    type: Required[str]
    code: Required[str | None]
    param: str | None


class OpenAIError(TypedDict):
    """`{"error": {...}}`."""

    error: OpenAIErrorDetail


class AnthropicErrorDetail(TypedDict):
    """The `error` of an Anthropic-shaped error (we add `code`; a block `rule`, `stage`)."""

    type: str
    message: str


class AnthropicError(TypedDict):
    """`{"type": "error", "error": {...}}`."""

    type: Literal["error"]
    error: AnthropicErrorDetail
