"""Safe hot reload under a running proxy: valid versions apply, invalid ones never serve."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from guardrail.logging import configure
from guardrail.server.app import create_app
from guardrail.server.reload import Reloader
from guardrail.testing import FakeUpstream, Reply, serve_app, wait_until
from guardrail.upstream.openai_http import OpenAIHttpUpstream
from tests.helpers.servers import FakeServer
from tests.operate.conftest import POLICY_V1, POLICY_V2, Gate, chat, metric, write

OK = "guardrail_policy_reloads_total"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    """A policy file that starts as v1 (blocks "kaboom")."""
    return write(tmp_path / "policy.yaml", POLICY_V1)


@pytest.fixture
def served(policy: Path, fake_server: FakeServer) -> Iterator[tuple[str, Reloader]]:
    """A proxy over `policy` whose reloads happen only when the test asks (`check_now`)."""
    reloader = Reloader.for_policy(policy, watch_ms=0)
    app = create_app(reloader, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        yield server.url, reloader


def _bad_yaml(i: int) -> str:
    return POLICY_V2 + f"rules: [{{name: broken{i}\n"


def _unknown_key(i: int) -> str:
    return POLICY_V2 + f"colour{i}: red\n"


def _bad_regex(i: int) -> str:
    return POLICY_V2.replace(
        "guards:\n", f"guards:\n  rx: {{kind: regex, patterns: {{p: '(unclosed{i}'}}}}\n"
    )


def _undefined_guard(i: int) -> str:
    return POLICY_V2.replace("guard: banned", f"guard: missing{i}")


def _wrong_type(i: int) -> str:
    return POLICY_V2 + f"options: {{stream_window_chars: many{i}}}\n"


def _unknown_action(i: int) -> str:
    return POLICY_V2.replace("action: block", f"action: explode{i}")


def _unknown_kind(i: int) -> str:
    return POLICY_V2.replace("kind: keywords", f"kind: nope{i}")


def _missing_base(i: int) -> str:
    return f"extends: nothere{i}.yaml\n" + POLICY_V2


def _bad_threshold(i: int) -> str:
    return POLICY_V2.replace("action: block}", f"action: block, threshold: {i + 2}}}")


def _duplicate_rule(i: int) -> str:
    rule = f"  - {{name: dup{i}, guard: banned, stages: [input], action: warn}}\n"
    return POLICY_V2 + rule + rule


MISTAKES: list[Callable[[int], str]] = [
    _bad_yaml,
    _unknown_key,
    _bad_regex,
    _undefined_guard,
    _wrong_type,
    _unknown_action,
    _unknown_kind,
    _missing_base,
    _bad_threshold,
    _duplicate_rule,
]


def test_valid_change_then_fifty_invalid_versions(
    served: tuple[str, Reloader], policy: Path, fake: FakeUpstream
) -> None:
    """A valid edit serves the next request; 50 different broken edits never serve and count 50."""
    base, reloader = served
    assert chat(base, "kaboom").status_code == 400
    write(policy, POLICY_V2)
    assert reloader.check_now() is True
    assert chat(base, "kaboom").status_code == 200  # v2 follows at once
    assert chat(base, "zebra").status_code == 400
    configure(level="INFO")  # another test may have left WARNING, which hides the events
    with capture_logs() as logs:
        for i in range(50):
            write(policy, MISTAKES[i % len(MISTAKES)](i))
            assert reloader.check_now() is False, i
            assert chat(base, "zebra").status_code == 400, i  # still v2
            assert chat(base, "kaboom").status_code == 200, i
    assert metric(base, OK, result="failed") == 50
    assert metric(base, OK, result="ok") == 1
    failures = [e for e in logs if e["event"] == "policy.reload_failed"]
    assert len(failures) == 50
    assert all(p["file"] for e in failures for p in e["problems"])
    assert any(p["line"] for e in failures for p in e["problems"])
    assert httpx.get(base + "/readyz").json()["policy"] == "ops-v2"


def test_a_failed_version_counts_once(served: tuple[str, Reloader], policy: Path) -> None:
    """Checking again without a new edit does not retry (or count) the same broken version."""
    base, reloader = served
    write(policy, _unknown_key(0))
    assert reloader.check_now() is False
    assert reloader.check_now() is None
    assert metric(base, OK, result="failed") == 1
    write(policy, POLICY_V2)  # fixing it is a change again
    assert reloader.check_now() is True


def test_base_policy_reached_through_extends_is_watched(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    """Editing the file a policy extends reloads the policy that extends it."""
    base_file = write(tmp_path / "base.yaml", POLICY_V1)
    top = write(tmp_path / "top.yaml", "version: 1\nname: top\nextends: base.yaml\n")
    reloader = Reloader.for_policy(top, watch_ms=0)
    app = create_app(reloader, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        assert chat(server.url, "kaboom").status_code == 400
        write(base_file, POLICY_V2)
        assert reloader.check_now() is True
        assert chat(server.url, "kaboom").status_code == 200
        write(base_file, _unknown_key(1))
        assert reloader.check_now() is False
        assert chat(server.url, "zebra").status_code == 400


def test_watcher_applies_a_change_without_being_asked(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    """The polling watcher notices an edit; we wait on the reload counter, not on a clock."""
    policy = write(tmp_path / "policy.yaml", POLICY_V1)
    app = create_app(
        Reloader.for_policy(policy, watch_ms=20), OpenAIHttpUpstream(fake_server.url + "/v1")
    )
    with serve_app(app) as server:
        assert chat(server.url, "kaboom").status_code == 400
        write(policy, POLICY_V2)
        assert wait_until(lambda: metric(server.url, OK, result="ok") >= 1, timeout_s=20)
        assert chat(server.url, "kaboom").status_code == 200


def test_in_flight_request_finishes_under_its_policy(tmp_path: Path, fake: FakeUpstream) -> None:
    """A request that started under v1 is answered under v1 even if v2 lands meanwhile."""
    policy = write(tmp_path / "policy.yaml", POLICY_V1.replace("[input]", "[input, output]"))
    gate = Gate(fake.app)
    with serve_app(gate) as upstream:
        reloader = Reloader.for_policy(policy, watch_ms=0)
        app = create_app(reloader, OpenAIHttpUpstream(upstream.url + "/v1"))
        with serve_app(app) as server:
            fake.script(Reply(text="it went kaboom"), Reply(text="it went kaboom"))
            result: list[httpx.Response] = []
            caller = threading.Thread(target=lambda: result.append(chat(server.url, "go")))
            caller.start()
            assert gate.arrived.wait(timeout=20)  # input checked, now waiting upstream
            write(policy, POLICY_V2)  # v2 has no rule about "kaboom"
            assert reloader.check_now() is True
            gate.release()
            caller.join(timeout=30)
            assert result[0].status_code == 400  # v1's output rule still applied
            assert result[0].json()["error"]["rule"] == "no-banned"
            assert chat(server.url, "go").status_code == 200  # a new request gets v2


def test_reload_now_rebuilds_and_validates_classifier_bundles(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    """A bundle that fails its hash check on SIGHUP-style reload keeps the last good policy."""
    from tests.helpers.tiny_bundle import build_tiny_bundle

    bundle = build_tiny_bundle(tmp_path / "tiny")
    policy = write(
        tmp_path / "policy.yaml",
        POLICY_V1 + "  - {name: no-injection, guard: inj, stages: [input], action: block}\n",
    )
    policy.write_text(
        policy.read_text().replace(
            "guards:\n", "guards:\n  inj: {kind: classifier, bundle: ./tiny, head: injection}\n"
        )
    )
    reloader = Reloader.for_policy(policy, watch_ms=0)
    app = create_app(reloader, OpenAIHttpUpstream(fake_server.url + "/v1"))
    with serve_app(app) as server:
        assert reloader.reload_now() is True
        tokenizer = bundle / "tokenizer.json"
        tokenizer.write_bytes(tokenizer.read_bytes() + b" ")
        assert reloader.reload_now() is False
        assert chat(server.url, "kaboom").status_code == 400
        assert chat(server.url, "hello").status_code == 200
        assert metric(server.url, OK, result="failed") == 1


def test_policy_named_before_it_exists_is_picked_up(tmp_path: Path) -> None:
    """A config naming a policy not written yet fails once; writing the policy reloads it."""
    from guardrail.server.auth import hash_key

    write(tmp_path / "a.yaml", POLICY_V1)
    config = tmp_path / "server.yaml"
    tenant = '  {name}: {{policy: {name}.yaml, keys: ["{key}"]}}\n'
    tenants = tenant.format(name="a", key=hash_key("ka"))
    write(config, "reload: {watch_ms: 0}\ntenants:\n" + tenants)
    reloader = Reloader(config)
    assert reloader.load().version == 1
    write(
        config,
        "reload: {watch_ms: 0}\ntenants:\n" + tenants + tenant.format(name="b", key=hash_key("kb")),
    )
    assert reloader.check_now() is False  # b.yaml does not exist yet
    assert reloader.check_now() is None
    write(tmp_path / "b.yaml", POLICY_V2)
    assert reloader.check_now() is True
    assert reloader.current is not None and set(reloader.current.pipelines) == {"a", "b"}
