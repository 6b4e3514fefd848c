"""Property tests of the wire parsers (guardrail/conversation.py) and the translations that
follow them: any JSON-ish body gives a Conversation or a RequestError, nothing else; a body
that parses round-trips rewritten text back into place and keeps every other field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrail.conversation import (
    Conversation,
    WirePath,
    parse_anthropic,
    parse_openai_chat,
    parse_openai_completion,
    strip_stage_marks,
)
from guardrail.errors import LimitExceeded, RequestError
from guardrail.server.anthropic_format import to_openai_request
from guardrail.server.limits import Limits
from guardrail.types import Stage
from tests.fuzz.strategies import (
    EXAMPLES,
    anthropic_body,
    json_values,
    openai_chat,
    openai_completion,
)

Parser = Callable[[dict[str, Any]], Conversation]
PARSERS: dict[str, Parser] = {
    "chat": lambda b: parse_openai_chat(b),
    "chat+system": lambda b: parse_openai_chat(b, scan_system=True),
    "completion": parse_openai_completion,
    "anthropic": lambda b: parse_anthropic(b),
    "anthropic+system": lambda b: parse_anthropic(b, scan_system=True),
}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
bodies = st.one_of(
    openai_chat, openai_completion, anthropic_body, st.dictionaries(st.text(), json_values)
)


def at(body: Any, path: WirePath) -> Any:
    """The value at `path` in a wire body."""
    for key in path:
        body = body[key]
    return body


def parse_or_none(parser: Parser, body: dict[str, Any]) -> Conversation | None:
    """The conversation, or None when the parser refused the body with a RequestError."""
    try:
        return parser(body)
    except RequestError:
        return None


@FUZZ
@given(body=bodies, name=st.sampled_from(sorted(PARSERS)))
def test_parsers_give_a_conversation_or_request_error(body: dict[str, Any], name: str) -> None:
    """Any body: a Conversation pointing at its text, or RequestError; input unchanged."""
    before = copy.deepcopy(body)
    conv = parse_or_none(PARSERS[name], body)
    assert body == before
    if conv is None:
        return
    for segment in conv.segments:
        assert isinstance(segment.text, str)
        assert at(conv.body, segment.path) == segment.text


def rewrite(text: str) -> str:
    """A rewrite that changes every text (as a redaction would)."""
    return "<" + text[::-1] + ">"


def masked(body: dict[str, Any], paths: list[WirePath]) -> dict[str, Any]:
    """A copy of `body` with the value at each path replaced by a marker."""
    out = copy.deepcopy(body)
    for path in paths:
        node = at(out, path[:-1])
        node[path[-1]] = "<masked>"
    return out


@FUZZ
@given(body=st.one_of(openai_chat, openai_completion, anthropic_body))
def test_rewrites_round_trip_and_keep_unknown_fields(body: dict[str, Any]) -> None:
    """Rewrites land at their paths, re-parse the same, and every other field is kept."""
    for name, parser in PARSERS.items():
        conv = parse_or_none(parser, body)
        if conv is None:
            continue
        original = copy.deepcopy(conv.body)
        for stage in Stage:
            texts = conv.texts(stage)
            conv.replace(stage, [rewrite(t) for t in texts])
        paths = [s.path for s in conv.segments]
        assert masked(conv.body, paths) == masked(original, paths), name
        again = parser(conv.body)
        assert [(s.stage, s.path, s.text) for s in again.segments] == [
            (s.stage, s.path, s.text) for s in conv.segments
        ]
        json.dumps(conv.body)  # still plain JSON


@FUZZ
@given(body=anthropic_body)
def test_anthropic_translation_never_crashes(body: dict[str, Any]) -> None:
    """Accepted Anthropic bodies translate to JSON or raise RequestError, nothing else."""
    if parse_or_none(PARSERS["anthropic"], body) is None:
        return
    try:
        translated = to_openai_request(copy.deepcopy(body))
    except RequestError:
        return
    assert isinstance(translated["messages"], list)
    json.dumps(translated)


@FUZZ
@given(body=openai_chat)
def test_stage_marks_are_stripped(body: dict[str, Any]) -> None:
    """After parsing, `strip_stage_marks` leaves no `guardrail_stage` key in any message."""
    conv = parse_or_none(PARSERS["chat"], body)
    if conv is None:
        return
    stripped = strip_stage_marks(conv.body)
    assert '"guardrail_stage"' not in json.dumps(stripped.get("messages"))


@FUZZ
@given(
    body=st.one_of(openai_chat, openai_completion, anthropic_body),
    size=st.integers(min_value=1, max_value=60),
)
def test_limit_checks_only_raise_limit_exceeded(body: dict[str, Any], size: int) -> None:
    """The limit checks accept or raise LimitExceeded, whatever the body."""
    limits = Limits.from_settings(
        max_messages=size % 5 + 1, max_message_chars=size, max_request_chars=size * 2
    )
    refused: list[LimitExceeded] = []
    try:
        limits.check_counts(body)
        for parser in PARSERS.values():
            conv = parse_or_none(parser, body)
            if conv is not None:
                limits.check_text(conv)
    except LimitExceeded as exc:
        refused.append(exc)
    assert all(exc.value > exc.maximum for exc in refused)
