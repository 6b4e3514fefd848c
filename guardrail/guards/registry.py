"""Guard kinds as data: `kind` name -> where its `GuardKind` lives.

Adding a guard kind = one new module exposing `KIND` + one line in `BUILTIN`. Third-party
kinds register through the `guardrail.guards` entry-point group (value: "module:attr").
Modules are imported lazily so that `guardrail policy validate` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from guardrail.guards.base import Guard


class GuardConfig(BaseModel):
    """Base of every guard's YAML parameters. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    description: str = ""


@dataclass
class BuildContext:
    """What a guard factory may use: its instance name, where the policy lives, shared caches."""

    name: str
    policy_dir: Path = field(default_factory=Path.cwd)
    # Shared between guards of one policy load (e.g. one classifier runtime per bundle).
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardKind:
    """A guard kind: its config model and a factory that builds a ready guard."""

    config: type[GuardConfig]
    build: Callable[[Any, BuildContext], Guard]


@runtime_checkable
class BindsGuards(Protocol):
    """A guard that uses other guards of its policy (a classifier's judge, a judge's PII
    guards): `bind` is called once every guard is built; ValueError says what is wrong."""

    def bind(self, guards: Mapping[str, Guard]) -> None:
        """Resolve references to the policy's other guards."""
        ...


BUILTIN: Mapping[str, str] = {
    "regex": "guardrail.guards.regex:KIND",
    "keywords": "guardrail.guards.keywords:KIND",
    "invisible_text": "guardrail.guards.invisible:KIND",
    "secrets": "guardrail.guards.secrets:KIND",
    "pii": "guardrail.guards.pii:KIND",
    "length": "guardrail.guards.length:KIND",
    "classifier": "guardrail.guards.classifier:KIND",
    "judge": "guardrail.guards.judge:KIND",
    "urls": "guardrail.guards.urls:KIND",
    "code": "guardrail.guards.code:KIND",
    "gibberish": "guardrail.guards.gibberish:KIND",
    "refusal": "guardrail.guards.refusal:KIND",
    "canary": "guardrail.guards.canary:KIND",
    "language": "guardrail.guards.language:KIND",
    "json_schema": "guardrail.guards.json_schema:KIND",
    "topics": "guardrail.guards.topics:KIND",
    "injection_signatures": "guardrail.guards.injection_signatures:KIND",
}

ENTRY_POINT_GROUP = "guardrail.guards"


def _load(target: str) -> GuardKind:
    module, _, attr = target.partition(":")
    kind = getattr(importlib.import_module(module), attr)
    if not isinstance(kind, GuardKind):
        raise TypeError(f"{target} is not a GuardKind")
    return kind


@cache
def _plugin_targets() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def kind_names() -> list[str]:
    """Every known kind: built-in first, then plug-ins."""
    return [*BUILTIN, *(k for k in _plugin_targets() if k not in BUILTIN)]


def get_kind(name: str) -> GuardKind:
    """The `GuardKind` for `name`; KeyError if unknown."""
    target = BUILTIN.get(name) or _plugin_targets().get(name)
    if target is None:
        raise KeyError(name)
    return _load(target)


def available_kinds() -> dict[str, GuardKind]:
    """All kinds whose module imports (used for the JSON Schema)."""
    return {name: get_kind(name) for name in kind_names()}
