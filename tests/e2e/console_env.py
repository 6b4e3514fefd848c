"""A running proxy with the console on: three tenants behind keys, an admin key, the fake
upstream. Shared by tests/e2e/test_console*.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from guardrail.server.app import create_app
from guardrail.server.auth import hash_key
from guardrail.server.reload import Reloader
from guardrail.testing import serve_app
from guardrail.upstream.openai_http import OpenAIHttpUpstream

ADMIN = "gr-console-admin-0123456789"
ACME_KEY = "gr-console-acme-key"  # rules only, text never logged
LOGS_KEY = "gr-console-logs-key"  # the same rules, `log_text: true`
CHAT_KEY = "gr-console-chat-key"  # the shipped default policy (ONNX classifiers)
DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"

RULES = """\
version: 1
name: console-rules
options: {{log_text: {log_text}}}
guards:
  invisible: {{kind: invisible_text}}
  pii: {{kind: pii, entities: [EMAIL, PHONE]}}
  banned: {{kind: keywords, keywords: [kaboom]}}
rules:
  - {{name: strip-invisible, guard: invisible, stages: [input, tool], action: rewrite}}
  - {{name: redact-pii, guard: pii, stages: [input, tool], action: redact, restore: true}}
  - {{name: no-kaboom, guard: banned, stages: [input, tool, output], action: block}}
tests:
  - {{text: "say kaboom", expect: block, rule: no-kaboom}}
  - {{text: "hello there", expect: allow}}
  - {{name: wrong on purpose, text: "hello again", expect: block}}
"""


def server_yaml(*, console: bool = True) -> str:
    """Three tenants, an admin key and (unless `console=False`) the console on."""
    text = f"""\
version: 1
tenants:
  acme: {{policy: acme.yaml, keys: ["{hash_key(ACME_KEY)}"]}}
  logs: {{policy: logs.yaml, keys: ["{hash_key(LOGS_KEY)}"]}}
  chat: {{policy: "{DEFAULT_POLICY}", keys: ["{hash_key(CHAT_KEY)}"]}}
admin_keys: ["{hash_key(ADMIN)}"]
reload: {{watch_ms: 0}}
"""
    return text + ("console: {enabled: true, buffer: 50}\n" if console else "")


@dataclass
class ConsoleServer:
    """A running proxy, the folder its config lives in, and its reloader."""

    url: str
    root: Path
    reloader: Reloader

    def chat(self, text: str, key: str, role: str = "user") -> httpx.Response:
        """One chat call through the proxy as a tenant."""
        body = {"model": "fake-model", "messages": [{"role": role, "content": text}]}
        headers = {"authorization": f"Bearer {key}"}
        return httpx.post(self.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)


def write(path: Path, text: str) -> None:
    """Replace a file atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def console_server(
    root: Path, fake_url: str, *, console: bool = True, **app_options: Any
) -> Iterator[ConsoleServer]:
    """A proxy over the fake upstream with the config above, for the `with` block
    (`app_options`: more `create_app` arguments, e.g. `limits`)."""
    write(root / "acme.yaml", RULES.format(log_text="false"))
    write(
        root / "logs.yaml", RULES.format(log_text="true").replace("console-rules", "console-logs")
    )
    write(root / "server.yaml", server_yaml(console=console))
    reloader = Reloader(root / "server.yaml")
    app = create_app(reloader, OpenAIHttpUpstream(fake_url + "/v1"), **app_options)
    with serve_app(app) as server:
        yield ConsoleServer(server.url, root, reloader)
