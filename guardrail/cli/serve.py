"""`guardrail serve`: the proxy, OpenAI- and Anthropic-compatible, in front of an upstream.

    guardrail serve --policy policies/default.yaml --upstream local
    guardrail serve --policy policies/default.yaml --upstream http://127.0.0.1:8000/v1
    guardrail serve --policy policies/default.yaml --config models.yaml
    guardrail serve --server-config server.yaml --config models.yaml   # tenants + proxy keys

Clients change only their base URL: `OpenAI(base_url="http://127.0.0.1:8080/v1")`,
`Anthropic(base_url="http://127.0.0.1:8080")`. Policy and config files are watched and
reloaded safely (also on SIGHUP); see docs/operate.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrail.server.reload import Reloader
    from guardrail.upstream.base import Upstream

WIDE_ENV = "GUARDRAIL_INFERENCE_WIDE_ALONE"  # Settings.inference_wide_alone


def register(subparsers: Any) -> None:
    """Add `serve`."""
    serve = subparsers.add_parser("serve", help="run the guardrail proxy")
    what = serve.add_mutually_exclusive_group(required=True)
    what.add_argument("--policy", type=Path, help="policy YAML file (every caller, no keys)")
    what.add_argument(
        "--server-config",
        type=Path,
        help="server config YAML: tenants, their policies and hashed proxy keys "
        "(see guardrail/server/config.py, docs/operate.md)",
    )
    serve.add_argument(
        "--watch-ms",
        type=int,
        default=None,
        help="poll policy/config files every N ms for changes (0: only on SIGHUP; "
        "default: the server config's reload.watch_ms, 1000)",
    )
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
        "--upstream-api",
        choices=["auto", "openai", "anthropic"],
        default="auto",
        help="with --upstream URL: the API it speaks; 'anthropic' sends every request to "
        "URL/v1/messages in Anthropic's own format through litellm (auto: a host under "
        "anthropic.com is Anthropic, any other URL OpenAI-compatible)",
    )
    serve.add_argument(
        "--scan-system", action="store_true", help="also check system/developer prompts as input"
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="worker processes sharing the port, each with its own policy, upstream and "
        "inference pool (cores // N threads unless GUARDRAIL_INFERENCE_WORKERS > 0); "
        "SIGHUP reloads every worker; metrics are aggregated (default 1; docs/operate.md)",
    )
    serve.add_argument(
        "--wide-alone",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a classifier pass that runs alone (no other in flight) uses every core of the "
        "worker's inference pool, on a second session of the bundle; concurrent passes keep "
        "one thread each. Off by itself with --workers N >= cores (default: env "
        f"{WIDE_ENV}, else off; docs/operate.md)",
    )
    _limit_flags(serve)
    _connection_flags(serve)
    serve.set_defaults(func=run_serve)


_LIMITS = {
    "max_body_bytes": "request body size in bytes",
    "max_messages": "messages (or legacy prompts) in one request",
    "max_parts": "text parts (content parts, blocks, tool calls) in one request",
    "max_message_chars": "characters of checked text in one message",
    "max_request_chars": "characters of checked text in one request",
    "max_completion_chars": "characters of a streamed answer (then finish_reason 'length')",
    "max_body_seconds": "seconds a request body may take to arrive (then 408 body_timeout)",
}


def _limit_flags(serve: argparse.ArgumentParser) -> None:
    """`--max-body-bytes N` ...; each defaults to GUARDRAIL_LIMITS_<NAME> (docs/robustness.md)."""
    group = serve.add_argument_group("limits (default: env GUARDRAIL_LIMITS_<NAME> or built in)")
    for name, help_text in _LIMITS.items():
        flag = "--" + name.replace("_", "-")
        group.add_argument(flag, dest=f"limits_{name}", type=_positive, metavar="N", help=help_text)


def _connection_flags(serve: argparse.ArgumentParser) -> None:
    """`--max-connections`, `--header-timeout` (guardrail/server/connections.py)."""
    group = serve.add_argument_group("connections (default: env GUARDRAIL_SERVER_<NAME>)")
    group.add_argument(
        "--max-connections",
        type=_positive,
        metavar="N",
        help="open connections at most; one more closes the one idle longest (default 1000)",
    )
    group.add_argument(
        "--header-timeout",
        type=float,
        metavar="S",
        help="seconds a connection has to send a whole request head (default 10)",
    )


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {raw}")
    return value


def run_serve(args: argparse.Namespace) -> int:
    """Load the policy (exit 2 if invalid), then serve until interrupted."""
    import uvicorn

    from guardrail.logging import configure
    from guardrail.server.app import create_app
    from guardrail.server.limits import from_arguments
    from guardrail.server.malloc import fix_mmap_threshold

    configure(level=args.log_level)
    fix_mmap_threshold()  # memory long requests free goes back to the system (workers: too)
    wide_alone = getattr(args, "wide_alone", None)  # absent in argument sets of older runs
    if wide_alone is not None:  # the settings read it when the runtimes are built
        os.environ[WIDE_ENV] = "true" if wide_alone else "false"
    if args.workers > 1:  # each worker builds its own app; the parent only supervises
        from guardrail.cli.serve_workers import serve_workers

        return serve_workers(args)
    loaded = load_checked(args)
    if loaded is None:
        return 2
    reloader, upstream = loaded
    app = create_app(
        reloader,
        upstream,
        scan_system=args.scan_system,
        reload_on_sighup=True,
        limits=from_arguments(args),
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        access_log=False,
        http=http_protocol(args),
    )
    return 0


def load_checked(args: argparse.Namespace) -> tuple[Reloader, Upstream] | None:
    """The loaded policy (or server config) and the upstream; None after saying on stderr
    why they cannot be (file, line, field)."""
    from guardrail.errors import GuardrailError
    from guardrail.upstream import build_upstream

    reloader = make_reloader(args)
    try:
        reloader.load()
        upstream = build_upstream(args.upstream, args.config, via=args.via, api=args.upstream_api)
    except (GuardrailError, ValueError, OSError) as exc:
        print(f"guardrail serve: {exc}", file=sys.stderr)
        return None
    return reloader, upstream


def make_reloader(args: argparse.Namespace) -> Reloader:
    """The (not yet loaded) reloader of `--server-config` or `--policy`."""
    from guardrail.server.reload import Reloader

    if args.server_config is not None:
        return Reloader(args.server_config, watch_ms=args.watch_ms)
    return Reloader.for_policy(args.policy, watch_ms=args.watch_ms)


def http_protocol(args: argparse.Namespace) -> Any:
    """h11 with a header deadline and a connection cap (kept under the descriptor limit)."""
    from dataclasses import replace

    from guardrail.logging import get_logger
    from guardrail.server.connections import (
        ConnectionLimits,
        fd_budget,
        guarded_protocol,
        quiet_accept_errors,
    )

    limits = ConnectionLimits.from_settings()
    if args.max_connections is not None:
        limits = replace(limits, max_connections=args.max_connections)
    if args.header_timeout is not None and args.header_timeout > 0:
        limits = replace(limits, header_timeout_s=args.header_timeout)
    limits = replace(limits, max_connections=fd_budget(limits.max_connections))
    quiet_accept_errors()
    get_logger("guardrail.server").info(
        "server.connection_limits",
        max_connections=limits.max_connections,
        header_timeout_s=limits.header_timeout_s,
    )
    return guarded_protocol(limits)
