"""Route tables for `--config FILE`: model names -> litellm models, bases and key variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.errors import RequestError
from guardrail.upstream.routes import RouteTable

CONFIG = """
models:
  fast:
    model: openai/gpt-4o-mini
    api_key_env: GUARDRAIL_TEST_KEY
  "*":
    model: openai/{model}
    api_base: http://127.0.0.1:9999/v1
"""


def test_config_file_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Named models map to their route, others to the fallback; keys come from env vars."""
    path = tmp_path / "models.yaml"
    path.write_text(CONFIG)
    table = RouteTable.from_file(path)
    monkeypatch.setenv("GUARDRAIL_TEST_KEY", "from-env")
    fast = table.resolve("fast")
    assert fast.target("fast") == "openai/gpt-4o-mini"
    assert fast.api_key("client-key") == "from-env"
    other = table.resolve("llama")
    assert (other.target("llama"), other.api_base) == ("openai/llama", "http://127.0.0.1:9999/v1")
    assert other.api_key("client-key") == "client-key"
    assert table.names == ["fast"]


def test_unknown_model_without_fallback(tmp_path: Path) -> None:
    """Without `*` an unknown model is a request error listing the known ones."""
    table = RouteTable.model_validate({"models": {"a": {"model": "openai/a"}}})
    with pytest.raises(RequestError, match="known: a"):
        table.resolve("b")


def test_invalid_config_is_explained(tmp_path: Path) -> None:
    """Unknown keys in a route are an error that names the file."""
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  a: {model: x, api_kee: y}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        RouteTable.from_file(path)
