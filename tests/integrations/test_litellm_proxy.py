"""The plug-in inside a real litellm proxy, in front of a real fake upstream.

litellm's proxy needs `litellm[proxy]`, which the project's venv does not carry (the newest
litellm's extra needs a package the index lacks). Set GUARDRAIL_LITELLM_PROXY to the
`litellm` command of a separate venv to run these, e.g.:

    python3.11 -m venv /tmp/litellm-proxy-venv
    /tmp/litellm-proxy-venv/bin/pip install 'litellm[proxy]==1.108.7' -e .
    GUARDRAIL_LITELLM_PROXY=/tmp/litellm-proxy-venv/bin/litellm pytest tests/integrations

Without it they are skipped; the hooks are still tested with real litellm objects in
test_litellm_plugin.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from guardrail.testing import FakeUpstream, Reply, ServerThread
from tests.integrations.support import EMAIL, POLICIES, litellm_proxy, needs_litellm_proxy

MASTER_KEY = "sk-guardrail-test"

pytestmark = needs_litellm_proxy


def config(upstream: str) -> str:
    """The proxy config: the README's guardrail entry plus a refusal one, on request only."""
    return f"""
model_list:
  - model_name: fake-model
    litellm_params: {{model: openai/fake-model, api_base: "{upstream}", api_key: test}}
guardrails:
  - guardrail_name: guardrail
    litellm_params:
      guardrail: guardrail.integrations.litellm.PolicyGuardrail
      mode: [pre_call, post_call]
      default_on: true
      policy: {POLICIES / "rules.yaml"}
  - guardrail_name: guardrail-refusal
    litellm_params:
      guardrail: guardrail.integrations.litellm.PolicyGuardrail
      mode: [pre_call, post_call]
      policy: {POLICIES / "litellm_refusal.yaml"}
general_settings:
  master_key: {MASTER_KEY}
"""


@pytest.fixture(scope="module")
def proxy(
    fake_server: tuple[FakeUpstream, ServerThread], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A litellm proxy process with the plug-in registered (stopped at the end)."""
    folder = tmp_path_factory.mktemp("litellm-proxy")
    (folder / "config.yaml").write_text(config(fake_server[1].url + "/v1"))
    with litellm_proxy(folder, {}) as url:
        yield url + "/v1"


@pytest.fixture
def client(proxy: str) -> Iterator[openai.OpenAI]:
    """The real OpenAI SDK pointed at the litellm proxy."""
    with openai.OpenAI(base_url=proxy, api_key=MASTER_KEY, max_retries=0) as sdk:
        yield sdk


def user(text: str) -> list[Any]:
    """A one-message chat."""
    return [{"role": "user", "content": text}]


def test_redacts_upstream_and_restores(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Through litellm's proxy the upstream sees a placeholder and the client the e-mail."""
    answer = client.chat.completions.create(model="fake-model", messages=user(f"Mail {EMAIL}"))
    assert answer.choices[0].message.content == f"echo: Mail {EMAIL}"
    assert EMAIL not in json.dumps(fake.last.body)
    assert "<EMAIL_1>" in json.dumps(fake.last.body)


def test_blocked_prompt_is_400(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A blocked prompt is a 400 naming the rule, and never reaches the upstream."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake-model", messages=user("kaboom"))
    assert "no-banned-input" in str(caught.value)
    assert fake.requests == []


def test_blocked_answer_is_400(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A banned phrase in a whole answer is a 400 naming the output rule."""
    fake.script(Reply(text="Here is the secret sauce."))
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake-model", messages=user("recipe?"))
    assert "no-banned-output" in str(caught.value)


def test_stream_restored_and_cut(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A stream is restored across chunks and cut with content_filter on a violation."""
    # more clean text than the hold-back's look-ahead (at least 96 characters) and a check
    # step: a sentence is released (and restored) before the violation arrives
    reply = "Mail <EMAIL_1> now. " * 8 + "Then detonate now, and more after that."
    fake.script(Reply(text=reply, chunk_chars=3))
    stream = client.chat.completions.create(
        model="fake-model", stream=True, messages=user(f"mail {EMAIL}")
    )
    chunks = [c for c in stream if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith(f"Mail {EMAIL} now.")
    assert "detonate" not in text
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_refusal_mode_answers_200(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A guardrail under on_block: refusal answers with the refusal text, not an error."""
    answer = client.chat.completions.create(
        model="fake-model",
        messages=user("I like pineapple"),
        extra_body={"guardrails": ["guardrail-refusal"]},
    )
    assert answer.choices[0].message.content == "Sorry, that is against the policy."
    assert answer.choices[0].finish_reason == "content_filter"
    assert fake.requests == []
