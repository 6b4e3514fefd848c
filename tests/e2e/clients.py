"""The real SDK clients the end-to-end tests use; only the base URL points at the proxy."""

from __future__ import annotations

import anthropic
import openai


def openai_client(base: str) -> openai.OpenAI:
    """The real OpenAI SDK, changed only in its base URL (no retries: one call per test)."""
    return openai.OpenAI(base_url=base + "/v1", api_key="sk-test-key", max_retries=0)


def anthropic_client(base: str) -> anthropic.Anthropic:
    """The real Anthropic SDK, changed only in its base URL."""
    return anthropic.Anthropic(base_url=base, api_key="sk-ant-test", max_retries=0)
