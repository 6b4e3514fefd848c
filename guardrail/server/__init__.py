"""The HTTP proxy: OpenAI- and Anthropic-compatible endpoints in front of an upstream."""

from guardrail.server.app import create_app

__all__ = ["create_app"]
