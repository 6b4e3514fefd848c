"""The topics guard kind of issue #23 through the real proxy and the real OpenAI SDK (policy:
tests/e2e/policies/topics.yaml): an allow-list on prompts, a deny-list on answers."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

POLICY = "topics"


def _chat(proxy_url: ProxyFactory, prompt: str) -> str:
    answer = openai_client(proxy_url(POLICY)).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    return answer.choices[0].message.content or ""


def _blocked(proxy_url: ProxyFactory, prompt: str) -> dict[str, object]:
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(proxy_url, prompt)
    body = caught.value.body
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    "prompt",
    [
        "Can you write a limerick about a cat who loves cheese?",
        "Who is going to win the next election?",
    ],
)
def test_off_topic_prompt_is_blocked(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str
) -> None:
    """A prompt on none of the allowed topics gets the rule's code and message; the upstream
    sees nothing."""
    body = _blocked(proxy_url, prompt)
    assert (body["code"], body["rule"]) == ("off_topic", "support-topics-only")
    assert body["message"] == "I can only help with orders, billing and your account."
    assert fake.requests == []


@pytest.mark.parametrize(
    "prompt",
    [
        "I was charged twice this month, please refund one of the payments.",
        "I forgot my password and the reset email never arrives.",
    ],
)
def test_support_prompt_passes(proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str) -> None:
    """Billing and account requests reach the upstream unchanged."""
    assert _chat(proxy_url, prompt) == f"echo: {prompt}"
    assert len(fake.requests) == 1


def test_medical_answer_is_blocked_at_output(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """An answer that drifts into diagnosing symptoms is blocked on the output stage."""
    fake.script(
        Reply(
            text="Chest pain with shortness of breath can be a sign of a heart attack or a "
            "lung infection; you should see a doctor about a diagnosis and treatment."
        )
    )
    body = _blocked(proxy_url, "My account was charged for a delivery I never received.")
    assert (body["code"], body["rule"], body["stage"]) == (
        "medical_advice",
        "no-medical-answers",
        "output",
    )


PACK = Path(__file__).resolve().parents[2] / "policies" / "customer-support.yaml"


@pytest.mark.parametrize(
    ("prompt", "shadowed"),
    [
        ("Who is going to win the next election?", True),
        ("I was charged twice this month, please refund one of the payments.", False),
    ],
)
def test_customer_support_pack_records_off_topic_prompts_in_shadow(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str, shadowed: bool
) -> None:
    """The pack's topics allow-list never blocks: an off-topic prompt is answered and named in
    x-guardrail-shadow-rules; a billing prompt is not named."""
    raw = openai_client(proxy_url(PACK)).chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    assert raw.parse().choices[0].message.content == f"echo: {prompt}"
    named = "off-topic-seen" in raw.headers.get("x-guardrail-shadow-rules", "").split(",")
    assert named is shadowed
