"""`guardrail serve`: the proxy, OpenAI- and Anthropic-compatible, in front of an upstream.

    guardrail serve --policy policies/default.yaml --upstream local
    guardrail serve --policy policies/default.yaml --upstream http://127.0.0.1:8000/v1
    guardrail serve --policy policies/default.yaml --config models.yaml

Clients change only their base URL: `OpenAI(base_url="http://127.0.0.1:8080/v1")`,
`Anthropic(base_url="http://127.0.0.1:8080")`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add `serve`."""
    serve = subparsers.add_parser("serve", help="run the guardrail proxy")
    serve.add_argument("--policy", required=True, type=Path, help="policy YAML file")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--upstream",
        default=None,
        help="'local' (built-in echo/scripted model, the default) or the base URL of an "
        "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1",
    )
    serve.add_argument(
        "--config",
        type=Path,
        default=None,
        help="model routes for litellm (YAML/JSON: model name -> litellm model, api_base, "
        "api_key_env); see guardrail/upstream/routes.py",
    )
    serve.add_argument(
        "--via",
        choices=["auto", "http", "litellm"],
        default="auto",
        help="with --upstream URL: 'auto'/'http' call it directly (fastest), 'litellm' "
        "goes through litellm",
    )
    serve.add_argument(
        "--scan-system", action="store_true", help="also check system/developer prompts as input"
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Load the policy (exit 2 if invalid), then serve until interrupted."""
    import uvicorn

    from guardrail.errors import GuardrailError
    from guardrail.logging import configure
    from guardrail.pipeline import Pipeline
    from guardrail.server.app import create_app
    from guardrail.upstream import build_upstream

    configure(level=args.log_level)
    try:
        pipeline = Pipeline.from_file(args.policy)
        upstream = build_upstream(args.upstream, args.config, via=args.via)
    except (GuardrailError, ValueError, OSError) as exc:
        print(f"guardrail serve: {exc}", file=sys.stderr)
        return 2
    app = create_app(pipeline, upstream, scan_system=args.scan_system)
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False
    )
    return 0
