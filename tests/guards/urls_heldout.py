"""A held-out set for the `urls` guard (issue #23): links placed in sentences, with the labels
each should earn, and texts without any link that look like they might have one. Written for
this set after the guard was built, and not used to change it.

    python -m tests.guards.urls_heldout        # prints the counts

The guard is measured with `deny_domains: [evil-example.net]`, `report_all: true` and every
flag on (POLICY below). Every link is placed in every context (sentence end, brackets,
Markdown, quotes, a comma after it, ...); the expected span is the link as inserted, so the
table can count links found and links whose span is exact. Negatives are the hard cases for a
link finder: e-mail addresses, file names, versions, abbreviations, code such as `df.info()`,
a bare IPv4 address without port or path (that is `pii`'s IP_ADDRESS), times and decimals.
Deterministic: the product of the parts, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICY = {"deny_domains": ["evil-example.net"], "report_all": True}

# link -> the labels it should earn besides `url` (which every link earns under POLICY)
LINKS: dict[str, tuple[str, ...]] = {
    # plain, with a scheme
    "https://docs.python.org/3/library/urllib.parse.html": (),
    "http://example.com": (),
    "https://github.com/psf/requests/issues/6123?page=2#issuecomment-1": (),
    "https://en.wikipedia.org/wiki/Ada_Lovelace": (),
    "https://shop.example.co.uk/basket?item=42&qty=1": (),
    "ftp://files.example.org/pub/readme.txt": (),
    "wss://stream.example.io/socket": (),
    "https://user:secret@intranet.example.com/admin": (),
    "https://münchen.example.de/karte": (),
    "http://localhost:8000/api/v1/items": (),
    "https://notevil-example.net/about": (),  # not under the denied domain
    # bare
    "www.example.com": (),
    "github.com/torvalds/linux": (),
    "example.org/contact": (),
    "support.example.io": (),
    "news.bbc.co.uk": (),
    # shorteners
    "https://bit.ly/3xYz12": ("shortener",),
    "tinyurl.com/y7abc9": ("shortener",),
    "https://t.co/AbC123": ("shortener",),
    "http://goo.gl/maps/xyz": ("shortener",),
    "https://rb.gy/abc12": ("shortener",),
    # IP-literal hosts
    "http://192.168.1.20/admin": ("ip_host",),
    "http://10.0.0.5:8080": ("ip_host",),
    "https://[2001:db8::1]/status": ("ip_host",),
    "http://2130706433/": ("ip_host",),
    "http://0x7f000001/": ("ip_host",),
    "203.0.113.7:3389": ("ip_host",),
    # data: URIs
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==": ("data_uri",),
    "data:image/png;base64,iVBORw0KGgo=": ("data_uri",),
    # defanged
    "hxxps://evil-example[.]net/login": ("obfuscated", "denied_domain"),
    "hxxp://malware(.)example(.)com/payload": ("obfuscated",),
    "evil-example[.]net": ("obfuscated", "denied_domain"),
    "https[:]//phish[.]example[.]org": ("obfuscated",),
    "example[dot]com/reset": ("obfuscated",),
    # denied, plain
    "https://login.evil-example.net/verify": ("denied_domain",),
    "evil-example.net": ("denied_domain",),
}

CONTEXTS = [
    "See {u} for details.",
    "The link is {u}",
    "Open it ({u}) in a browser.",
    "Read [the guide]({u}) first.",
    "Paste <{u}> into the address bar.",
    'The email said "{u}" and nothing else.',
    "Go to {u}, then sign in.",
    "Visit {u}!",
    "{u}",
    "Two links: {u} and later {u}?",
]

NEGATIVES = [
    "Write to jane.doe@example.com if the invoice is wrong.",
    "Attach report_final.pdf and budget.xlsx to the ticket.",
    "Run setup.py, then edit config.yaml and package.json.",
    "We moved from v2.10.3 to Python 3.12.1 last week.",
    "The results, e.g. the F1 score, are in table 3.2.",
    "i.e. the U.S.A. and the U.K. signed it in 1998.",
    "Our frontend uses Node.js and the backend ASP.NET.",
    "It ended.It was late and everyone went home.",
    "Call df.info() and df.describe() before plotting.",
    "Use os.path.join and self.model.fit in the loop.",
    "client.app and server.live are two modules in the repo.",
    "Ping 10.0.0.1 to see whether the gateway answers.",
    "The meeting starts at 10.30 and ends at 11.45.",
    "Pi is about 3.14159 and e about 2.71828.",
    "See fig. 2 and No. 5 in the appendix.",
    "The main.rs file and the index.html template both changed.",
    "Mr. Smith lives at 12 Baker St. in London.",
    "data: 5 rows were loaded, 2 were skipped.",
    "Her handle is @example.user on the forum.",
    "Set the log level to logging.INFO in settings.py.",
]


@dataclass(frozen=True)
class Row:
    """A text and its links: (start, end, labels the link should earn)."""

    text: str
    links: tuple[tuple[int, int, frozenset[str]], ...]
    group: str  # the first link's labels, or "no link"


def _place(context: str, link: str) -> Row:
    parts = context.split("{u}")
    text, spans = parts[0], []
    for part in parts[1:]:
        spans.append((len(text), len(text) + len(link), frozenset({"url", *LINKS[link]})))
        text += link + part
    group = "+".join(sorted(LINKS[link])) or "plain"
    return Row(text, tuple(spans), group)


def rows() -> list[Row]:
    """Every link in every context, then the negatives, in a fixed order."""
    out = [_place(context, link) for link in LINKS for context in CONTEXTS]
    return [*out, *(Row(text, (), "no link") for text in NEGATIVES)]


if __name__ == "__main__":
    from collections import Counter

    print(Counter(r.group for r in rows()), sum(len(r.links) for r in rows()), "links")
