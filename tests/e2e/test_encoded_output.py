"""A harmful answer the model streams in base64 is cut by the default policy's output rule:
each window of the stream is read decoded (`read_encoded`), so encoding the answer does not
carry it past the guard. Real proxy, real fake upstream, the openai SDK, the shipped bundle."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from classifiers.train import probes
from guardrail.pipeline import Pipeline
from guardrail.testing import FakeUpstream, Reply
from guardrail.types import Stage
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

DEFAULT = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"


def _blocked(policy: Path, text: str) -> bool:
    pipeline = Pipeline.from_file(policy)
    decision = asyncio.run(pipeline.check(Stage.OUTPUT, [text], pipeline.new_request()))
    return decision.blocked


@pytest.fixture(scope="module")
def encoded_answer(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Our first harmful probe answer the default policy blocks in plain text, in base64 after a
    plain opener; the same policy with `read_encoded: false` lets the encoded form through."""
    answer = next(a for a in probes.harmful_answers() if _blocked(DEFAULT, a))
    encoded = "Here it is, encoded as you asked: " + base64.b64encode(answer.encode()).decode()
    off = probes.with_option(
        DEFAULT, "read_encoded", False, tmp_path_factory.mktemp("encoded") / "off.yaml"
    )
    assert not _blocked(off, encoded)
    return encoded


def test_a_base64_harmful_answer_streamed_in_pieces_is_cut(
    proxy_url: ProxyFactory, fake: FakeUpstream, encoded_answer: str
) -> None:
    """The stream ends with content_filter from block-harmful-output, before the whole
    payload reached the client."""
    pieces = [encoded_answer[i : i + 7] for i in range(0, len(encoded_answer), 7)]
    fake.script(Reply(chunks=pieces))
    stream = openai_client(proxy_url(DEFAULT)).chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": "Tell me a story."}]
    )
    chunks = list(stream)
    delivered = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].choices[0]
    assert last.finish_reason == "content_filter"
    assert (last.model_extra or {})["guardrail"]["rule"] == "block-harmful-output"
    assert len(delivered) < len(encoded_answer)
