"""Reversible redaction: typed placeholders and a per-request vault.

The same value gets the same placeholder within one request (`<EMAIL_1>` twice for the same
address); nothing is shared between requests: each request starts with an empty `Vault`.
A `Vault` is immutable — `assign` returns a new one — so `decide()` stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from guardrail.types import Span

PLACEHOLDER_RE = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
_ENTITY_CLEAN = re.compile(r"[^A-Z0-9_]+")


def entity_tag(entity: str) -> str:
    """`credit card` -> `CREDIT_CARD`: the tag used inside a placeholder."""
    tag = _ENTITY_CLEAN.sub("_", entity.upper()).strip("_")
    return tag if tag and tag[0].isalpha() else f"X{tag}"


@dataclass(frozen=True)
class Vault:
    """Placeholder <-> original value for one request."""

    _by_value: Mapping[tuple[str, str], str] = field(default_factory=dict)
    _originals: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    _counters: Mapping[str, int] = field(default_factory=dict)

    def assign(self, entity: str, value: str, restore: bool) -> tuple[str, Vault]:
        """The placeholder for `value` (reusing an earlier one) and the updated vault."""
        tag = entity_tag(entity)
        known = self._by_value.get((tag, value))
        if known is not None:
            if restore and not self._originals[known][1]:
                originals = {**self._originals, known: (value, True)}
                return known, Vault(self._by_value, MappingProxyType(originals), self._counters)
            return known, self
        number = self._counters.get(tag, 0) + 1
        placeholder = f"<{tag}_{number}>"
        return placeholder, Vault(
            MappingProxyType({**self._by_value, (tag, value): placeholder}),
            MappingProxyType({**self._originals, placeholder: (value, restore)}),
            MappingProxyType({**self._counters, tag: number}),
        )

    def restore(self, text: str) -> str:
        """Put back the originals of restorable placeholders; others stay as they are."""
        if not self._originals or "<" not in text:
            return text

        def put_back(match: re.Match[str]) -> str:
            original = self._originals.get(match.group(0))
            return original[0] if original is not None and original[1] else match.group(0)

        return PLACEHOLDER_RE.sub(put_back, text)

    @property
    def max_placeholder_len(self) -> int:
        """Length of the longest placeholder issued so far (0 when none)."""
        return max((len(p) for p in self._originals), default=0)

    def __len__(self) -> int:
        return len(self._originals)

    def __repr__(self) -> str:  # never show the originals
        return f"Vault({len(self._originals)} placeholders)"


@dataclass(frozen=True)
class Edit:
    """Replace `span` of one text: with a placeholder (redact) or its replacement (rewrite)."""

    span: Span
    redact: bool
    restore: bool = False


def non_overlapping(edits: Sequence[Edit]) -> list[Edit]:
    """The edits sorted by start, none overlapping. Overlapping edits of which one redacts
    become one redaction over their union (nothing either meant to hide reaches the upstream:
    dropping the later one would send its uncovered part), restored only if every redaction in
    it is and named after one never restored, if any; of overlapping rewrites, the
    earlier-starting (then the longer) one is kept."""
    ordered = sorted(edits, key=lambda e: (e.span.start, -(e.span.end - e.span.start)))
    kept: list[Edit] = []
    for edit in ordered:
        if kept and edit.span.start < kept[-1].span.end:
            if kept[-1].redact or edit.redact:
                kept[-1] = _union(kept[-1], edit)
            continue
        kept.append(edit)
    return kept


def _union(first: Edit, second: Edit) -> Edit:
    """One redaction over two overlapping edits (at least one a redaction)."""
    redactions = [e for e in (first, second) if e.redact]
    restore = all(e.restore for e in redactions)
    named = next((e for e in redactions if not e.restore), redactions[0])
    span = Span(
        start=first.span.start,
        end=max(first.span.end, second.span.end),
        entity=named.span.entity,
    )
    return Edit(span=span, redact=True, restore=restore)


def apply_edits(text: str, edits: Sequence[Edit], vault: Vault) -> tuple[str, Vault]:
    """Apply span edits to one text; redactions take placeholders from the vault."""
    parts: list[str] = []
    cursor = 0
    for edit in non_overlapping(edits):
        start, end = edit.span.start, min(edit.span.end, len(text))
        if start >= end:
            continue
        parts.append(text[cursor:start])
        if edit.redact:
            placeholder, vault = vault.assign(edit.span.entity, text[start:end], edit.restore)
            parts.append(placeholder)
        else:
            parts.append(edit.span.replacement or "")
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts), vault
