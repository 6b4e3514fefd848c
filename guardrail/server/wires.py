"""The proxy's wire shapes, registered: one object per endpoint, like the guard kinds.

Each shape (`routes_openai.py`, `routes_anthropic.py`, `routes_responses.py`) says, for
itself, where it is served (`path`, `method`), what it reads (a TypedDict of
`guardrail/wire.py`), how it parses a request into the `Conversation` (with its table in
`guardrail/fields.py`), which answer format it asks the upstream for (`format`:
`guardrail/upstream/formats.py`, which also shapes refusals and names the stream channels),
how it writes answers, streams and errors, and how it is served (`FlowEndpoint`: the whole
flow; `PassEndpoint`: input stages, then the upstream's answer as it came).

The app's routes and the OpenAPI description (`openapi.py`) are made from this table, so a
new shape is its own module, its field table and one line here.
"""

from __future__ import annotations

from starlette.routing import Route

from guardrail.server import routes_anthropic, routes_openai, routes_responses
from guardrail.server.proxy import Served

WIRES: tuple[Served, ...] = (
    routes_openai.CHAT,
    routes_openai.COMPLETION,
    routes_openai.EMBEDDINGS,
    routes_openai.MODELS,
    routes_responses.RESPONSES,
    routes_anthropic.MESSAGES,
    routes_anthropic.COUNT_TOKENS,
)
"""Every wire shape the proxy serves."""


def routes() -> list[Route]:
    """One starlette route per registered shape."""
    return [Route(w.path, w.endpoint, methods=[w.method]) for w in WIRES]
