"""`refusal` guard: the model declined ("I can't help with that", "I'm sorry, but I cannot
...", "As an AI, I don't ..."), for metrics and for a cascade, not for blocking.

Phrasings (RE2, case-insensitive, `'` or `’`): an apology or "I'm afraid" followed within a
sentence by can't/cannot/unable/won't; "I can't / cannot / won't / am unable to / am not able
to / must decline to" + help, assist, provide, comply, ...; "As an AI (language model), I
can't / don't / am not"; "that's not something I can help with"; "I must decline"; "against
my guidelines"; "not comfortable providing". And the same in German, French, Spanish,
Italian, Portuguese, Russian and Chinese for the common forms. `extra_phrases` adds your own
(e.g. the refusal text your app's system prompt asks for).

Refusals open an answer, so only the first `scan_chars` characters are read by default (0:
all of it): "I can't stress this enough" or a quoted refusal later in a long answer is not
the model declining. One finding per text, label `refusal`, a span per phrase, score 1.0.
Use it with `action: warn` (the rule is then counted in metrics and named in the
`x-guardrail-rules` header) -- blocking a refusal only hides it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from guardrail.guards._spans import Hit, compile_re2, longest_first, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

LABEL = "refusal"
_A = "['’]"  # apostrophe, straight or curly
# "I can't", "I won't be able to", "I'm unable to", "I must decline to", ...
_I_CANT = (
    rf"\bI(?:\s+(?:can{_A}?t|cannot|can not|won{_A}t(?: be able to)?|will not(?: be able to)?"
    r"|am unable to|am not able to|must decline to|have to decline to|must refuse to"
    rf"|am not going to)|{_A}(?:m|ll) (?:unable to|not able to|not going to|not be able to))"
)
_VERBS = (
    r"(?:help|assist|provide|comply|fulfil|fulfill|create|write|generate|share|support|answer"
    r"|give|engage|discuss|complete|produce|offer|participate|do that|do this|continue"
    r"|recommend|access|browse|disclose|reveal|facilitate|be of help|be of assistance)"
)
PHRASES = (
    # "I'm sorry, but I can't ..." / "I apologize, but I'm unable ..."
    rf"\b(?:sorry|afraid|apologi[sz]e)\b[^.!?\n]{{0,60}}?(?:{_I_CANT}|\bwe\s+(?:can{_A}?t|cannot)"
    rf"|\b(?:I|we){_A}?(?:m|re| am| are) (?:unable|not able|not allowed|not permitted)\b"
    rf"|\b(?:that|this|it)(?:{_A}s| is) not (?:something|possible|appropriate|allowed)\b)",
    rf"{_I_CANT}\s+(?:really\s+)?(?:\w+\s+)?{_VERBS}\b",
    rf"\bas an (?:AI|artificial intelligence)(?: (?:language )?model| assistant)?,?\s+I\s+"
    rf"(?:can{_A}?t|cannot|don{_A}t|do not|am not|{_A}m not|am unable|{_A}m unable|won{_A}t)\b",
    rf"\b(?:that|this|it){_A}?s not something I (?:can|am able to|{_A}m able to|will) "
    r"(?:help|assist|do|provide|support)",
    r"\bI (?:must|have to|need to) (?:respectfully )?(?:decline|refuse)\b",
    r"\b(?:against|violates?) (?:my|our|the) (?:guidelines|policies|usage polic(?:y|ies)"
    r"|content polic(?:y|ies)|programming|principles)\b",
    rf"\bI{_A}?m not (?:comfortable|in a position to) "
    r"(?:help|assist|provid|creat|writ|shar|do)\w*",
    rf"\bI (?:can{_A}?t|cannot|won{_A}t) (?:do|fulfil|fulfill|complete) "
    r"(?:that|this)(?: request)?\b",
    # German, French, Spanish, Italian, Portuguese
    r"\b(?:es tut mir leid|leider)\b[^.!?\n]{0,60}?\b(?:ich kann|kann ich)\b"
    r"[^.!?\n]{0,40}?\bnicht\b",
    r"\bich kann (?:(?:dir|ihnen|euch) )?(?:dabei |damit |hierbei )?nicht helfen\b",
    r"\bje suis d[ée]sol[ée]e?[^.!?\n]{0,60}?\bje ne (?:peux|suis pas en mesure|pourrai)\b",
    rf"\bje ne (?:peux|pourrai) pas (?:vous |t{_A})?(?:aider|r[ée]pondre|fournir)\b",
    r"\blo siento\b[^.!?\n]{0,60}?\bno (?:puedo|podr[ée]|me es posible)\b",
    r"\bno puedo (?:ayudar(?:te|le|les)?|proporcionar|ofrecer|responder|hacer eso)\b",
    r"\bmi dispiace\b[^.!?\n]{0,60}?\bnon (?:posso|sono in grado)\b",
    r"\b(?:desculpe|lamento|sinto muito)\b[^.!?\n]{0,60}?\bn[ãa]o (?:posso|consigo|sou capaz)\b",
    # Russian, Chinese
    r"(?:извините|простите|к сожалению)[^.!?\n]{0,60}?я не (?:могу|в состоянии|буду)",
    r"я не могу (?:помочь|выполнить|предоставить|ответить|с этим)",
    r"(?:抱歉|对不起|很抱歉|不好意思)[，,]?\s*(?:但)?我(?:不能|无法|没办法|不可以)",
    r"我(?:不能|无法)(?:帮助|提供|协助|满足|回答|帮你|帮您)",
)
_EXCEPTIONS = re.compile(rf"(?i)\bcan{_A}?t help (?:but|myself|it)\b")


class RefusalConfig(GuardConfig):
    """`scan_chars`: how much of the start of each text is read (0: all);
    `extra_phrases`: more refusal wordings, matched as literal, case-insensitive text."""

    model_config = ConfigDict(strict=True)

    kind: Literal["refusal"] = "refusal"
    scan_chars: int = Field(default=500, ge=0)
    extra_phrases: list[str] = Field(default_factory=list)

    @field_validator("extra_phrases")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not phrase.strip() for phrase in value):
            raise ValueError("extra_phrases must not contain blank phrases")
        return value


class RefusalGuard(NoThresholds):
    """Reports refusal wordings near the start of each text."""

    def __init__(self, name: str, pattern: Any, scan_chars: int) -> None:
        self.name = name
        self._pattern = pattern
        self._scan_chars = scan_chars

    @property
    def reported_labels(self) -> frozenset[str]:
        """Only `refusal`."""
        return frozenset({LABEL})

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """A `refusal` finding for each text that declines, a span per wording."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        head = text[: self._scan_chars] if self._scan_chars else text
        hits = [
            Hit(match.start(), match.end(), LABEL)
            for match in self._pattern.finditer(head)
            if match.end() > match.start()
            and not _EXCEPTIONS.search(head, match.start(), match.end() + 12)
        ]
        return longest_first(hits)


def _literal(phrase: str) -> str:
    """`phrase` as an RE2 pattern that matches it literally, any run of spaces as one."""
    words = phrase.split()
    return r"\s+".join("".join(f"\\x{{{ord(c):x}}}" for c in word) for word in words)


def build(config: RefusalConfig, context: BuildContext) -> RefusalGuard:
    """One RE2 alternation of every wording."""
    extra = [_literal(phrase.strip()) for phrase in config.extra_phrases]
    pattern = compile_re2("|".join(f"(?:{p})" for p in (*PHRASES, *extra)), ignore_case=True)
    return RefusalGuard(context.name, pattern, config.scan_chars)


KIND = GuardKind(config=RefusalConfig, build=build)
