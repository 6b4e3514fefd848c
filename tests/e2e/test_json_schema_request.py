"""json_schema with `from_request: true` through the real proxy and the real OpenAI SDK
(issue #23): the answer is validated against the request's own `response_format` (policy:
tests/e2e/policies/json_from_request.yaml)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from guardrail.testing import FakeUpstream, Reply
from tests.e2e.clients import openai_client
from tests.e2e.conftest import ProxyFactory

POLICY = "json_from_request"
ORDER_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {
        "name": "order",
        "schema": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"},
                "status": {"enum": ["shipped", "pending"]},
            },
            "required": ["order_id", "status"],
            "additionalProperties": False,
        },
    },
}


def _ask(proxy_url: ProxyFactory, response_format: Any = None, stream: bool = False) -> Any:
    extra: dict[str, Any] = {} if response_format is None else {"response_format": response_format}
    return openai_client(proxy_url(POLICY)).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Where is my order?"}],
        stream=stream,
        **extra,
    )


def _code(caught: pytest.ExceptionInfo[openai.BadRequestError]) -> tuple[Any, Any]:
    body = caught.value.body
    assert isinstance(body, dict)
    return body["code"], body["stage"]


def test_an_answer_matching_the_requests_schema_passes(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """The answer the request's schema describes reaches the client unchanged."""
    fake.script(Reply(text='{"order_id": "ORD-123456", "status": "shipped"}'))
    answer = _ask(proxy_url, ORDER_FORMAT)
    assert answer.choices[0].message.content == '{"order_id": "ORD-123456", "status": "shipped"}'


@pytest.mark.parametrize(
    "text",
    [
        '{"order_id": "ORD-12", "status": "shipped"}',  # the request's pattern
        '{"order_id": "ORD-123456", "status": "lost"}',  # the request's enum
        "Your order has shipped.",  # not JSON
    ],
)
def test_an_answer_off_the_requests_schema_is_blocked(
    proxy_url: ProxyFactory, fake: FakeUpstream, text: str
) -> None:
    """An answer that breaks the schema the request itself sent is blocked at output."""
    fake.script(Reply(text=text))
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(proxy_url, ORDER_FORMAT)
    assert _code(caught) == ("invalid_answer_format", "output")


def test_json_object_mode_requires_an_object(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """`{type: json_object}` blocks prose and passes any JSON object."""
    fake.script(Reply(text="Sure, here it is: shipped"), Reply(text='{"anything": [1, 2]}'))
    with pytest.raises(openai.BadRequestError):
        _ask(proxy_url, {"type": "json_object"})
    answer = _ask(proxy_url, {"type": "json_object"})
    assert answer.choices[0].message.content == '{"anything": [1, 2]}'


def test_without_a_response_format_nothing_is_checked(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A request that asks for no format gets its prose answer: the policy has no schema."""
    fake.script(Reply(text="Your order has shipped."))
    assert _ask(proxy_url).choices[0].message.content == "Your order has shipped."


def test_a_streamed_answer_is_held_against_the_requests_schema(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A streamed answer that breaks the request's schema ends with content_filter and none
    of it reaches the client."""
    fake.script(Reply(text='{"order_id": "ORD-123456", "status": "lost"}', chunk_chars=4))
    chunks = [c for c in _ask(proxy_url, ORDER_FORMAT, stream=True) if c.choices]
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert "ORD-123456" not in "".join(c.choices[0].delta.content or "" for c in chunks)
