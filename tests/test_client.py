"""`guardrail.wrap()`: the real OpenAI SDK, guarded in-process, against a real fake upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion

from guardrail.client import AsyncGuardedStream, GuardedStream, wrap
from guardrail.errors import ContentBlocked, LimitExceeded
from guardrail.pipeline import Pipeline
from guardrail.server.app import create_app
from guardrail.server.limits import Limits
from guardrail.testing import FakeUpstream, Reply, serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.integrations.support import EMAIL, POLICIES, base_url, fake, fake_server

__all__ = ["base_url", "fake", "fake_server"]  # fixtures used here

RULES = POLICIES / "rules.yaml"
REFUSAL = POLICIES / "refusal.yaml"
REFUSAL_TEXT = "Sorry, that is against the policy."


@pytest.fixture(scope="module")
def rules() -> Pipeline:
    """The rules policy, loaded once."""
    return Pipeline.from_file(RULES)


@pytest.fixture
def sync_client(base_url: str) -> Iterator[Callable[..., openai.OpenAI]]:
    """`sync_client(policy)`: a wrapped sync client (no retries); all closed after the test."""
    made: list[openai.OpenAI] = []

    def make(policy: Any = RULES) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=base_url, api_key="test", max_retries=0))
        return wrap(made[-1], policy=policy)

    yield make
    for raw in made:
        raw.close()


@pytest.fixture
async def async_client(base_url: str) -> AsyncIterator[Callable[..., openai.AsyncOpenAI]]:
    """`async_client(policy)`: a wrapped async client; all closed after the test."""
    made: list[openai.AsyncOpenAI] = []

    def make(policy: Any = RULES) -> openai.AsyncOpenAI:
        made.append(openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0))
        return wrap(made[-1], policy=policy)

    yield make
    for raw in made:
        await raw.close()


@pytest.fixture
def client(sync_client: Callable[..., openai.OpenAI], rules: Pipeline) -> openai.OpenAI:
    """A wrapped sync client under the rules policy."""
    return sync_client(rules)


@pytest.fixture
def aclient(async_client: Callable[..., openai.AsyncOpenAI], rules: Pipeline) -> openai.AsyncOpenAI:
    """A wrapped async client under the rules policy."""
    return async_client(rules)


def user(text: str) -> list[dict[str, Any]]:
    """A one-message chat."""
    return [{"role": "user", "content": text}]


def stream_text(chunks: list[Any]) -> str:
    """The content of a chat stream."""
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def last_finish(chunks: list[Any]) -> str | None:
    """The finish_reason of the stream's last choice chunk."""
    return [c.choices[0].finish_reason for c in chunks if c.choices][-1]


async def collect(stream: Any) -> list[Any]:
    """Every chunk of an async stream."""
    return [chunk async for chunk in stream]


# ------------------------------------------------------------------------- whole answers


def test_benign_call_passes_unchanged(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A benign request reaches the upstream as sent; the SDK's own answer comes back."""
    answer = client.chat.completions.create(
        model="gpt-test", messages=user("What is the capital of France?"), temperature=0.2
    )
    assert isinstance(client, openai.OpenAI)
    assert isinstance(answer, ChatCompletion)
    assert answer.choices[0].message.content == "echo: What is the capital of France?"
    assert fake.last.body["messages"] == user("What is the capital of France?")
    assert fake.last.body["temperature"] == 0.2


async def test_async_benign_call_passes(aclient: openai.AsyncOpenAI, fake: FakeUpstream) -> None:
    """The async client answers a benign request unchanged."""
    answer = await aclient.chat.completions.create(model="gpt-test", messages=user("Hello there"))
    assert isinstance(aclient, openai.AsyncOpenAI)
    assert answer.choices[0].message.content == "echo: Hello there"


def test_blocked_input_raises_with_rule(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A blocked prompt raises ContentBlocked naming the rule; the upstream never sees it."""
    with pytest.raises(ContentBlocked) as caught:
        client.chat.completions.create(model="gpt-test", messages=user("the forbidden phrase"))
    error = caught.value
    assert (error.rule, error.stage, error.block_code) == (
        "no-banned-input",
        "input",
        "content_blocked",
    )
    assert error.code == "content_blocked"
    assert "no-banned-input" in str(error)
    assert fake.requests == []


async def test_async_blocked_input_raises(aclient: openai.AsyncOpenAI, fake: FakeUpstream) -> None:
    """The async client raises ContentBlocked for a blocked prompt, before any upstream call."""
    with pytest.raises(ContentBlocked) as caught:
        await aclient.chat.completions.create(model="gpt-test", messages=user("kaboom"))
    assert caught.value.rule == "no-banned-input"
    assert fake.requests == []


def test_pii_redacted_upstream_and_restored(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """The upstream receives a placeholder instead of the e-mail; the answer has it back."""
    answer = client.chat.completions.create(
        model="gpt-test", messages=user(f"Write to {EMAIL} today")
    )
    sent = json.dumps(fake.last.body)
    assert EMAIL not in sent
    assert "Write to <EMAIL_1> today" in sent
    assert answer.choices[0].message.content == f"echo: Write to {EMAIL} today"


async def test_async_pii_redacted_and_restored(
    aclient: openai.AsyncOpenAI, fake: FakeUpstream
) -> None:
    """The async client redacts on the way up and restores on the way back."""
    answer = await aclient.chat.completions.create(model="gpt-test", messages=user(f"To {EMAIL}"))
    assert EMAIL not in json.dumps(fake.last.body)
    assert answer.choices[0].message.content == f"echo: To {EMAIL}"


def test_history_objects_are_redacted_again(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """An earlier answer passed back as the SDK's message object is checked and redacted too."""
    first = client.chat.completions.create(model="gpt-test", messages=user(f"Mail {EMAIL}"))
    history: list[Any] = [*user(f"Mail {EMAIL}"), first.choices[0].message, *user("Thanks")]
    client.chat.completions.create(model="gpt-test", messages=history)
    assert EMAIL not in json.dumps(fake.last.body)
    assert fake.last.body["messages"][1]["content"] == "echo: Mail <EMAIL_1>"


def test_legacy_completion_redacts_and_restores(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """`completions.create` (legacy text) runs the same flow: redact up, restore down."""
    answer = client.completions.create(model="gpt-test", prompt=f"Write to {EMAIL}")
    assert isinstance(answer, Completion)
    assert fake.last.body["prompt"] == "Write to <EMAIL_1>"
    assert answer.choices[0].text == f"echo: Write to {EMAIL}"


def test_blocked_output_raises_with_rule_code(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A banned phrase in a whole answer raises ContentBlocked with the rule's own code."""
    fake.script(Reply(text="Here is the secret sauce recipe."))
    with pytest.raises(ContentBlocked) as caught:
        client.chat.completions.create(model="gpt-test", messages=user("recipe?"))
    error = caught.value
    assert (error.rule, error.stage, error.block_code) == (
        "no-banned-output",
        "output",
        "banned_output",
    )
    assert error.message == "The answer contained banned content."


def test_tool_call_arguments_are_checked(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Tool-call arguments in an answer are output text: a banned one blocks the answer."""
    call = {"id": "call_1", "type": "function", "function": {"name": "run", "arguments": ""}}
    call["function"]["arguments"] = json.dumps({"command": "detonate now"})
    fake.script(Reply(tool_calls=[call]))
    with pytest.raises(ContentBlocked) as caught:
        client.chat.completions.create(model="gpt-test", messages=user("go"))
    assert caught.value.rule == "no-banned-output"


def test_parallel_input_block_never_releases_answer(
    sync_client: Callable[..., openai.OpenAI], fake: FakeUpstream
) -> None:
    """Under parallel_input a block still raises, even though the upstream call had started."""
    parallel = sync_client(POLICIES / "parallel.yaml")
    with pytest.raises(ContentBlocked):
        parallel.chat.completions.create(model="gpt-test", messages=user("forbidden phrase"))
    answer = parallel.chat.completions.create(model="gpt-test", messages=user("fine"))
    assert answer.choices[0].message.content == "echo: fine"


async def test_async_parallel_input_block(
    async_client: Callable[..., openai.AsyncOpenAI], fake: FakeUpstream
) -> None:
    """The async client under parallel_input raises on a block and answers benign calls."""
    parallel = async_client(POLICIES / "parallel.yaml")
    with pytest.raises(ContentBlocked):
        await parallel.chat.completions.create(model="m", messages=user("forbidden phrase"))
    answer = await parallel.chat.completions.create(model="m", messages=user("fine"))
    assert answer.choices[0].message.content == "echo: fine"


# ------------------------------------------------------------------------------ streams


def test_stream_benign_passes_whole(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A benign stream arrives complete and in order as the SDK's chunks, ending with stop."""
    reply = "The capital of France is Paris. " * 6
    fake.script(Reply(text=reply, chunk_chars=5))
    stream = client.chat.completions.create(model="gpt-test", stream=True, messages=user("?"))
    assert isinstance(stream, GuardedStream)
    chunks = list(stream)
    assert stream_text(chunks) == reply
    assert last_finish(chunks) == "stop"


def test_stream_restores_pii_across_chunks(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A placeholder split over 3-character chunks is restored whole for the caller."""
    reply = f"Sure, I will write to <EMAIL_1> now. {'More words. ' * 8}"
    fake.script(Reply(text=reply, chunk_chars=3))
    stream = client.chat.completions.create(
        model="gpt-test", stream=True, messages=user(f"Please write to {EMAIL}")
    )
    chunks = list(stream)
    assert stream_text(chunks) == reply.replace("<EMAIL_1>", EMAIL)
    assert EMAIL not in json.dumps(fake.last.body)
    assert last_finish(chunks) == "stop"


@pytest.mark.parametrize("chunk_chars", [1, 3, 7])
def test_stream_violation_is_cut(
    client: openai.OpenAI, fake: FakeUpstream, chunk_chars: int
) -> None:
    """A violating span never reaches the caller: the stream ends with content_filter."""
    reply = "Here is a harmless start of the answer. Then: secret sauce, and more after it."
    fake.script(Reply(text=reply, chunk_chars=chunk_chars))
    stream = client.chat.completions.create(model="gpt-test", stream=True, messages=user("?"))
    chunks = list(stream)
    text = stream_text(chunks)
    assert "sauce" not in text
    assert reply.startswith(text)
    assert last_finish(chunks) == "content_filter"


async def test_async_stream_violation_is_cut(
    aclient: openai.AsyncOpenAI, fake: FakeUpstream
) -> None:
    """The async stream is cut the same way, and restores PII before the cut."""
    # more clean text than the hold-back's look-ahead (at least 96 characters) and a check
    # step: a sentence is released (and restored) before the violation arrives
    reply = "Mail <EMAIL_1> soon. " * 8 + "Now detonate now please, and then more text."
    fake.script(Reply(text=reply, chunk_chars=4))
    stream = await aclient.chat.completions.create(
        model="gpt-test", stream=True, messages=user(f"mail {EMAIL}")
    )
    assert isinstance(stream, AsyncGuardedStream)
    chunks = await collect(stream)
    text = stream_text(chunks)
    assert "detonate" not in text
    assert text.startswith(f"Mail {EMAIL} soon.")
    assert last_finish(chunks) == "content_filter"


def test_stream_without_output_rules_passes_whole(
    sync_client: Callable[..., openai.OpenAI], fake: FakeUpstream
) -> None:
    """With no output rule and nothing to restore, a stream still passes whole and in order."""
    parallel = sync_client(POLICIES / "parallel.yaml")  # input rules only
    fake.script(Reply(text="an answer in many small pieces", chunk_chars=2))
    chunks = list(parallel.chat.completions.create(model="m", stream=True, messages=user("hi")))
    assert stream_text(chunks) == "an answer in many small pieces"
    assert last_finish(chunks) == "stop"


def test_request_limits_as_in_the_proxy(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """An oversized request is refused with LimitExceeded before any guard or upstream call."""
    too_many = [{"role": "user", "content": "hi"}] * (Limits.from_settings().max_messages + 1)
    with pytest.raises(LimitExceeded):
        client.chat.completions.create(model="m", messages=too_many)
    assert fake.requests == []


def test_stream_closed_early_stops(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Closing a guarded stream early ends it; the client keeps working afterwards."""
    fake.script(Reply(text="word " * 400, chunk_chars=5))
    with client.chat.completions.create(model="m", stream=True, messages=user("?")) as stream:
        first = next(stream)
        assert first.choices
    with pytest.raises(StopIteration):
        next(stream)
    answer = client.chat.completions.create(model="m", messages=user("again"))
    assert answer.choices[0].message.content == "echo: again"


def test_legacy_completion_stream_is_cut(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """A legacy text stream is guarded with the same hold-back and cut on a violation."""
    fake.script(Reply(text="A calm beginning of a long answer. kaboom. The end.", chunk_chars=4))
    chunks = list(client.completions.create(model="m", prompt="go", stream=True))
    text = "".join(c.choices[0].text for c in chunks)
    assert "kaboom" not in text
    assert chunks[-1].choices[0].finish_reason == "content_filter"


# ----------------------------------------------------------------------------- refusal


@pytest.fixture
def refusing(sync_client: Callable[..., openai.OpenAI]) -> openai.OpenAI:
    """A wrapped client under `on_block: refusal`."""
    return sync_client(REFUSAL)


def test_refusal_mode_returns_completion(refusing: openai.OpenAI, fake: FakeUpstream) -> None:
    """Under on_block: refusal a blocked prompt returns a normal ChatCompletion, no upstream."""
    answer = refusing.chat.completions.create(model="gpt-test", messages=user("kaboom"))
    assert isinstance(answer, ChatCompletion)
    assert answer.choices[0].message.content == REFUSAL_TEXT
    assert answer.choices[0].finish_reason == "content_filter"
    assert answer.model == "gpt-test"
    assert fake.requests == []


def test_refusal_mode_blocked_output(refusing: openai.OpenAI, fake: FakeUpstream) -> None:
    """A blocked whole answer becomes the refusal text under on_block: refusal."""
    fake.script(Reply(text="the secret sauce is ..."))
    answer = refusing.chat.completions.create(model="gpt-test", messages=user("recipe"))
    assert answer.choices[0].message.content == REFUSAL_TEXT
    assert answer.choices[0].finish_reason == "content_filter"


def test_refusal_mode_stream(refusing: openai.OpenAI, fake: FakeUpstream) -> None:
    """A blocked streamed prompt becomes a refusal stream; a violating stream ends with it."""
    chunks = list(refusing.chat.completions.create(model="m", stream=True, messages=user("kaboom")))
    assert stream_text(chunks) == REFUSAL_TEXT
    assert last_finish(chunks) == "content_filter"
    fake.script(Reply(text="Fine words first, then detonate now and more.", chunk_chars=2))
    chunks = list(refusing.chat.completions.create(model="m", stream=True, messages=user("?")))
    assert stream_text(chunks).endswith(REFUSAL_TEXT)
    assert "detonate" not in stream_text(chunks)
    assert last_finish(chunks) == "content_filter"


async def test_async_refusal_mode(
    async_client: Callable[..., openai.AsyncOpenAI], fake: FakeUpstream
) -> None:
    """The async client returns refusals under on_block: refusal, streamed or not."""
    refusing = async_client(REFUSAL)
    answer = await refusing.chat.completions.create(model="m", messages=user("kaboom"))
    assert answer.choices[0].message.content == REFUSAL_TEXT
    stream = await refusing.chat.completions.create(model="m", stream=True, messages=user("kaboom"))
    chunks = await collect(stream)
    assert stream_text(chunks) == REFUSAL_TEXT
    assert fake.requests == []


# ------------------------------------------------------------------------ the client API


def test_other_attributes_pass_through(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Unguarded endpoints work as on the SDK client; with_options returns a guarded client."""
    assert [m.id for m in client.models.list().data] == ["fake-model"]
    assert client.chat.completions.with_raw_response is not None
    faster = client.with_options(timeout=5.0)
    assert isinstance(faster, openai.OpenAI)
    assert faster.timeout == 5.0
    with pytest.raises(ContentBlocked):
        faster.chat.completions.create(model="m", messages=user("kaboom"))
    with pytest.raises(ContentBlocked):
        client.copy(max_retries=1).completions.create(model="m", prompt="kaboom")


def test_unguarded_lookalikes_refuse(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Calls that would look guarded but are not (raw responses, parse, stream) refuse."""
    with pytest.raises(NotImplementedError):
        client.with_raw_response.chat.completions.create(model="m", messages=user("hi"))
    streaming = client.chat.completions.with_streaming_response
    with pytest.raises(NotImplementedError), streaming.create(model="m", messages=user("hi")):
        pass
    with pytest.raises(NotImplementedError):
        client.chat.with_raw_response.completions.create(model="m", messages=user("hi"))
    with pytest.raises(NotImplementedError):
        client.completions.with_raw_response.create(model="m", prompt="hi")
    with pytest.raises(NotImplementedError):
        client.chat.completions.parse(model="m", messages=user("hi"))
    assert fake.requests == []


def test_wrap_rejects_other_objects() -> None:
    """wrap() takes only OpenAI SDK clients."""
    with pytest.raises(TypeError):
        wrap(object(), policy=RULES)  # type: ignore[type-var]


async def test_sync_client_inside_running_loop(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """The sync client works when called from inside a running event loop."""
    answer = client.chat.completions.create(model="m", messages=user(f"to {EMAIL}"))
    assert answer.choices[0].message.content == f"echo: to {EMAIL}"
    chunks = list(client.chat.completions.create(model="m", stream=True, messages=user("hey")))
    assert stream_text(chunks) == "echo: hey"


def test_sync_client_from_threads(client: openai.OpenAI, fake: FakeUpstream) -> None:
    """Concurrent sync calls from several threads each get their own restored answer."""

    def one(i: int) -> str:
        stream = client.chat.completions.create(
            model="m", stream=True, messages=user(f"{i}: mail user{i}@example.com")
        )
        return stream_text(list(stream))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(6)))
    assert results == [f"echo: {i}: mail user{i}@example.com" for i in range(6)]
    assert all("@example.com" not in json.dumps(r.body) for r in fake.requests)


def test_default_policy_keeps_pii_from_upstream(
    sync_client: Callable[..., openai.OpenAI], fake: FakeUpstream
) -> None:
    """Under policies/default.yaml an e-mail never reaches the upstream and comes back restored."""
    guarded = sync_client("policies/default.yaml")
    prompt = f"What is the capital of France? My email is {EMAIL}"
    blocked: ContentBlocked | None = None
    try:
        answer = guarded.chat.completions.create(model="m", messages=user(prompt))
    except ContentBlocked as exc:  # the classifiers may judge it; rule guards never block it
        blocked = exc
    if blocked is not None:
        assert blocked.rule in {"block-injection", "block-harmful-input"}
        assert fake.requests == []
    else:
        assert EMAIL not in json.dumps(fake.last.body)
        assert "<EMAIL_1>" in json.dumps(fake.last.body)
        assert answer.choices[0].message.content == f"echo: {prompt}"


# ------------------------------------------------------------- same decisions as the proxy


@pytest.fixture(scope="module")
def proxy_base(fake_server: tuple[FakeUpstream, Any], rules: Pipeline) -> Iterator[str]:
    """The real proxy with the same policy, in front of the same fake upstream."""
    app = create_app(rules, OpenAIHttpUpstream(fake_server[1].url + "/v1"))
    with serve_app(app) as proxy:
        yield proxy.url + "/v1"


CASES = [
    ("What is 2 + 2?", None),
    (f"Mail {EMAIL} please", None),
    ("say kaboom", None),
    ("recipe?", "Here is the secret sauce."),
    ("card?", "Your card is 4111111111111111."),
    ("docs?", "Nothing banned in here at all."),
]


@pytest.mark.parametrize(("prompt", "reply"), CASES)
def test_wrapper_decides_like_the_proxy(
    client: openai.OpenAI, proxy_base: str, fake: FakeUpstream, prompt: str, reply: str | None
) -> None:
    """For each case the wrapper and the proxy agree: same rule blocks, or same answer."""
    with openai.OpenAI(base_url=proxy_base, api_key="test", max_retries=0) as direct:
        outcomes = [outcome(create, fake, prompt, reply) for create in (client, direct)]
    assert outcomes[0] == outcomes[1]


def outcome(client: openai.OpenAI, fake: FakeUpstream, prompt: str, reply: str | None) -> Any:
    """What one call came to: the answer and what the upstream saw, or the blocking rule."""
    fake.reset()
    if reply is not None:
        fake.script(Reply(text=reply))
    try:
        answer = client.chat.completions.create(model="m", messages=user(prompt))
    except ContentBlocked as exc:
        return ("block", exc.rule)
    except openai.BadRequestError as exc:  # the proxy's form of the same block
        body = exc.body if isinstance(exc.body, dict) else {}
        return ("block", body.get("rule"))
    return ("answer", answer.choices[0].message.content, fake.last.body)
