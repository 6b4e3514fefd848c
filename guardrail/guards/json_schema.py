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

With `from_request: true` the request's own `response_format` decides (OpenAI chat
requests; the flow hands it over as `CheckContext.response_format`): `{type: json_schema,
json_schema: {schema}}` validates against that schema, `{type: json_object}` requires one JSON
object; a request without one falls back to the policy's schema, or is not checked when the
policy names none. A request's schema is the client's, so it is held to more than a policy's:
only local `$ref`s, `pattern` run with RE2 (no backtracking: a pattern cannot hang the proxy),
no `patternProperties` (jsonschema matches those with Python's `re`), at most
`MAX_EXPANDED` subschemas with its `$ref`s inlined (no recursion: refs that fan out would make
validating one value take forever), validated off the event loop; a schema that breaks
these rules, or is not a valid schema, is not used (the upstream rejects invalid ones anyway)
and the policy's schema, if any, applies. Compiled request schemas are cached (64, by content).

Not done here: telling the answer's content from its other output texts (tool-call names and
arguments, refusal and reasoning parts are output texts too, and each is validated).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from pydantic import ConfigDict, Field, model_validator
from referencing import Registry
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from guardrail.guards._spans import compile_re2, off_loop
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding, Span

INVALID_JSON = "invalid_json"
SCHEMA_VIOLATION = "schema_violation"
_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```\Z", re.S)
_REF_KEYS = ("$ref", "$dynamicRef")


class JsonSchemaConfig(GuardConfig):
    """`schema` (inline) or `schema_file`; `allow_fence`: accept a ```json fence;
    `from_request`: the request's `response_format`, when it has one, decides."""

    model_config = ConfigDict(strict=True, populate_by_name=True)

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    schema_file: str | None = None
    allow_fence: bool = True
    from_request: bool = Field(
        default=False,
        description="validate against the request's response_format (json_schema or "
        "json_object) when it has one; else the policy's schema, if any",
    )

    @model_validator(mode="after")
    def _one_source(self) -> JsonSchemaConfig:
        both = self.json_schema is not None and self.schema_file is not None
        neither = self.json_schema is None and self.schema_file is None
        if both or (neither and not self.from_request):
            raise ValueError(
                "set exactly one of schema (inline) or schema_file (or from_request: true, "
                "with at most one of them as the fallback)"
            )
        return self


class JsonSchemaGuard(NoThresholds):
    """Reports texts that are not JSON, or JSON that breaks the schema."""

    per_text: Final = True  # a document is valid or not as a whole: never join texts
    text_form: Final = "raw"  # validate what the client gets, not its canonical spelling

    def __init__(
        self,
        name: str,
        validator: Validator | None,
        allow_fence: bool,
        from_request: bool = False,
    ) -> None:
        self.name = name
        self._validator = validator  # the policy's (None: only requests' schemas)
        self._allow_fence = allow_fence
        self._from_request = from_request

    @property
    def reported_labels(self) -> frozenset[str]:
        """`invalid_json` and `schema_violation`."""
        return frozenset({INVALID_JSON, SCHEMA_VIOLATION})

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """A finding for each non-blank text that is not a valid document."""
        requested = request_validator(ctx.response_format) if self._from_request else None
        validator = requested or self._validator
        if validator is None:  # from_request only, and the request asked for no format
            return []
        if requested is not None:  # its cost is the client's choice: never on the event loop
            return await asyncio.to_thread(self._findings, texts, validator)
        return await off_loop(texts, lambda: self._findings(texts, validator))

    def _findings(self, texts: Sequence[str], validator: Validator) -> list[Finding]:
        found: list[Finding] = []
        for index, text in enumerate(texts):
            label = self.problem(text, validator) if text.strip() else None
            if label is not None:
                span = Span(start=0, end=len(text), entity=label)
                found.append(
                    Finding(
                        guard=self.name, label=label, score=1.0, text_index=index, spans=(span,)
                    )
                )
        return found

    def problem(self, text: str, validator: Validator | None = None) -> str | None:
        """`invalid_json`, `schema_violation`, or None for a valid document (against
        `validator`, default: the policy's schema)."""
        validator = validator or self._validator
        body = text.strip()
        fenced = _FENCE.match(body) if self._allow_fence else None
        try:
            document = json.loads(fenced.group(1) if fenced else body, parse_constant=_no_nan)
        except (ValueError, RecursionError):
            return INVALID_JSON
        try:
            valid = validator is None or validator.is_valid(document)
        except RecursionError:  # too deep to prove valid
            valid = False
        return None if valid else SCHEMA_VIOLATION


def _no_nan(name: str) -> Any:
    """`NaN` and `Infinity` are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not JSON")


def _values(node: Any, keys: tuple[str, ...]) -> Iterator[str]:
    """Every string value of one of `keys` anywhere in a schema (`$ref`s, `pattern`s)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from _values(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, keys)


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


def checked_validator(schema: Any) -> Validator:
    """A validator for `schema` that never fetches; ValueError says what is wrong with it."""
    if not isinstance(schema, dict | bool):
        raise ValueError("the schema must be a JSON object (or true/false)")
    remote = sorted({ref for ref in _values(schema, _REF_KEYS) if not ref.startswith("#")})
    if remote:
        raise ValueError(f"only local references (#/...) are allowed, got: {', '.join(remote)}")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    return cls(schema, registry=Registry())


def build(config: JsonSchemaConfig, context: BuildContext) -> JsonSchemaGuard:
    """Read and check the schema once; validators never fetch remote references."""
    has_schema = config.json_schema is not None or config.schema_file is not None
    validator = checked_validator(_read_schema(config, context.policy_dir)) if has_schema else None
    return JsonSchemaGuard(context.name, validator, config.allow_fence, config.from_request)


# -- the request's own response_format (from_request) ---------------------------------------

_JSON_OBJECT = '{"type": "object"}'


def request_validator(response_format: Mapping[str, Any] | None) -> Validator | None:
    """A validator for what the request's `response_format` asks for; None when it asks for
    no JSON, or its schema breaks the rules for a client's schema (module docstring)."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return _request_schema(_JSON_OBJECT)
    spec = response_format.get("json_schema")
    if kind != "json_schema" or not isinstance(spec, dict) or "schema" not in spec:
        return None
    try:
        key = json.dumps(spec["schema"], sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return _request_schema(key)


@lru_cache(maxsize=64)
def _request_schema(key: str) -> Validator | None:
    schema = json.loads(key)
    if "patternProperties" in set(_keys(schema)):
        return None  # jsonschema matches them with Python's re: a client could hang it
    if _expanded(schema) > MAX_EXPANDED:
        return None  # its refs fan out: validating one value would try too many subschemas
    try:
        validator = checked_validator(schema)
    except ValueError:
        return None
    cls = extend(type(validator), {"pattern": _re2_pattern})
    try:  # compile every pattern now: RE2 refuses lookaround and backreferences
        for pattern in _values(schema, ("pattern",)):
            _re2(pattern)
    except ValueError:
        return None
    return cls(schema, registry=Registry())


@lru_cache(maxsize=256)
def _re2(pattern: str) -> Any:
    return compile_re2(pattern)


def _re2_pattern(
    validator: Validator, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """The `pattern` keyword with RE2 (a search, as JSON Schema says)."""
    if validator.is_type(instance, "string") and not _re2(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# subschema objects a client's schema may expand to with its `$ref`s inlined: validating one
# value of the answer tries at most these (levels of `anyOf` naming the next level twice
# expand to 2**levels, which would hold the proxy for as long as the client likes)
MAX_EXPANDED = 2_000
_OVER = MAX_EXPANDED + 1
_UNFOLLOWED = ("$dynamicRef", "$recursiveRef")  # resolved at validation time: not bounded here


def _expanded(schema: Any) -> int:
    """The objects of `schema` with every `$ref` inlined, capped at `_OVER`; a recursive schema
    (its validation can fan out again at each level of the document), a nested `$id` (it moves
    the base of the refs below it) or a ref this walk cannot follow counts as over."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        if isinstance(node, list):
            return min(_OVER, sum(size(item) for item in node))
        if not isinstance(node, dict):
            return 0
        if id(node) in memo:
            return memo[id(node)]
        if id(node) in active:
            return _OVER
        active.add(id(node))
        total = 1
        for name, value in node.items():
            if name in _UNFOLLOWED or (name == "$id" and node is not schema):
                total = _OVER
            elif name == "$ref":
                target = _local(schema, value)
                total += _OVER if target is None else size(target)
            else:
                total += size(value)
            if total >= _OVER:
                break
        active.discard(id(node))
        memo[id(node)] = min(total, _OVER)
        return memo[id(node)]

    try:
        return size(schema)
    except RecursionError:
        return _OVER


def _local(root: Any, ref: Any) -> Any:
    """What a local JSON-pointer `$ref` ('#', '#/a/b') names in `root`; None for anything else."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    path = unquote(ref[1:])
    if not path:
        return root
    if not path.startswith("/"):
        return None  # an anchor ('#name')
    node = root
    for part in path[1:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _keys(node: Any) -> Iterator[str]:
    """Every object key in a schema, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


KIND = GuardKind(config=JsonSchemaConfig, build=build)
