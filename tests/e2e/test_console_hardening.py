"""The console against hostile or careless input (review of issue #25): malformed numbers in
cookies and event ids, lone surrogates and deep nesting in the playground, the proxy's own
limits and `scan_system` in the playground, and a bound on open live views."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guardrail.server.limits import Limits
from tests.e2e.console_env import ACME_KEY, ADMIN, ConsoleServer, console_server
from tests.helpers.servers import FakeServer

ADMIN_HEADERS = {"x-api-key": ADMIN}
JSON_HEADERS = {**ADMIN_HEADERS, "content-type": "application/json"}


@pytest.fixture(scope="module")
def server(
    fake_server: FakeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleServer]:
    """A proxy with the console on, small text limits and system prompts checked."""
    limits = Limits.from_settings(max_message_chars=100, max_messages=3)
    root = tmp_path_factory.mktemp("console-hardening")
    with console_server(root, fake_server.url, limits=limits, scan_system=True) as running:
        yield running


def _api(server: ConsoleServer, raw: bytes) -> httpx.Response:
    return httpx.post(
        server.url + "/console/api/check", content=raw, headers=JSON_HEADERS, timeout=30
    )


def test_malformed_session_cookies_get_401_not_a_server_error(server: ConsoleServer) -> None:
    """A cookie whose expiry is 5,000 digits or a non-ASCII digit, or whose signature is not
    ASCII, is refused like any forged one (401), without an authenticated session."""
    cookies = (b"9" * 5000 + b".sha256:00.00", b"\xb2.sha256:00.00", b"99999999999.x.\xb2")
    for cookie in cookies:
        response = httpx.get(
            server.url + "/console/live",
            headers={"cookie": b"guardrail_console=" + cookie},
            timeout=10,
        )
        assert response.status_code == 401, cookie[:8]


def test_malformed_event_ids_resume_from_the_start(server: ConsoleServer) -> None:
    """`Last-Event-ID` or `?after=` that is not a small ASCII number opens the stream from
    the buffer's start instead of failing the request."""
    attempts = [
        ({"last-event-id": "9" * 5000}, {}),
        ({"last-event-id": b"\xb2"}, {}),
        ({}, {"after": "\u00b2"}),
    ]
    for headers, params in attempts:
        url = server.url + "/console/api/events"
        with httpx.stream(
            "GET", url, headers={**ADMIN_HEADERS, **headers}, params=params, timeout=10
        ) as stream:
            assert stream.status_code == 200, (headers, params)
            assert next(stream.iter_lines()).startswith("retry:")


def test_playground_refuses_lone_surrogates_and_deep_nesting(server: ConsoleServer) -> None:
    """A lone UTF-16 surrogate (text or chat request) or JSON nested too deeply is a 400
    `invalid_request`, as the proxy answers it, on the API and on the form."""
    bodies = [
        b'{"tenant": "acme", "text": "hi \\ud800 there"}',
        b'{"tenant": "acme", "request": {"messages": [{"role": "user", "content": "\\ud800"}]}}',
        b'{"tenant": "acme", "request": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ]
    for raw in bodies:
        response = _api(server, raw)
        assert response.status_code == 400, raw[:60]
        assert response.json()["error"]["code"] == "invalid_request"
    for text in (
        '{"messages": [{"role": "user", "content": "\\udfff"}]}',
        '{"messages": ' + "[" * 100_000,
    ):
        page = httpx.post(
            server.url + "/console/playground",
            data={"tenant": "acme", "text": text, "stage": "input"},
            headers=ADMIN_HEADERS,
            timeout=30,
        )
        assert page.status_code == 200 and 'id="error"' in page.text
        assert "invalid_request" in page.text


def test_playground_obeys_the_proxys_limits_and_scan_system(server: ConsoleServer) -> None:
    """The playground refuses what the proxy would refuse (413 `limit_exceeded`, same limit
    named) and checks system prompts when the proxy does: it decides as real traffic."""
    long_text = "a" * 101
    over = [
        {"tenant": "acme", "text": long_text},
        {"tenant": "acme", "request": {"messages": [{"role": "user", "content": long_text}]}},
        {"tenant": "acme", "request": {"messages": [{"role": "user", "content": "x"}] * 4}},
    ]
    for body in over:
        response = httpx.post(
            server.url + "/console/api/check", json=body, headers=ADMIN_HEADERS, timeout=30
        )
        assert response.status_code == 413, body
        assert response.json()["error"]["code"] == "limit_exceeded"
        proxied = _proxy(server, body)
        assert proxied.status_code == 413 and proxied.json()["error"]["code"] == "limit_exceeded"
    system = {"messages": [{"role": "system", "content": "say kaboom"}]}
    played = httpx.post(
        server.url + "/console/api/check",
        json={"tenant": "acme", "request": system},
        headers=ADMIN_HEADERS,
        timeout=30,
    )
    assert played.status_code == 200 and played.json()["action"] == "block"
    assert _proxy(server, {"request": system}).status_code == 400  # blocked there too


def _proxy(server: ConsoleServer, body: dict[str, object]) -> httpx.Response:
    """The same content sent through the proxy as tenant `acme`."""
    request = body.get("request") or {"messages": [{"role": "user", "content": body["text"]}]}
    assert isinstance(request, dict)
    return httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "fake-model", **request},
        headers={"authorization": f"Bearer {ACME_KEY}"},
        timeout=30,
    )


def test_open_live_views_are_capped(server: ConsoleServer) -> None:
    """At most MAX_VIEWERS live streams are open at once (each decision is handed to every
    one on the proxy's event loop): the next gets 429 until one closes."""
    from guardrail.server.console.live import MAX_VIEWERS

    async def scenario() -> tuple[int, int]:
        url = server.url + "/console/api/events"
        limits = httpx.Limits(max_connections=MAX_VIEWERS + 4)
        async with httpx.AsyncClient(headers=ADMIN_HEADERS, timeout=10, limits=limits) as client:

            async def open_one() -> tuple[httpx.Response, AsyncIterator[str]]:
                stream = await client.send(client.build_request("GET", url), stream=True)
                lines = stream.aiter_lines()  # kept: a dropped iterator closes the stream
                if stream.status_code == 200:
                    await anext(lines)  # the server has registered it
                return stream, lines

            # all at once: each stream lives STREAM_S, and all must be open together
            opened = await asyncio.gather(*(open_one() for _ in range(MAX_VIEWERS)))
            assert all(stream.status_code == 200 for stream, _ in opened)
            refused = (await client.get(url)).status_code
            await opened[0][0].aclose()
            status = 0
            for _ in range(50):  # the server notices the closed stream a moment later
                again, _ = await open_one()
                status = again.status_code
                await again.aclose()
                if status == 200:
                    break
                await asyncio.sleep(0.05)
            for stream, _ in opened[1:]:
                await stream.aclose()
            return refused, status

    refused, after_one_closed = asyncio.run(scenario())
    assert refused == 429
    assert after_one_closed == 200


def test_login_form_body_is_small(server: ConsoleServer) -> None:
    """The login form (read before anyone is known) takes a few KB at most: 413 past that."""
    response = httpx.post(
        server.url + "/console/login",
        data={"key": "x" * 100_000, "next": "/console/live"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "limit_exceeded"


def test_a_malformed_origin_is_refused_not_an_error(server: ConsoleServer) -> None:
    """An `Origin` header urllib cannot split (`http://[`) is another origin: 401 on the
    login form, logout and the playground form, never a server error."""
    for path in ("/console/login", "/console/logout", "/console/playground"):
        response = httpx.post(
            server.url + path,
            data={"key": ADMIN, "text": "hi"},
            headers={**ADMIN_HEADERS, "origin": "http://["},
            timeout=10,
        )
        assert response.status_code == 401, path


class _Counted(dict[str, Any]):
    """A span that counts how often its fields are read."""

    reads = 0

    def __getitem__(self, key: str) -> Any:
        _Counted.reads += 1
        return super().__getitem__(key)


def _naive_pieces(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """The obvious definition: each run between span edges, with the entities covering it."""
    ok = [s for s in spans if 0 <= s["start"] < s["end"] <= len(text)]
    edges = sorted({0, len(text), *(s["start"] for s in ok), *(s["end"] for s in ok)})
    out = []
    for start, end in itertools.pairwise(edges):
        covering = (s["entity"] for s in ok if s["start"] <= start and end <= s["end"])
        out.append((text[start:end], tuple(dict.fromkeys(covering))))
    return out


def test_highlighting_many_spans_reads_each_span_a_few_times() -> None:
    """The playground page cuts a text at its spans in one sweep: thousands of spans (one per
    invisible character of a pasted text) read each span a bounded number of times, not
    once per piece (which held the event loop for minutes), with the same pieces."""
    from guardrail.server.console.views import pieces

    text = "a\u200b" * 2000
    spans = [_Counted(start=2 * i + 1, end=2 * i + 2, entity="ZWSP") for i in range(2000)]
    _Counted.reads = 0
    cut = pieces(text, spans)
    assert _Counted.reads <= 20 * len(spans)
    assert [(p.text, p.entities) for p in cut] == _naive_pieces(text, list(spans))
    overlapping = [
        {"start": 0, "end": 10, "entity": "EMAIL"},
        {"start": 2, "end": 5, "entity": "NAME"},
        {"start": 2, "end": 8, "entity": "EMAIL"},
        {"start": 4, "end": 12, "entity": "banned"},
        {"start": 9, "end": 40, "entity": "out of range"},
    ]
    sample = "0123456789ab"
    assert [(p.text, p.entities) for p in pieces(sample, overlapping)] == _naive_pieces(
        sample, overlapping
    )


def test_an_off_console_answers_404_to_every_method_and_path(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Off, the console does not give itself away: any method on any /console path (and
    `/console/`) is a JSON 404 without an `Allow` header, not a 405 listing its methods or a
    redirect. On, a wrong method is a 405 and an unknown path a 404."""
    tries = [
        ("POST", "/console/live"),
        ("GET", "/console/logout"),
        ("PUT", "/console/api/check"),
        ("DELETE", "/console"),
        ("OPTIONS", "/console/login"),
        ("GET", "/console/"),
        ("GET", "/console/models/a/b"),
    ]
    with console_server(tmp_path, fake_server.url, console=False) as off:
        for method, path in tries:
            response = httpx.request(method, off.url + path, headers=ADMIN_HEADERS, timeout=10)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == "not_found"
            assert "allow" not in response.headers
    with console_server(tmp_path, fake_server.url) as on:
        wrong = httpx.get(on.url + "/console/logout", headers=ADMIN_HEADERS, timeout=10)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        unknown = httpx.get(on.url + "/console/nothing", headers=ADMIN_HEADERS, timeout=10)
        assert unknown.status_code == 404


def test_pages_escape_markup_in_texts_spans_and_logged_text(server: ConsoleServer) -> None:
    """Markup in a checked text -- inside a highlighted span, in the rewritten text, and in a
    live row of a tenant that logs text -- reaches the pages as text, never as elements."""
    from tests.e2e.console_env import LOGS_KEY

    attack = '<img src=x onerror=alert(1)>"x@example.com"<script>alert(2)</script>'
    page = httpx.post(
        server.url + "/console/playground",
        data={"tenant": "acme", "text": attack, "stage": "input"},
        headers=ADMIN_HEADERS,
        timeout=30,
    ).text
    assert 'class="span"' in page  # the e-mail address was highlighted
    assert "<img" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert server.chat(attack, LOGS_KEY).status_code == 200
    live = httpx.get(server.url + "/console/live", headers=ADMIN_HEADERS, timeout=10).text
    assert "&lt;img src=x" in live and "<img" not in live and "<script>alert" not in live
