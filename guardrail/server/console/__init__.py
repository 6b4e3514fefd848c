"""The browser console at `/console` (docs/console.md): a playground, live decisions and
the policy view, served by `guardrail serve` when the server config says
`console: {enabled: true}` and only to holders of an admin key."""

from guardrail.server.console.routes import ROUTES as CONSOLE_ROUTES
from guardrail.server.console.routes import Console

__all__ = ["CONSOLE_ROUTES", "Console"]
