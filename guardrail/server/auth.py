"""Proxy keys -> tenant -> the proxy (policy) that answers that tenant.

Keys are kept only as sha256 hashes (`sha256:<hex>`, made by `guardrail keys hash KEY`). A
caller presents its key as `Authorization: Bearer KEY` (OpenAI SDKs) or `x-api-key: KEY`
(Anthropic SDKs); its hash is compared with every configured hash by `hmac.compare_digest`,
without stopping at the first match, so the time taken does not depend on which key matched.

A `Tenancy` is immutable: a reload builds a new one and swaps it in with one assignment, and
a request keeps the proxy it resolved at its start until it ends.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from guardrail.errors import AuthError
from guardrail.server.proxy import Proxy

KEY_PREFIX = "sha256:"


def hash_key(key: str) -> str:
    """`sha256:<hex>` of a proxy key: what the server config stores."""
    return KEY_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _digest(key_hash: str) -> bytes:
    return bytes.fromhex(key_hash.removeprefix(KEY_PREFIX))


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a caller sent: `Authorization: Bearer KEY`, else `x-api-key`."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("x-api-key", "").strip() or None


def unauthorized() -> AuthError:
    """The error for a missing or unknown key (the same words for both: no probing)."""
    return AuthError("a valid guardrail proxy key is required (Authorization: Bearer or x-api-key)")


@dataclass(frozen=True)
class Tenancy:
    """Who may call, and which proxy answers them."""

    open_proxy: Proxy | None  # answers every caller when no keys are configured
    keyed: tuple[tuple[bytes, Proxy], ...] = ()  # (sha256 digest of a key, its tenant's proxy)
    admin_keys: tuple[str, ...] = ()  # hashes of the keys that may read /metrics (if any)

    @classmethod
    def open(cls, proxy: Proxy) -> Tenancy:
        """One proxy for everyone, no keys asked."""
        return cls(open_proxy=proxy)

    @classmethod
    def with_keys(cls, tenants: Iterable[tuple[Proxy, Iterable[str]]]) -> Tenancy:
        """A proxy per tenant, each reached by the keys whose hashes are given."""
        keyed = tuple((_digest(h), proxy) for proxy, hashes in tenants for h in hashes)
        return cls(open_proxy=None, keyed=keyed)

    def resolve(self, headers: Mapping[str, str]) -> Proxy | None:
        """The caller's proxy, or None when its key is missing or unknown."""
        if self.open_proxy is not None:
            return self.open_proxy
        key = presented_key(headers)
        if key is None:
            return None
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        found: Proxy | None = None
        for candidate, proxy in self.keyed:  # no early exit: same work for every key
            if hmac.compare_digest(candidate, digest):
                found = proxy
        return found

    @property
    def proxies(self) -> dict[str, Proxy]:
        """Tenant name -> proxy (`""` for the open proxy)."""
        if self.open_proxy is not None:
            return {"": self.open_proxy}
        return {proxy.tenant: proxy for _, proxy in self.keyed}


def key_matches(headers: Mapping[str, str], hashes: Iterable[str]) -> bool:
    """Whether the caller presented one of these keys (admin keys for /metrics)."""
    key = presented_key(headers)
    if key is None:
        return False
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    matched = False
    for key_hash in hashes:
        matched |= hmac.compare_digest(_digest(key_hash), digest)
    return matched
