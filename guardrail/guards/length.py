"""`length` guard: texts over a character and/or token budget (label `too_long`, no spans).

Tokens are estimated, not counted with a model's tokenizer: every CJK/kana/hangul character
is one token, every other run of letters/digits counts one token per 4 characters (rounded up),
and every other visible character (punctuation, symbols) is one token. Subword tokenizers
(BPE, WordPiece) average about 4 characters of English per token, so the estimate is close
for prose and errs high for code and odd strings, which suits a limit. Whitespace is free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from pydantic import ConfigDict, Field, model_validator

from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

LABEL = "too_long"

# A fixed pattern with no nested quantifiers: linear time with the stdlib engine.
_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"  # one per character
    r"|[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]{1,4}"  # 4 chars
    r"|[^\w\s]"  # punctuation and symbols
)


def estimate_tokens(text: str) -> int:
    """Estimated token count (see the module docstring); never more than `len(text)`."""
    return sum(1 for _ in _TOKEN.finditer(text))


class LengthConfig(GuardConfig):
    """`max_chars` and/or `max_tokens` (estimated); a text over either is `too_long`."""

    model_config = ConfigDict(strict=True)

    kind: Literal["length"] = "length"
    max_chars: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _some_limit(self) -> LengthConfig:
        if self.max_chars is None and self.max_tokens is None:
            raise ValueError("set max_chars, max_tokens or both")
        return self


class LengthGuard(NoThresholds):
    """Reports each text whose length exceeds a limit."""

    text_form: Final = "raw"  # the limit is on what arrives, invisible characters included
    per_text: Final = True  # its limit is per text: never scan texts joined (coalesce.py)

    def __init__(self, name: str, max_chars: int | None, max_tokens: int | None) -> None:
        self.name = name
        self._max_chars = max_chars
        self._max_tokens = max_tokens

    @property
    def reported_labels(self) -> frozenset[str]:
        """Only `too_long`."""
        return frozenset({LABEL})

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """A `too_long` finding (score 1.0, no spans) for each text over a limit."""
        return [
            Finding(guard=self.name, label=LABEL, score=1.0, text_index=index)
            for index, text in enumerate(texts)
            if self._too_long(text)
        ]

    def _too_long(self, text: str) -> bool:
        if self._max_chars is not None and len(text) > self._max_chars:
            return True
        # A token covers at least one character, so short texts need no counting.
        if self._max_tokens is None or len(text) <= self._max_tokens:
            return False
        return estimate_tokens(text) > self._max_tokens


def build(config: LengthConfig, context: BuildContext) -> LengthGuard:
    """Nothing to load."""
    return LengthGuard(context.name, config.max_chars, config.max_tokens)


KIND = GuardKind(config=LengthConfig, build=build)
