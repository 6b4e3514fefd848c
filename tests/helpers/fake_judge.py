"""A scripted judge model: an OpenAI-compatible chat endpoint that answers JSON verdicts.

The verdict depends on the text judged (the last user message), not on call order, so a test
stays right however many checks a stream makes: the first `Rule` whose `needle` is in the
text answers; otherwise the text is `safe`. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SAFE = {"label": "safe", "confidence": 0.9, "reason": "nothing in the taxonomy"}


@dataclass(frozen=True)
class Rule:
    """Texts containing `needle` get `content` (a verdict dict, or raw text) after `delay_s`
    (for the first `slow_calls` of them, or all)."""

    needle: str
    content: dict[str, Any] | str
    delay_s: float = 0.0
    slow_calls: int | None = None  # only the first N matching calls wait `delay_s` (None: all)


@dataclass
class FakeJudge:
    """The app and what it received: `texts` (user messages) and `systems` (prompts)."""

    rules: list[Rule] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the Authorization headers

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    def reset(self, *rules: Rule) -> None:
        """Forget what was received; answer by `rules` from now on."""
        self.rules, self.texts, self.systems, self.keys = list(rules), [], [], []

    def calls_with(self, needle: str) -> int:
        """How many judged texts contain `needle`."""
        return sum(needle in text for text in self.texts)

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        messages = body["messages"]
        text = messages[-1]["content"]
        self.systems.append(messages[0]["content"])
        self.texts.append(text)
        self.keys.append(request.headers.get("authorization", ""))
        rule = next((r for r in self.rules if r.needle in text), None)
        content = SAFE if rule is None else rule.content
        if rule is not None and rule.delay_s:
            seen = self.calls_with(rule.needle)  # this call included
            if rule.slow_calls is None or seen <= rule.slow_calls:
                await asyncio.sleep(rule.delay_s)
        answer = content if isinstance(content, str) else json.dumps(content)
        return JSONResponse(
            {
                "id": "judge-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
            }
        )
