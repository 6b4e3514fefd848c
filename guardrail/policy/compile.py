"""A validated policy ready to run: rules with resolved settings and built guards."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guardrail.guards.base import Guard, ReservesTime, StagedThresholds
from guardrail.policy.model import Defaults, Options, PolicyTest, RuleConfig
from guardrail.types import Action, FailMode, Mode, Stage

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class CompiledRule:
    """A rule with every default resolved; what `decide()` works from."""

    name: str
    guard: str
    stages: frozenset[Stage]
    action: Action
    mode: Mode
    fail: FailMode
    timeout_ms: int
    message: str
    code: str
    labels: frozenset[str] | None
    thresholds: Mapping[str, float]
    threshold: float | None
    restore: bool
    timeout_ms_per_1k_chars: float = 0.0  # added per 1,000 characters read (0: a flat timeout)
    reserve_ms: float = 0.0  # the guard's time for a call it makes after its own work

    def budget_ms(self, chars: int) -> float:
        """The guard's time budget under this rule for a stage of `chars` characters."""
        return self.timeout_ms + self.timeout_ms_per_1k_chars * chars / 1000 + self.reserve_ms

    def threshold_for(self, label: str) -> float:
        """The score a finding with `label` must reach for this rule to fire."""
        if label in self.thresholds:
            return self.thresholds[label]
        return self.threshold if self.threshold is not None else DEFAULT_THRESHOLD

    def matches(self, label: str, score: float) -> bool:
        """Whether a finding with this label and score makes the rule fire."""
        if self.labels is not None and label not in self.labels:
            return False
        return score >= self.threshold_for(label)


def compile_rule(rule: RuleConfig, defaults: Defaults, guard: Guard) -> CompiledRule:
    """Resolve a rule's settings against the policy defaults and its guard's thresholds."""
    thresholds = dict(guard.default_thresholds)
    if isinstance(guard, StagedThresholds):
        thresholds = dict(guard.thresholds_for_stages(rule.stages))
    if rule.threshold is not None:  # one explicit threshold overrides the guard defaults
        thresholds = {}
    thresholds.update(rule.thresholds or {})
    return CompiledRule(
        name=rule.name,
        guard=rule.guard,
        stages=frozenset(rule.stages),
        action=rule.action,
        mode=rule.mode or defaults.mode,
        fail=rule.fail or defaults.fail,
        timeout_ms=rule.timeout_ms or defaults.timeout_ms,
        timeout_ms_per_1k_chars=(
            defaults.timeout_ms_per_1k_chars
            if rule.timeout_ms_per_1k_chars is None
            else rule.timeout_ms_per_1k_chars
        ),
        message=rule.message or f"Blocked by rule {rule.name!r}.",
        code=rule.code,
        labels=frozenset(rule.labels) if rule.labels is not None else None,
        thresholds=thresholds,
        threshold=rule.threshold,
        restore=rule.restore,
        reserve_ms=guard.reserve_ms if isinstance(guard, ReservesTime) else 0.0,
    )


@dataclass(frozen=True)
class Policy:
    """A loaded policy: what the pipeline runs. Immutable; a reload builds a new one."""

    name: str
    path: Path | None
    content_hash: str  # sha256 of the policy file(s), for audit events
    options: Options
    rules: tuple[CompiledRule, ...]
    guards: Mapping[str, Guard]
    tests: tuple[PolicyTest, ...] = ()
    files: tuple[Path, ...] = field(default=())

    def __post_init__(self) -> None:
        # Computed once per load: `rules_for` is on every request's path.
        by_stage = {s: tuple(r for r in self.rules if s in r.stages) for s in Stage}
        object.__setattr__(self, "_by_stage", by_stage)

    def rules_for(self, stage: Stage) -> tuple[CompiledRule, ...]:
        """Rules that apply to `stage`, in policy order."""
        by_stage: dict[Stage, tuple[CompiledRule, ...]] = self.__dict__["_by_stage"]
        return by_stage[stage]

    @property
    def stages(self) -> frozenset[Stage]:
        """Stages that have at least one rule."""
        return frozenset(s for r in self.rules for s in r.stages)
