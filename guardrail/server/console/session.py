"""Who may use the console: an admin key (`admin_keys` in the server config), presented as
`Authorization: Bearer KEY` / `x-api-key` (scripts, curl) or once on the login form, which
then sets a session cookie (browsers: pages, `fetch` and `EventSource` send it by themselves).

The cookie holds no key: `<expires>.<admin key hash>.<HMAC>`, signed with a secret that
never leaves the process (`GUARDRAIL_CONSOLE_SECRET`, else random per process; `guardrail
serve --workers N` sets one for all its workers). It names the admin key hash it was made
with, so taking that hash out of `admin_keys` (a reload) ends its sessions at once. It is
`HttpOnly` and `SameSite=Strict`: page scripts cannot read it, and other sites' pages cannot
make the browser send it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping, Sequence

from guardrail.server.auth import hash_key, key_matches

COOKIE = "guardrail_console"
SECRET_ENV = "GUARDRAIL_CONSOLE_SECRET"
SESSION_S = 8 * 3600  # a working day; then the login form again


class Sessions:
    """Makes and checks console session cookies."""

    def __init__(self, secret: str | None = None) -> None:
        secret = secret or os.environ.get(SECRET_ENV) or secrets.token_hex(32)
        self._secret = secret.encode("utf-8")

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self, key: str, now: float | None = None) -> str:
        """A cookie value for a caller who presented the admin key `key` (already checked)."""
        expires = int((now or time.time()) + SESSION_S)
        payload = f"{expires}.{hash_key(key)}"
        return f"{payload}.{self._mac(payload)}"

    def valid(self, cookie: str, admin_keys: Sequence[str], now: float | None = None) -> bool:
        """Whether the cookie is ours, unexpired, and its admin key is still configured."""
        payload, _, mac = cookie.rpartition(".")
        expires, _, key_hash = payload.partition(".")
        if not small_number(expires) or int(expires) < (now or time.time()):
            return False
        # bytes: compare_digest raises on a str that is not ASCII (a forged cookie can be)
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode("utf-8", "replace")):
            return False
        return key_hash in admin_keys


def small_number(text: str) -> bool:
    """Whether `text` is a plain number `int()` reads at once. `str.isdigit` alone also takes
    "²" (which `int` refuses) and 5,000 digits (over Python's int-from-string limit): both
    would make a forged cookie or event id a server error instead of a refusal."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def admitted(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    sessions: Sessions,
    admin_keys: Sequence[str],
) -> bool:
    """Whether a request may use the console: an admin key in its headers or a valid session."""
    if not admin_keys:  # the config refuses a console without admin keys; never open
        return False
    if key_matches(headers, admin_keys):
        return True
    cookie = cookies.get(COOKIE)
    return cookie is not None and sessions.valid(cookie, admin_keys)
