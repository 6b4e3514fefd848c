"""Wire formats -> segments with stages -> rewritten texts written back in place."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guardrail.conversation import (
    STAGE_MARK,
    parse_anthropic,
    parse_openai_chat,
    parse_openai_chat_response,
    parse_openai_completion,
    parse_openai_completion_response,
    strip_stage_marks,
)
from guardrail.errors import RequestError
from guardrail.types import Stage

CHAT: dict[str, Any] = {
    "model": "m",
    "vendor_field": {"keep": True},
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hello"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"q": 1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "tool says hi"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "part one"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "a document", STAGE_MARK: "retrieved"},
            ],
        },
    ],
}

ANTHROPIC: dict[str, Any] = {
    "model": "c",
    "max_tokens": 10,
    "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "document", "source": {"type": "text", "data": "doc text"}},
                {"type": "text", "text": "question"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x", "n": [1, "y"]}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "result"}],
                },
            ],
        },
    ],
}


def stages_and_texts(segments: Any) -> list[tuple[str, str]]:
    """(stage, text) pairs in body order."""
    return [(s.stage.value, s.text) for s in segments]


def test_openai_chat_segments() -> None:
    """User and assistant-history text (tool-call names too) is input, tool messages are
    tool, a marked part is retrieved and still input; the system prompt and images are
    skipped."""
    conv = parse_openai_chat(CHAT)
    assert stages_and_texts(conv.segments) == [
        ("input", "Hello"),
        ("input", "f"),
        ("input", '{"q": 1}'),
        ("tool", "tool says hi"),
        ("input", "part one"),
        ("retrieved", "a document"),
    ]
    assert conv.segments[-1].also is Stage.INPUT
    assert conv.texts(Stage.INPUT)[-1] == "a document"


def test_openai_system_scanned_when_asked() -> None:
    """With scan_system the system prompt is an input segment."""
    conv = parse_openai_chat(CHAT, scan_system=True)
    assert conv.segments[0].text == "You are helpful."
    assert conv.segments[0].stage is Stage.INPUT


def test_replace_writes_back_and_leaves_the_rest() -> None:
    """Rewritten texts land where they came from; unknown fields and the original body stay."""
    original = copy.deepcopy(CHAT)
    conv = parse_openai_chat(CHAT)
    assert (
        conv.replace(
            Stage.INPUT,
            [
                "HELLO",
                "f",
                '{"q": 2}',
                "PART",
                "a document",
            ],
        )
        is True
    )
    assert conv.body["messages"][1]["content"] == "HELLO"
    assert conv.body["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"q": 2}'
    assert conv.body["messages"][4]["content"][0]["text"] == "PART"
    assert conv.body["vendor_field"] == {"keep": True}
    assert original == CHAT  # the caller's body is never changed


def test_replace_unchanged_reports_false() -> None:
    """Writing back the same texts changes nothing."""
    conv = parse_openai_chat(CHAT)
    assert conv.replace(Stage.TOOL, ["tool says hi"]) is False


def test_replace_needs_one_text_per_segment() -> None:
    """A wrong number of texts is a programming error, not silently ignored."""
    with pytest.raises(ValueError, match="texts for"):
        parse_openai_chat(CHAT).replace(Stage.TOOL, [])


def test_strip_stage_marks() -> None:
    """Our extension key is removed before the body goes upstream."""
    conv = parse_openai_chat(CHAT)
    assert STAGE_MARK not in json.dumps(strip_stage_marks(conv.body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": "hi"}, "messages must be an array"),
        ({}, "messages must be an array"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "not a known role"),
        ({"messages": [42]}, "must be an object"),
        (
            {"messages": [{"role": "user", "content": "x", STAGE_MARK: "output"}]},
            "guardrail_stage must be one of",
        ),
    ],
)
def test_openai_bad_shapes_are_request_errors(body: dict[str, Any], message: str) -> None:
    """Malformed chat bodies raise RequestError (a 400), never something else."""
    with pytest.raises(RequestError, match=message):
        parse_openai_chat(body)


def test_legacy_prompt_forms() -> None:
    """A string prompt or a list of strings are input; token ids cannot be checked."""
    assert parse_openai_completion({"prompt": "hi"}).texts(Stage.INPUT) == ["hi"]
    assert parse_openai_completion({"prompt": ["a", "b"]}).texts(Stage.INPUT) == ["a", "b"]
    with pytest.raises(RequestError, match="token ids"):
        parse_openai_completion({"prompt": [1, 2, 3]})
    with pytest.raises(RequestError, match="prompt is required"):
        parse_openai_completion({})


def test_anthropic_segments() -> None:
    """Documents are retrieved, tool_result blocks are tool, tool_use input strings and
    assistant text are input; the system prompt is skipped by default."""
    conv = parse_anthropic(ANTHROPIC)
    assert stages_and_texts(conv.segments) == [
        ("retrieved", "doc text"),
        ("input", "question"),
        ("input", "calling"),
        ("input", "f"),
        ("input", "x"),
        ("input", "y"),
        ("tool", "result"),
    ]


def test_anthropic_write_back_into_tool_input() -> None:
    """A rewritten tool_use input string goes back into the nested input object."""
    conv = parse_anthropic(ANTHROPIC)
    conv.replace(Stage.INPUT, ["question", "calling", "f", "X", "Y"])
    assert conv.body["messages"][1]["content"][1]["input"] == {"q": "X", "n": [1, "Y"]}


def test_anthropic_system_when_asked() -> None:
    """With scan_system the system blocks are input segments."""
    conv = parse_anthropic(ANTHROPIC, scan_system=True)
    assert conv.segments[0].text == "Be brief."


def test_anthropic_bad_role() -> None:
    """Anthropic messages allow only user and assistant roles."""
    with pytest.raises(RequestError, match="'user' or 'assistant'"):
        parse_anthropic({"messages": [{"role": "system", "content": "x"}]})


def test_response_segments() -> None:
    """Answer text and tool-call names and arguments of every choice are output segments."""
    response = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "answer",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
            },
            {"index": 1, "message": {"role": "assistant", "content": "second"}},
        ]
    }
    conv = parse_openai_chat_response(response)
    assert conv.texts(Stage.OUTPUT) == ["answer", "f", "{}", "second"]
    text = parse_openai_completion_response({"choices": [{"text": "legacy"}]})
    assert text.texts(Stage.OUTPUT) == ["legacy"]
