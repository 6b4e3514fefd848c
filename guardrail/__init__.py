"""guardrail: a checkpoint between LLM apps and model providers.

Public API (pinned by tests/test_public_api.py):

    from guardrail import Pipeline, load_policy, Stage, Action, Decision, ContentBlocked, wrap
"""

from typing import TYPE_CHECKING, Any

from guardrail.errors import (
    BundleError,
    ContentBlocked,
    GuardrailError,
    PolicyError,
    UpstreamError,
)
from guardrail.pipeline import Pipeline, RequestState
from guardrail.policy import Policy, load_policy
from guardrail.types import (
    Action,
    Block,
    CheckContext,
    Decision,
    FailMode,
    Finding,
    Mode,
    RuleHit,
    Span,
    Stage,
)

if TYPE_CHECKING:
    from guardrail.client import wrap

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "wrap":  # lazy: the openai SDK costs ~0.9 s to import; `guardrail check` stays light
        from guardrail.client import wrap

        return wrap
    raise AttributeError(f"module 'guardrail' has no attribute {name!r}")


__all__ = [
    "Action",
    "Block",
    "BundleError",
    "CheckContext",
    "ContentBlocked",
    "Decision",
    "FailMode",
    "Finding",
    "GuardrailError",
    "Mode",
    "Pipeline",
    "Policy",
    "PolicyError",
    "RequestState",
    "RuleHit",
    "Span",
    "Stage",
    "UpstreamError",
    "__version__",
    "load_policy",
    "wrap",
]
