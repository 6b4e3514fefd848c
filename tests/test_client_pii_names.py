"""`guardrail.wrap()` with model entities: a name found by the tiny bundle's pii token head is
redacted before the real fake upstream and restored in the answer (sync, async, stream)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from guardrail.client import wrap
from guardrail.pipeline import Pipeline
from guardrail.testing import FakeUpstream, Reply
from tests.helpers.tiny_bundle import build_tiny_bundle
from tests.integrations.support import base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]  # fixtures used here

NAME = "Alice Smith"
POLICY = """version: 1
name: wrap-names
guards:
  pii:
    kind: pii
    entities: [EMAIL, PHONE]
    model: {bundle: ./tiny-pii, entities: [PERSON, LOCATION, ORGANIZATION]}
rules:
  - {name: redact-pii, guard: pii, stages: [input], action: redact, restore: true}
"""


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The names policy over a tiny pii bundle next to it, loaded once."""
    folder = tmp_path_factory.mktemp("names")
    build_tiny_bundle(folder / "tiny-pii", pii=True)
    (folder / "names.yaml").write_text(POLICY)
    return Pipeline.from_file(folder / "names.yaml")


@pytest.fixture
def client(base_url: str, names: Pipeline) -> Iterator[openai.OpenAI]:
    """A wrapped sync client under the names policy."""
    raw = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
    yield wrap(raw, policy=names)
    raw.close()


@pytest.fixture
async def aclient(base_url: str, names: Pipeline) -> AsyncIterator[openai.AsyncOpenAI]:
    """A wrapped async client under the names policy."""
    raw = openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)
    yield wrap(raw, policy=names)
    await raw.close()


def test_name_redacted_upstream_and_restored(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """The upstream sees <PERSON_1> and <ORGANIZATION_1>; the answer has the originals."""
    prompt = f"Ask {NAME} at Acme Corp about it"
    answer = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    sent = json.dumps(fake.last.body)
    assert NAME not in sent and "Acme Corp" not in sent
    assert "Ask <PERSON_1> at <ORGANIZATION_1> about it" in sent
    assert answer.choices[0].message.content == f"echo: {prompt}"


async def test_async_stream_restores_the_name(
    aclient: openai.AsyncOpenAI, fake: FakeUpstream
) -> None:
    """An async streamed answer using the placeholder gets the name back for the caller."""
    fake.script(Reply(text=f"Hello <PERSON_1>! {'Nice day. ' * 6}", chunk_chars=4))
    stream = await aclient.chat.completions.create(
        model="gpt-test", stream=True, messages=[{"role": "user", "content": f"Hi, I am {NAME}"}]
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == f"Hello {NAME}! {'Nice day. ' * 6}"
    assert NAME not in json.dumps(fake.last.body)
