"""YAML policy file(s) -> a compiled `Policy`, or a `PolicyError` listing every problem.

Steps: parse (line-aware) -> validate the file schema -> resolve `extends` -> validate each
guard's parameters against its kind -> check references -> build guards -> compile rules.
Whatever goes wrong, the only exception that leaves `load_policy` is `PolicyError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from guardrail.errors import PolicyError, PolicyProblem
from guardrail.guards.base import Guard
from guardrail.guards.registry import BuildContext, GuardConfig, get_kind, kind_names
from guardrail.policy.compile import Policy, compile_rule
from guardrail.policy.locations import Locations, locate, parse_yaml
from guardrail.policy.model import NAME_PATTERN, PolicyFile

MAX_EXTENDS_DEPTH = 8


@dataclass
class _Source:
    """One parsed policy file and where its fields are."""

    file: str
    model: PolicyFile
    locations: Locations
    digest: str

    def problem(self, path: tuple[str | int, ...], message: str) -> PolicyProblem:
        line, col = locate(self.locations, path) or (None, None)
        field = ".".join(str(p) for p in path)
        return PolicyProblem(self.file, line, col, field, message)


def _validation_problems(
    file: str, locations: Locations, error: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[PolicyProblem]:
    problems = []
    for item in error.errors(include_url=False):
        path = (*prefix, *item["loc"])
        line, col = locate(locations, path) or (None, None)
        field = ".".join(str(p) for p in path)
        problems.append(PolicyProblem(file, line, col, field, _explain(item)))
    return problems


def _explain(item: Any) -> str:
    kind, msg = item["type"], item["msg"]
    if kind == "extra_forbidden":
        return f"unknown key {item['loc'][-1]!r} (not allowed here)"
    if kind == "missing":
        return f"required key {item['loc'][-1]!r} is missing"
    if isinstance(msg, str) and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return f"{msg} (got {_short(item.get('input'))})" if kind != "value_error" else str(msg)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse(file: str, text: str) -> _Source:
    try:
        data, locations = parse_yaml(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise PolicyError([PolicyProblem(file, line, col, "", message)]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        problem = PolicyProblem(file, None, None, "", f"YAML error: {type(exc).__name__}: {exc}")
        raise PolicyError([problem]) from None
    if not isinstance(data, dict):
        problem = PolicyProblem(file, 1, 1, "", "a policy file must be a mapping of keys")
        raise PolicyError([problem])
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        model = PolicyFile.model_validate(data)
    except ValidationError as exc:
        problems = _validation_problems(file, locations, exc)
        # Also check the guards, so that one run shows every mistake in the file.
        partial = _Source(file, PolicyFile(), locations, digest)
        guards = data.get("guards")
        if isinstance(guards, dict):
            for name, raw in guards.items():
                if isinstance(raw, dict):
                    problems += _guard_config(partial, str(name), raw)[1]
        raise PolicyError(problems) from None
    return _Source(file, model, locations, digest)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = PolicyProblem(str(path), None, None, "", f"cannot read: {exc}")
        raise PolicyError([problem]) from None


def _chain(path: Path) -> list[_Source]:
    """The file and every file it extends, base first."""
    chain: list[_Source] = []
    seen: set[Path] = set()
    current: Path | None = path
    while current is not None:
        resolved = current.resolve()
        if resolved in seen or len(chain) >= MAX_EXTENDS_DEPTH:
            last = chain[-1]
            raise PolicyError([last.problem(("extends",), "extends forms a cycle or is too deep")])
        seen.add(resolved)
        source = _parse(str(current), _read(current))
        chain.append(source)
        base = source.model.extends
        current = (current.parent / base) if base else None
        if current is not None and not current.is_file():
            raise PolicyError([source.problem(("extends",), f"no such policy file: {base}")])
    return chain[::-1]


def _guard_configs(
    sources: Iterable[_Source],
) -> tuple[dict[str, tuple[_Source, GuardConfig]], list[PolicyProblem]]:
    configs: dict[str, tuple[_Source, GuardConfig]] = {}
    problems: list[PolicyProblem] = []
    for source in sources:
        for name, raw in source.model.guards.items():
            config, errs = _guard_config(source, name, raw)
            problems += errs
            if config is not None:
                configs[name] = (source, config)
    return configs, problems


def _guard_config(
    source: _Source, name: str, raw: dict[str, Any]
) -> tuple[GuardConfig | None, list[PolicyProblem]]:
    path: tuple[str | int, ...] = ("guards", name)
    if not re.match(NAME_PATTERN, name):
        return None, [source.problem(path, f"guard name {name!r} must match {NAME_PATTERN}")]
    kind_name = raw.get("kind")
    if not isinstance(kind_name, str):
        known = ", ".join(kind_names())
        return None, [source.problem((*path, "kind"), f"needs a 'kind' (one of: {known})")]
    try:
        kind = get_kind(kind_name)
    except KeyError:
        known = ", ".join(kind_names())
        msg = f"unknown guard kind {kind_name!r} (known: {known})"
        return None, [source.problem((*path, "kind"), msg)]
    try:
        context = {"policy_dir": Path(source.file).parent}
        return kind.config.model_validate(raw, context=context), []
    except ValidationError as exc:
        return None, _validation_problems(source.file, source.locations, exc, path)
    except Exception as exc:  # a guard's own validator raised something unexpected
        return None, [source.problem(path, f"invalid: {type(exc).__name__}: {exc}")]


def _build_guards(
    configs: dict[str, tuple[_Source, GuardConfig]], shared: dict[str, Any]
) -> tuple[dict[str, Guard], list[PolicyProblem]]:
    guards: dict[str, Guard] = {}
    problems: list[PolicyProblem] = []
    for name, (source, config) in configs.items():
        context = BuildContext(name=name, policy_dir=Path(source.file).parent, shared=shared)
        try:
            guards[name] = get_kind(config.kind).build(config, context)
        except Exception as exc:  # e.g. a missing classifier bundle
            problems.append(source.problem(("guards", name), f"cannot build guard: {exc}"))
    return guards, problems


def _merged_rules(sources: list[_Source]) -> list[tuple[_Source, int]]:
    """Rules of every file, a later file's rule replacing an earlier one of the same name."""
    by_name: dict[str, tuple[_Source, int]] = {}
    for source in sources:
        seen: set[str] = set()
        for index, rule in enumerate(source.model.rules):
            if rule.name in seen:
                raise PolicyError(
                    [source.problem(("rules", index, "name"), f"duplicate rule {rule.name!r}")]
                )
            seen.add(rule.name)
            by_name.pop(rule.name, None)
            by_name[rule.name] = (source, index)
    return list(by_name.values())


def _merged_options(sources: list[_Source]) -> tuple[Any, Any]:
    defaults, options = sources[0].model.defaults, sources[0].model.options
    for source in sources[1:]:
        defaults = defaults.model_copy(update=source.model.defaults.model_dump(exclude_unset=True))
        options = options.model_copy(update=source.model.options.model_dump(exclude_unset=True))
    return defaults, options


def _compile(sources: list[_Source], shared: dict[str, Any]) -> Policy:
    configs, problems = _guard_configs(sources)
    rules = _merged_rules(sources)
    for source, index in rules:
        rule = source.model.rules[index]
        if rule.guard not in configs and not any(rule.guard in s.model.guards for s in sources):
            known = ", ".join(sorted(configs)) or "none defined"
            msg = f"rule uses undefined guard {rule.guard!r} (guards: {known})"
            problems.append(source.problem(("rules", index, "guard"), msg))
    if problems:
        raise PolicyError(problems)
    guards, problems = _build_guards(configs, shared)
    if problems:
        raise PolicyError(problems)
    defaults, options = _merged_options(sources)
    compiled = tuple(
        compile_rule(s.model.rules[i], defaults, guards[s.model.rules[i].guard]) for s, i in rules
    )
    top = sources[-1]
    name = top.model.name or Path(top.file).stem
    digest = hashlib.sha256("".join(s.digest for s in sources).encode()).hexdigest()
    return Policy(
        name=name,
        path=Path(top.file),
        content_hash=digest[:16],
        options=options,
        rules=compiled,
        guards=guards,
        tests=tuple(top.model.tests),
        files=tuple(Path(s.file) for s in sources),
    )


def load_policy(path: str | Path, shared: dict[str, Any] | None = None) -> Policy:
    """Load, validate and compile a policy file (and the files it extends)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError([PolicyProblem(str(path), None, None, "", "no such policy file")])
    return _compile(_chain(path), {} if shared is None else shared)


def load_policy_text(text: str, file: str = "<policy>", base_dir: Path | None = None) -> Policy:
    """Load a policy from a string (tests, `guardrail check -`); `extends` is not allowed."""
    source = _parse(file, text)
    if source.model.extends:
        raise PolicyError([source.problem(("extends",), "extends needs a policy file on disk")])
    if base_dir is not None:
        source.file = str(base_dir / Path(file).name)
    return _compile([source], {})
