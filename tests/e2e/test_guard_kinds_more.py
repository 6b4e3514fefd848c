"""The language and json_schema guard kinds of issue #23 through the real proxy and the real
OpenAI SDK (policy: tests/e2e/policies/guard_kinds_more.yaml)."""

from __future__ import annotations

import openai
import pytest

from guardrail.testing import FakeUpstream
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

POLICY = "guard_kinds_more"


def _chat(proxy_url: ProxyFactory, prompt: str) -> str:
    answer = openai_client(proxy_url(POLICY)).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    return answer.choices[0].message.content or ""


@pytest.mark.parametrize(
    "prompt",
    [
        "我的订单还没有到，我想要退款。",
        "¿Cómo puedo cambiar la contraseña de mi cuenta?",
    ],
)
def test_language_outside_the_allow_list_is_blocked(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str
) -> None:
    """Chinese and Spanish prompts get the rule's own code and message; the upstream sees
    nothing."""
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(proxy_url, prompt)
    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["rule"]) == ("language_not_supported", "our-languages-only")
    assert body["message"] == "Please write in English, French or German."
    assert fake.requests == []


@pytest.mark.parametrize(
    "prompt",
    [
        "Comment est-ce que je peux changer le mot de passe de mon compte ?",
        "Wie kann ich das Passwort für mein Konto ändern?",
        "How do I reset the password for my account?",
        "ok",
    ],
)
def test_allowed_and_undetermined_languages_pass(
    proxy_url: ProxyFactory, fake: FakeUpstream, prompt: str
) -> None:
    """French, German, English and a too-short text reach the upstream unchanged."""
    assert _chat(proxy_url, prompt) == f"echo: {prompt}"
