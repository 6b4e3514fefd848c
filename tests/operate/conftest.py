"""Fixtures for running guardrail: a real fake upstream, policy files written atomically,
and a reader for the proxy's Prometheus metrics."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Rules only (fast to load): v1 blocks "kaboom", v2 blocks "zebra" instead.
POLICY_V1 = """\
version: 1
name: ops-v1
guards:
  banned: {kind: keywords, keywords: [kaboom]}
rules:
  - {name: no-banned, guard: banned, stages: [input], action: block}
"""
POLICY_V2 = POLICY_V1.replace("ops-v1", "ops-v2").replace("[kaboom]", "[zebra]")


def write(path: Path, text: str) -> Path:
    """Replace a file atomically (a watcher never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def metric(base: str, name: str, headers: dict[str, str] | None = None, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when absent)."""
    text = httpx.get(base + "/metrics", headers=headers or {}, timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def chat(base: str, text: str, key: str = "sk-any", **extra: Any) -> httpx.Response:
    """One non-streamed chat call with raw httpx (status and headers are what we check)."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": text}], **extra}
    headers = {"authorization": f"Bearer {key}"}
    return httpx.post(base + "/v1/chat/completions", json=body, headers=headers, timeout=30)


class Gate:
    """ASGI middleware that holds upstream calls until `release()` (or a timeout).

    Makes "a request is in flight" a fact a test can wait for, instead of a timing guess.
    """

    def __init__(self, app: Any, timeout_s: float = 20.0) -> None:
        self.app = app
        self.arrived = threading.Event()
        self._open = threading.Event()
        self._timeout_s = timeout_s

    def release(self) -> None:
        """Let held and later calls through."""
        self._open.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/chat/completions"):
            self.arrived.set()
            await asyncio.to_thread(self._open.wait, self._timeout_s)
        await self.app(scope, receive, send)
