"""The console at /console through a real proxy: off by default, admin key only, the
playground on the real pipeline, live decisions over SSE, the policy view."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from guardrail.errors import PolicyError
from guardrail.pipeline import Pipeline
from guardrail.server.config import parse_server_config
from guardrail.types import Stage
from tests.e2e.console_env import (
    ACME_KEY,
    ADMIN,
    LOGS_KEY,
    RULES,
    ConsoleServer,
    console_server,
    server_yaml,
    write,
)
from tests.helpers.servers import FakeServer

ADMIN_HEADERS = {"x-api-key": ADMIN}
PAGES = ["/console", "/console/playground", "/console/live", "/console/policy"]
APIS = ["/console/api/events", "/console/models/guard-minilm"]
EMAIL = "jane.doe@example.com"


@pytest.fixture(scope="module")
def server(
    fake_server: FakeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleServer]:
    """A proxy with the console on."""
    with console_server(tmp_path_factory.mktemp("console"), fake_server.url) as running:
        yield running


def check(
    server: ConsoleServer, body: dict[str, object], headers: dict[str, str] = ADMIN_HEADERS
) -> httpx.Response:
    """POST the playground's JSON API."""
    return httpx.post(server.url + "/console/api/check", json=body, headers=headers, timeout=30)


def test_console_is_off_by_default(fake_server: FakeServer, tmp_path: Path) -> None:
    """Without `console: {enabled: true}` every console path is a 404, admin key or not."""
    with console_server(tmp_path, fake_server.url, console=False) as off:
        for path in [*PAGES, *APIS, "/console/login", "/console/static/console.css"]:
            for headers in ({}, ADMIN_HEADERS):
                response = httpx.get(off.url + path, headers=headers, timeout=10)
                assert response.status_code == 404, path
                assert response.json()["error"]["code"] == "not_found"
        assert check(off, {"tenant": "acme", "text": "hi"}).status_code == 404
        for path in ("/console/login", "/console/logout", "/console/playground"):
            posted = httpx.post(off.url + path, data={"key": ADMIN}, timeout=10)
            assert posted.status_code == 404, path


def test_console_needs_admin_keys_in_the_config() -> None:
    """A config that enables the console without `admin_keys` is refused, naming the line."""
    text = server_yaml().replace("admin_keys:", "#")
    with pytest.raises(PolicyError, match="admin_keys"):
        parse_server_config(text, "server.yaml")


def test_console_refuses_requests_without_the_admin_key(server: ConsoleServer) -> None:
    """No key, a tenant's key or a wrong key: 401 on every page and API, and no data shown."""
    for headers in ({}, {"authorization": f"Bearer {ACME_KEY}"}, {"x-api-key": "nope"}):
        for path in [*PAGES, *APIS]:
            response = httpx.get(server.url + path, headers=headers, timeout=10)
            assert response.status_code == 401, (path, headers)
            for secret in ("console-rules", "acme", "guard-minilm", "kaboom"):
                assert secret not in response.text.replace(path, "")
        refused = check(server, {"tenant": "acme", "text": "hi"}, headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    for path in [*PAGES, *APIS[1:]]:
        admitted = httpx.get(server.url + path, headers=ADMIN_HEADERS, timeout=30)
        assert admitted.status_code == (303 if path == "/console" else 200), path


def test_login_sets_a_session_cookie_and_forged_ones_are_refused(server: ConsoleServer) -> None:
    """The login form trades the admin key for an HttpOnly, SameSite=Strict cookie that holds
    no key; a wrong key, an edited cookie or another origin's form get 401."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        wrong = browser.post("/console/login", data={"key": "nope", "next": "/console/live"})
        assert wrong.status_code == 401
        foreign = browser.post(
            "/console/login", data={"key": ADMIN}, headers={"origin": "http://evil.test"}
        )
        assert foreign.status_code == 401
        ok = browser.post("/console/login", data={"key": ADMIN, "next": "//evil.test/x"})
        assert ok.status_code == 303
        assert ok.headers["location"] == "/console/playground"  # no open redirect
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert ADMIN not in cookie
        assert browser.get("/console/live").status_code == 200
        value = browser.cookies["guardrail_console"]
        forged = value[:-1] + ("0" if value[-1] != "0" else "1")
        browser.cookies.set("guardrail_console", forged, path="/console")
        assert browser.get("/console/live").status_code == 401


def test_playground_decides_as_guardrail_check_does(server: ConsoleServer) -> None:
    """A text through the playground gets the decision `Pipeline.check` gives on the same
    policy, plus the spans (on the raw text) and each rule's scores against its threshold."""
    text = f"mail {EMAIL} and say kaboom\u200b now"
    result = check(server, {"tenant": "acme", "text": text, "stage": "input"}).json()
    expected = asyncio.run(_decide(server.root / "acme.yaml", text))
    stage = result["stages"][0]
    assert result["action"] == expected.action.value == "block"
    assert stage["rules_fired"] == list(expected.rules_fired)
    assert result["block"]["rule"] == "no-kaboom"
    found = {s["entity"]: text[s["start"] : s["end"]] for s in stage["spans"]}
    assert found["EMAIL"] == EMAIL
    assert found["banned"].startswith("kaboom")
    assert any(text[s["start"] : s["end"]] == "\u200b" for s in stage["spans"])
    rules = {r["rule"]: r for r in stage["rules"]}
    assert rules["no-kaboom"]["fired"] and rules["redact-pii"]["fired"]
    assert all(lbl["score"] >= lbl["threshold"] for lbl in rules["no-kaboom"]["labels"])
    assert {g["guard"] for g in stage["guards"]} == {"invisible", "pii", "banned"}


async def _decide(policy: Path, text: str):  # type: ignore[no-untyped-def]
    pipeline = Pipeline.from_file(policy)
    return await pipeline.check(Stage.INPUT, [text], pipeline.new_request())


def test_playground_checks_a_chat_request_by_its_roles(server: ConsoleServer) -> None:
    """A pasted chat request is checked as the proxy checks it: user text as input, tool
    results as tool, and the input's redaction shown as the rewritten text; bad bodies get
    stable error codes."""
    request = {
        "model": "m",
        "messages": [
            {"role": "user", "content": f"write to {EMAIL}"},
            {"role": "tool", "tool_call_id": "c1", "content": "the tool says hello"},
        ],
    }
    result = check(server, {"tenant": "acme", "request": request}).json()
    stages = {s["stage"]: s for s in result["stages"]}
    assert set(stages) == {"input", "tool"}
    assert stages["input"]["action"] == "redact"
    assert EMAIL not in stages["input"]["rewritten"][0]
    assert stages["tool"]["action"] == "allow"
    bad = check(server, {"tenant": "acme", "request": {"messages": "no"}})
    assert bad.status_code == 400
    unknown = check(server, {"tenant": "nobody", "text": "hi"})
    assert unknown.status_code == 400 and "nobody" in unknown.json()["error"]["message"]
    url, headers = (
        server.url + "/console/api/check",
        {**ADMIN_HEADERS, "content-type": "application/json"},
    )
    assert (
        httpx.post(url, content=b"{nope", headers=headers).json()["error"]["code"]
        == "invalid_request"
    )
    too_big = httpx.post(url, content=b"[" + b" " * 1_100_000 + b"]", headers=headers, timeout=30)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "limit_exceeded"
    as_form = httpx.post(url, data={"text": "hi"}, headers=ADMIN_HEADERS)
    assert as_form.status_code == 415  # a cross-site form cannot send JSON without a preflight


def _decisions_total(server: ConsoleServer) -> float:
    text = httpx.get(server.url + "/metrics", headers=ADMIN_HEADERS, timeout=10).text
    lines = [ln for ln in text.splitlines() if ln.startswith("guardrail_decisions_total{")]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def test_playground_is_not_counted_or_shown_live(server: ConsoleServer) -> None:
    """Playground checks reach no metrics and no live view: only real traffic does."""
    before = _decisions_total(server)
    kept = len(server_log(server))
    assert check(server, {"tenant": "acme", "text": f"hi {EMAIL}"}).status_code == 200
    assert _decisions_total(server) == before
    assert len(server_log(server)) == kept
    assert server.chat(f"hi {EMAIL}", ACME_KEY).status_code == 200
    assert _decisions_total(server) > before


def server_log(server: ConsoleServer) -> list[dict[str, object]]:
    """What the live view's buffer holds now (read through the SSE endpoint's backlog)."""
    return [e for e in read_events(server, after=0, until=lambda _: True, at_most_s=0.5)]


def read_events(
    server: ConsoleServer,
    *,
    after: int,
    until: object,
    at_most_s: float = 10.0,
    send: object = None,
) -> list[dict[str, object]]:
    """Decision events from the SSE endpoint (backlog after `after`, then new ones) until
    `until(event)` is true or `at_most_s` passes; `send()` runs once the stream is open."""
    events: list[dict[str, object]] = []
    deadline = time.monotonic() + at_most_s
    timeout = httpx.Timeout(at_most_s, read=at_most_s)
    url = f"{server.url}/console/api/events?after={after}"
    try:
        with httpx.stream("GET", url, headers=ADMIN_HEADERS, timeout=timeout) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("retry:") and callable(send):
                    send()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    events.append(event)
                    if callable(until) and until(event):
                        break
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass
    return events


def test_live_events_follow_traffic_without_raw_text(server: ConsoleServer) -> None:
    """A request sent while the live stream is open arrives as an event with tenant, stage,
    action, rules and latency, and without the text: the policy does not log it."""
    secret = "live.secret@example.com"
    events = read_events(
        server,
        after=10**9,  # only new ones
        until=lambda e: e["tenant"] == "acme" and e["action"] == "redact",
        send=lambda: server.chat(f"write to {secret}", ACME_KEY),
    )
    event = events[-1]
    assert event["tenant"] == "acme" and event["stage"] == "input"
    assert event["rules"] == ["redact-pii"] and event["policy"] == "console-rules"
    assert event["texts"] is None and event["guard_ms"] > 0
    assert secret not in json.dumps(events)
    page = httpx.get(server.url + "/console/live", headers=ADMIN_HEADERS, timeout=10).text
    assert "redact-pii" in page and secret not in page


def test_live_events_carry_text_when_the_policy_logs_it(server: ConsoleServer) -> None:
    """A tenant whose policy sets `log_text: true` shows the checked (redacted) text."""
    events = read_events(
        server,
        after=10**9,
        until=lambda e: e["tenant"] == "logs",
        send=lambda: server.chat(f"hello {EMAIL}", LOGS_KEY),
    )
    texts = events[-1]["texts"]
    assert isinstance(texts, list) and texts[0].startswith("hello <EMAIL")
    assert EMAIL not in json.dumps(events)


def test_policy_view_shows_versions_tests_history_and_model_cards(server: ConsoleServer) -> None:
    """The policy view lists each tenant's policy hash, its tests with pass/fail, the reload
    history, the model cards; a failed reload shows its problem until a good one."""
    page = httpx.get(server.url + "/console/policy", headers=ADMIN_HEADERS, timeout=60).text
    acme = Pipeline.from_file(server.root / "acme.yaml").policy
    assert acme.content_hash in page
    assert "Tests: 2 of 3 pass" in page and "FAIL: expected block, got allow" in page
    assert 'href="/console/models/guard-minilm"' in page
    card = httpx.get(server.url + "/console/models/guard-minilm", headers=ADMIN_HEADERS)
    assert card.status_code == 200 and card.text.startswith("#")
    assert (
        httpx.get(server.url + "/console/models/no-such-bundle", headers=ADMIN_HEADERS).status_code
        == 404
    )
    write(server.root / "acme.yaml", RULES.format(log_text="false") + "oops: [\n")
    try:
        assert server.reloader.check_now() is False
        page = httpx.get(server.url + "/console/policy", headers=ADMIN_HEADERS, timeout=60).text
        assert 'id="last-error"' in page and "acme.yaml" in page
    finally:
        write(server.root / "acme.yaml", RULES.format(log_text="false") + "# again\n")
        assert server.reloader.check_now() is True
    page = httpx.get(server.url + "/console/policy", headers=ADMIN_HEADERS, timeout=60).text
    assert 'id="last-error"' not in page and page.count("<td>failed</td>") == 1


def test_sessions_expire_follow_admin_keys_and_are_shared_by_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session cookie ends when it expires or its admin key leaves `admin_keys`; processes
    that share GUARDRAIL_CONSOLE_SECRET (`serve --workers N` sets one) accept each other's."""
    from guardrail.server.auth import hash_key
    from guardrail.server.console.session import SESSION_S, Sessions

    keys = [hash_key(ADMIN)]
    monkeypatch.setenv("GUARDRAIL_CONSOLE_SECRET", "shared-by-the-workers")
    cookie = Sessions().issue(ADMIN, now=1000.0)
    assert Sessions().valid(cookie, keys, now=1001.0)  # another worker's Sessions
    assert not Sessions().valid(cookie, keys, now=1000.0 + SESSION_S + 1)
    assert not Sessions().valid(cookie, [hash_key("another-admin")], now=1001.0)
    assert not Sessions(secret="a-different-process").valid(cookie, keys, now=1001.0)


def test_decision_log_keeps_a_bounded_buffer_and_bounded_viewer_queues() -> None:
    """The live buffer keeps the last `console.buffer` summaries (resized when a reload
    changes it, nothing kept while off), and a viewer that never reads misses events
    instead of queueing them without end."""
    from guardrail.server.config import ConsoleConfig
    from guardrail.server.console.live import QUEUE, DecisionLog
    from guardrail.types import Action, Decision

    settings = [ConsoleConfig(enabled=True, buffer=3)]
    log = DecisionLog(lambda: settings[0], lambda tenant: False)
    decision = Decision(stage=Stage.INPUT, action=Action.ALLOW, texts=("never shown",))
    for _ in range(5):
        log.record(decision, "acme", "p")
    assert [s.id for s in log.recent] == [3, 4, 5]
    settings[0] = ConsoleConfig(enabled=True, buffer=2)
    log.record(decision, "acme", "p")
    assert [s.id for s in log.recent] == [5, 6]
    settings[0] = ConsoleConfig(enabled=False)
    log.record(decision, "acme", "p")
    assert [s.id for s in log.recent] == [5, 6]
    assert all(s.texts is None for s in log.recent)

    async def stalled_viewer() -> int:
        settings[0] = ConsoleConfig(enabled=True, buffer=2)
        events = log.events()
        assert (await anext(events)).startswith("retry:")  # the viewer is registered now
        for _ in range(QUEUE + 10):
            log.record(decision, "acme", "p")
        await events.aclose()
        return log.dropped

    assert asyncio.run(stalled_viewer()) == 10
    assert not log.viewers  # a closed stream unregisters its queue

    async def whole_stream() -> list[str]:
        return [event async for event in log.events(lifetime_s=0.05)]

    replayed = asyncio.run(whole_stream())  # ends by itself, after the buffer's two events
    assert replayed[0].startswith("retry:") and len(replayed) == 3
    assert not log.viewers


def test_an_open_live_view_does_not_keep_a_stopping_server_alive(tmp_path: Path) -> None:
    """SIGTERM while a live view streams: the stream ends by itself (the browser would resume
    it) and `guardrail serve` exits, instead of waiting for the viewer to leave."""
    from guardrail.server.auth import hash_key
    from guardrail.server.console.live import STREAM_S
    from guardrail.testing import wait_until
    from tests.helpers.servers import free_port, ready

    write(tmp_path / "acme.yaml", RULES.format(log_text="false"))
    config = f'version: 1\npolicy: acme.yaml\nadmin_keys: ["{hash_key(ADMIN)}"]\n'
    write(tmp_path / "server.yaml", config + "console: {enabled: true}\n")
    port = free_port()
    command = [sys.executable, "-m", "guardrail", "serve", "--server-config", "server.yaml"]
    command += ["--port", str(port), "--upstream", "local", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: ready(url) or process.poll() is not None, timeout_s=60)
        events = f"{url}/console/api/events"
        with httpx.stream("GET", events, headers=ADMIN_HEADERS, timeout=STREAM_S * 4) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            process.send_signal(signal.SIGTERM)
            rest = list(lines)  # ends when the server ends the stream
        assert all(not line.startswith("data:") for line in rest)
        # uvicorn re-raises the SIGTERM it caught once it has shut down gracefully
        assert process.wait(timeout=STREAM_S * 4) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
