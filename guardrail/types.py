"""The core vocabulary: stages, actions, findings and decisions.

Every value here is a frozen pydantic model or an enum. Guards produce `Finding`s,
`policy.decide()` turns them into a `Decision`. Nothing here does I/O.
"""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Stage(StrEnum):
    """Where in a call a text sits."""

    INPUT = "input"  # what the user typed
    RETRIEVED = "retrieved"  # documents the app put into the prompt
    TOOL = "tool"  # tool / function results
    OUTPUT = "output"  # what the model answered (text and tool-call arguments)


class Action(StrEnum):
    """What a rule does when it fires, ordered by `SEVERITY`."""

    ALLOW = "allow"
    WARN = "warn"
    REWRITE = "rewrite"
    REDACT = "redact"
    BLOCK = "block"


# block beats redact/rewrite beats warn beats allow
SEVERITY: dict[Action, int] = {
    Action.ALLOW: 0,
    Action.WARN: 1,
    Action.REWRITE: 2,
    Action.REDACT: 2,
    Action.BLOCK: 3,
}


class Mode(StrEnum):
    """`shadow` rules are evaluated and recorded but never enforced."""

    ENFORCE = "enforce"
    SHADOW = "shadow"


class FailMode(StrEnum):
    """What a rule does when its guard errors or times out."""

    OPEN = "open"  # let the text through, record that it was not checked
    CLOSED = "closed"  # block


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Frozen):
    """A character range `[start, end)` in one text, with what it is."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    entity: str
    # For `rewrite`: what replaces the span (None = delete it).
    replacement: str | None = None


# The label of a finding that says a guard read only part of a text: its score is the share
# it did not read, its `reason` why. Rules never match it as a label; `decide()` applies the
# rule's fail mode to a `budget` one and records both kinds in `Decision.partial`.
PARTIAL_SCAN = "partial_scan"
PartialReason = Literal["budget", "sampled"]  # ran out of time / the guard's `long_text: sample`


EscalationReason = Literal["band", "not_english", "classifier_timeout"]
EscalationResult = Literal["positive", "negative", "over_budget", "too_long", "judge_error"]


class Escalation(_Frozen):
    """A classifier label a judge model was asked about (guards/escalation.py), and the
    outcome: `positive`/`negative` when the judge decided, else why the classifier did."""

    judge: str  # the judge guard's name
    model: str  # the judge's model
    prompt_hash: str  # sha256 prefix of the judge's prompt template
    reason: EscalationReason
    band: tuple[float, float] | None = None  # the label's band, for reason `band`
    local_score: float  # what the classifier alone said
    result: EscalationResult
    judge_label: str = ""  # the verdict's label ("" when the judge was not asked)
    agrees: bool | None = None  # judge vs the classifier at its default threshold
    cached: bool = False
    judge_ms: float = 0.0  # time of the judge call (0 when cached or not asked)

    @property
    def decided_by(self) -> Literal["judge", "classifier"]:
        """Whose answer the finding's score now carries."""
        return "judge" if self.result in ("positive", "negative") else "classifier"


class Finding(_Frozen):
    """One thing a guard noticed in one text. Guards report; they never decide."""

    guard: str  # the guard instance name from the policy
    label: str  # e.g. "injection", "EMAIL", "aws_access_key"
    score: float = Field(ge=0.0, le=1.0)
    text_index: int = Field(default=0, ge=0)  # which of the scanned texts
    spans: tuple[Span, ...] = ()
    reason: PartialReason | None = None  # only on PARTIAL_SCAN findings
    escalation: Escalation | None = None  # set when a judge was asked about this score
    # A classifier's score came from a reading of the text, not the text as sent: "decoded:
    # base64" (payloads it decoded, by scheme; `read_encoded`) or "respelled" (`read_obfuscated`).
    reading: str | None = None

    @property
    def partial(self) -> bool:
        """True for a finding that says the text was only partly read."""
        return self.label == PARTIAL_SCAN


class GuardFailure(_Frozen):
    """A guard that could not give an answer (error or timeout): the text was NOT checked."""

    guard: str
    reason: str  # "timeout" | "error"
    error_type: str = ""


class RuleHit(_Frozen):
    """A rule that fired (or would have fired, for shadow rules)."""

    rule: str
    guard: str
    action: Action
    mode: Mode
    label: str
    score: float
    text_index: int = 0
    # True when the hit comes from a guard failure under `fail: closed`.
    failed_closed: bool = False
    escalation: Escalation | None = None  # the finding's: a judge decided (or was asked)
    reading: str | None = None  # the finding's: the score was of a decoded or respelled reading

    @property
    def decided_by(self) -> str:
        """`judge` when a judge's verdict made this hit, else `guard`."""
        return "judge" if self.escalation and self.escalation.decided_by == "judge" else "guard"


class Block(_Frozen):
    """Why a stage was blocked: the rule that fired and a stable code."""

    rule: str
    stage: Stage
    code: str
    message: str


class Decision(_Frozen):
    """The outcome of one stage: the texts to use (maybe rewritten) and why."""

    stage: Stage
    action: Action
    texts: tuple[str, ...]
    hits: tuple[RuleHit, ...] = ()  # enforced hits
    shadow_hits: tuple[RuleHit, ...] = ()  # would-have-fired, never enforced
    block: Block | None = None
    unchecked: tuple[GuardFailure, ...] = ()  # guards that did not run (fail open)
    partial: tuple[Finding, ...] = ()  # PARTIAL_SCAN findings: texts a guard read in part
    escalations: tuple[Finding, ...] = ()  # findings a judge was asked about (any outcome)
    guard_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        """True when the stage must not go on."""
        return self.block is not None

    @property
    def rules_fired(self) -> tuple[str, ...]:
        """Names of enforced rules that fired, in order, without repeats."""
        return tuple(dict.fromkeys(h.rule for h in self.hits))


class CheckContext(_Frozen):
    """What a guard may know about the call it scans (never the other stages' text)."""

    stage: Stage
    request_id: str = ""  # the client's x-request-id: for logs only, a client can reuse it
    # The server's own key for this request (the pipeline's fresh uuid): per-request budgets
    # count against it, so a reused x-request-id never shares or exhausts another's budget.
    request_key: str = ""
    tenant: str = ""
    policy: str = ""
    # When the guard's time budget ends (`time.monotonic()`); a guard that reads in parts
    # answers by then with what it read and a PARTIAL_SCAN finding. None: no deadline.
    deadline: float | None = None
    # The request's `response_format` as the client sent it (OpenAI chat; None when absent):
    # the request's own promise about the answer's shape, for guards that check it (json_schema
    # `from_request`). Set by the flow from the request body (issue #23 hook).
    response_format: dict[str, Any] | None = None


WORK_OWNER: ContextVar[str] = ContextVar("guardrail_work_owner", default="")
"""Whose work this is: the server-made key of the request being checked (set by
`Pipeline.check`). The inference pool takes turns per owner, so a request that sends many texts
gets one turn, not one per text (guardrail/inference/fair.py); empty outside a request."""
