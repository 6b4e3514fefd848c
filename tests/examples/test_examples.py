"""Every example runs as a subprocess (against the fake upstream it starts) and says what it
should; the manifests and configs that cannot run here are checked for consistency."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from ruamel.yaml import YAML

from guardrail.integrations.litellm import PolicyGuardrail
from guardrail.pipeline import Pipeline
from guardrail.testing import FakeUpstream, ServerThread
from tests.integrations.support import (
    EMAIL,
    fake,
    fake_server,
    litellm_proxy,
    needs_litellm_proxy,
)

__all__ = ["fake", "fake_server"]  # fixtures used here

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SIDECAR = EXAMPLES / "sidecar"


def run(*args: str | Path, env: dict[str, str] | None = None, ok: bool = True) -> str:
    """Run `python ARGS` from the repository root; its stdout (stderr too when it fails)."""
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})}
    full_env.pop("OPENAI_BASE_URL", None)  # the examples start their own fake upstream
    result = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return result.stdout if ok else result.stdout + result.stderr


def load_yaml(path: Path) -> list[Any]:
    """Every document of a YAML file."""
    return list(YAML(typ="safe").load_all(path.read_text()))


# ------------------------------------------------------------------------ runnable ones


def test_wrap_openai_sync() -> None:
    """The sync wrapper example passes, redacts and restores, and blocks prompt and answer."""
    out = run(EXAMPLES / "wrap_openai_sync.py")
    assert "benign: echo: What is the capital of France?" in out
    assert "upstream saw: Please draft a short note to <EMAIL_1> about Friday." in out
    assert f"pii restored: echo: Please draft a short note to {EMAIL} about Friday." in out
    assert "blocked: rule=no-banned-prompts stage=input code=content_blocked" in out
    assert "blocked: rule=no-banned-answers stage=output" in out


def test_wrap_openai_async_stream() -> None:
    """The async streaming example restores the e-mail across chunks and cuts the bad answer."""
    out = run(EXAMPLES / "wrap_openai_async_stream.py")
    assert f"streamed (stop): I will write to {EMAIL} today." in out
    assert "upstream saw: Repeat back my e-mail, <EMAIL_1>, three times." in out
    cut = [line for line in out.splitlines() if line.startswith("streamed (content_filter): ")]
    assert len(cut) == 1
    assert "detonate" not in cut[0]


def test_litellm_inprocess() -> None:
    """The litellm example redacts the phone number upstream, blocks, and cuts a stream."""
    out = run(EXAMPLES / "litellm_inprocess.py")
    assert "upstream saw: Call me back on <PHONE_1> please." in out
    assert "answer: echo: Call me back on +1 415 555 0100 please." in out
    assert "blocked: rule=no-banned-prompts stage=input" in out
    assert "streamed (content_filter): " in out
    assert "sauce" not in out


def test_examples_policy_passes_its_own_tests() -> None:
    """The examples' policy passes the `tests:` it carries (`guardrail test`)."""
    out = run("-m", "guardrail", "test", EXAMPLES / "policy.yaml")
    assert "3 passed, 0 failed" in out


def test_custom_guard_registers_through_entry_point(tmp_path: Path) -> None:
    """pip-installed, the package's entry point makes `kind: shouting` known to policies."""
    source = tmp_path / "src"
    shutil.copytree(EXAMPLES / "custom_guard", source)  # builds write next to the sources
    site = tmp_path / "site"
    pip = ("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target")
    run(*pip, site, source)
    assert (site / "guardrail_shouting-0.1.0.dist-info" / "entry_points.txt").exists()
    demo = EXAMPLES / "custom_guard" / "demo.py"
    out = run(demo, env={"PYTHONPATH": str(site)})
    assert "shouting" in out.splitlines()[0]
    assert re.search(r"^block no-shouting +WHY IS MY ORDER", out, re.M)
    assert re.search(r"^allow - +Why is my order", out, re.M)
    policy = EXAMPLES / "custom_guard" / "policy.yaml"
    checked = run("-m", "guardrail", "test", policy, env={"PYTHONPATH": str(site)})
    assert "2 passed, 0 failed" in checked


def test_custom_guard_is_unknown_without_the_package() -> None:
    """Without the package installed the policy fails to load: the kind comes from pip."""
    out = run(EXAMPLES / "custom_guard" / "demo.py", ok=False)
    assert "unknown guard kind 'shouting'" in out


def test_readme_names_every_example() -> None:
    """examples/README.md explains each example file and folder."""
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.iterdir():
        if path.name.startswith(("_", ".")) or path.name in ("README.md", "policy.yaml"):
            continue
        name = path.name + ("/" if path.is_dir() else "")
        assert f"`{name}`" in readme, name


# --------------------------------------------------------------------------- litellm proxy


def test_litellm_proxy_config_builds_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config's guardrail entry builds the plug-in as litellm does, with its policy."""
    folder = EXAMPLES / "litellm_proxy"
    (document,) = load_yaml(folder / "config.yaml")
    (entry,) = document["guardrails"]
    params = dict(entry["litellm_params"])
    assert params.pop("guardrail") == "guardrail.integrations.litellm.PolicyGuardrail"
    assert set(params["mode"]) == {"pre_call", "post_call"}
    monkeypatch.chdir(folder)  # litellm's proxy runs from the config's folder
    plugin = PolicyGuardrail(
        guardrail_name=entry["guardrail_name"],
        event_hook=params.pop("mode"),
        default_on=params.pop("default_on"),
        **params,
    )
    assert plugin.edge.pipeline.policy.name == "examples"
    names = {m["model_name"] for m in document["model_list"]}
    assert names == {"gpt-4o-mini"}


@needs_litellm_proxy
def test_litellm_proxy_example_runs(
    fake_server: tuple[FakeUpstream, ServerThread], fake: FakeUpstream
) -> None:
    """The example config, run by a real litellm proxy, redacts upstream and blocks."""
    env = {
        "UPSTREAM_BASE_URL": fake_server[1].url + "/v1",
        "UPSTREAM_API_KEY": "test",
        "LITELLM_MASTER_KEY": "sk-example",
    }
    with litellm_proxy(EXAMPLES / "litellm_proxy", env) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-example", max_retries=0)
        with client:
            answer = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Mail {EMAIL}"}]
            )
            assert answer.choices[0].message.content == f"echo: Mail {EMAIL}"
            assert EMAIL not in json.dumps(fake.last.body)
            with pytest.raises(openai.BadRequestError, match="no-banned-prompts"):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "kaboom"}]
                )


# -------------------------------------------------------------------------------- sidecar


def sidecar() -> tuple[dict[str, Any], dict[str, Any]]:
    """The ConfigMap and the Deployment of deployment.yaml."""
    by_kind = {doc["kind"]: doc for doc in load_yaml(SIDECAR / "deployment.yaml")}
    assert set(by_kind) == {"ConfigMap", "Deployment"}
    return by_kind["ConfigMap"], by_kind["Deployment"]


def containers(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The pod's containers by name."""
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def test_sidecar_manifests_agree() -> None:
    """Names, ports, paths and probes in the ConfigMap, Deployment and Dockerfile agree."""
    config_map, deployment = sidecar()
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    guard, app = containers(deployment)["guardrail"], containers(deployment)["app"]
    (port,) = guard["ports"]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        assert guard[probe]["httpGet"]["path"] == path
        assert guard[probe]["httpGet"]["port"] in (port["name"], port["containerPort"])
    base_url = next(e["value"] for e in app["env"] if e["name"] == "OPENAI_BASE_URL")
    assert base_url == f"http://127.0.0.1:{port['containerPort']}/v1"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in guard["volumeMounts"] if "configMap" in volumes[m["name"]])
    source = volumes[mount["name"]]["configMap"]
    assert source["name"] == config_map["metadata"]["name"]
    (item,) = source["items"]
    assert item["key"] in config_map["data"]
    policy_path = guard["args"][guard["args"].index("--policy") + 1]
    assert policy_path == f"{mount['mountPath']}/{item['path']}"
    dockerfile = (SIDECAR / "Dockerfile").read_text()
    assert f"EXPOSE {port['containerPort']}" in dockerfile
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    assert entrypoint[:2] == ["guardrail", "serve"]
    assert entrypoint[entrypoint.index("--port") + 1] == str(port["containerPort"])


def test_sidecar_policy_loads(tmp_path: Path) -> None:
    """The policy in the ConfigMap is valid and loads (classifier bundle included)."""
    config_map, _ = sidecar()
    (key,) = config_map["data"]
    path = tmp_path / key
    path.write_text(config_map["data"][key])
    assert Pipeline.from_file(path).policy.name == "chat-app"


def test_sidecar_dockerfile_copies_what_exists() -> None:
    """Every COPY source of the Dockerfile exists in the repository (the build context)."""
    dockerfile = (SIDECAR / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            *sources, _ = shlex.split(line)[1:]
            for source in sources:
                assert (REPO / source).exists(), source
