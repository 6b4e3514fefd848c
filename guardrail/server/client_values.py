"""Client-supplied header values, made safe to log and echo.

A client chooses its `x-request-id`; we log it in `policy.decided` and `request.completed`
and echo it in the answer's `x-request-id` header. A client that puts a credential or a
prompt there (by mistake, or to smuggle text into our logs) must not get it written out.

`request_id(value)`:

- empty: a fresh random id (uuid4 hex);
- an id-shaped value (1-64 of `A-Z a-z 0-9 . _ : -`) that does not look like a secret: kept,
  so that clients can follow their own ids through our logs;
- anything else -- too long, other characters, a known credential prefix (`AKIA`, `ghp_`,
  `sk-` ... at the start of a word) or a run of 20 or more letters and digits (a random
  token: mixed-case keys, but also hex keys and tokens, which look like hex ids; only the
  dashed UUID form is kept): `h-` + the first 24 hex digits of its SHA-256. The same value always
  gives the same hash, so a client can still match its calls; the value is never written.
"""

from __future__ import annotations

import hashlib
import re
import uuid

MAX_ID_CHARS = 64
HASH_PREFIX = "h-"
_ID_SHAPE = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_ID_CHARS}}}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Credential prefixes of the common providers (AWS access keys, GitHub, GitLab, Slack,
# OpenAI / Anthropic / Stripe, Google, Hugging Face, npm, SendGrid, JWTs).
_SECRET_PREFIX = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|xox[abposr]-"
    r"|sk-|sk_live_|sk_test_|rk_live_|rk_test_|pk_live_|AIza|ya29\.|hf_|npm_|SG\.|eyJ)"
)
# 20+ letters and digits in a row: a random token (API key, session secret, hex token) rather
# than a readable id. Hex ids look the same as hex keys, so they are hashed too.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9]{20,}")


def request_id(value: str) -> str:
    """The id to log and echo for a client's `x-request-id` (see the module docstring)."""
    if not value:
        return uuid.uuid4().hex
    if _loggable(value):
        return value
    return hashed(value)


def hashed(value: str) -> str:
    """`h-` + 24 hex digits of the value's SHA-256: stable, and says nothing of the value."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return HASH_PREFIX + digest[:24]


def _loggable(value: str) -> bool:
    if not _ID_SHAPE.fullmatch(value) or value.startswith(HASH_PREFIX):
        return False  # a client cannot pass off its own value as one of our hashes
    if _UUID.fullmatch(value):
        return True
    if _SECRET_PREFIX.search(value):
        return False
    return _TOKEN_RUN.search(value) is None
