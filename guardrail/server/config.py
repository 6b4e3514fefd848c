"""The server config file (`guardrail serve --server-config server.yaml`): tenants and keys.

```yaml
version: 1
tenants:                       # callers must present a proxy key; each key belongs to a tenant
  acme:
    policy: policies/acme.yaml # relative to this file; may `extends:` a shared base
    keys: ["sha256:9f86d0..."] # `guardrail keys hash KEY` prints these
  globex:
    policy: policies/strict.yaml
    keys: ["sha256:60303a...", "sha256:fd61a0..."]
admin_keys: ["sha256:..."]     # optional: when set, GET /metrics needs one of these keys
reload: {watch_ms: 1000}       # poll the files every N ms (0: only SIGHUP / check_now)
console: {enabled: false, buffer: 500}  # the browser console at /console (needs admin_keys)
```

Without `tenants`, `policy: FILE` serves every caller with one policy and asks for no key.
Keys are never written in the file, only their sha256. The file is validated like a policy
file: unknown keys are errors, and every problem names its file, line and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from ruamel.yaml.error import YAMLError

from guardrail.errors import PolicyError, PolicyProblem
from guardrail.policy.locations import Locations, locate, parse_yaml
from guardrail.policy.model import NAME_PATTERN

KEY_HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"
DEFAULT_WATCH_MS = 1000


def _check_hash(key: str) -> str:
    if not re.match(KEY_HASH_PATTERN, key):
        shown = key[:7] + "..." if len(key) > 7 else key  # may be a pasted key: show little
        raise ValueError(
            f"keys are stored hashed: expected 'sha256:<64 hex>' (got {shown!r}); "
            "run `guardrail keys hash KEY`"
        )
    return key


KeyHash = Annotated[str, AfterValidator(_check_hash)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantConfig(_Strict):
    """One tenant: its policy and the hashes of the proxy keys that identify it."""

    policy: str = Field(min_length=1)
    keys: list[KeyHash] = Field(min_length=1)


class ReloadConfig(_Strict):
    """How policy and config changes are noticed."""

    watch_ms: int = Field(default=DEFAULT_WATCH_MS, ge=0, le=3_600_000)


class ConsoleConfig(_Strict):
    """The browser console at `/console` (docs/console.md): off unless enabled."""

    enabled: bool = False
    buffer: int = Field(default=500, ge=1, le=100_000)  # recent decisions kept for the live view


class ServerConfig(_Strict):
    """What the proxy serves: one policy for everyone, or a policy per tenant behind keys."""

    version: Literal[1] = 1
    policy: str | None = None
    tenants: dict[str, TenantConfig] = {}
    admin_keys: list[KeyHash] = []
    reload: ReloadConfig = ReloadConfig()
    console: ConsoleConfig = ConsoleConfig()

    @model_validator(mode="after")
    def _check(self) -> ServerConfig:
        if (self.policy is None) == (not self.tenants):
            raise ValueError("set either `policy` (one policy, no keys) or `tenants`, not both")
        if self.console.enabled and not self.admin_keys:
            raise ValueError("`console: {enabled: true}` needs `admin_keys` (who may open it)")
        owner: dict[str, str] = {}
        for name, tenant in self.tenants.items():
            if not _name_ok(name):
                raise ValueError(f"tenant name {name!r} must match {NAME_PATTERN}")
            for key in tenant.keys:
                if key in owner and owner[key] != name:
                    raise ValueError(
                        f"key {key[:15]}... belongs to both {owner[key]!r} and {name!r}"
                    )
                owner[key] = name
        return self

    @property
    def keyed(self) -> bool:
        """True when callers must present a proxy key."""
        return bool(self.tenants)

    def policies(self, base_dir: Path) -> dict[str, Path]:
        """Tenant name -> policy path (`""` names the policy for every caller)."""
        if self.policy is not None:
            return {"": base_dir / self.policy}
        return {name: base_dir / t.policy for name, t in self.tenants.items()}


def _name_ok(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None


def parse_server_config(text: str, file: str) -> ServerConfig:
    """Validate server config text; `PolicyError` (file:line problems) when invalid."""
    try:
        data, locations = parse_yaml(text)
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)  # where a syntax error is (no text quoted)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        problem = PolicyProblem(file, line, col, "", f"YAML error: {type(exc).__name__}")
        raise PolicyError([problem]) from None
    if not isinstance(data, dict):
        raise PolicyError([PolicyProblem(file, 1, 1, "", "a server config must be a mapping")])
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems(file, locations, exc)) from None


def load_server_config(path: str | Path) -> ServerConfig:
    """Read and validate a server config file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = PolicyProblem(str(path), None, None, "", f"cannot read: {exc}")
        raise PolicyError([problem]) from None
    return parse_server_config(text, str(path))


def _problems(file: str, locations: Locations, error: ValidationError) -> list[PolicyProblem]:
    problems = []
    for item in error.errors(include_url=False):
        path: tuple[str | int, ...] = tuple(item["loc"])
        line, col = locate(locations, path) or (None, None)
        problems.append(PolicyProblem(file, line, col, ".".join(map(str, path)), _message(item)))
    return problems


def _message(item: Any) -> str:
    if item["type"] == "extra_forbidden":
        return f"unknown key {item['loc'][-1]!r} (not allowed here)"
    if item["type"] == "missing":
        return f"required key {item['loc'][-1]!r} is missing"
    msg = str(item["msg"])
    return msg.removeprefix("Value error, ")
