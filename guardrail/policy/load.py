"""YAML policy file(s) -> a compiled `Policy`, or a `PolicyError` listing every problem.

Steps: parse (line-aware) -> validate the file schema -> resolve `extends` -> validate each
guard's parameters against its kind -> check references -> build guards -> check each rule's
`labels` and `thresholds` against what its guard reports -> compile rules.
Every step runs on what the earlier ones could read, so one run reports every problem of a
file: a rule or guard that fails the schema is left out of the later steps, not the whole file.
Whatever goes wrong, the only exception that leaves `load_policy` is `PolicyError`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from guardrail.errors import PolicyError, PolicyProblem
from guardrail.guards.base import Guard, ReportsLabels
from guardrail.guards.registry import (
    BindsGuards,
    BuildContext,
    GuardConfig,
    get_kind,
    kind_names,
)
from guardrail.policy.compile import Policy, compile_rule
from guardrail.policy.locations import Locations, locate, parse_yaml
from guardrail.policy.model import NAME_PATTERN, PolicyFile, RuleConfig

MAX_EXTENDS_DEPTH = 8


@dataclass
class _Source:
    """One parsed policy file and where its fields are."""

    file: str
    model: PolicyFile
    locations: Locations
    digest: str
    # Schema problems; `model` then holds only the parts that validated.
    problems: list[PolicyProblem] = field(default_factory=list)
    # Position in the file of each of `model.rules` (rules that failed validation are skipped).
    rule_at: tuple[int, ...] | None = None
    # Rules that failed validation, by position: their `name` and `guard` as written, still
    # checked for duplicates and undefined guards.
    loose_rules: tuple[tuple[int, Any, Any], ...] = ()
    # Names of guards that failed the schema as a whole (not a mapping): still defined.
    loose_guards: frozenset[str] = frozenset()

    def rule_path(self, index: int, *rest: str | int) -> tuple[str | int, ...]:
        """The field path of `model.rules[index]` (and `rest` inside it) in the file."""
        at = self.rule_at[index] if self.rule_at is not None else index
        return ("rules", at, *rest)

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
        return _lenient(file, data, locations, digest, exc)
    return _Source(file, model, locations, digest)


def _lenient(
    file: str, data: dict[str, Any], locations: Locations, digest: str, error: ValidationError
) -> _Source:
    """The parts of an invalid file that validate on their own, and the schema problems, so
    that the later steps still check the rest of the file in the same run."""
    parts: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("rules", "guards"):
            continue
        try:
            PolicyFile.model_validate({key: value})
            parts[key] = value
        except ValidationError:
            pass
    guards = data.get("guards")
    guards = guards if isinstance(guards, dict) else {}
    parts["guards"] = {str(k): v for k, v in guards.items() if isinstance(v, dict)}
    loose_guards = frozenset(str(k) for k, v in guards.items() if not isinstance(v, dict))
    raw_rules = data.get("rules")
    rules, rule_at, loose = [], [], []
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        try:
            rules.append(RuleConfig.model_validate(raw))
            rule_at.append(index)
        except ValidationError:
            if isinstance(raw, dict):
                loose.append((index, raw.get("name"), raw.get("guard")))
    model = PolicyFile.model_validate(parts).model_copy(update={"rules": rules})
    problems = _validation_problems(file, locations, error)
    return _Source(
        file, model, locations, digest, problems, tuple(rule_at), tuple(loose), loose_guards
    )


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
    for name, guard in guards.items():  # references between guards (escalate.to, redact_with)
        try:
            if isinstance(guard, BindsGuards):
                guard.bind(guards)
        except ValueError as exc:
            problems.append(configs[name][0].problem(("guards", name), str(exc)))
    return guards, problems


def _merged_rules(
    sources: list[_Source],
) -> tuple[list[tuple[_Source, int]], list[PolicyProblem]]:
    """Rules of every file, a later file's rule replacing an earlier one of the same name;
    and a problem for each name used twice in one file."""
    by_name: dict[str, tuple[_Source, int]] = {}
    problems: list[PolicyProblem] = []
    for source in sources:
        named = [(source.rule_path(i), rule.name) for i, rule in enumerate(source.model.rules)]
        named += [(("rules", at), name) for at, name, _ in source.loose_rules]
        seen: set[str] = set()
        for path, name in sorted(named, key=lambda item: item[0][1]):
            if not isinstance(name, str):  # a name that is not a string has its own problem
                continue
            if name in seen:
                problems.append(source.problem((*path, "name"), f"duplicate rule {name!r}"))
            seen.add(name)
        for index, rule in enumerate(source.model.rules):
            by_name.pop(rule.name, None)
            by_name[rule.name] = (source, index)
    return list(by_name.values()), problems


def _undefined_guards(
    sources: list[_Source], rules: list[tuple[_Source, int]], defined: Iterable[str]
) -> list[PolicyProblem]:
    """A problem for each rule (valid or not) whose `guard` no file defines."""
    known = set(defined) | {name for s in sources for name in (*s.model.guards, *s.loose_guards)}
    listed = ", ".join(sorted(known)) or "none defined"
    refs = [(s, s.rule_path(i, "guard"), s.model.rules[i].guard) for s, i in rules]
    refs += [(s, ("rules", at, "guard"), g) for s in sources for at, _, g in s.loose_rules]
    return [
        source.problem(path, f"rule uses undefined guard {guard!r} (guards: {listed})")
        for source, path, guard in refs
        if isinstance(guard, str) and guard not in known
    ]


def _label_problems(
    rules: list[tuple[_Source, int]], guards: dict[str, Guard]
) -> list[PolicyProblem]:
    """A rule's `labels` and `thresholds` keys must be labels its guard reports: a misspelt
    one would never match a finding (the rule would never fire, or keep its default)."""
    problems: list[PolicyProblem] = []
    for source, index in rules:
        rule = source.model.rules[index]
        guard = guards.get(rule.guard)
        if not isinstance(guard, ReportsLabels) or not guard.reported_labels:
            continue
        known = guard.reported_labels
        wrong = [(("labels", i), label) for i, label in enumerate(rule.labels or ())]
        wrong += [(("thresholds", key), key) for key in rule.thresholds or {}]
        for rest, label in wrong:
            if label not in known:
                message = f"guard {rule.guard!r} never reports label {label!r}"
                message += _did_you_mean(label, known)
                problems.append(source.problem(source.rule_path(index, *rest), message))
    return problems


def _did_you_mean(label: str, known: frozenset[str]) -> str:
    """'; did you mean X?' for the closest known label (any letter case), and the list."""
    folded = {name.casefold(): name for name in known}
    close = difflib.get_close_matches(label.casefold(), list(folded), n=1, cutoff=0.6)
    hint = f"; did you mean {folded[close[0]]!r}?" if close else ""
    return f"{hint} (it reports: {', '.join(sorted(known))})"


def _merged_options(sources: list[_Source]) -> tuple[Any, Any]:
    defaults, options = sources[0].model.defaults, sources[0].model.options
    for source in sources[1:]:
        defaults = defaults.model_copy(update=source.model.defaults.model_dump(exclude_unset=True))
        options = options.model_copy(update=source.model.options.model_dump(exclude_unset=True))
    return defaults, options


def _check(
    sources: list[_Source], shared: dict[str, Any]
) -> tuple[list[tuple[_Source, int]], dict[str, Guard]]:
    """The merged rules and built guards; a `PolicyError` with every problem found."""
    problems = [p for source in sources for p in source.problems]
    configs, found = _guard_configs(sources)
    problems += found
    rules, found = _merged_rules(sources)
    problems += found + _undefined_guards(sources, rules, configs)
    guards, found = _build_guards(configs, shared)
    problems += found + _label_problems(rules, guards)
    if problems:
        raise PolicyError(sorted(problems, key=_position))
    return rules, guards


def _position(problem: PolicyProblem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


def _compile(sources: list[_Source], shared: dict[str, Any]) -> Policy:
    rules, guards = _check(sources, shared)
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
