"""`json_schema` guard: answers that are not one JSON document valid against a schema.

The schema is the policy's: inline (`schema:`) or in a JSON or YAML file (`schema_file:`,
relative to the policy file, read at load). It is checked when the policy loads (draft from
its `$schema`, else 2020-12), and only references inside it (`$ref: "#/..."`) are allowed:
jsonschema would otherwise fetch a remote `$ref` over the network while validating.

Each text of the stages it runs on is read whole (`per_text`, raw text): it must be one JSON
document (surrounding white space, and with `allow_fence` one Markdown code fence around it,
are accepted), else `invalid_json`; a document that breaks the schema is `schema_violation`
(as is one nested too deeply to validate). One finding per text, score 1.0, its span the
whole text; use `action: block` or `warn`.

Not done here (see the issue #23 report): validating against the request's own
`response_format` schema -- a guard sees the texts of a stage, not the request -- and telling
the answer's content from its other output texts (tool-call names and arguments, refusal and
reasoning parts are output texts too, and each is validated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from pydantic import ConfigDict, Field, model_validator
from referencing import Registry
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from guardrail.guards._spans import off_loop
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding, Span

INVALID_JSON = "invalid_json"
SCHEMA_VIOLATION = "schema_violation"
_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```\Z", re.S)
_REF_KEYS = ("$ref", "$dynamicRef")


class JsonSchemaConfig(GuardConfig):
    """`schema` (inline) or `schema_file`; `allow_fence`: accept a ```json fence."""

    model_config = ConfigDict(strict=True, populate_by_name=True)

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    schema_file: str | None = None
    allow_fence: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> JsonSchemaConfig:
        if (self.json_schema is None) == (self.schema_file is None):
            raise ValueError("set exactly one of schema (inline) or schema_file")
        return self


class JsonSchemaGuard(NoThresholds):
    """Reports texts that are not JSON, or JSON that breaks the schema."""

    per_text: Final = True  # a document is valid or not as a whole: never join texts
    text_form: Final = "raw"  # validate what the client gets, not its canonical spelling

    def __init__(self, name: str, validator: Validator, allow_fence: bool) -> None:
        self.name = name
        self._validator = validator
        self._allow_fence = allow_fence

    @property
    def reported_labels(self) -> frozenset[str]:
        """`invalid_json` and `schema_violation`."""
        return frozenset({INVALID_JSON, SCHEMA_VIOLATION})

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """A finding for each non-blank text that is not a valid document."""
        return await off_loop(texts, lambda: self._findings(texts))

    def _findings(self, texts: Sequence[str]) -> list[Finding]:
        found: list[Finding] = []
        for index, text in enumerate(texts):
            label = self.problem(text) if text.strip() else None
            if label is not None:
                span = Span(start=0, end=len(text), entity=label)
                found.append(
                    Finding(
                        guard=self.name, label=label, score=1.0, text_index=index, spans=(span,)
                    )
                )
        return found

    def problem(self, text: str) -> str | None:
        """`invalid_json`, `schema_violation`, or None for a valid document."""
        body = text.strip()
        fenced = _FENCE.match(body) if self._allow_fence else None
        try:
            document = json.loads(fenced.group(1) if fenced else body, parse_constant=_no_nan)
        except (ValueError, RecursionError):
            return INVALID_JSON
        try:
            valid = self._validator.is_valid(document)
        except RecursionError:  # too deep to prove valid
            valid = False
        return None if valid else SCHEMA_VIOLATION


def _no_nan(name: str) -> Any:
    """`NaN` and `Infinity` are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not JSON")


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` / `$dynamicRef` value in a schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _REF_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _read_schema(config: JsonSchemaConfig, policy_dir: Path) -> Any:
    if config.json_schema is not None:
        return config.json_schema
    path = Path(config.schema_file or "").expanduser()
    path = path if path.is_absolute() else policy_dir / path
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read schema_file {str(path)!r}: {exc.strerror}") from None
    except YAMLError as exc:  # YAML is a superset of JSON: one parser reads both
        raise ValueError(f"schema_file {str(path)!r} is not JSON or YAML: {exc}") from None


def build(config: JsonSchemaConfig, context: BuildContext) -> JsonSchemaGuard:
    """Read and check the schema once; validators never fetch remote references."""
    schema = _read_schema(config, context.policy_dir)
    if not isinstance(schema, dict | bool):
        raise ValueError("the schema must be a JSON object (or true/false)")
    remote = sorted({ref for ref in _refs(schema) if not ref.startswith("#")})
    if remote:
        raise ValueError(f"only local references (#/...) are allowed, got: {', '.join(remote)}")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    validator = cls(schema, registry=Registry())
    return JsonSchemaGuard(context.name, validator, config.allow_fence)


KIND = GuardKind(config=JsonSchemaConfig, build=build)
