"""The server config file, key hashing and the `guardrail keys` CLI (no server needed)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from guardrail.cli import main
from guardrail.errors import PolicyError
from guardrail.server.auth import Tenancy, hash_key, key_matches, presented_key
from guardrail.server.config import load_server_config, parse_server_config

HASH = hash_key("gr-key")


def problems(text: str) -> list[str]:
    """Every problem the config text has, as `file:line:col: field: message` strings."""
    with pytest.raises(PolicyError) as caught:
        parse_server_config(text, "server.yaml")
    return [str(p) for p in caught.value.problems]


def test_hash_key_is_prefixed_sha256() -> None:
    """A key's stored form is `sha256:` + the hex sha256 of its UTF-8 bytes."""
    assert hash_key("gr-key") == "sha256:" + hashlib.sha256(b"gr-key").hexdigest()


def test_a_plain_key_is_refused_without_echoing_it() -> None:
    """A key pasted where a hash belongs is an error on its line; the key is not repeated."""
    found = problems(
        "version: 1\ntenants:\n  acme:\n    policy: p.yaml\n    keys: [sk-live-very-secret]\n"
    )
    assert len(found) == 1 and found[0].startswith("server.yaml:5:12: tenants.acme.keys.0")
    assert "guardrail keys hash" in found[0]
    assert "very-secret" not in found[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\n", "set either `policy`"),
        (f"policy: p.yaml\ntenants: {{a: {{policy: p.yaml, keys: [{HASH}]}}}}\n", "not both"),
        (
            f"tenants:\n  a: {{policy: p.yaml, keys: [{HASH}]}}\n"
            f"  b: {{policy: q.yaml, keys: [{HASH}]}}\n",
            "belongs to both 'a' and 'b'",
        ),
        ("policy: p.yaml\ncolour: red\n", "server.yaml:2:1: colour: unknown key 'colour'"),
        ("policy: p.yaml\nreload: {watch_ms: -1}\n", "reload.watch_ms"),
        ("tenants: {'bad name': {policy: p.yaml, keys: [" + HASH + "]}}\n", "tenant name"),
        ("policy: p.yaml\nadmin_keys: [plain]\n", "expected 'sha256:<64 hex>'"),
        ("policy: [unclosed\n", "server.yaml:2:1: YAML error"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_invalid_configs_name_the_problem(text: str, expected: str) -> None:
    """Each kind of mistake in a server config is reported with what is wrong."""
    assert any(expected in problem for problem in problems(text))


def test_config_file_resolves_policies_next_to_it(tmp_path: Path) -> None:
    """Tenant policy paths are relative to the config file."""
    path = tmp_path / "server.yaml"
    path.write_text(f"tenants: {{acme: {{policy: p/acme.yaml, keys: [{HASH}]}}}}\n")
    config = load_server_config(path)
    assert config.keyed
    assert config.policies(path.parent) == {"acme": tmp_path / "p" / "acme.yaml"}


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer gr-a"}, "gr-a"),
        ({"authorization": "bearer  gr-a "}, "gr-a"),
        ({"x-api-key": "gr-b"}, "gr-b"),
        ({"authorization": "Bearer gr-a", "x-api-key": "gr-b"}, "gr-a"),
        ({"authorization": "Basic Zm9vOmJhcg=="}, None),
        ({}, None),
    ],
)
def test_presented_key(headers: dict[str, str], key: str | None) -> None:
    """The key comes from a bearer Authorization header, else from x-api-key."""
    assert presented_key(headers) == key


def test_admin_key_match() -> None:
    """Only a key whose hash is listed matches."""
    assert key_matches({"x-api-key": "gr-key"}, [hash_key("other"), HASH])
    assert not key_matches({"x-api-key": "gr-key2"}, [HASH])
    assert not key_matches({}, [HASH])


def test_open_tenancy_asks_no_key() -> None:
    """Without tenants every caller reaches the one proxy; an empty keyed tenancy lets none."""
    sentinel = object()
    assert Tenancy.open(sentinel).resolve({}) is sentinel  # type: ignore[arg-type]
    assert Tenancy.with_keys([]).resolve({"x-api-key": "gr-key"}) is None


def test_keys_hash_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`guardrail keys hash KEY` and `... hash -` (stdin) print the config form of the key."""
    assert main(["keys", "hash", "gr-key"]) == 0
    assert capsys.readouterr().out.strip() == HASH
    monkeypatch.setattr("sys.stdin", io.StringIO("gr-key\n"))
    assert main(["keys", "hash", "-"]) == 0
    assert capsys.readouterr().out.strip() == HASH
    assert main(["keys", "hash", " "]) == 2


def test_keys_new_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """`guardrail keys new` prints a fresh key and the hash that matches it."""
    assert main(["keys", "new"]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    key, key_hash = lines["key"].strip(), lines["hash"].strip()
    assert len(key) > 30 and hash_key(key) == key_hash
