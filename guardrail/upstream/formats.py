"""The two OpenAI answer formats every upstream speaks inside guardrail, as registered objects.

`CHAT` (`/v1/chat/completions`) and `TEXT` (legacy `/v1/completions`) say, each for itself,
what the flow, the stream guards, the upstreams and the in-process edges used to branch on
(`if kind == "text"`): how a request of the format is read into a `Conversation`, where the
answer's texts are, how a refusal looks (whole or as chunks), how a stream choice carries its
text (a `delta` or a plain `text`), and the path the upstream serves it on. The client-facing
shapes (chat, Anthropic messages, the Responses API, ...) each name the format they are
answered in (`guardrail/server/wires.py`); adding a shape never touches this module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from guardrail.conversation import (
    Conversation,
    WirePath,
    clean_chat_response,
    clean_completion_response,
    last_user_text,
    parse_openai_chat,
    parse_openai_chat_response,
    parse_openai_completion,
    parse_openai_completion_response,
)
from guardrail.upstream import shapes
from guardrail.wire import Json


class AnswerFormat(ABC):
    """What guardrail needs to know about one OpenAI answer format (see the module doc)."""

    name: str  # "chat" | "text": logs and tests
    path: str  # the upstream's endpoint, under its base URL
    text_keys: tuple[str, ...]  # the request keys holding the texts the policy checks
    deltas: bool  # stream choices carry `delta` objects with side fields (chat), not `text`
    choice_key: str  # where a whole answer's choice holds its text: "message" / "text"
    choice_type: type  # what that key must hold (or null)
    choice_problem: str  # the upstream error when it does not
    id_prefix: str  # of answer ids: `chatcmpl-...` / `cmpl-...`

    @abstractmethod
    def parse_request(self, body: Json, *, scan_system: bool) -> Conversation:
        """A request's segments (on a copy of `body`)."""
        ...

    @abstractmethod
    def parse_answer(self, answer: Json) -> Conversation:
        """The `output` segments of a whole answer (pointing into `answer` itself)."""
        ...

    @abstractmethod
    def clean_answer(self, answer: Json) -> list[WirePath]:
        """Drop what the output check would not see (in place); the paths dropped."""
        ...

    @abstractmethod
    def prompt(self, body: Json) -> str:
        """The text a scripted or echoing upstream answers to."""
        ...

    @abstractmethod
    def answer(
        self,
        text: str,
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        prompt_tokens: int = 0,
    ) -> Json:
        """A whole answer with one choice saying `text` (id: `{id_prefix}-guardrail`)."""
        ...

    @abstractmethod
    def chunks(
        self,
        pieces: Iterable[str],
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        include_usage: bool = False,
    ) -> Iterator[Json]:
        """A whole stream saying `pieces` (and its usage, where the format streams one)."""
        ...

    @abstractmethod
    def read_delta(self, choice: Json) -> Json:
        """A stream choice's delta in chat terms (`content`, `tool_calls`, side fields)."""
        ...

    @abstractmethod
    def make_choice(self, index: int, delta: Json, finish: str | None) -> Json:
        """A stream choice of this format from a delta in chat terms."""
        ...

    @abstractmethod
    def blank(self, model: str) -> Json:
        """A request without text (an output-only check has no request to parse)."""
        ...

    def _id(self, id: str | None) -> str:
        return id or f"{self.id_prefix}-guardrail"


class ChatFormat(AnswerFormat):
    """`chat.completion` answers and `chat.completion.chunk` streams."""

    name = "chat"
    path = "chat/completions"
    text_keys = ("messages",)
    deltas = True
    choice_key = "message"
    choice_type = dict
    choice_problem = "a message that is not an object"
    id_prefix = "chatcmpl"

    def parse_request(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_openai_chat(body, scan_system=scan_system)

    def parse_answer(self, answer: Json) -> Conversation:
        return parse_openai_chat_response(answer)

    def clean_answer(self, answer: Json) -> list[WirePath]:
        return clean_chat_response(answer)

    def prompt(self, body: Json) -> str:
        return last_user_text(body)

    def answer(
        self,
        text: str,
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        prompt_tokens: int = 0,
    ) -> Json:
        return shapes.chat_response(
            text,
            model=model,
            id=self._id(id),
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
        )

    def chunks(
        self,
        pieces: Iterable[str],
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        include_usage: bool = False,
    ) -> Iterator[Json]:
        return shapes.chat_chunks(
            pieces,
            model=model,
            id=self._id(id),
            finish_reason=finish_reason,
            include_usage=include_usage,
        )

    def blank(self, model: str) -> Json:
        return {"model": model, "messages": []}

    def read_delta(self, choice: Json) -> Json:
        return dict(choice.get("delta") or {})

    def make_choice(self, index: int, delta: Json, finish: str | None) -> Json:
        return {"index": index, "logprobs": None, "finish_reason": finish, "delta": delta}


class TextFormat(AnswerFormat):
    """Legacy `text_completion` answers and streams: one `text` per choice, no side fields."""

    name = "text"
    path = "completions"
    text_keys = ("prompt", "suffix")
    deltas = False
    choice_key = "text"
    choice_type = str
    choice_problem = "a choice whose text is not a string"
    id_prefix = "cmpl"

    def parse_request(self, body: Json, *, scan_system: bool) -> Conversation:
        return parse_openai_completion(body)  # no system prompt in a legacy request

    def parse_answer(self, answer: Json) -> Conversation:
        return parse_openai_completion_response(answer)

    def clean_answer(self, answer: Json) -> list[WirePath]:
        return clean_completion_response(answer)

    def prompt(self, body: Json) -> str:
        prompt = body.get("prompt")
        return prompt if isinstance(prompt, str) else " ".join(map(str, prompt or []))

    def answer(
        self,
        text: str,
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        prompt_tokens: int = 0,
    ) -> Json:
        return shapes.text_response(
            text,
            model=model,
            id=self._id(id),
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
        )

    def chunks(
        self,
        pieces: Iterable[str],
        *,
        model: str,
        id: str | None = None,
        finish_reason: str = "stop",
        include_usage: bool = False,  # legacy streams here carry no usage chunk
    ) -> Iterator[Json]:
        return shapes.text_chunks(pieces, model=model, id=self._id(id), finish_reason=finish_reason)

    def blank(self, model: str) -> Json:
        return {"model": model, "prompt": ""}

    def read_delta(self, choice: Json) -> Json:
        text = choice.get("text")
        return {"content": text} if text is not None else {}

    def make_choice(self, index: int, delta: Json, finish: str | None) -> Json:
        text = delta.get("content", "")
        return {"index": index, "logprobs": None, "finish_reason": finish, "text": text}


CHAT: AnswerFormat = ChatFormat()
TEXT: AnswerFormat = TextFormat()
FORMATS: dict[str, AnswerFormat] = {f.name: f for f in (CHAT, TEXT)}
"""Every answer format, by name."""
