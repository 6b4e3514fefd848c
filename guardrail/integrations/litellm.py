"""guardrail inside litellm: a plug-in for litellm's proxy and guarded litellm SDK calls.

litellm proxy -- register the policy under `guardrails:` in its `config.yaml`:

    guardrails:
      - guardrail_name: guardrail
        litellm_params:
          guardrail: guardrail.integrations.litellm.PolicyGuardrail
          mode: [pre_call, post_call]       # both: redacted values are restored on the way back
          default_on: true
          policy: /etc/guardrail/policy.yaml  # or the GUARDRAIL_POLICY environment variable

`pre_call` runs the input stages (a redaction rewrites the messages litellm sends on),
`post_call` the output stage and the restore -- on a whole answer, and on a stream through
the hold-back window (`async_post_call_streaming_iterator_hook`; chat streams only). A block
is litellm's `GuardrailRaisedException` (the proxy answers 400), or under `on_block: refusal`
litellm's passthrough exception (the proxy answers 200 with the refusal text). A stream that
turns violating ends with a `content_filter` chunk, as in guardrail's own proxy.

In-process, for `litellm.completion` / `acompletion` users:

    guarded = GuardedLitellm("policy.yaml")
    answer = await guarded.acompletion(model="openai/gpt-4o-mini", messages=[...])
    # or: await guarded_acompletion(policy="policy.yaml", model=..., messages=...)

A block raises `guardrail.ContentBlocked` (or returns a refusal under `on_block: refusal`),
as `guardrail.wrap()` does. Both paths run the proxy's own flow (`integrations/edge.py`).

This module imports litellm (seconds, ~190 MB): only litellm users import it.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import litellm
from litellm.exceptions import GuardrailRaisedException
from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks
from litellm.types.utils import (
    ModelResponse,
    ModelResponseStream,
    TextCompletionResponse,
)

from guardrail.errors import PolicyError, PolicyProblem, RequestError
from guardrail.integrations.edge import Call, Edge, PolicyLike, plain
from guardrail.integrations.loop import background_loop
from guardrail.upstream.formats import CHAT, TEXT, AnswerFormat
from guardrail.wire import Json

__all__ = ["GuardedLitellm", "PolicyGuardrail", "guarded_acompletion", "guarded_completion"]

POLICY_ENV = "GUARDRAIL_POLICY"
_CALL_FORMATS: dict[str, AnswerFormat] = {
    "completion": CHAT,
    "acompletion": CHAT,
    "text_completion": TEXT,
    "atext_completion": TEXT,
}
# litellm's answer types, each with its format (the first that matches counts)
_ANSWER_FORMATS: tuple[tuple[type[Any], AnswerFormat], ...] = (
    (TextCompletionResponse, TEXT),
    (ModelResponse, CHAT),
)
_MAX_OPEN_CALLS = 10_000  # requests between pre_call and post_call that we remember


class PolicyGuardrail(CustomGuardrail):
    """A litellm `CustomGuardrail` that enforces a guardrail policy file."""

    use_native_lifecycle_hooks: ClassVar[bool] = True

    def __init__(
        self, policy: PolicyLike | Edge | None = None, scan_system: bool = False, **kwargs: Any
    ) -> None:
        source = policy if policy is not None else os.environ.get(POLICY_ENV)
        if not source:
            # Not a ValueError: litellm's proxy skips a guardrail whose set-up raises
            # ValueError/TypeError and starts without it; a missing policy must stop it.
            problem = f"PolicyGuardrail needs `policy:` in litellm_params or ${POLICY_ENV}"
            raise PolicyError([PolicyProblem("litellm_params", None, None, "policy", problem)])
        kwargs.setdefault(
            "supported_event_hooks", [GuardrailEventHooks.pre_call, GuardrailEventHooks.post_call]
        )
        super().__init__(**kwargs)
        self.edge = Edge.of(source, scan_system=scan_system)
        # pre_call -> post_call state (the redaction vault), by litellm_call_id. Kept here, not
        # in the request's metadata: litellm logs metadata, and the vault holds the originals.
        self._calls: OrderedDict[str, Call] = OrderedDict()

    # ------------------------------------------------------------------- pre_call

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """Input stages; a redaction rewrites `data`, a block raises."""
        format = _CALL_FORMATS.get(str(call_type))
        if format is None or not self._runs(data, GuardrailEventHooks.pre_call):
            return data
        call = self._open(_body(data, format), format)
        await self.edge.check_input(call)
        if call.block is not None:
            self._raise_block(call, data, None)
        # with the canary guard's per-request system message (`inject`), if the policy has one
        checked = self.edge.flow.with_system_text(call.upstream_body(), call.state)
        data.update({key: checked[key] for key in format.text_keys if key in checked})
        self._remember(data, call)
        return data

    # ------------------------------------------------------------------ post_call

    async def async_post_call_success_hook(
        self, data: dict[str, Any], user_api_key_dict: Any, response: Any
    ) -> Any:
        """Output stage and restore on a whole answer (edited in place); a block raises."""
        format = next((f for t, f in _ANSWER_FORMATS if isinstance(response, t)), None)
        if format is None or not self._runs(data, GuardrailEventHooks.post_call):
            self._forget(data)
            return response
        call = self._forget(data) or self._fresh(data, format)
        if await self.edge.check_object(call, response, _dump) is None:
            self._raise_block(call, data, response)
        return response

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[ModelResponseStream, None]:
        """Output stage on a chat stream through the hold-back window, and the restore."""
        call = self._forget(request_data)
        if not self._runs(request_data, GuardrailEventHooks.post_call):
            call = None
        elif call is None:
            call = self._fresh(request_data, CHAT)
        # litellm's stream chunks are chat chunks (`ModelResponseStream`): text streams pass
        guarded = None if call is None or call.format is not CHAT else self._guard(call, response)
        if guarded is None:
            async for chunk in response:
                yield chunk
            return
        async for chunk in guarded:
            yield chunk

    async def async_post_call_failure_hook(
        self,
        request_data: dict[str, Any],
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> None:
        """The call failed: forget its state."""
        self._forget(request_data)

    # ------------------------------------------------------------------- helpers

    def _runs(self, data: Mapping[str, Any], hook: GuardrailEventHooks) -> bool:
        return self.should_run_guardrail(data=data, event_type=hook) is True

    def _open(self, body: Json, format: AnswerFormat) -> Call:
        try:
            return self.edge.open(body, format)
        except RequestError as exc:  # fail closed, as the proxy does (400)
            raise self._error(str(exc)) from exc

    def _fresh(self, data: Mapping[str, Any], format: AnswerFormat) -> Call:
        """State for a post_call without a pre_call (mode: post_call only)."""
        return self.edge.open(format.blank(str(data.get("model") or "")), format)

    def _remember(self, data: dict[str, Any], call: Call) -> None:
        key = data.setdefault("litellm_call_id", call.state.request_id)
        self._calls[str(key)] = call
        while len(self._calls) > _MAX_OPEN_CALLS:
            self._calls.popitem(last=False)

    def _forget(self, data: Mapping[str, Any]) -> Call | None:
        return self._calls.pop(str(data.get("litellm_call_id")), None)

    def _guard(self, call: Call, response: Any) -> AsyncIterator[Any]:
        source = _Chunks(response)
        return source.objects(self.edge.guard_stream(call, source.dicts()))

    def _error(self, message: str) -> GuardrailRaisedException:
        return GuardrailRaisedException(
            guardrail_name=self.guardrail_name,
            message=message,
            should_wrap_with_default_message=False,
            status_code=400,
            blocked_content=True,
        )

    def _raise_block(self, call: Call, data: dict[str, Any], response: Any) -> None:
        block = call.block
        assert block is not None
        if self.edge.refusal is None:
            raise self._error(str(self.edge.blocked_error(call)))
        info = {"rule": block.rule, "stage": block.stage.value, "code": block.code}
        self.raise_passthrough_exception(
            violation_message=self.edge.refusal,
            request_data=data,
            detection_info=info,
            original_response=response,
        )


class _Chunks:
    """litellm stream chunks as dicts for the guard, and the guard's dicts back as chunks."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._last: Any = None

    async def dicts(self) -> AsyncIterator[Json]:
        try:
            async for chunk in self._response:
                self._last = chunk
                yield chunk.model_dump() if hasattr(chunk, "model_dump") else dict(chunk)
        finally:
            close = getattr(self._response, "aclose", None)
            if close is not None:
                await close()

    async def objects(self, guarded: AsyncIterator[Json]) -> AsyncIterator[ModelResponseStream]:
        async for data in guarded:
            chunk = ModelResponseStream(**data)
            hidden = getattr(self._last, "_hidden_params", None)
            if isinstance(hidden, dict):  # the proxy reads response headers from these
                chunk._hidden_params = dict(hidden)
            yield chunk


def _dump(response: Any) -> Json:
    data: Json = response.model_dump()
    return data


def _body(data: Mapping[str, Any], format: AnswerFormat) -> Json:
    """The OpenAI-shaped part of a litellm request that the policy checks."""
    keys = ("model", "stream", *format.text_keys)
    body = {key: plain(data[key]) for key in keys if key in data}
    # read-only, for json_schema `from_request` (a pydantic class as response_format is not
    # a schema we can read: skipped); never written back into litellm's request
    if isinstance(data.get("response_format"), Mapping):
        body["response_format"] = plain(data["response_format"])
    return body


# ------------------------------------------------------------------- in-process SDK


class GuardedLitellm:
    """`litellm.completion` / `acompletion` with a policy around them, as in the proxy."""

    def __init__(self, policy: PolicyLike | Edge, *, scan_system: bool = False) -> None:
        self.edge = Edge.of(policy, scan_system=scan_system)

    async def acompletion(self, **kwargs: Any) -> Any:
        """`litellm.acompletion(**kwargs)`, guarded.

        Returns litellm's `ModelResponse`; with `stream=True` an async iterator of
        `ModelResponseStream` chunks. A block raises `ContentBlocked` (or, under
        `on_block: refusal`, the refusal comes back as a normal answer).
        """
        call = self.edge.open(_body(kwargs, CHAT), CHAT)

        async def send(checked: Json) -> Any:
            return await litellm.acompletion(**{**kwargs, "messages": checked["messages"]})

        answer = await self.edge.run(call, send, _aclose)
        if answer is None or call.block is not None:
            return self._blocked(call)
        if call.stream:
            source = _Chunks(answer)
            return source.objects(self.edge.guard_stream(call, source.dicts()))
        checked = await self.edge.check_object(call, answer, _dump)
        return self._blocked(call) if checked is None else checked

    def completion(self, **kwargs: Any) -> Any:
        """`litellm.completion(**kwargs)`, guarded (runs `acompletion` on a private loop).

        With `stream=True` returns an iterator of `ModelResponseStream` chunks.
        """
        loop = background_loop()
        answer = loop.run(self.acompletion(**kwargs))
        if kwargs.get("stream") is True:
            return loop.iterate(answer)
        return answer

    def _blocked(self, call: Call) -> Any:
        if self.edge.refusal is None:
            raise self.edge.blocked_error(call)
        if call.stream:
            return _refusal_stream(self.edge.refusal_chunks(call))
        return ModelResponse(**self.edge.refusal_answer(call))


async def _refusal_stream(chunks: list[Json]) -> AsyncIterator[ModelResponseStream]:
    for chunk in chunks:
        yield ModelResponseStream(**chunk)


async def _aclose(answer: Any) -> None:
    close = getattr(answer, "aclose", None)
    if close is not None:
        await close()


@lru_cache(maxsize=16)
def _guarded(policy: str) -> GuardedLitellm:
    return GuardedLitellm(policy)


def _for(policy: PolicyLike | Edge) -> GuardedLitellm:
    if isinstance(policy, str | os.PathLike):
        return _guarded(str(Path(policy).resolve()))  # loaded once per process
    return GuardedLitellm(policy)


async def guarded_acompletion(*, policy: PolicyLike | Edge, **kwargs: Any) -> Any:
    """`litellm.acompletion(**kwargs)` under `policy` (a path is loaded once per process)."""
    return await _for(policy).acompletion(**kwargs)


def guarded_completion(*, policy: PolicyLike | Edge, **kwargs: Any) -> Iterator[Any] | Any:
    """`litellm.completion(**kwargs)` under `policy` (a path is loaded once per process)."""
    return _for(policy).completion(**kwargs)
