"""The YAML policy schema, as pydantic models. Unknown keys are errors everywhere.

Guard parameters are validated in a second step against the guard kind's own config model
(see `guards/registry.py`), so this module only knows that each guard has a `kind`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail.errors import DEFAULT_BLOCK_CODE
from guardrail.types import Action, FailMode, Mode, Stage

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
RULE_ACTIONS = ("block", "redact", "rewrite", "warn")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A guard's time budget for one stage is `timeout_ms` (the floor) plus
# `timeout_ms_per_1k_chars` for every 1,000 characters it must read, so a long text gets the
# time its reading takes instead of a timeout (docs/robustness.md "Long texts").
PER_1K_CHARS_MAX = 10_000


class Defaults(_Strict):
    """Rule settings used when a rule does not set its own."""

    fail: FailMode = FailMode.CLOSED
    timeout_ms: int = Field(
        default=250, gt=0, le=60_000, description="time budget floor of a guard, per stage"
    )
    timeout_ms_per_1k_chars: float = Field(
        default=200.0,
        ge=0,
        le=PER_1K_CHARS_MAX,
        description="added to timeout_ms per 1,000 characters the guard reads (0: no scaling)",
    )
    mode: Mode = Mode.ENFORCE


class Options(_Strict):
    """Policy-wide behaviour at the edges (proxy and wrapper)."""

    # How a block reaches the client: an error, or a normal answer with a refusal text.
    on_block: Literal["error", "refusal"] = "error"
    refusal_message: str = "Sorry, I can't help with that request."
    # Run input guards concurrently with the upstream call (the answer is held until they pass).
    parallel_input: bool = False
    # Characters of streamed output held back until checked.
    stream_window_chars: int = Field(default=128, ge=16, le=16_384)
    # Log prompt/completion text in audit events (off by default).
    log_text: bool = False


class RuleConfig(_Strict):
    """One rule: which guard, where, when it fires and what it does."""

    name: str = Field(pattern=NAME_PATTERN)
    guard: str
    stages: list[Stage] = Field(min_length=1)
    action: Action
    mode: Mode | None = None
    fail: FailMode | None = None
    timeout_ms: int | None = Field(default=None, gt=0, le=60_000)
    timeout_ms_per_1k_chars: float | None = Field(default=None, ge=0, le=PER_1K_CHARS_MAX)
    message: str | None = None
    # Fires when a finding's score >= threshold (per label, else the single one, else the
    # guard's default for that label, else 0.5).
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    thresholds: dict[str, float] | None = None
    # Only findings with these labels (default: every label the guard reports).
    labels: list[str] | None = None
    # For `redact`: put the original values back into the answer.
    restore: bool = False
    # Stable code for blocks by this rule (default "content_blocked").
    code: str = Field(default=DEFAULT_BLOCK_CODE, pattern=r"^[a-z][a-z0-9_]*$")

    @field_validator("action", mode="before")
    @classmethod
    def _rule_action(cls, value: Any) -> Any:
        if value not in RULE_ACTIONS:
            allowed = ", ".join(RULE_ACTIONS)
            raise ValueError(f"action must be one of {allowed} (got {value!r})")
        return value

    @model_validator(mode="after")
    def _check(self) -> RuleConfig:
        for label, value in (self.thresholds or {}).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"thresholds.{label} must be between 0 and 1, got {value}")
        if self.restore and self.action is not Action.REDACT:
            raise ValueError("restore: true only makes sense with action: redact")
        return self


class PolicyTest(_Strict):
    """An example that `guardrail test` checks against the policy."""

    text: str
    expect: Action
    stage: Stage = Stage.INPUT
    rule: str | None = None  # the rule expected to decide it (optional)
    name: str | None = None


class PolicyFile(_Strict):
    """One policy file, as written by hand (before `extends` is resolved)."""

    version: Literal[1] = 1
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str = ""
    extends: str | None = None  # path of a base policy, relative to this file
    defaults: Defaults = Defaults()
    options: Options = Options()
    guards: dict[str, dict[str, Any]] = {}
    rules: list[RuleConfig] = []
    tests: list[PolicyTest] = []
