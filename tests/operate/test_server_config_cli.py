"""`guardrail serve --server-config` as a real process: keys, tenants and SIGHUP reload."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from guardrail.cli import main
from guardrail.server.auth import hash_key
from guardrail.testing import wait_until
from tests.helpers.servers import free_port, ready
from tests.operate.conftest import POLICY_V1, POLICY_V2, chat, metric, write

KEY = "gr-cli-tenant-key"


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="needs SIGHUP")
def test_served_tenant_policy_reloads_on_sighup(tmp_path: Path) -> None:
    """A keyed tenant is served; SIGHUP (no file watching) applies the edited policy."""
    policy = write(tmp_path / "team.yaml", POLICY_V1)
    config = write(
        tmp_path / "server.yaml",
        f'tenants:\n  team: {{policy: team.yaml, keys: ["{hash_key(KEY)}"]}}\n',
    )
    port = free_port()
    command = [sys.executable, "-m", "guardrail", "serve", "--server-config", str(config)]
    command += ["--port", str(port), "--upstream", "local", "--watch-ms", "0"]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: ready(url) or process.poll() is not None, timeout_s=60)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert chat(url, "hello", key="gr-wrong").status_code == 401
        assert chat(url, "kaboom", key=KEY).status_code == 400
        write(policy, POLICY_V2)
        assert chat(url, "kaboom", key=KEY).status_code == 400  # not watched: nothing yet
        process.send_signal(signal.SIGHUP)
        assert wait_until(
            lambda: metric(url, "guardrail_policy_reloads_total", result="ok") >= 1, timeout_s=30
        )
        assert chat(url, "kaboom", key=KEY).status_code == 200
        assert chat(url, "zebra", key=KEY).status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_policy_and_server_config_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    """`--policy` and `--server-config` together are a usage error (exit 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--policy", "a.yaml", "--server-config", "b.yaml"])
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_invalid_server_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server config with a plain key stops `guardrail serve` with exit 2 and the line."""
    config = write(tmp_path / "server.yaml", "tenants:\n  t: {policy: p.yaml, keys: [plain]}\n")
    assert main(["serve", "--server-config", str(config), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "server.yaml:2:" in err and "guardrail keys hash" in err
