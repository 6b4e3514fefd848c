"""The error tree. Every class has a stable `code` that clients and tests can rely on.

    GuardrailError                      guardrail_error
    ├── PolicyError                     policy_invalid      (file, line, column, field, expected)
    ├── BundleError                     bundle_invalid      (missing / corrupt classifier bundle)
    ├── GuardError                      guard_failed        (a guard raised while scanning)
    │   └── GuardTimeout                guard_timeout
    ├── RequestError                    invalid_request     (malformed body / wire format)
    │   ├── LimitExceeded               limit_exceeded      (size, count, length limits)
    │   │   └── TooManyParts            too_many_parts      (content parts in one request)
    │   ├── BodyTimeout                 body_timeout        (the body did not arrive in time)
    │   ├── UncheckableInput            uncheckable_input   (input guards cannot read, e.g.
    │   │                                                        token ids: never forwarded)
    │   ├── NotFound                    not_found           (no endpoint at this path)
    │   ├── MethodNotAllowed            method_not_allowed  (the path has no such method)
    │   └── AmbiguousFraming            ambiguous_framing   (Content-Length and
    │                                                        Transfer-Encoding both set)
    ├── AuthError                       unauthorized
    ├── NotReady                        not_ready           (the policy is still loading)
    ├── NotSupported                    not_supported       (the configured upstream cannot
    │                                                        serve this endpoint)
    ├── UpstreamError                   upstream_error      (provider failed)
    │   ├── UpstreamTimeout             upstream_timeout
    │   ├── UpstreamUnavailable         upstream_unavailable (connection refused / reset)
    │   └── UpstreamBadResponse         upstream_bad_response (malformed upstream answer)
    └── ContentBlocked                  content_blocked     (a policy rule blocked the call;
                                                             raised only at the edges)

Inside the core a block is a value (`Decision.block`); `ContentBlocked` exists for the
in-process wrapper, where an exception is the natural way to stop the caller.

A block's own code (`Block.code`: the `code` of an error answer for a block, and
`ContentBlocked.block_code`) is the rule's, or one of guardrail's:

    content_blocked                     a rule that names no `code` of its own
    guard_unavailable                   a guard could not run and its rule fails closed
                                        (503: our outage, not the client's fault)
    limit_exceeded                      a streamed span outgrew the hold-back bound before
                                        it could be checked whole (the stream is cut)

`tests/test_error_tree.py` pins that every code the source emits is in this docstring.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GuardrailError(Exception):
    """Base of every error guardrail raises on purpose."""

    code: ClassVar[str] = "guardrail_error"
    http_status: ClassVar[int] = 500


class PolicyError(GuardrailError):
    """A policy file is invalid. Carries every problem found, each with its location."""

    code = "policy_invalid"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PolicyProblem:
    """One validation problem: where it is and what was expected."""

    def __init__(
        self,
        file: str,
        line: int | None,
        column: int | None,
        field: str,
        message: str,
    ) -> None:
        self.file, self.line, self.column = file, line, column
        self.field, self.message = field, message

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (used by `guardrail policy validate --json`)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class BundleError(GuardrailError):
    """A classifier bundle is missing, incomplete or fails its hash check."""

    code = "bundle_invalid"


class GuardError(GuardrailError):
    """A guard raised while scanning."""

    code = "guard_failed"


class GuardTimeout(GuardError):
    """A guard did not answer within its rule's timeout."""

    code = "guard_timeout"


class RequestError(GuardrailError):
    """The client sent something we cannot read."""

    code = "invalid_request"
    http_status = 400


class LimitExceeded(RequestError):
    """A configured limit (body size, messages, characters) was exceeded."""

    code = "limit_exceeded"
    http_status = 413

    def __init__(
        self, limit: str, value: int, maximum: int, *, name: str = "", param: str | None = None
    ) -> None:
        # limit: what was measured ("characters in messages[2]"); name: the setting
        # ("max_message_chars"); param: the request field it is about, if one.
        self.limit, self.value, self.maximum = limit, value, maximum
        self.name, self.param = name, param
        setting = f" ({name})" if name else ""
        super().__init__(f"{limit} is {value}, the limit is {maximum}{setting}")

    def details(self) -> dict[str, Any]:
        """Extra fields for the client's error body: `param`, `limit` and `maximum`."""
        return {"param": self.param, "limit": self.name or self.limit, "maximum": self.maximum}


class TooManyParts(LimitExceeded):
    """More content parts (parts, blocks, tool calls, prompts) than `max_parts` in one
    request: each part costs guard work, so their number is bounded like the characters."""

    code = "too_many_parts"


class BodyTimeout(RequestError):
    """The request body did not arrive within `max_body_seconds` (a slow or stalled client:
    it must not hold a connection and a request slot for as long as it likes)."""

    code = "body_timeout"
    http_status = 408


class AmbiguousFraming(RequestError):
    """A request declares its body length twice (`Content-Length` and `Transfer-Encoding`):
    servers and proxies in front of us may read it differently (request smuggling)."""

    code = "ambiguous_framing"


class UncheckableInput(RequestError):
    """The request carries input the guards cannot read (token ids instead of text): it is
    refused, since forwarding it would let it past every input rule."""

    code = "uncheckable_input"


class NotFound(RequestError):
    """No endpoint at this path (answered in the API's error shape, not as plain text)."""

    code = "not_found"
    http_status = 404


class MethodNotAllowed(RequestError):
    """The path exists but not with this HTTP method (the answer's `Allow` header lists
    the methods it has)."""

    code = "method_not_allowed"
    http_status = 405


class AuthError(GuardrailError):
    """Missing or unknown proxy key."""

    code = "unauthorized"
    http_status = 401


class NotReady(GuardrailError):
    """The policy (and the classifier bundles it names) is still loading, or failed to."""

    code = "not_ready"
    http_status = 503


class NotSupported(GuardrailError):
    """The endpoint exists, but the configured upstream cannot serve it (e.g. Anthropic's
    token counting behind an OpenAI-only upstream); never answered with a made-up value."""

    code = "not_supported"
    http_status = 501


class UpstreamError(GuardrailError):
    """The model provider failed."""

    code = "upstream_error"
    http_status = 502

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class UpstreamTimeout(UpstreamError):
    """The provider did not answer in time."""

    code = "upstream_timeout"
    http_status = 504


class UpstreamUnavailable(UpstreamError):
    """The provider could not be reached (refused / reset)."""

    code = "upstream_unavailable"
    http_status = 502


class UpstreamBadResponse(UpstreamError):
    """The provider answered with something we cannot read."""

    code = "upstream_bad_response"
    http_status = 502


class ContentBlocked(GuardrailError):
    """A policy rule blocked the call (raised by the in-process wrapper)."""

    code = "content_blocked"
    http_status = 400

    def __init__(self, rule: str, stage: str, message: str, code: str = "content_blocked"):
        self.rule, self.stage, self.message = rule, stage, message
        self.block_code = code
        super().__init__(f"{message} (rule {rule!r}, stage {stage})")


DEFAULT_BLOCK_CODE = "content_blocked"
"""The block code of a rule that names none."""
GUARD_UNAVAILABLE = "guard_unavailable"
"""The block code when a guard could not run and its rule fails closed."""
BLOCK_CODES = frozenset({DEFAULT_BLOCK_CODE, GUARD_UNAVAILABLE, "limit_exceeded"})
"""The block codes guardrail sets itself (a rule may name its own)."""


def _tree(cls: type[GuardrailError]) -> list[type[GuardrailError]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _tree(sub))]


ERROR_CODES: dict[str, type[GuardrailError]] = {
    cls.code: cls for cls in _tree(GuardrailError) if cls.__module__ == __name__
}
"""Every error class of this module, by code (subclasses elsewhere, e.g. a guard's own
`GuardError`, keep their parent's code)."""
