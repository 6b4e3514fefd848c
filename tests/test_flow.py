"""The transport-free request flow (`guardrail/flow.py`): driven directly, and through the
in-process wrapper where the flow's behaviour used to differ from the proxy's."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from guardrail.client import wrap
from guardrail.conversation import parse_openai_chat
from guardrail.errors import ContentBlocked
from guardrail.flow import Flow, Json, Outcome
from guardrail.pipeline import Pipeline
from guardrail.server.metrics import Metrics
from guardrail.testing import FakeUpstream, Reply
from guardrail.upstream import shapes
from guardrail.upstream.formats import CHAT
from tests.integrations.support import EMAIL, POLICIES, base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]  # fixtures used here

CONTENT = ("choices", 0, "message", "content")
OUTPUT_REDACT = """\
version: 1
name: output-redact
guards:
  pii: {kind: pii, entities: [EMAIL]}
rules:
  - {name: redact-output-pii, guard: pii, stages: [output], action: redact}
"""


def _chat(text: str) -> Json:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


async def _never(_: Any) -> None:
    raise AssertionError("nothing was to be discarded")


@pytest.mark.parametrize("module", ["guardrail.flow", "guardrail.client"])
def test_flow_imports_without_the_http_app(module: str) -> None:
    """Imported first in a fresh interpreter, the flow (and the wrapper on it) loads without
    the HTTP app: no import cycle through `guardrail.server`, no starlette app set-up."""
    probe = f"import sys, {module}; print('guardrail.server.app' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr[-2000:]


async def test_flow_sends_redacted_body_and_restores_answer() -> None:
    """Without any transport: `send` gets the redacted body once; the answer comes back restored."""
    pipeline = Pipeline.from_file(POLICIES / "rules.yaml")
    flow = Flow(pipeline, Metrics())
    conv = parse_openai_chat(_chat(f"write to {EMAIL}"))
    state, outcome = pipeline.new_request(), Outcome()
    sent: list[str] = []

    async def send(body: Json) -> Json:
        sent.append(json.dumps(body))
        return shapes.chat_response(body["messages"][0]["content"], model="m")  # an echo

    answer = await flow.call(conv, state, outcome, send, _never)
    assert answer is not None and len(sent) == 1 and EMAIL not in sent[0]
    edits = await flow.check_output(CHAT, answer, state, outcome)
    assert edits == [(CONTENT, f"write to {EMAIL}")]
    assert answer["choices"][0]["message"]["content"] == f"write to {EMAIL}"
    assert [r for d in outcome.decisions for r in d.rules_fired] == ["redact-pii"]


async def test_flow_block_never_calls_upstream() -> None:
    """Without any transport: a blocked input returns None with the block, `send` never runs."""
    pipeline = Pipeline.from_file(POLICIES / "rules.yaml")
    flow = Flow(pipeline, Metrics())
    conv, outcome = parse_openai_chat(_chat("the forbidden phrase")), Outcome()
    answer = await flow.call(conv, pipeline.new_request(), outcome, _never, _never)
    assert answer is None
    assert outcome.block is not None and outcome.block.rule == "no-banned-input"


@pytest.fixture
def recording(base_url: str) -> Iterator[tuple[openai.OpenAI, list[int]]]:
    """A raw sync client that records the thread of each HTTP request it makes."""
    threads: list[int] = []
    http = httpx.Client(event_hooks={"request": [lambda _: threads.append(threading.get_ident())]})
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, http_client=http) as raw:
        yield raw, threads


@pytest.mark.parametrize("policy", ["rules.yaml", "parallel.yaml"])
def test_sync_wrapper_calls_upstream_in_callers_thread(
    recording: tuple[openai.OpenAI, list[int]], fake: FakeUpstream, policy: str
) -> None:
    """The sync wrapper makes the upstream call in the caller's thread (the flow runs on
    guardrail's loop), with parallel input checks too, and a block sends nothing it shows."""
    raw, threads = recording
    client = wrap(raw, policy=POLICIES / policy)
    answer = client.chat.completions.create(model="m", messages=_chat("hello")["messages"])
    assert answer.choices[0].message.content
    assert threads == [threading.get_ident()]
    with pytest.raises(ContentBlocked):
        client.chat.completions.create(model="m", messages=_chat("forbidden phrase")["messages"])
    assert set(threads) == {threading.get_ident()}


def test_wrapper_drops_audio_whose_transcript_was_redacted(
    base_url: str, fake: FakeUpstream, tmp_path: Path
) -> None:
    """In-process as in the proxy: audio whose transcript the output stage redacted loses
    its data (it would still say what the transcript no longer does)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(OUTPUT_REDACT)
    audio = {"id": "a1", "data": "AAAA", "expires_at": 1, "transcript": f"mail {EMAIL} now"}
    fake.script(Reply(text=None, message={"audio": audio}))
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as raw:
        answer = wrap(raw, policy=policy).chat.completions.create(
            model="m", messages=_chat("hello")["messages"]
        )
    sent = answer.choices[0].message.audio
    assert sent is not None and EMAIL not in sent.transcript
    assert sent.data is None
