"""OpenAI chat request bodies that place a text where the server gives it a stage."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def tool_result_request(text: str) -> Json:
    """A chat request whose last message is a tool result holding `text` (stage `tool`)."""
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "What did the lookup say?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": text},
    ]
    return {"model": "m", "messages": messages}
