"""The `urls` guard: links (plain, defanged, bare, data:) labelled by why they matter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from guardrail.guards.base import Guard
from guardrail.policy.load import load_policy_text
from guardrail.types import Action, Stage


@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        (
            {"deny_domains": ["evil.com"]},
            "Download it from https://cdn.evil.com/setup.exe today.",
            [("denied_domain", "https://cdn.evil.com/setup.exe")],
        ),
        ({"deny_domains": ["evil.com"]}, "See https://notevil.com/a and badevil.com", []),
        (
            {"allow_domains": ["example.com"]},
            "Docs: https://docs.example.com/x, mirror: http://mirror.other.org/x.",
            [("not_allowed", "http://mirror.other.org/x")],
        ),
        (
            {},
            "Click https://bit.ly/3xYz or tinyurl.com/abcd for the prize",
            [("shortener", "https://bit.ly/3xYz"), ("shortener", "tinyurl.com/abcd")],
        ),
        ({"flag_shorteners": False}, "Click https://bit.ly/3xYz", []),
        (
            {"extra_shorteners": ["lnk.example"]},
            "go to https://lnk.example/q",
            [("shortener", "https://lnk.example/q")],
        ),
        (
            {},
            "Admin panel at http://192.168.0.10:8080/login and http://[2001:db8::1]/x",
            [("ip_host", "http://192.168.0.10:8080/login"), ("ip_host", "http://[2001:db8::1]/x")],
        ),
        (
            {},
            "the same host as http://2130706433/ and http://0x7f000001/",
            [("ip_host", "http://2130706433/"), ("ip_host", "http://0x7f000001/")],
        ),
        ({}, "the server 10.0.0.5:22 is up", [("ip_host", "10.0.0.5:22")]),
        ({}, "Release 1.2.3 fixed it; pi is 3.14 and 10.0.0.5 is a PII matter", []),
        (
            {},
            '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="> and metadata:,x',
            [("data_uri", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==")],
        ),
        ({"flag_data_uris": False}, "data:text/html,<script>", []),
    ],
)
def test_links_are_labelled_by_why_they_matter(
    build_guard: Any, found: Any, params: dict[str, Any], text: str, expected: list[Any]
) -> None:
    """Each flagged link is one span, labelled denied/not allowed/shortener/IP host/data URI."""
    assert found(build_guard("urls", **params), text) == expected


@pytest.mark.parametrize(
    ("text", "link"),
    [
        (
            "IOC: hxxp://malware[.]example[.]net/payload.bin",
            "hxxp://malware[.]example[.]net/payload.bin",
        ),
        (
            "beacon to hxxps[:]//c2(.)badhost(.)com/gate.php.",
            "hxxps[:]//c2(.)badhost(.)com/gate.php",
        ),
        ("also badhost[dot]com/x", "badhost[dot]com/x"),
        ("and https[://]badhost.com", "https[://]badhost.com"),
    ],
)
def test_defanged_links_are_found_and_judged_on_their_real_host(
    build_guard: Any, found: Any, text: str, link: str
) -> None:
    """Defanged spellings are `obfuscated` and still checked against the deny list."""
    guard = build_guard("urls", deny_domains=["badhost.com", "example.net"])
    assert found(guard, text) == [("denied_domain", link), ("obfuscated", link)]


@pytest.mark.parametrize(
    "text",
    [
        "Write to jane.doe@example.com about it.",
        "We use ASP.NET, Node.js and setup.py; e.g. this works, i.e. fine.",
        "Open report.pdf and main.rs, then run build.sh",
        "The U.S. economy grew 2.5 percent.End of story.",
        "Version v2.10.4 ships today",
    ],
)
def test_prose_and_file_names_are_no_links(build_guard: Any, found: Any, text: str) -> None:
    """E-mail addresses, dotted names in prose, file names and versions are not reported."""
    assert found(build_guard("urls", report_all=True), text) == []


@pytest.mark.parametrize(
    ("text", "link"),
    [
        (
            "Read https://en.wikipedia.org/wiki/Foo_(bar)).",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
        ("[docs](https://docs.example.com/a?b=1#c)", "https://docs.example.com/a?b=1#c"),
        ("Visit example.com.", "example.com"),
        ("Visit www.example.zip/x!", "www.example.zip/x"),
        ("Mit https://straße.example.de/ geht es", "https://straße.example.de/"),
        ("请访问https://example.cn/页面。", "https://example.cn/页面"),
    ],
)
def test_report_all_spans_whole_links_without_trailing_punctuation(
    build_guard: Any, found: Any, text: str, link: str
) -> None:
    """With `report_all`, every link is a `url` span; closing punctuation is not part of it."""
    assert found(build_guard("urls", report_all=True, flag_obfuscated=False), text) == [
        ("url", link)
    ]


def test_one_link_can_carry_several_labels(build_guard: Any, scan: Any) -> None:
    """A defanged shortener outside the allow-list is reported under each reason."""
    guard = build_guard("urls", allow_domains=["example.com"])
    findings = scan(guard, "hxxps://bit[.]ly/x")
    assert sorted(f.label for f in findings) == ["not_allowed", "obfuscated", "shortener"]
    assert {(s.start, s.end) for f in findings for s in f.spans} == {(0, 18)}


def test_guard_satisfies_the_protocol(build_guard: Any) -> None:
    """The built guard is a `Guard` that names its labels and needs no thresholds."""
    guard = build_guard("urls", name="links")
    assert isinstance(guard, Guard)
    assert guard.name == "links" and guard.default_thresholds == {}
    assert "shortener" in guard.reported_labels  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"deny_domains": ["not a domain"]}, "not a domain name: 'not a domain'"),
        ({"allow_domains": "example.com"}, "Input should be a valid list"),
        ({"flag_ip_host": True}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Malformed domains and unknown options fail validation with a clear reason."""
    assert message in config_error("urls", **params)


def test_domains_are_normalised(build_guard: Any, found: Any) -> None:
    """`*.Example.COM` in the config means example.com and its subdomains."""
    guard = build_guard("urls", deny_domains=["*.Example.COM"])
    assert found(guard, "https://A.example.com/") == [("denied_domain", "https://A.example.com/")]


def test_redact_rule_replaces_each_link() -> None:
    """Through a policy, a redact rule on `shortener` replaces the link with a placeholder."""
    policy = load_policy_text(
        "version: 1\nguards:\n  links: {kind: urls}\nrules:\n"
        "  - {name: no-short, guard: links, labels: [shortener], stages: [input], action: redact}\n"
    )
    from guardrail.pipeline import Pipeline

    pipeline = Pipeline(policy)
    state = pipeline.new_request()
    decision = asyncio.run(pipeline.check(Stage.INPUT, ["see https://bit.ly/x now"], state))
    assert decision.action is Action.REDACT
    assert decision.texts == ("see <SHORTENER_1> now",)


@pytest.mark.timeout(20)
def test_hostile_input_runs_in_linear_time(build_guard: Any, scan: Any) -> None:
    """Long runs of dots, labels and brackets finish at once (RE2, no backtracking)."""
    guard = build_guard("urls", report_all=True)
    text = (
        "a." * 20_000 + "[.]" * 5_000 + "http://" + "a-" * 10_000 + " http://a.co/" + ")" * 50_000
    )
    assert isinstance(scan(guard, text), list)
