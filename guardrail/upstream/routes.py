"""Which provider answers which model: `--upstream URL` or a `--config FILE` route table.

A config file (YAML or JSON) maps the model names clients use to litellm model names:

```yaml
models:
  gpt-4o-mini:
    model: openai/gpt-4o-mini          # litellm model name ("{model}" = the client's name)
    api_key_env: OPENAI_API_KEY        # name of the env var that holds the key (optional)
  claude-haiku:
    model: anthropic/claude-3-5-haiku-latest
    api_key_env: ANTHROPIC_API_KEY
  "*":                                 # every other model name (optional)
    model: openai/{model}
    api_base: http://127.0.0.1:8000/v1
```

Keys are never written in the file, only the names of the variables that hold them. A route
without `api_key_env` uses the key the client sent (drop-in use).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guardrail.errors import RequestError

FALLBACK = "*"


class Route(BaseModel):
    """Where one model name goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    api_base: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)

    def target(self, requested: str) -> str:
        """The litellm model name for the model the client asked for."""
        return self.model.replace("{model}", requested)

    def api_key(self, client_key: str | None) -> str | None:
        """The key to send: from the named env var, else the client's own."""
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or client_key
        return client_key


class RouteTable(BaseModel):
    """Model name -> Route; `*` catches every other name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, Route] = Field(min_length=1)

    def resolve(self, model: str) -> Route:
        """The route for `model`; RequestError when there is none."""
        route = self.models.get(model) or self.models.get(FALLBACK)
        if route is None:
            known = ", ".join(sorted(m for m in self.models if m != FALLBACK))
            raise RequestError(f"model {model!r} is not configured (known: {known})")
        return route

    @property
    def names(self) -> list[str]:
        """The model names clients may use (without the fallback)."""
        return [m for m in self.models if m != FALLBACK]

    @classmethod
    def for_base_url(cls, url: str) -> RouteTable:
        """Every model to one OpenAI-compatible base URL (`--upstream URL`)."""
        return cls(models={FALLBACK: Route(model="openai/{model}", api_base=url)})

    @classmethod
    def for_anthropic(cls, url: str) -> RouteTable:
        """Every model to one Anthropic Messages API (`--upstream-api anthropic`): litellm
        sends each request to `<url>/v1/messages` in Anthropic's own format, with the
        client's key as `x-api-key`."""
        return cls(models={FALLBACK: Route(model="anthropic/{model}", api_base=url)})

    @classmethod
    def from_file(cls, path: str | Path) -> RouteTable:
        """Read a YAML or JSON route table; ValueError with the reason when invalid."""
        from ruamel.yaml import YAML  # JSON is YAML too

        data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
        try:
            return cls.model_validate(data if isinstance(data, Mapping) else {})
        except ValidationError as exc:
            raise ValueError(f"{path}: {exc}") from exc
