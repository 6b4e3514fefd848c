"""`urls` guard: links in a text, plain or defanged, judged by their host.

Found (RE2, linear time):

- URLs with a scheme (`http`, `https`, `ftp`, `ws`/`wss`), also defanged: `hxxp://`,
  `hxxps[:]//`, `[://]`, and dots written `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`;
- bare domains (`example.com/path`, `evil[.]com`) whose top-level domain is in `tlds` (a
  list of common ones that are not also file extensions: `.py`, `.sh`, `.md`, `.pl` are
  Paraguay, Saint Helena, Moldova and Poland, but far more often files), or whose host is
  named by `allow_domains`, `deny_domains` or the shortener list, or that start with `www.`;
  a bare IPv4 address counts only with a port or a path (`10.0.0.1:8080`, `1.2.3.4/x`);
- `data:` URIs.

Each URL is judged on its host (lower-cased, defanged, trailing dot dropped). A domain in
the configuration matches itself and every subdomain, on label boundaries: `example.com`
matches `a.example.com`, not `badexample.com`. Labels (one finding per label, a span per
URL; a URL can carry several):

`denied_domain`, `not_allowed` (outside `allow_domains`, when set), `shortener`, `ip_host`
(an IPv4/IPv6 literal, also the integer and hex forms `http://2130706433/` that browsers
accept), `data_uri`, `obfuscated` (written defanged), and `url` for every URL when
`report_all` is on (to redact or count all links).

Only the standard library parses (`urllib.parse`, `ipaddress`, `socket.inet_aton`); there
is no public-suffix list, so matching is by suffix, as configured.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator

from guardrail.guards._spans import Hit, compile_re2, longest_per_label, scan_hits
from guardrail.guards.base import NoThresholds
from guardrail.guards.registry import BuildContext, GuardConfig, GuardKind
from guardrail.types import CheckContext, Finding

LABELS = frozenset(
    {"denied_domain", "not_allowed", "shortener", "ip_host", "data_uri", "obfuscated", "url"}
)

# Third-party link shorteners: the target is hidden until the link is followed.
SHORTENERS = (
    *("bit.ly", "bitly.com", "t.co", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "v.gd"),
    *("buff.ly", "rebrand.ly", "cutt.ly", "tiny.cc", "t.ly", "shorturl.at", "rb.gy"),
    *("bl.ink", "s.id", "adf.ly", "shorte.st", "tr.im", "x.co", "soo.gd", "clck.ru"),
    *("trib.al", "dlvr.it", "ift.tt", "lnkd.in", "db.tt", "qr.ae", "short.io", "u.to"),
)

# Common TLDs for bare domains; ones that are mostly file extensions or words are left out.
TLDS = (
    *("com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "ai", "dev", "app"),
    *("info", "biz", "xyz", "online", "site", "tech", "store", "cloud", "shop", "blog"),
    *("me", "tv", "ly", "gl", "gd", "cc", "us", "uk", "ca", "au", "de", "fr", "nl", "ru"),
    *("cn", "jp", "eu", "ch", "se", "es", "br", "kr", "nz", "ie", "at", "be", "dk", "fi"),
    *("cz", "hu", "ro", "gr", "ua", "tk", "top", "club", "link", "click", "live"),
)

_DOT = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[(?i:dot)\]|\((?i:dot)\)|\{(?i:dot)\})"
_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?"
_HOST = rf"{_LABEL}(?:{_DOT}{_LABEL})*"
_REST = r"(?::[0-9]{1,5})?(?:[/?#][^\s<>\"'`]*)?"
_SCHEME = r"(?i:hxxps?|https?|fxps?|ftps?|wss?)(?:://|\[:\]//|\[://\]|\(:\)//)"
_SCHEMED = rf"{_SCHEME}(?:[^\s/@<>\"'`]+@)?(?:\[[0-9A-Fa-f:.]+\]|{_HOST}){_REST}"
_BARE = rf"{_LABEL}(?:{_DOT}{_LABEL})+{_REST}"
_DATA = r"(?i:data):(?:[A-Za-z]+/[A-Za-z0-9.+-]+)?(?:;[A-Za-z0-9=.+-]+)*,[^\s<>\"'`]*"
URL_PATTERN = f"{_SCHEMED}|{_DATA}|{_BARE}"

# Defanged spellings -> what they stand for (case-insensitive; longer spellings first).
_DEFANGED = (
    ("[://]", "://"),
    ("[:]", ":"),
    ("(:)", ":"),
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("hxxp", "http"),
    ("fxp", "ftp"),
)
_DEFANGED_MEANING = dict(_DEFANGED)
_DEFANGED_RE = re.compile("|".join(re.escape(spelled) for spelled, _ in _DEFANGED), re.I)
_SCHEMES = re.compile(r"(?i)(?:https?|ftps?|wss?)://")
_HOST_END = re.compile(r"[/?#:]")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# sentence punctuation after a link is not part of it (also CJK full stops and commas)
_TRAILING = ".,;:!?'\"*_>\u3002\uff0c\u3001\uff01\uff1f\uff1b\uff1a"


def defang_undone(raw: str) -> str:
    """`raw` with its defanged spellings replaced by what they stand for (one pass)."""
    return _DEFANGED_RE.sub(lambda m: _DEFANGED_MEANING[m.group().lower()], raw)


def trimmed_end(text: str, start: int, end: int) -> int:
    """`end` moved back over trailing punctuation and closing brackets the link did not open.

    Bracket counts are taken once, so a link ending in many brackets costs linear time."""
    opened = {opener: text.count(opener, start, end) for opener in _CLOSERS.values()}
    closed = {closer: text.count(closer, start, end) for closer in _CLOSERS}
    while end > start:
        last = text[end - 1]
        opener = _CLOSERS.get(last)
        if last in _TRAILING:
            end -= 1
        elif opener and opened[opener] < closed[last]:
            closed[last] -= 1
            end -= 1
        else:
            return end
    return end


def under(host: str, domains: frozenset[str]) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one (label boundaries)."""
    if not domains:
        return False
    depth = max(domain.count(".") for domain in domains) + 1
    labels = host.rsplit(".", depth)[-depth:]  # only suffixes as deep as a listed domain
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def ip_literal(host: str) -> bool:
    """An IPv4/IPv6 literal, including the integer, octal and hex forms `inet_aton` reads."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if not host or not all(part.isalnum() for part in host.split(".")):
        return False
    if not (host.replace(".", "").isdigit() or host.lower().startswith("0x")):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Link:
    """One link found in a text: where, what it says after defanging, its host."""

    start: int
    end: int
    obfuscated: bool
    host: str | None  # None for data: URIs
    schemed: bool


def _host_of(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a bracketed host that is no IPv6 address
        return None
    return host.rstrip(".").lower() if host else None


def _link(text: str, start: int, end: int) -> Link | None:
    raw = text[start:end]
    meant = defang_undone(raw)
    if meant[:5].lower() == "data:":
        return Link(start, end, meant != raw, None, True)
    schemed = _SCHEMES.match(meant) is not None
    host = _host_of(meant if schemed else "http://" + meant)
    return Link(start, end, meant != raw, host, schemed) if host else None


def links(text: str, pattern: Any) -> Iterator[Link]:
    """Every candidate link in `text` (bare ones not yet filtered by TLD)."""
    for match in pattern.finditer(text):
        start = match.start()
        end = trimmed_end(text, start, match.end())
        link = _link(text, start, end) if end > start else None
        bare = link is not None and (link.host is None or not link.schemed)
        if link is None or (bare and _continues(text, start)):
            continue
        yield link


def _continues(text: str, start: int) -> bool:
    """A bare candidate that is the tail of an e-mail address, a path or a longer word."""
    before = text[start - 1] if start > 0 else " "
    return before in "@.-/\\_" or (before.isascii() and before.isalnum())


class UrlsConfig(GuardConfig):
    """Domain lists and which kinds of link to flag (see the module docstring)."""

    model_config = ConfigDict(strict=True)

    kind: Literal["urls"] = "urls"
    allow_domains: list[str] | None = None
    deny_domains: list[str] = Field(default_factory=list)
    flag_shorteners: bool = True
    extra_shorteners: list[str] = Field(default_factory=list)
    flag_ip_hosts: bool = True
    flag_data_uris: bool = True
    flag_obfuscated: bool = True
    bare_domains: bool = True
    tlds: list[str] | None = None
    report_all: bool = False

    @field_validator("allow_domains", "deny_domains", "extra_shorteners", "tlds")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [item.strip().lower().lstrip("*").strip(".") for item in value]
        bad = [raw for raw, item in zip(value, cleaned, strict=True) if not _is_domain(item)]
        if bad:
            raise ValueError(f"not a domain name: {', '.join(map(repr, bad))}")
        return cleaned


def _is_domain(item: str) -> bool:
    labels = item.split(".")
    return all(label and label.replace("-", "").isalnum() for label in labels)


@dataclass(frozen=True)
class Judge:
    """The configured tests a link's host goes through."""

    allow: frozenset[str] | None
    deny: frozenset[str]
    shorteners: frozenset[str]
    flags: frozenset[str]  # which of shortener / ip_host / data_uri / obfuscated / url
    tlds: frozenset[str] | None  # None: no bare domains

    def labels(self, link: Link) -> list[str]:
        """Every label `link` earns."""
        found = [label for label in ("obfuscated", "url") if label in self.flags]
        if link.obfuscated is False and "obfuscated" in found:
            found.remove("obfuscated")
        if link.host is None:
            return [*found, *(["data_uri"] if "data_uri" in self.flags else [])]
        return [*found, *self._host_labels(link.host)]

    def _host_labels(self, host: str) -> Iterator[str]:
        ip = ip_literal(host)
        if under(host, self.deny):
            yield "denied_domain"
        if self.allow is not None and not under(host, self.allow):
            yield "not_allowed"
        if "shortener" in self.flags and under(host, self.shorteners):
            yield "shortener"
        if ip and "ip_host" in self.flags:
            yield "ip_host"

    def is_link(self, text: str, link: Link) -> bool:
        """Schemed links and data URIs always; bare ones by their TLD, name or shape."""
        if link.schemed or link.host is None:
            return True
        if self.tlds is None:
            return False
        host = link.host
        if ip_literal(host):
            return text[link.start : link.end].strip("0123456789.") != ""  # a port or a path
        named = self.deny | self.shorteners | (self.allow or frozenset())
        if host.startswith("www.") or under(host, named):
            return True
        # as written: "ASP.NET" or "End.It" in prose is no domain, "example.com" is
        written = _HOST_END.split(defang_undone(text[link.start : link.end]), 1)[0]
        tld = written.rstrip(".").rsplit(".", 1)[-1]
        return tld in self.tlds


class UrlsGuard(NoThresholds):
    """Reports links by why they matter; spans cover the whole link."""

    def __init__(self, name: str, judge: Judge) -> None:
        self.name = name
        self._judge = judge
        self._pattern = compile_re2(URL_PATTERN, name="urls")

    @property
    def reported_labels(self) -> frozenset[str]:
        """Every label this guard can report."""
        return LABELS

    async def scan(self, texts: Sequence[str], ctx: CheckContext) -> list[Finding]:
        """One finding per (text, label) with a span per link that earned the label."""
        return await scan_hits(self.name, texts, self._hits)

    def _hits(self, text: str) -> list[Hit]:
        hits = [
            Hit(link.start, link.end, label)
            for link in links(text, self._pattern)
            if self._judge.is_link(text, link)
            for label in self._judge.labels(link)
        ]
        return longest_per_label(hits)


def build(config: UrlsConfig, context: BuildContext) -> UrlsGuard:
    """Freeze the domain lists."""
    flags = {
        "shortener": config.flag_shorteners,
        "ip_host": config.flag_ip_hosts,
        "data_uri": config.flag_data_uris,
        "obfuscated": config.flag_obfuscated,
        "url": config.report_all,
    }
    judge = Judge(
        allow=frozenset(config.allow_domains) if config.allow_domains is not None else None,
        deny=frozenset(config.deny_domains),
        shorteners=frozenset((*SHORTENERS, *config.extra_shorteners)),
        flags=frozenset(label for label, on in flags.items() if on),
        tlds=frozenset(config.tlds or TLDS) if config.bare_domains else None,
    )
    return UrlsGuard(context.name, judge)


KIND = GuardKind(config=UrlsConfig, build=build)
