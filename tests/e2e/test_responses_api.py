"""The proxy as a drop-in for the OpenAI SDK's Responses API (`responses.create`): only
`base_url` changes; the upstream is the fake chat-completions server."""

from __future__ import annotations

import collections.abc
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import typing_extensions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.responses.response_input_item_param import ResponseInputItemParam

from guardrail import fields
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.server.limits import Limits
from guardrail.server.responses_request import ITEMS, TEXT_PARTS
from guardrail.testing import FakeUpstream, Reply, serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.e2e.clients import openai_client
from tests.e2e.conftest import POLICIES, ProxyFactory
from tests.fuzz.strategies import SERVER_EXAMPLES, json_values, sometimes, text
from tests.helpers.servers import FakeServer

EMAIL = "ann.lee@example.org"
WEATHER_TOOL: Any = {
    "type": "function",
    "name": "weather",
    "description": "Weather by city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CALL = {
    "id": "call_7",
    "type": "function",
    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
}


@pytest.fixture(scope="module")
def strict_proxy(fake_server: FakeServer) -> Iterator[str]:
    """A proxy with `--scan-system` and small limits (8 parts, 4 messages) over the fake."""
    limits = Limits.from_settings(max_parts=8, max_messages=4)
    app = create_app(
        Pipeline.from_file(POLICIES / "rules.yaml"),
        OpenAIHttpUpstream(fake_server.url + "/v1"),
        scan_system=True,
        limits=limits,
    )
    with serve_app(app) as server:
        yield server.url


def _events(base: str, **kwargs: Any) -> list[Any]:
    """Every event of a streamed `responses.create`, in order (the SDK's typed objects)."""
    stream = openai_client(base).responses.create(model="gpt-test", stream=True, **kwargs)
    with stream:
        return list(stream)


def _text(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def _error(caught: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = caught.value.body
    assert isinstance(body, dict)
    return body


# ------------------------------------------------------------------------ (a) plain


def test_plain_answer_has_output_text(
    proxy_url: ProxyFactory, fake: FakeUpstream, via: str
) -> None:
    """A string input and instructions go upstream as chat messages; the answer comes back
    as a response object whose `output_text` the SDK assembles."""
    response = openai_client(proxy_url("rules", via)).responses.create(
        model="gpt-test", input="Name a colour.", instructions="Be brief.", max_output_tokens=50
    )
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "echo: Name a colour."
    assert response.output[0].type == "message"
    assert response.usage is not None and response.usage.output_tokens > 0
    sent = fake.last.body
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
    ]
    assert sent["max_tokens"] == 50


def test_streamed_plain_answer_is_typed_events(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A streamed answer arrives as the SDK's typed events, in the documented order, with
    increasing sequence numbers and the text whole in `output_text.done` and at the end."""
    fake.script(Reply(text="Blue is a colour. Red is one too.", chunk_chars=3))
    events = _events(proxy_url(), input="Name a colour.")
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert _text(events) == "Blue is a colour. Red is one too."
    assert events[-1].response.output_text == "Blue is a colour. Red is one too."
    assert events[-4].text == "Blue is a colour. Red is one too."
    assert fake.last.body["stream"] is True


# ----------------------------------------------------------------- (b) PII restored


def test_pii_redacted_upstream_and_restored(
    proxy_url: ProxyFactory, fake: FakeUpstream, via: str
) -> None:
    """PII in an input_text part reaches the upstream as a placeholder; the answer has it back."""
    response = openai_client(proxy_url("rules", via)).responses.create(
        model="gpt-test",
        input=[{"role": "user", "content": [{"type": "input_text", "text": f"Reply to {EMAIL}"}]}],
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert "<EMAIL_1>" in json.dumps(fake.last.body)
    assert response.output_text == f"echo: Reply to {EMAIL}"


def test_streamed_pii_restored(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """A placeholder split over many stream chunks comes back whole and restored."""
    fake.script(Reply(text="I wrote to <EMAIL_1>, as you asked. " * 3, chunk_chars=2))
    events = _events(proxy_url("rules", via), input=f"Write to {EMAIL}")
    assert _text(events) == f"I wrote to {EMAIL}, as you asked. " * 3
    assert events[-1].type == "response.completed"
    assert EMAIL not in json.dumps(fake.last.body)


def test_assistant_history_is_redacted_again(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """An earlier answer sent back as an assistant item is checked as input (its restored PII
    is redacted again), as on the chat endpoint."""
    openai_client(proxy_url()).responses.create(
        model="gpt-test",
        input=[
            {"role": "user", "content": "Who wrote?"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"{EMAIL} wrote.", "annotations": []}],
            },
            {"role": "user", "content": "Thanks."},
        ],
    )
    assert EMAIL not in json.dumps(fake.last.body)
    assert fake.last.body["messages"][1] == {"role": "assistant", "content": "<EMAIL_1> wrote."}


# ------------------------------------------------------------------ (c) input block


@pytest.mark.parametrize("stream", [False, True])
def test_input_block_is_openai_error(
    proxy_url: ProxyFactory, fake: FakeUpstream, stream: bool
) -> None:
    """A blocked prompt is a 400 in OpenAI's error shape naming code, rule and stage; the
    upstream is never called."""
    client = openai_client(proxy_url())
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-test", input="the forbidden phrase please", stream=stream
        )
    error = _error(caught)
    assert error["code"] == "content_blocked"
    assert (error["rule"], error["stage"]) == ("no-banned-input", "input")
    assert fake.requests == []


def test_tool_output_is_checked_at_tool_stage(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A function_call_output item is judged at the `tool` stage (its own rule fires)."""
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).responses.create(
            model="gpt-test",
            input=[
                {"role": "user", "content": "Weather?"},
                {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "kaboom"},
            ],
        )
    error = _error(caught)
    assert (error["rule"], error["stage"]) == ("no-banned-docs", "tool")
    assert fake.requests == []


# ---------------------------------------------------------------- (d) output block


def test_output_block_is_openai_error(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A banned phrase in a whole answer is a 400 naming the output rule; no text leaks."""
    fake.script(Reply(text="Step two: detonate now."))
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).responses.create(model="gpt-test", input="steps?")
    error = _error(caught)
    assert (error["rule"], error["stage"]) == ("no-banned-output", "output")
    assert "detonate" not in json.dumps(error)


def test_stream_block_holds_back_the_text(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A banned phrase mid-stream never reaches the client: the text before it may, then the
    response ends `incomplete` with reason content_filter and no more text."""
    fake.script(Reply(chunks=list("Step one is easy. Step two: detonate now. Step three.")))
    events = _events(proxy_url(), input="steps?")
    text = _text(events)
    assert "detonate" not in json.dumps([e.model_dump() for e in events])
    assert "Step three" not in text
    final = events[-1]
    assert final.type == "response.incomplete"
    assert final.response.incomplete_details.reason == "content_filter"
    assert final.response.output_text == text


def test_refusal_policy_answers_incomplete(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """With `on_block: refusal` a blocked prompt is an ordinary response carrying the refusal
    message, `incomplete` with reason content_filter, streamed or not."""
    base = proxy_url("refusal")
    response = openai_client(base).responses.create(model="gpt-test", input="kaboom now")
    assert response.output_text == "Sorry, that is against the policy."
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "content_filter"
    events = _events(base, input="kaboom now")
    assert _text(events) == "Sorry, that is against the policy."
    assert events[-1].type == "response.incomplete"
    assert fake.requests == []


def test_tool_call_arguments_are_checked_at_output(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """A banned phrase in an answer's tool-call arguments blocks it, whole or streamed; the
    arguments never reach the client."""
    bad = {**CALL, "function": {"name": "weather", "arguments": '{"city": "kaboom"}'}}
    fake.script(Reply(tool_calls=[bad]), Reply(tool_calls=[bad]))
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).responses.create(model="gpt-test", input="weather?")
    assert _error(caught)["rule"] == "no-banned-output"
    events = _events(proxy_url(), input="weather?", tools=[WEATHER_TOOL])
    assert "kaboom" not in json.dumps([e.model_dump() for e in events])
    assert events[-1].type == "response.incomplete"


def test_upstream_failure_mid_stream_raises_in_the_sdk(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """An upstream that breaks mid-stream ends the stream with an `error` event that the SDK
    raises as APIError carrying guardrail's code."""
    fake.script(Reply(text="Fine so far. " * 8, chunk_chars=4, fault="malformed", fault_after=3))
    stream = openai_client(proxy_url()).responses.create(model="gpt-test", input="hi", stream=True)
    with pytest.raises(openai.APIError) as caught, stream:
        for _ in stream:
            pass
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "upstream_bad_response"


def test_sdk_stream_helper_assembles_the_response(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """The SDK's `responses.stream` helper, which checks each event against the response it
    assembles, reads the stream and gets the final response with the PII restored."""
    fake.script(Reply(text="Sent to <EMAIL_1>. Done.", chunk_chars=3))
    with openai_client(proxy_url()).responses.stream(
        model="gpt-test", input=f"Mail {EMAIL}"
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == f"Sent to {EMAIL}. Done."
    assert final.output_text == f"Sent to {EMAIL}. Done."


def test_a_stage_mark_never_lowers_the_checks(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A user item marked `retrieved` is still checked as input: its PII is redacted and a
    phrase only the input rule bans still blocks."""
    item: Any = {"role": "user", "content": f"Mail {EMAIL}", "guardrail_stage": "retrieved"}
    openai_client(proxy_url()).responses.create(model="gpt-test", input=[item])
    assert EMAIL not in json.dumps(fake.last.body)
    assert "guardrail_stage" not in json.dumps(fake.last.body)
    part: Any = {"type": "input_text", "text": "the forbidden phrase", "guardrail_stage": "tool"}
    with pytest.raises(openai.BadRequestError):
        openai_client(proxy_url()).responses.create(
            model="gpt-test", input=[{"role": "user", "content": [part]}]
        )


def test_answer_refusal_becomes_a_refusal_part(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """The model's own refusal (chat `message.refusal`) is checked and comes back as a
    `refusal` content part, with its PII restored."""
    fake.script(Reply(text="", message={"content": None, "refusal": "I won't mail <EMAIL_1>."}))
    response = openai_client(proxy_url()).responses.create(model="gpt-test", input=f"Mail {EMAIL}")
    message = response.output[0]
    assert message.type == "message"
    assert [(p.type, getattr(p, "refusal", None)) for p in message.content] == [
        ("refusal", f"I won't mail {EMAIL}.")
    ]


# ------------------------------------------------------------------- (e) tool calls


def test_function_call_round_trip(proxy_url: ProxyFactory, fake: FakeUpstream, via: str) -> None:
    """function_call / function_call_output items become an assistant tool call and a tool
    message upstream; an upstream tool call comes back as a function_call output item."""
    fake.script(Reply(tool_calls=[CALL]))
    response = openai_client(proxy_url("rules", via)).responses.create(
        model="gpt-test",
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 21C"},
            {"role": "user", "content": "And tomorrow?"},
        ],
    )
    sent = fake.last.body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather by city",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert sent["messages"][1]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
        }
    ]
    assert sent["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "Sunny, 21C",
    }
    call = response.output[-1]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_7", "weather", '{"city": "Oslo"}')


def test_parallel_calls_share_one_assistant_turn(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """Consecutive function_call items (after the assistant's text) become one assistant turn
    with several tool calls, followed by one tool message per output, as chat requires."""
    call: Any = {"type": "function_call", "name": "weather", "arguments": "{}"}
    openai_client(proxy_url()).responses.create(
        model="gpt-test",
        input=[
            {"role": "user", "content": "Oslo and Rome?"},
            {"role": "assistant", "content": "Checking both."},
            {**call, "call_id": "a"},
            {**call, "call_id": "b"},
            {"type": "function_call_output", "call_id": "a", "output": "Sunny"},
            {"type": "function_call_output", "call_id": "b", "output": "Rain"},
        ],
    )
    messages = fake.last.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[1]["content"] == "Checking both."
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["a", "b"]


def test_request_settings_are_translated(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """Responses settings reach the upstream under their chat names; what only the provider's
    stored-response machinery reads (metadata, store, include, truncation) is not sent."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    openai_client(proxy_url()).responses.create(
        model="gpt-test",
        input="hi",
        max_output_tokens=40,
        temperature=0.3,
        top_p=0.9,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": "weather"},
        parallel_tool_calls=False,
        text={"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
        metadata={"ticket": "42"},
        store=True,
        include=["message.output_text.logprobs"],
        truncation="auto",
    )
    sent = fake.last.body
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"]) == (40, 0.3, 0.9)
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema, "strict": True},
    }
    assert not {"metadata", "store", "include", "truncation", "input"} & set(sent)


def test_streamed_function_call(proxy_url: ProxyFactory, fake: FakeUpstream) -> None:
    """A streamed tool call arrives as function_call item events with its arguments whole in
    `function_call_arguments.done` and in the completed response."""
    fake.script(Reply(tool_calls=[CALL]))
    events = _events(proxy_url(), input="Weather in Oslo?", tools=[WEATHER_TOOL])
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"city": "Oslo"}'
    added = next(e for e in events if e.type == "response.output_item.added")
    assert (added.item.type, added.item.name) == ("function_call", "weather")
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output[-1].arguments == '{"city": "Oslo"}'


# ---------------------------------------------------------- (f) refused, not passed


UNCHECKABLE: list[tuple[str, dict[str, Any]]] = [
    (
        "input_image",
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                    ],
                }
            ]
        },
    ),
    (
        "input_file",
        {
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_file", "file_id": "file-1"}],
                }
            ]
        },
    ),
    (
        "reasoning item",
        {
            "input": [
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
                {"role": "user", "content": "go on"},
            ]
        },
    ),
    ("web_search tool", {"input": "news?", "tools": [{"type": "web_search"}]}),
    (
        "file_search tool",
        {"input": "?", "tools": [{"type": "file_search", "vector_store_ids": []}]},
    ),
    ("previous_response_id", {"input": "go on", "previous_response_id": "resp_123"}),
    ("system part", {"input": [{"role": "system", "content": [{"type": "input_image"}]}]}),
]


@pytest.mark.parametrize(("what", "kwargs"), UNCHECKABLE, ids=[u[0] for u in UNCHECKABLE])
def test_uncheckable_input_is_refused(
    proxy_url: ProxyFactory, fake: FakeUpstream, what: str, kwargs: dict[str, Any]
) -> None:
    """What guardrail cannot check is refused with 400 `uncheckable_input`, never forwarded."""
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).responses.create(model="gpt-test", **kwargs)
    assert _error(caught)["code"] == "uncheckable_input"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"note": "kaboom, unscanned"}, "input[0].note"),
        ({"notes": [{"type": "kaboom, unscanned"}]}, "input[0].notes[0].type"),
    ],
)
def test_unlisted_string_in_an_item_is_refused(
    proxy_url: ProxyFactory, fake: FakeUpstream, extra: dict[str, Any], where: str
) -> None:
    """A string at a path the field table does not list is a 400, never sent on unscanned."""
    item: Any = {"role": "user", "content": "hi", **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(proxy_url()).responses.create(model="gpt-test", input=[item])
    error = _error(caught)
    assert error["code"] == "invalid_request"
    assert where in error["message"]
    assert fake.requests == []


# ------------------------------------------------------ system prompts and limits


def test_instructions_are_checked_with_scan_system(strict_proxy: str, fake: FakeUpstream) -> None:
    """With `--scan-system`, `instructions` and developer messages are input text: PII in
    them is redacted upstream and a banned phrase blocks."""
    openai_client(strict_proxy).responses.create(
        model="gpt-test",
        instructions=f"Escalate to {EMAIL}.",
        input=[
            {"role": "developer", "content": f"Copy {EMAIL}."},
            {"role": "user", "content": "hi"},
        ],
    )
    assert EMAIL not in json.dumps(fake.last.body)
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(strict_proxy).responses.create(
            model="gpt-test", instructions="Say the forbidden phrase.", input="hi"
        )
    assert (_error(caught)["rule"], _error(caught)["stage"]) == ("no-banned-input", "input")


def test_instructions_are_the_apps_own_without_scan_system(
    proxy_url: ProxyFactory, fake: FakeUpstream
) -> None:
    """Without `--scan-system`, instructions are the app's own text and go on unchanged."""
    openai_client(proxy_url()).responses.create(
        model="gpt-test", instructions=f"Escalate to {EMAIL}.", input="hi"
    )
    assert fake.last.body["messages"][0] == {"role": "system", "content": f"Escalate to {EMAIL}."}


def test_parts_are_counted_before_parsing(strict_proxy: str, fake: FakeUpstream) -> None:
    """The parts of the input items count against `max_parts`, and the items against
    `max_messages`: 413 before the body is parsed, nothing forwarded."""
    # the last part would be refused by the parser (400): the count comes first
    parts: list[Any] = [{"type": "input_text", "text": "a"} for _ in range(8)]
    parts.append({"type": "input_image", "image_url": "https://example.org/x.png"})
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client(strict_proxy).responses.create(
            model="gpt-test", input=[{"role": "user", "content": parts}]
        )
    assert (caught.value.status_code, _error(caught)["code"]) == (413, "too_many_parts")
    items = [{"role": "user", "content": "a"} for _ in range(5)]
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client(strict_proxy).responses.create(model="gpt-test", input=items)  # type: ignore[arg-type]
    assert (caught.value.status_code, _error(caught)["limit"]) == (413, "max_messages")
    assert fake.requests == []


# ---------------------------------------------------------------- the field table


def _type_literal(td: Any) -> str | None:
    """The `type` literal of an SDK TypedDict (None if it has none)."""
    hint = typing_extensions.get_type_hints(td, include_extras=True).get("type")
    while typing.get_origin(hint) in (typing_extensions.Required, typing_extensions.NotRequired):
        hint = typing.get_args(hint)[0]
    args = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()
    return str(args[0]) if args else None


def _accepted(td: Any, path: tuple[str | int, ...]) -> bool:
    """Whether the parser reads this item or part type (the others are refused, above)."""
    if len(path) == 2:  # an item of `input`
        return _type_literal(td) in ITEMS
    if path[-2] in ("content", "output"):  # a content part
        return _type_literal(td) in TEXT_PARTS
    return True


def _paths(tp: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Every path of a string in an SDK param type, in the item and part types accepted."""
    origin = typing.get_origin(tp)
    if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Annotated):
        yield from _paths(typing.get_args(tp)[0], path)
    elif tp is str:
        yield path
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _paths(arg, path)
    elif origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        yield from _paths(typing.get_args(tp)[0], (*path, 0))
    elif typing_extensions.is_typeddict(tp) and _accepted(tp, path):
        for key, value in typing_extensions.get_type_hints(tp, include_extras=True).items():
            yield from _paths(value, (*path, key))


def test_table_covers_every_text_field_of_the_sdk_input_items() -> None:
    """Each string field of the SDK's input item params, in the item and part types the
    proxy accepts, has its own row in the Responses request table."""
    exact = [
        f.tokens()
        for f in fields.TABLE
        if f.wire == fields.RESPONSES and f.side == "request" and not f.catch_all
    ]
    paths = list(_paths(ResponseInputItemParam, ("input", 0)))
    assert len(paths) > 8  # the walk found the SDK's fields
    missing = [
        fields.dotted(path) for path in paths if not any(fields.matches(r, path) for r in exact)
    ]
    assert missing == []


# ------------------------------------------------------------------ generated bodies


_part = st.fixed_dictionaries(
    {"type": sometimes(st.sampled_from(["input_text", "output_text", "refusal", "input_image"]))},
    optional={"text": sometimes(text), "refusal": sometimes(text), "guardrail_stage": json_values},
)
_item = st.fixed_dictionaries(
    {},
    optional={
        "type": sometimes(st.sampled_from(sorted(ITEMS | {"reasoning"}))),
        "role": sometimes(st.sampled_from(["user", "assistant", "system", "developer", "tool"])),
        "content": sometimes(st.one_of(text, st.lists(_part, max_size=3))),
        "call_id": sometimes(text),
        "name": sometimes(text),
        "arguments": sometimes(text),
        "output": sometimes(st.one_of(text, st.lists(_part, max_size=2))),
    },
)
_body = st.fixed_dictionaries(
    {"model": sometimes(st.just("gpt-test")), "input": sometimes(st.lists(_item, max_size=4))},
    optional={
        "instructions": sometimes(text),
        "tools": sometimes(st.lists(st.just(WEATHER_TOOL) | json_values, max_size=2)),
        "tool_choice": json_values,
        "text": json_values,
        "stream": st.booleans(),
    },
)


@settings(max_examples=SERVER_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_body)
def test_generated_bodies_never_5xx(strict_proxy: str, body: dict[str, Any]) -> None:
    """Almost-right Responses bodies get a 2xx (a stream ending in a final response event)
    or a 4xx with a code, never a 5xx."""
    response = httpx.post(strict_proxy + "/v1/responses", json=body, timeout=30)
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert isinstance(response.json()["error"]["code"], str)
    elif response.headers["content-type"].startswith("text/event-stream"):
        last = response.text.strip().rsplit("\n\n", 1)[-1]
        assert last.startswith(("event: response.completed", "event: response.incomplete"))
