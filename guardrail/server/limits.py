"""What one proxied call may contain, and how long a streamed answer may run.

Every limit has a safe default in `guardrail.settings` (env `GUARDRAIL_LIMITS_*`) and a
`guardrail serve` flag; docs/robustness.md has the table. A request over a limit is refused
whole with `LimitExceeded` (HTTP 413, code `limit_exceeded`, the limit named in the message
and in `error.limit`); it is never cut short. A streamed answer that reaches
`max_completion_chars` ends cleanly instead: the text up to the limit, a final chunk with
`finish_reason: "length"` (Anthropic: `stop_reason: "max_tokens"`) and the end marker.

Characters are counted over the text guardrail checks (the conversation's segments: user,
assistant, tool and document text; system prompts too with `scan_system`), since that is the
work a request asks of the guards. Everything else in a body is bounded by `max_body_bytes`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from guardrail.conversation import Conversation, WirePath
from guardrail.errors import LimitExceeded, RequestError, TooManyParts
from guardrail.settings import Settings, get_settings
from guardrail.wire import Json

_SURROGATE = re.compile("[\ud800-\udfff]")
COUNTED = ("messages", "prompt", "input")
"""The arrays a body's counts cover by default: chat / Anthropic messages, legacy prompts,
Responses API input items."""


@dataclass(frozen=True)
class Limits:
    """The proxy's limits (defaults: `Settings.limits_*`)."""

    max_body_bytes: int
    max_messages: int
    max_parts: int
    max_message_chars: int
    max_request_chars: int
    max_completion_chars: int
    max_body_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: int) -> Limits:
        """The limits of `settings` (default: the environment), with some replaced."""
        settings = settings or get_settings()
        values = {f.name: getattr(settings, f"limits_{f.name}") for f in fields(cls)}
        return replace(cls(**values), **overrides)

    def check_counts(self, body: Json, keys: tuple[str, ...] = COUNTED) -> None:
        """Refuse a body with too many messages (or legacy prompts, Responses input items or
        embedding inputs: the arrays named in `keys`) or text parts, before it is parsed
        (counting is cheap; parsing and guarding each part is not)."""
        self._check_parts(count_parts(body, keys), _present(body, keys))
        for key in keys:
            items = body.get(key)
            if isinstance(items, list) and len(items) > self.max_messages:
                raise LimitExceeded(
                    f"number of {key}",
                    len(items),
                    self.max_messages,
                    name="max_messages",
                    param=key,
                )

    def _check_parts(self, parts: int, param: str | None) -> None:
        if parts > self.max_parts:
            raise TooManyParts(
                "number of content parts", parts, self.max_parts, name="max_parts", param=param
            )

    def check_text(self, conv: Conversation) -> None:
        """Refuse a conversation with too many texts, too much text in one message or in all
        of them."""
        self._check_parts(len(conv.segments), _present(conv.body, COUNTED))
        per_message: dict[WirePath, int] = {}
        for segment in conv.segments:
            key = _message_key(segment.path)
            per_message[key] = per_message.get(key, 0) + len(segment.text)
        for key, chars in per_message.items():
            if chars > self.max_message_chars:
                where = _param(key)
                raise LimitExceeded(
                    f"characters in {where}",
                    chars,
                    self.max_message_chars,
                    name="max_message_chars",
                    param=where,
                )
        total = sum(per_message.values())
        if total > self.max_request_chars:
            raise LimitExceeded(
                "characters in the request",
                total,
                self.max_request_chars,
                name="max_request_chars",
                param="messages" if "messages" in conv.body else None,
            )


def _present(body: Json, keys: tuple[str, ...]) -> str | None:
    """The request field the parts are in (`messages`, `prompt`, `input`), for `param`."""
    return next((k for k in keys if k in body), None)


def count_parts(body: Json, keys: tuple[str, ...] = COUNTED) -> int:
    """Text parts a body asks guards to scan, counted without parsing it: each content part
    or block (and the blocks inside a tool result), tool call, string content, and each item
    of the other arrays in `keys` (prompts, embedding inputs; a Responses input item counts
    its content or output parts)."""
    messages = body.get("messages") if "messages" in keys else None
    count = (
        sum(_parts(m) for m in messages if isinstance(m, dict)) if isinstance(messages, list) else 0
    )
    lists = (body.get(k) for k in keys if k != "messages")
    return (
        count + _items(body.get("system")) + sum(_entries(v) for v in lists if isinstance(v, list))
    )


def _entries(items: list[Any]) -> int:
    """1 for each string; for an object (a Responses input item) its parts, at least 1."""
    return sum(
        max(1, _items(x.get("content")) + _items(x.get("output"))) if isinstance(x, dict) else 1
        for x in items
    )


def _parts(message: Json) -> int:
    calls = message.get("tool_calls")
    return _items(message.get("content")) + (len(calls) if isinstance(calls, list) else 0)


def _items(content: Any) -> int:
    """1 for a string, the blocks of a list (and the blocks nested in them, one level)."""
    if isinstance(content, str):
        return 1
    if not isinstance(content, list):
        return 0
    nested = (b.get("content") for b in content if isinstance(b, dict))
    return len(content) + sum(len(n) for n in nested if isinstance(n, list))


def _message_key(path: WirePath) -> WirePath:
    """The message a segment belongs to: `("messages", 3)`, `("prompt", 0)`, `("input", 1)`,
    `("system",)`."""
    if len(path) >= 2 and path[0] in ("messages", "prompt", "input") and isinstance(path[1], int):
        return path[:2]
    return path[:1]


def _param(key: WirePath) -> str:
    head, *rest = key
    return f"{head}" + "".join(f"[{k}]" for k in rest)


# ------------------------------------------------------------------------ Unicode


def reject_lone_surrogates(body: Any) -> None:
    """RequestError if a string holds a lone UTF-16 surrogate (JSON `"\\ud800"`).

    Python's JSON reader accepts them, but they are not Unicode text: they cannot be encoded
    as UTF-8 for the upstream or the answer, and guards would fail on them.
    """
    for where in _surrogate_paths(body, "body"):
        raise RequestError(f"{where} contains a lone UTF-16 surrogate, which is not valid Unicode")


def _surrogate_paths(value: Any, where: str) -> Iterator[str]:
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                yield path
        elif isinstance(node, dict):
            for key, item in node.items():
                if _SURROGATE.search(key):
                    yield path
                stack.append((item, f"{path}.{key}"))
        elif isinstance(node, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node))


def from_arguments(args: argparse.Namespace) -> Limits:
    """The limits given as `guardrail serve` flags (`args.limits_<name>`), the rest from the
    environment."""
    given = {f.name: getattr(args, f"limits_{f.name}", None) for f in fields(Limits)}
    return Limits.from_settings(**{n: v for n, v in given.items() if v is not None})
