"""`guardrail serve --workers 2` as real processes: both workers answer on one port, SIGHUP
reloads the policy in each, SIGTERM finishes in-flight requests and stops them all, metrics
are summed over the workers, and a broken policy starts nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from guardrail.testing import FakeUpstream, Reply, wait_until
from tests.e2e.clients import openai_client
from tests.helpers.servers import FakeServer, free_port, ready

POLICY = """\
version: 1
name: workers
guards:
  banned: {{kind: keywords, keywords: [{words}]}}
rules:
  - {{name: no-banned, guard: banned, stages: [input], action: block}}
"""
MAX_REQUESTS = 200  # bounds of every request loop
MAX_SECONDS = 30.0


@dataclass
class Served:
    """A running `guardrail serve --workers 2`."""

    process: subprocess.Popen[bytes]
    url: str
    policy: Path
    tmp: Path  # its TMPDIR: where the per-run metrics directory is made

    def metrics(self) -> str:
        """One scrape of /metrics (answered by either worker)."""
        return httpx.get(self.url + "/metrics", timeout=5).text

    def worker_requests(self) -> dict[int, float]:
        """`guardrail_worker_requests` by worker pid."""
        found = re.findall(r'guardrail_worker_requests\{pid="(\d+)"\} (\S+)', self.metrics())
        return {int(pid): float(value) for pid, value in found}

    def policy_hashes(self) -> dict[int, set[str]]:
        """The policy hashes each worker says it serves (`guardrail_policy_info`)."""
        text = self.metrics()
        hashes: dict[int, set[str]] = {}
        for pid, digest in re.findall(r'policy_info\{pid="(\d+)",.*policy_hash="(\w+)"', text):
            hashes.setdefault(int(pid), set()).add(digest)
        return hashes

    def metrics_dirs(self) -> list[Path]:
        """The server's multiprocess metrics directories under its TMPDIR."""
        return sorted(self.tmp.glob("guardrail-metrics-*"))


def _serve(
    tmp_path: Path,
    upstream: str,
    text: str = POLICY.format(words="kaboom"),
    watch_ms: int = 0,
    extra: tuple[str, ...] = (),
    env_extra: dict[str, str] | None = None,
) -> Served:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.update(env_extra or {})
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "guardrail", "serve", "--policy", str(policy)]
    command += ["--port", str(port), "--upstream", upstream, "--workers", "2"]
    command += ["--watch-ms", str(watch_ms), "--log-level", "warning"]  # 0: only on SIGHUP
    command += extra
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    return Served(process, f"http://127.0.0.1:{port}", policy, tmp)


@pytest.fixture
def local_workers(tmp_path: Path) -> Iterator[Served]:
    """Two workers over the built-in local upstream, both ready."""
    yield from _running(_serve(tmp_path, "local"))


@pytest.fixture
def watching_workers(tmp_path: Path) -> Iterator[Served]:
    """Two workers that poll the policy file every 100 ms."""
    yield from _running(_serve(tmp_path, "local", watch_ms=100))


@pytest.fixture
def fake_workers(tmp_path: Path, fake: FakeUpstream, fake_server: FakeServer) -> Iterator[Served]:
    """Two workers in front of the fake upstream, both ready."""
    yield from _running(_serve(tmp_path, fake_server.url + "/v1"))


def _classifier_policy(tmp_path: Path) -> str:
    from tests.helpers.tiny_bundle import build_tiny_bundle

    build_tiny_bundle(tmp_path / "tiny")
    text = POLICY.format(words="kaboom").replace(
        "guards:\n", "guards:\n  inj: {kind: classifier, bundle: ./tiny, head: injection}\n"
    )
    return text + "  - {name: no-injection, guard: inj, stages: [input], action: warn}\n"


@pytest.fixture
def classifier_workers(tmp_path: Path) -> Iterator[Served]:
    """Two workers whose policy scores every input with a (tiny, real) ONNX classifier."""
    yield from _running(_serve(tmp_path, "local", _classifier_policy(tmp_path)))


@pytest.fixture
def wide_classifier_workers(tmp_path: Path) -> Iterator[Served]:
    """`classifier_workers` started with `--wide-alone`, each worker's pool 2 threads (as a
    user who set GUARDRAIL_INFERENCE_WORKERS would)."""
    text, pool = _classifier_policy(tmp_path), {"GUARDRAIL_INFERENCE_WORKERS": "2"}
    yield from _running(_serve(tmp_path, "local", text, extra=("--wide-alone",), env_extra=pool))


def _running(served: Served) -> Iterator[Served]:
    try:
        both = lambda: ready(served.url) and len(served.policy_hashes()) == 2  # noqa: E731
        if not wait_until(
            lambda: served.process.poll() is not None or both(), timeout_s=90, interval_s=0.2
        ):
            pytest.fail("guardrail serve --workers 2 did not become ready")
        assert served.process.poll() is None, "guardrail serve exited"
        yield served
    finally:
        if served.process.poll() is None:
            served.process.terminate()
            served.process.wait(timeout=60)


def _chat(url: str, text: str) -> int:
    """One chat call on a new connection (so the kernel may give it to either worker)."""
    with openai_client(url) as client:
        try:
            client.chat.completions.create(
                model="local", messages=[{"role": "user", "content": text}]
            )
        except openai.BadRequestError as exc:
            return exc.status_code
    return 200


def _until_both_answered(served: Served, text: str) -> tuple[set[int], int]:
    """Send `text` in batches until each worker has answered at least one of them: the
    status codes returned and the number of calls. Each scrape counts itself in one worker,
    hence the `- 1`."""
    answered: dict[int, float] = {}
    statuses: set[int] = set()
    sent, deadline = 0, time.monotonic() + MAX_SECONDS
    while sent < MAX_REQUESTS and time.monotonic() < deadline:
        before = served.worker_requests()
        statuses |= {_chat(served.url, text) for _ in range(5)}
        sent += 5
        after = served.worker_requests()
        assert set(after) == set(before)  # no worker died or was replaced
        assert sum(after.values()) - sum(before.values()) == 5 + 1  # each counted once
        for pid in after:
            answered[pid] = answered.get(pid, 0) + max(0.0, after[pid] - before[pid] - 1)
        if len(answered) == 2 and all(n >= 1 for n in answered.values()):
            return statuses, sent
    pytest.fail(f"not both workers answered within {sent} requests: {answered}")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_both_workers_answer_and_metrics_are_summed(local_workers: Served) -> None:
    """Requests on new connections reach both workers; /metrics counts them all."""
    statuses, sent = _until_both_answered(local_workers, "hello")
    assert statuses == {200}
    text = local_workers.metrics()
    total = re.search(r'guardrail_requests_total\{outcome="ok",route="openai.chat".*\} (\S+)', text)
    assert total is not None and float(total.group(1)) == sent
    assert re.search(r"^guardrail_policy_loaded 1\.0$", text, re.MULTILINE)
    assert len(local_workers.metrics_dirs()) == 1


def test_inference_counters_are_summed_over_the_workers(classifier_workers: Served) -> None:
    """Each worker's classifier runtime counts its texts; /metrics reports all of them."""
    statuses, sent = _until_both_answered(classifier_workers, "hello there")
    assert statuses == {200}

    def texts() -> float:
        found = re.search(
            r"^guardrail_inference_texts_total\S* (\S+)$",
            classifier_workers.metrics(),
            re.MULTILINE,
        )
        return float(found.group(1)) if found else -1.0

    # one input text per call; copied into the shared files every second
    assert wait_until(lambda: texts() == sent, timeout_s=10, interval_s=0.5), texts()


def test_wide_alone_stays_off_where_a_worker_owns_under_two_cores(
    wide_classifier_workers: Served,
) -> None:
    """`--workers 2 --wide-alone`: lone passes run on a multi-thread session only where each
    worker owns 2+ cores (none on a 2-core machine), counted in guardrail_inference_wide."""
    from guardrail.cli.serve_workers import wide_allowed

    served = wide_classifier_workers
    statuses, sent = _until_both_answered(served, "hello there")  # one at a time: each alone
    assert statuses == {200}

    def total(name: str) -> float:
        found = re.search(rf"^guardrail_inference_{name}_total\S* (\S+)$", served.metrics(), re.M)
        return float(found.group(1)) if found else -1.0

    # copied into the shared files every second: wait until every text is in (a repeat is
    # a cache hit, so each worker ran one pass, alone)
    assert wait_until(lambda: total("texts") == sent, timeout_s=10, interval_s=0.5)
    assert total("batches") >= 2
    assert (total("wide") > 0) == wide_allowed(2)


def test_a_killed_worker_is_replaced_and_its_counts_are_kept(local_workers: Served) -> None:
    """SIGKILL of one worker: the supervisor starts another; totals keep the dead one's
    requests, and its per-worker series go away."""
    _, sent = _until_both_answered(local_workers, "hello")
    pids = set(local_workers.policy_hashes())
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        now = set(local_workers.policy_hashes())
        return len(now) == 2 and victim not in now and (pids - {victim}) <= now

    assert wait_until(replaced, timeout_s=MAX_SECONDS, interval_s=0.2)
    assert victim not in local_workers.worker_requests()
    total = re.search(
        r'guardrail_requests_total\{outcome="ok",route="openai.chat".*\} (\S+)',
        local_workers.metrics(),
    )
    assert total is not None and float(total.group(1)) == sent


def test_sighup_reloads_the_policy_in_every_worker(local_workers: Served) -> None:
    """After an edit and SIGHUP to the parent, every worker serves and applies the new rule."""
    old = local_workers.policy_hashes()
    assert _until_both_answered(local_workers, "fizzle")[0] == {200}
    local_workers.policy.write_text(POLICY.format(words="kaboom, fizzle"))
    local_workers.process.send_signal(signal.SIGHUP)

    def reloaded() -> bool:
        now = local_workers.policy_hashes()
        return set(now) == set(old) and all(now[p] and now[p] != old[p] for p in now)

    assert wait_until(reloaded, timeout_s=MAX_SECONDS, interval_s=0.2)
    assert _until_both_answered(local_workers, "fizzle")[0] == {400}
    text = local_workers.metrics()
    reloads = re.search(r'guardrail_policy_reloads_total\{result="ok"\} (\S+)', text)
    assert reloads is not None and float(reloads.group(1)) == 2  # one per worker, in place
    assert local_workers.process.poll() is None


def test_file_watcher_reloads_every_worker(watching_workers: Served) -> None:
    """An edited policy file is picked up by each worker's own watcher, no signal sent."""
    old = watching_workers.policy_hashes()
    watching_workers.policy.write_text(POLICY.format(words="kaboom, fizzle"))

    def reloaded() -> bool:
        now = watching_workers.policy_hashes()
        return set(now) == set(old) and all(now[p] and now[p] != old[p] for p in now)

    assert wait_until(reloaded, timeout_s=MAX_SECONDS, interval_s=0.2)
    assert _until_both_answered(watching_workers, "fizzle")[0] == {400}


def test_sigterm_finishes_in_flight_requests_then_stops_every_process(
    fake_workers: Served, fake: FakeUpstream
) -> None:
    """SIGTERM: a request in flight still gets its answer; parent and workers exit; the
    metrics directory is removed."""
    pids = set(fake_workers.worker_requests())
    assert len(pids) == 2 and len(fake_workers.metrics_dirs()) == 1
    fake.script(Reply(text="finished after the signal", delay_s=2.0))
    answers: list[str | None] = []
    call = threading.Thread(
        target=lambda: answers.append(
            openai_client(fake_workers.url)
            .chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
            .choices[0]
            .message.content
        )
    )
    call.start()
    assert wait_until(lambda: len(fake.requests) == 1, timeout_s=MAX_SECONDS)
    fake_workers.process.send_signal(signal.SIGTERM)
    call.join(timeout=MAX_SECONDS)
    assert answers == ["finished after the signal"]
    assert fake_workers.process.wait(timeout=MAX_SECONDS) == 0
    assert wait_until(lambda: not any(_exists(p) for p in pids), timeout_s=MAX_SECONDS)
    assert fake_workers.metrics_dirs() == []


def test_broken_policy_exits_2_and_starts_no_worker(tmp_path: Path) -> None:
    """`--workers 2` with an invalid policy: exit 2 with file and line, no worker started."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - {name: x, guard: nope, action: block}\n")
    env = {**os.environ, "TMPDIR": str(tmp_path), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "guardrail", "serve", "--policy", str(bad)]
    command += ["--port", str(free_port()), "--workers", "2", "--log-level", "info"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert result.returncode == 2
    assert re.search(r"bad\.yaml:3", result.stderr), result.stderr
    assert "Started server process" not in result.stderr + result.stdout
    assert list(tmp_path.glob("guardrail-metrics-*")) == []


def test_pool_size_keeps_workers_times_threads_at_the_cores() -> None:
    """Each worker's inference pool is cores // workers threads, at least one."""
    from guardrail.cli.serve_workers import pool_size

    assert [pool_size(n, cores=16) for n in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
    assert pool_size(2, cores=2) == 1


def test_worker_arguments_survive_the_environment() -> None:
    """The parsed serve arguments reach each worker as they were (paths stay paths)."""
    import argparse

    from guardrail.cli.serve_workers import decode_args, encode_args

    args = argparse.Namespace(
        policy=Path("a b/p.yaml"), server_config=None, config=None, workers=2, func=print
    )
    back = decode_args(encode_args(args))
    assert vars(back) == {
        "policy": Path("a b/p.yaml"),
        "server_config": None,
        "config": None,
        "workers": 2,
    }
