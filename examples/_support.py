"""Shared by the examples: where the upstream is, and a fake one when there is none.

Every example takes `--base-url` (or OPENAI_BASE_URL) and `--model`; with neither it starts
guardrail's FakeUpstream on 127.0.0.1 (an OpenAI-compatible server that echoes the prompt or
answers with scripted replies) so that it runs anywhere, offline.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from guardrail.logging import configure
from guardrail.testing import FakeUpstream, Reply, serve_app

HERE = Path(__file__).resolve().parent
POLICY = HERE / "policy.yaml"


@dataclass
class Upstream:
    """Where to send calls; `fake` is set when the example started its own."""

    base_url: str
    api_key: str
    model: str
    fake: FakeUpstream | None = None

    def script(self, *replies: Reply) -> None:
        """Queue answers on the fake upstream (a real upstream answers for itself)."""
        if self.fake is not None:
            self.fake.script(*replies)

    def last_prompt(self) -> str:
        """What the fake upstream received last ('' for a real upstream)."""
        if self.fake is None:
            return ""
        body = self.fake.last.body
        if "messages" in body:
            return str(body["messages"][-1]["content"])
        return str(body.get("prompt", ""))


def arguments(description: str) -> argparse.Namespace:
    """`--base-url`, `--model` and `--api-key`, with environment fallbacks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"))
    parser.add_argument("--model", default=os.environ.get("EXAMPLE_MODEL", "gpt-4o-mini"))
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY", "test"))
    return parser.parse_args()


@contextmanager
def upstream(args: argparse.Namespace) -> Iterator[Upstream]:
    """The given upstream, or a FakeUpstream on 127.0.0.1 for the `with` block."""
    configure(level="WARNING")  # guardrail's audit events (JSON on stderr) only when they matter
    if args.base_url:
        yield Upstream(args.base_url, args.api_key, args.model)
        return
    fake = FakeUpstream()
    with serve_app(fake.app) as server:
        yield Upstream(server.url + "/v1", "test", args.model, fake)
