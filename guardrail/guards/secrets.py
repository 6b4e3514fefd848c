"""`secrets` guard: credentials, API keys and private keys, located to the secret's characters.

Three sources, merged (on overlap the longer span wins; on a tie the more specific source):

1. `PATTERNS`: RE2 patterns for high-signal key formats (OpenAI, Anthropic, Google, GitHub,
   GitLab, Slack, Stripe, AWS, Hugging Face, npm, SendGrid, Twilio, JWT, PEM private keys,
   passwords in URLs).
2. `CONTEXT_PATTERNS`: values given to a secret-sounding name (`DB_PASSWORD=...`,
   `"api_key": "..."`, "my password is ...") and `Bearer` credentials; the value must also
   `looks_like_secret` (mixed characters, not a type name or a code reference).
3. detect-secrets' plugin classes, called directly (`plugin.analyze_string`, the call its
   `scan_line` makes, without its process-global settings), with its false-positive
   heuristics (`detect_secrets.filters.heuristic`) applied as its scanner would.

Spans cover the secret value only (a pattern's first capture group that took part).

Why detect-secrets is not simply run on each line: its plugins use Python `re`, and some
backtrack catastrophically on hostile input (measured: `IbmCloudIamDetector` takes 4 s on a
1 kB line and 47 s on 2 kB; `KeywordDetector` 0.1 s on 600 chars, growing faster than
linearly). A regex plugin is therefore used only when RE2 accepts all its patterns: RE2 finds
the candidates in linear time and the plugin confirms each one (with its own extra checks,
such as the JWT decoder) on a short window around it. Plugins whose patterns need lookaround
(IBM Cloud IAM, IBM COS HMAC, SoftLayer, Cloudant, GitLab: the GitLab formats are in
`PATTERNS`) and `KeywordDetector` (replaced by `secret_assignment`) are not used. The
entropy-only plugins (`base64_high_entropy_string`, `hex_high_entropy_string`) scan whole
lines (their quoted-string pattern is linear) and run only when named in `types`, since they
also flag git SHAs and digests. Public IPv4 addresses are the `pii` guard's business.

With `read_encoded` (default on) the same search runs over each encoded payload of the text
(`guardrail.decode`: base64, hex ...), and a secret found there is reported over the whole
encoded run: a Kubernetes Secret's base64 values or a hex-encoded token are redacted whole.

Everything found drops placeholders (`${VAR}`, `$VAR`, `<token>`, `xxxx`, `your_api_key`).
Labels are snake_case secret types; detect-secrets types that a pattern already covers share
its label.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
from pydantic import ConfigDict, Field, field_validator

from guardrail.canonical import fold_punctuation
from guardrail.decode import Decoder
from guardrail.guards._spans import Hit, Screen, compile_re2, longest_first, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

_END = r"(?:[^A-Za-z0-9_-]|$)"  # what may follow a token whose length is fixed

PATTERNS: Mapping[str, str] = {
    "private_key": (
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:(?s:.*?)-----END[A-Z0-9 ]*"
        r"PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*)"
    ),
    "anthropic_api_key": r"\b(sk-ant-[A-Za-z0-9_-]{20,})",
    "openai_api_key": r"\b(sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20,}))",
    "google_api_key": rf"\b(AIza[0-9A-Za-z_-]{{35}}){_END}",
    "github_token": r"\b(gh[pousr]_[A-Za-z0-9]{36,})",
    "github_pat": r"\b(github_pat_[A-Za-z0-9_]{22,})",
    "gitlab_token": (
        r"\b((?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-[A-Za-z0-9_-]{20,}"
        r"|GR1348941[A-Za-z0-9_-]{20,})"
    ),
    "slack_token": r"\b(xox[abposr]-[A-Za-z0-9-]{10,})",
    "slack_webhook": (
        r"(https://hooks\.slack\.com/(?:services|workflows)/T[A-Za-z0-9_]+/[A-Za-z0-9_]+"
        r"/[A-Za-z0-9_]+)"
    ),
    "stripe_key": r"\b((?:sk|rk)_live_[A-Za-z0-9]{20,})",
    # Key ids are base32 after the prefix; in another letter case the model still reads one.
    "aws_access_key_id": (
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|(?i:AKIA|ASIA|ABIA|ACCA)[A-Za-z2-7]{16})\b"
    ),
    # Named, or right after its key id as the console's credentials CSV writes it
    # ("AKIA…,<secret>"): a key id's secret is a secret wherever the id is found.
    "aws_secret_access_key": (
        r"(?:(?i:aws[_ ]?secret(?:[_ ]?access)?[_ ]?key|secret[_ ]?access[_ ]?key)[\"']?\s*"
        r"(?:=|:|=>|\bis\b)?\s*|\b(?i:AKIA|ASIA|ABIA|ACCA)[A-Za-z0-9]{16}[\"']?[ \t]*"
        r"[,;|\t:][ \t]*)[\"']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
    ),
    "huggingface_token": r"\b(hf_[A-Za-z0-9]{30,})",
    "npm_token": rf"\b(npm_[A-Za-z0-9]{{36}}){_END}",
    "sendgrid_api_key": rf"\b(SG\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}){_END}",
    "twilio_api_key": rf"\b(SK[0-9a-fA-F]{{32}}){_END}",
    # The header of a JWS/JWT is base64url JSON ("eyJ"); the payload need not be JSON.
    "jwt": r"\b(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,})",
    "url_password": r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'<>]*:([^\s/@\"'<>]+)@[A-Za-z0-9\[]",
}

# Secrets recognised by where they stand, not by their shape: each value must also pass
# `looks_like_secret`, and on a tie a format pattern above names it.
_KEY = (
    r"(?:[A-Za-z0-9]*(?:passw(?:or)?d|pwd|secret|token|apikey)|pass|api[_-]key|access[_-]key"
    r"|private[_-]key|auth[_-]?key|credentials?)s?"
)
_VALUE = r"(?:\"([^\"\r\n]+)\"|'([^'\r\n]+)'|([^\s\"'`,;)\]}]+))"
CONTEXT_PATTERNS: Mapping[str, str] = {
    "secret_assignment": (
        rf"(?i)(?:^|[^A-Za-z0-9_.-])(?:[A-Za-z0-9]+[_.-])*{_KEY}(?:[_.-][A-Za-z0-9]+)*[\"'\]]?"
        rf"\s*(?:=|:=|:|=>|::)\s*{_VALUE}"
        r"|\b(?:password|passphrase|passcode)\b[^\r\n:=]{0,40}?(?:\bis\b|:)\s*[\"'`]?"
        r"([^\s\"'`]*[^\s\"'`.,;])"
    ),
    "bearer_token": (
        r"(?i)(?:\bbearer|\bauthorization[\"']?\s*[:=]\s*[\"']?basic)\s+([^\s\"'`<>]{8,})"
    ),
}

# detect-secrets types that a pattern above also finds: report them under one label.
SHARED_LABELS: Mapping[str, str] = {
    "AWS Access Key": "aws_access_key_id",
    "Basic Auth Credentials": "url_password",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "JSON Web Token": "jwt",
    "NPM tokens": "npm_token",
    "OpenAI Token": "openai_api_key",
    "Private Key": "private_key",
    "SendGrid API Key": "sendgrid_api_key",
    "Slack Token": "slack_token",
    "Stripe Access Key": "stripe_key",
    "Twilio API Key": "twilio_api_key",
}
SKIPPED_PLUGINS = frozenset({"Public IP (ipv4)"})  # PII, not a secret
CONTEXTUAL = frozenset(CONTEXT_PATTERNS)
OPT_IN = frozenset({"base64_high_entropy_string", "hex_high_entropy_string"})
WINDOW = 48  # characters of context a plugin sees on each side of an RE2 candidate

_PLACEHOLDER = compile_re2(
    r"x{4,}|\*{3,}|\.{3}|…|example|your[_-]|<[^>]*>|\{\{|\$\{|%\(|changeme|placeholder|redacted",
    ignore_case=True,
)
_ENV_REFERENCE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")  # $DB_PASSWORD, but not "$3cr3t!"
_CODE_REFERENCE = re.compile(r"[A-Za-z_][\w.]*(?:[\[(].*)?")  # config.KEY, os.environ[...
_LINE = re.compile(r"[^\r\n]+")
NOT_SECRETS = frozenset(
    {
        *("none", "null", "nil", "true", "false", "undefined", "required", "optional"),
        *("string", "str", "bytes", "int", "bool", "env", "environ"),
        *("bearer", "basic", "token", "secret", "password", "redacted", "masked", "hidden"),
    }
)


@dataclass(frozen=True)
class Plugin:
    """A detect-secrets plugin and the RE2 forms of its patterns (None: scan whole lines)."""

    label: str
    detector: Any
    candidates: tuple[Any, ...] | None

    def windows(
        self, text: str, candidates: tuple[Any, ...] | None = None
    ) -> Iterator[tuple[int, str]]:
        """(offset, piece of one line) pieces that the plugin should analyse (around the
        matches of `candidates`: all of its own by default, or those known to match)."""
        if self.candidates is None:
            yield from ((line.start(), line.group()) for line in _LINE.finditer(text))
            return
        for pattern in self.candidates if candidates is None else candidates:
            for match in pattern.finditer(text):
                yield _window(text, match.start(), match.end())


def _window(text: str, start: int, end: int) -> tuple[int, str]:
    """Up to WINDOW characters either side of `[start, end)`, not crossing a line break."""
    low, high = max(0, start - WINDOW), min(len(text), end + WINDOW)
    low = text.rfind("\n", low, start) + 1 or low
    newline = text.find("\n", end, high)
    return low, text[low : high if newline < 0 else newline]


def _re2_forms(detector: Any) -> tuple[Any, ...] | None:
    """RE2 versions of a regex plugin's patterns; None when RE2 cannot express them all."""
    forms = []
    for pattern in detector.denylist:
        verbose_layout = pattern.flags & re.VERBOSE and re.search(r"[\s#]", pattern.pattern)
        if pattern.flags & ~(re.IGNORECASE | re.UNICODE | re.VERBOSE) or verbose_layout:
            return None
        try:
            forms.append(compile_re2(pattern.pattern, ignore_case=bool(pattern.flags & re.I)))
        except ValueError:
            return None
    return tuple(forms)


def _screened(label: str, detector: Any) -> Plugin | None:
    if isinstance(detector, HighEntropyStringsPlugin):
        return Plugin(label, detector, None)
    if isinstance(detector, RegexBasedDetector):
        forms = _re2_forms(detector)
        return Plugin(label, detector, forms) if forms is not None else None
    return None  # KeywordDetector: superseded by `secret_assignment`


def label_of(secret_type: str) -> str:
    """Our label for a detect-secrets type: shared, or its name in snake_case."""
    shared = SHARED_LABELS.get(secret_type)
    return shared or re.sub(r"[^a-z0-9]+", "_", secret_type.lower()).strip("_")


@cache
def detect_secrets_plugins() -> tuple[Plugin, ...]:
    """The usable detect-secrets plugins, built with their default parameters."""
    classes: dict[str, Any] = get_mapping_from_secret_type_to_class()
    plugins = (
        _screened(label_of(secret_type), plugin_class())
        for secret_type, plugin_class in classes.items()
        if secret_type not in SKIPPED_PLUGINS
    )
    return tuple(plugin for plugin in plugins if plugin is not None)


def known_types() -> list[str]:
    """Every label this guard can report."""
    plugin_labels = {plugin.label for plugin in detect_secrets_plugins()}
    return sorted({*PATTERNS, *CONTEXT_PATTERNS, *plugin_labels})


def is_placeholder(value: str) -> bool:
    """Template variables, masks and documentation stand-ins rather than real secrets."""
    return (
        heuristic.is_templated_secret(value)
        or _ENV_REFERENCE.fullmatch(value) is not None
        or heuristic.is_not_alphanumeric_string(value)
        or _PLACEHOLDER.search(value) is not None
    )


def looks_like_secret(value: str) -> bool:
    """For secrets found by context: long enough, mixed characters, not code or a type name."""
    classes = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() and c not in "_.-" for c in value),
    )
    code = _CODE_REFERENCE.fullmatch(value) is not None and not classes[2]
    return (
        len(value) >= 6
        and sum(classes) >= 2
        and value.lower() not in NOT_SECRETS
        and not code
        and "://" not in value
    )


def accept(label: str, value: str) -> bool:
    """Whether a found value is reported: never placeholders; context finds must look secret."""
    if is_placeholder(value):
        return False
    return label not in CONTEXTUAL or looks_like_secret(value)


def plugin_values(detector: Any, line: str) -> set[str]:
    """Secret values one detect-secrets plugin finds in (part of) a line, after its filters."""
    values = set(detector.analyze_string(line))
    if isinstance(detector, HighEntropyStringsPlugin):
        limit = detector.entropy_limit
        values = {v for v in values if detector.calculate_shannon_entropy(v) > limit}
    return {
        value
        for value in values
        if value.strip()
        and not heuristic.is_sequential_string(value)
        and not heuristic.is_potential_uuid(value)
        and not heuristic.is_likely_id_string(value, line, detector)
    }


def _occurrences(line: str, value: str) -> Iterator[int]:
    start = line.find(value)
    while start >= 0:
        yield start
        start = line.find(value, start + len(value))


def _secret_span(match: Any) -> tuple[int, int]:
    """The first capture group that took part in the match, else the whole match."""
    for group in range(1, len(match.groups()) + 1):
        if match.start(group) >= 0:
            return int(match.start(group)), int(match.end(group))
    return int(match.start()), int(match.end())


class SecretsConfig(GuardConfig):
    """`types`: labels to report (None = all but the entropy-only ones)."""

    model_config = ConfigDict(strict=True)

    kind: Literal["secrets"] = "secrets"
    types: list[str] | None = None
    use_detect_secrets: bool = True
    read_encoded: bool = Field(
        default=True,
        description="also search the byte encodings in the text (base64, base32, Ascii85, hex, "
        "binary, percent and escape codes, HTML entities) decoded; a secret found there is "
        "reported over the whole encoded run (a Kubernetes Secret's data, a hex token)",
    )

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("types must not be empty (omit it to report every type)")
        known = known_types()
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(
                f"unknown secret types: {', '.join(unknown)}; valid: {', '.join(known)}"
            )
        return list(dict.fromkeys(value))


class SecretsGuard(NoThresholds):
    """Runs the RE2 patterns and the detect-secrets plugins over each text."""

    def __init__(
        self,
        name: str,
        patterns: Mapping[str, Any],
        plugins: Sequence[Plugin],
        decoder: Decoder | None = None,
    ):
        self.name = name
        self._patterns = dict(patterns)
        self._plugins = tuple(plugins)
        self._decoder = decoder  # `read_encoded`
        # every RE2 pattern (ours, then the plugins' candidates) in one set: a text is scanned
        # by the ones that match it somewhere
        candidates = [c for plugin in self._plugins for c in plugin.candidates or ()]
        self._screen = Screen([*self._patterns.values(), *candidates])
        # where each plugin's candidates start in that set
        sizes = [len(plugin.candidates or ()) for plugin in self._plugins]
        self._firsts = list(itertools.accumulate(sizes, initial=len(self._patterns)))[:-1]

    @property
    def reported_labels(self) -> frozenset[str]:
        """The chosen pattern types and detect-secrets plugin labels."""
        return frozenset(self._patterns) | {plugin.label for plugin in self._plugins}

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, secret type) with a span per secret value."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        text = fold_punctuation(text)  # a dash is a dash in "sk–proj–…" too
        hits = self._text_hits(text)
        for payload in self._decoder.payloads(text) if self._decoder else ():
            decoded = fold_punctuation(payload.text)
            # part of an encoded run means nothing: the whole run carries the secret
            hits += [
                Hit(payload.start, payload.end, hit.label, hit.priority)
                for hit in self._text_hits(decoded)
            ]
        return longest_first(hits)

    def _text_hits(self, text: str) -> list[Hit]:
        """The patterns' and the plugins' hits in `text` (the RE2 ones that match it only)."""
        found = self._screen.matching(text)
        return [*self._pattern_hits(text, found), *self._plugin_hits(text, found)]

    def _pattern_hits(self, text: str, found: frozenset[int] | None) -> Iterator[Hit]:
        for index, (label, compiled) in enumerate(self._patterns.items()):
            if found is not None and index not in found:
                continue
            priority = 1 if label in CONTEXTUAL else 0
            for match in compiled.finditer(text):
                start, end = _secret_span(match)
                if accept(label, text[start:end]):
                    yield Hit(start, end, label, priority)

    def _plugin_hits(self, text: str, found: frozenset[int] | None) -> Iterator[Hit]:
        for plugin, first in zip(self._plugins, self._firsts, strict=True):
            wanted = plugin.candidates
            if found is not None and wanted is not None:  # () runs no window
                wanted = tuple(c for k, c in enumerate(wanted) if first + k in found)
            for offset, window in plugin.windows(text, wanted):
                for value in plugin_values(plugin.detector, window):
                    if accept(plugin.label, value):
                        for start in _occurrences(window, value):
                            yield Hit(offset + start, offset + start + len(value), plugin.label, 2)


def _selected(labels: Sequence[str], types: Sequence[str] | None) -> list[str]:
    if types is None:
        return [label for label in labels if label not in OPT_IN]
    return [label for label in labels if label in types]


def build(config: SecretsConfig, context: BuildContext) -> SecretsGuard:
    """Compile the chosen patterns and pick the chosen detect-secrets plugins."""
    sources = {**PATTERNS, **CONTEXT_PATTERNS}
    patterns = {
        label: compile_re2(sources[label], name=label)
        for label in _selected(list(sources), config.types)
    }
    plugins = detect_secrets_plugins() if config.use_detect_secrets else ()
    chosen = set(_selected([plugin.label for plugin in plugins], config.types))
    decoder = Decoder.tokens() if config.read_encoded else None
    chosen_plugins = [p for p in plugins if p.label in chosen]
    return SecretsGuard(context.name, patterns, chosen_plugins, decoder)


KIND = GuardKind(config=SecretsConfig, build=build)
