"""Policy files: schema (`model`), loading with line-aware errors (`load`), the pure
decision function (`decide`) and reversible redaction (`redact`)."""

from guardrail.policy.compile import CompiledRule, Policy
from guardrail.policy.decide import decide
from guardrail.policy.load import load_policy, load_policy_text
from guardrail.policy.redact import Vault

__all__ = ["CompiledRule", "Policy", "Vault", "decide", "load_policy", "load_policy_text"]
