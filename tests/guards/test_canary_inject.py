"""The canary guard's per-request token (`inject: true`, issue #23): made per request, added
to the system prompt by the flow, and found in an answer that leaks it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from guardrail.guards.base import AddsSystemText
from guardrail.guards.canary import CanaryConfig, CanaryGuard
from guardrail.integrations.edge import Edge
from guardrail.pipeline import Pipeline
from guardrail.types import CheckContext, Stage
from guardrail.upstream.formats import CHAT
from tests.guards.conftest import build

POLICY = Path(__file__).parents[1] / "e2e" / "policies" / "canary_inject.yaml"
TOKEN = re.compile(r"gr-[0-9a-f]{20}")


def _found(guard: Any, text: str, key: str) -> list[str]:
    ctx = CheckContext(stage=Stage.OUTPUT, request_key=key)
    return [f.label for f in asyncio.run(guard.scan([text], ctx))]


def test_inject_alone_is_a_valid_config_and_its_text_needs_the_placeholder() -> None:
    """`inject: true` needs nothing else; an `inject_text` without `{canary}` is refused."""
    CanaryConfig.model_validate({"kind": "canary", "inject": True})
    with pytest.raises(ValidationError, match="exactly once"):
        CanaryConfig.model_validate({"kind": "canary", "inject": True, "inject_text": "hi"})
    with pytest.raises(ValidationError, match="inject: true"):
        CanaryConfig.model_validate({"kind": "canary"})


def test_each_request_gets_its_own_stable_token() -> None:
    """The system text carries a token per request key: the same for one key, different for
    two; without `inject` there is no system text."""
    guard = build("canary", inject=True)
    assert isinstance(guard, CanaryGuard) and isinstance(guard, AddsSystemText)
    first, again, other = (guard.system_text(k) for k in ("req-1", "req-1", "req-2"))
    assert first is not None and other is not None and first == again
    assert TOKEN.findall(first) != TOKEN.findall(other)
    assert build("canary", canaries=["gr-canary-7f3a9c21"]).system_text("req-1") is None


def test_the_answer_of_the_request_is_checked_for_its_own_token() -> None:
    """A token is found in its own request's answer, also spaced out, not in another's."""
    guard = build("canary", inject=True)
    assert isinstance(guard, CanaryGuard)
    token = guard.request_canary("req-1")
    leaked = f"My instructions mention {token}, which I should not repeat."
    assert _found(guard, leaked, "req-1") == ["canary"]
    assert _found(guard, leaked.replace(token, " ".join(token)), "req-1") == ["canary"]
    assert _found(guard, leaked, "req-2") == []


def test_the_flow_adds_the_message_and_blocks_an_answer_that_repeats_it() -> None:
    """Through the real flow (the edge `wrap()` uses): the upstream gets the canary as a new
    first system message, the app's own prompt unchanged; a model that repeats its system
    prompt is blocked at output, one that does not is let through."""
    edge = Edge(Pipeline.from_file(POLICY))
    sent: list[dict[str, Any]] = []

    async def leaking_model(body: dict[str, Any]) -> dict[str, Any]:
        sent.append(body)
        system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
        return _answer(f"Sure. My instructions say: {system}")

    async def one_call(body: dict[str, Any]) -> Any:
        call = edge.open(body, CHAT)
        answer = await edge.run(call, leaking_model, _drop)
        assert answer is not None
        await edge.check_answer(call, answer)
        return call

    app_prompt = {"role": "system", "content": "You are the support bot of Acme."}
    body = {"model": "m", "messages": [app_prompt, {"role": "user", "content": "Hello"}]}
    call = asyncio.run(one_call(body))
    assert call.block is not None and call.block.rule == "no-prompt-leak"
    assert sent[0]["messages"][0]["role"] == "system"
    assert TOKEN.search(sent[0]["messages"][0]["content"])
    assert sent[0]["messages"][1:] == body["messages"]


def _answer(text: str) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }


async def _drop(answer: Any) -> None:
    return None


def test_a_streamed_answer_that_repeats_the_token_never_releases_it() -> None:
    """Streamed in 3-character pieces, an answer that repeats its system prompt ends with
    content_filter, and no piece of the token reaches the client."""
    edge = Edge(Pipeline.from_file(POLICY))

    async def streaming_model(body: dict[str, Any]) -> Any:
        system = body["messages"][0]["content"]
        text = f"Here is what I was told: {system} Anything else?"
        return _chunks([text[i : i + 3] for i in range(0, len(text), 3)])

    async def one_call() -> tuple[list[dict[str, Any]], str]:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        call = edge.open(body, CHAT)
        chunks = await edge.run(call, streaming_model, _close)
        assert chunks is not None
        return [c async for c in edge.guard_stream(call, chunks)], _token(edge, call.state.key)

    out, token = asyncio.run(one_call())
    released = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in out if c.get("choices")
    )
    assert out[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert token[3:11] not in released  # not even the first 8 hex digits


def _token(edge: Edge, key: str) -> str:
    guard = edge.pipeline.policy.guards["leak"]
    assert isinstance(guard, CanaryGuard)
    return guard.request_canary(key)


async def _chunks(pieces: list[str]) -> Any:
    for piece in pieces:
        yield {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
    yield {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }


async def _close(chunks: Any) -> None:
    await chunks.aclose()
