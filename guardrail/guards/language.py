"""`language` guard: the language of each text, against an allow-list or a deny-list.

The language comes from `guardrail.language.detect` (script, then stop words; the same
evidence the cascade's `when: not_english` reads): `en`, `fr`, `es`, `de`, `it`, `pt`, `nl`
for Latin-script text of at least four words; `el`, `th`, `ko`, `ja`, `zh` by script;
`cyrillic`, `arabic`, `devanagari` for scripts several languages share; `other` for any other
script; `und` when it cannot tell (shorter texts, code, a Latin language it does not list).

With `allow: [...]`, a text in any other language gets a `not_allowed:<lang>` finding; with
`deny: [...]`, a text in a listed language gets `denied:<lang>`. `und` passes unless
`unknown: deny`, which treats it as one more language that is not allowed (allow-list) or
denied (deny-list). One finding per text, score 1.0, its span the whole text; a text is
judged by its main language, so a few foreign words in a sentence do not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from guardrail.guards._spans import off_loop
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.language import LANGUAGES, UNDETERMINED, Language, detect
from guardrail.types import CheckContext, Finding, Span


class LanguageConfig(GuardConfig):
    """`allow` or `deny` (one of them, language labels); `unknown`: what `und` does."""

    model_config = ConfigDict(strict=True)

    kind: Literal["language"] = "language"
    allow: list[Language] | None = Field(default=None, min_length=1)
    deny: list[Language] | None = Field(default=None, min_length=1)
    unknown: Literal["allow", "deny"] = "allow"

    @model_validator(mode="after")
    def _one_list(self) -> LanguageConfig:
        if (self.allow is None) == (self.deny is None):
            raise ValueError("set exactly one of allow (an allow-list) or deny (a deny-list)")
        return self


class LanguageGuard(NoThresholds):
    """Reports texts whose language the policy does not allow."""

    def __init__(self, name: str, prefix: str, flagged: frozenset[str]) -> None:
        self.name = name
        self._prefix = prefix  # "not_allowed" or "denied"
        self._flagged = flagged  # languages (maybe `und`) that make a finding

    @property
    def reported_labels(self) -> frozenset[str]:
        """`<prefix>:<lang>` for every flagged language."""
        return frozenset(f"{self._prefix}:{lang}" for lang in self._flagged)

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """A finding for each text whose language is flagged."""
        return await off_loop(texts, lambda: self._findings(texts))

    def _findings(self, texts: Sequence[str]) -> list[Finding]:
        found: list[Finding] = []
        for index, text in enumerate(texts):
            language = detect(text)
            if language in self._flagged:
                label = f"{self._prefix}:{language}"
                span = Span(start=0, end=len(text), entity=label)
                found.append(
                    Finding(
                        guard=self.name, label=label, score=1.0, text_index=index, spans=(span,)
                    )
                )
        return found


def build(config: LanguageConfig, context: BuildContext) -> LanguageGuard:
    """Turn the list into the set of languages that make a finding."""
    unknown = {UNDETERMINED} if config.unknown == "deny" else set()
    if config.allow is not None:
        flagged = set(LANGUAGES) - set(config.allow) | unknown
        return LanguageGuard(context.name, "not_allowed", frozenset(flagged))
    return LanguageGuard(context.name, "denied", frozenset(set(config.deny or ()) | unknown))


KIND = GuardKind(config=LanguageConfig, build=build)
