"""The public API surface and the error-code table are pinned."""

from __future__ import annotations

import guardrail
from guardrail.errors import ERROR_CODES

EXPECTED_API = {
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
}


def test_all_is_pinned() -> None:
    """`guardrail.__all__` changes only on purpose (update this list with the changelog)."""
    assert set(guardrail.__all__) == EXPECTED_API
    for name in guardrail.__all__:
        assert hasattr(guardrail, name)


def test_error_codes_are_stable() -> None:
    """Every documented error code maps to its class; codes never change silently."""
    assert sorted(ERROR_CODES) == [
        "ambiguous_framing",
        "body_timeout",
        "bundle_invalid",
        "content_blocked",
        "guard_failed",
        "guard_timeout",
        "guardrail_error",
        "invalid_request",
        "limit_exceeded",
        "method_not_allowed",
        "not_found",
        "not_ready",
        "not_supported",
        "policy_invalid",
        "too_many_parts",
        "unauthorized",
        "uncheckable_input",
        "upstream_bad_response",
        "upstream_error",
        "upstream_timeout",
        "upstream_unavailable",
    ]
    for code, cls in ERROR_CODES.items():
        assert cls.code == code
        assert code in (guardrail.errors.__doc__ or "")
