"""guardrail: a checkpoint between LLM apps and model providers.

Public API (pinned by tests/test_public_api.py):

    from guardrail import Pipeline, load_policy, Stage, Action, Decision, ContentBlocked
"""

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

__version__ = "0.1.0"

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
]
