"""The console's routes. Every one answers 404 while the console is off (as if it did not
exist) and, except the login form and the static files, 401 without an admin key.

Pages are rendered on the server (jinja2, autoescaped); the only script is the live view's
(EventSource and filters). Responses forbid framing, caching and any resource not served
from here (`Content-Security-Policy`): the console works offline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from guardrail.errors import (
    AuthError,
    BodyTimeout,
    GuardrailError,
    LimitExceeded,
    MethodNotAllowed,
    NotFound,
    RequestError,
)
from guardrail.server.auth import key_matches, unauthorized
from guardrail.server.config import ConsoleConfig
from guardrail.server.console import playground
from guardrail.server.console.live import MAX_VIEWERS, DecisionLog, counts
from guardrail.server.console.session import COOKIE, SESSION_S, Sessions, admitted, small_number
from guardrail.server.console.views import (
    MODEL_CARD,
    PolicyTests,
    bundles,
    guard_rows,
    history,
    last_error,
    pieces,
    rule_rows,
    stamp,
)
from guardrail.server.routes_openai import error_body
from guardrail.types import Stage

if TYPE_CHECKING:
    from guardrail.server.app import ProxyHolder
    from guardrail.server.proxy import Proxy
    from guardrail.server.reload import Reloader

HERE = Path(__file__).parent
STATIC = HERE / "static"
MAX_FORM_BYTES = 1_000_000  # a pasted chat request; the proxy's own limits are larger
LOGIN_BYTES = 16_384  # the login form: a key and a path, read before anyone is known
BODY_S = 30.0  # a form post or playground request arrives well within this
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # "no-referrer" would make form posts say Origin: null
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
)


class Console:
    """The console's state: sessions, the decision log and the policy tests' results."""

    def __init__(self, holder: ProxyHolder, reloader: Reloader | None) -> None:
        self.holder = holder
        self.reloader = reloader
        self.sessions = Sessions()
        self.tests = PolicyTests()
        self._texts_for: tuple[object, dict[str, bool]] = (None, {})
        self.log = DecisionLog(self.settings, self._logs_text)
        if reloader is not None:  # without a server config the console stays off
            holder.metrics.taps.append(self.log.record)

    def settings(self) -> ConsoleConfig | None:
        """The `console:` section of the server config being served."""
        current = self.reloader.current if self.reloader is not None else None
        return current.config.console if current is not None else None

    def enabled(self) -> bool:
        """Whether the config being served turns the console on."""
        settings = self.settings()
        return settings is not None and settings.enabled

    @property
    def admin_keys(self) -> tuple[str, ...]:
        """Hashes of the keys that may use the console."""
        tenancy = self.holder.tenancy
        return tenancy.admin_keys if tenancy is not None else ()

    def proxies(self) -> dict[str, Proxy]:
        """Tenant name -> proxy, as served now (`""`: every caller)."""
        tenancy = self.holder.tenancy
        return tenancy.proxies if tenancy is not None else {}

    def _logs_text(self, tenant: str) -> bool:
        """Whether the tenant's policy logs text (asked on every decision: worked out once
        per served version, not per call)."""
        tenancy = self.holder.tenancy
        if tenancy is not self._texts_for[0]:
            logs = {t: p.pipeline.policy.options.log_text for t, p in self.proxies().items()}
            self._texts_for = (tenancy, logs)
        return self._texts_for[1].get(tenant, False)


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _error(exc: GuardrailError, status: int) -> JSONResponse:
    return JSONResponse(error_body(exc, status, {}), status_code=status, headers=HEADERS)


def _gate(request: Request, *, login_page: bool = True) -> Response | None:
    """None when the request may go on; else 404 (console off) or 401 (no admin key)."""
    console = _console(request)
    if not console.enabled():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    if admitted(request.headers, request.cookies, console.sessions, console.admin_keys):
        return None
    if login_page and request.method == "GET":
        return _page("login.html", {"next": request.url.path}, status=401)
    return _error(unauthorized(), 401)


def _page(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _same_origin(request: Request) -> bool:
    """A form post comes from a console page (the cookie is SameSite=Strict as well)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # e.g. "http://[": not this console either
        return False
    return netloc == request.headers.get("host", "")


async def _body(request: Request, max_bytes: int = MAX_FORM_BYTES) -> bytes:
    """The request body, read no further than `max_bytes` and for `BODY_S` at most (a slow
    client must not hold a connection as long as it likes)."""
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_S):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise LimitExceeded("bytes of the console request body", len(body), max_bytes)
    except TimeoutError:
        raise BodyTimeout(f"the request body did not arrive within {BODY_S:g} s") from None
    return bytes(body)


async def _form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    body = await _body(request, max_bytes)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


# ---------------------------------------------------------------------------- pages


async def index(request: Request) -> Response:
    """The console's start: the playground."""
    return _gate(request) or RedirectResponse("/console/playground", 303, headers=HEADERS)


async def login(request: Request) -> Response:
    """Check the admin key from the login form; set the session cookie."""
    console = _console(request)
    if not console.enabled():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    if not _same_origin(request):
        return _error(AuthError("the login form must come from this console"), 401)
    try:
        form = await _form(request, LOGIN_BYTES)
    except RequestError as exc:
        return _error(exc, exc.http_status)
    key = form.get("key", "")
    if not key or not key_matches({"x-api-key": key}, console.admin_keys):
        return _page("login.html", {"failed": True, "next": _next(form)}, status=401)
    response = RedirectResponse(_next(form), 303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        console.sessions.issue(key),
        max_age=SESSION_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _next(form: dict[str, str]) -> str:
    """Where to go after logging in: a console path only (no open redirect)."""
    target = form.get("next", "")
    ok = target.startswith("/console/") and "//" not in target and "\\" not in target
    return target if ok else "/console/playground"


async def logout(request: Request) -> Response:
    """Forget the session cookie."""
    if not _console(request).enabled():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    if not _same_origin(request):
        return _error(AuthError("the form must come from this console"), 401)
    response = RedirectResponse("/console/login", 303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/console")
    return response


async def login_form(request: Request) -> Response:
    """The login form (no data on it)."""
    if not _console(request).enabled():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    return _page("login.html", {"next": request.query_params.get("next", "")})


async def playground_page(request: Request) -> Response:
    """The playground: the form, and after a post, what every rule said."""
    refused = _gate(request)
    if refused is not None:
        return refused
    console = _console(request)
    context: dict[str, Any] = {"tenants": list(console.proxies()), "stages": list(Stage)}
    context.update(page="playground", form={"stage": "input", "tenant": "", "text": ""})
    if request.method == "POST":
        if not _same_origin(request):
            return _error(AuthError("the form must come from this console"), 401)
        try:
            context["form"] = form = await _form(request)  # shown again with the result
            context["result"] = await _check(console, form)
        except GuardrailError as exc:
            context.update(error=str(exc), code=exc.code)
    return _page("playground.html", context)


async def _check(console: Console, form: dict[str, str]) -> dict[str, Any]:
    body = _playground_body(form)
    result = await _run(console, form.get("tenant", ""), body)
    for stage in result["stages"]:
        stage["pieces"] = [
            pieces(text, [s for s in stage["spans"] if s["text_index"] == i])
            for i, text in enumerate(stage["texts"])
        ]
    result["as_request"] = "request" in body
    return result


def _playground_body(form: dict[str, str]) -> dict[str, Any]:
    """A pasted chat request (a JSON object with `messages`) is checked as one; else a text."""
    text = form.get("text", "")
    if text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except RecursionError:
            raise RequestError("the chat request is nested too deeply") from None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and "messages" in parsed:
            return {"request": parsed}
    return {"text": text, "stage": form.get("stage", "input")}


async def _run(console: Console, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
    proxy = console.proxies().get(tenant)
    if proxy is None:
        raise RequestError(f"no tenant {tenant!r} is served")
    return await playground.run(
        proxy.pipeline, tenant, body, proxy.limits, scan_system=proxy.scan_system
    )


async def check_api(request: Request) -> Response:
    """The playground as JSON: `{"tenant", "text", "stage"}` or `{"tenant", "request"}`."""
    refused = _gate(request, login_page=False)
    if refused is not None:
        return refused
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _error(RequestError("send application/json"), 415)
    try:
        body = await _json_object(request)
        tenant = body.pop("tenant", "")
        result = await _run(_console(request), str(tenant), body)
    except LimitExceeded as exc:
        return _error(exc, 413)
    except GuardrailError as exc:
        return _error(exc, 400)
    return JSONResponse(result, headers=HEADERS)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await _body(request)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise RequestError("the body is nested too deeply") from None
    except ValueError:
        raise RequestError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    return body


async def live_page(request: Request) -> Response:
    """Recent decisions, newest first; the page's script follows new ones."""
    refused = _gate(request)
    if refused is not None:
        return refused
    log = _console(request).log
    rows = [(s, stamp(s.at)) for s in reversed(log.recent)]
    last = log.recent[-1].id if log.recent else 0
    context = {"page": "live", "rows": rows, "last": last, "counts": counts(log)}
    context["tenants"] = list(_console(request).proxies())
    return _page("live.html", context)


async def events(request: Request) -> Response:
    """Server-sent events: decisions after `?after=ID` (or `Last-Event-ID`), then new ones."""
    refused = _gate(request, login_page=False)
    if refused is not None:
        return refused
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    after = int(raw) if small_number(raw) else 0
    log = _console(request).log
    if log.full():
        refused_exc = LimitExceeded("open live views", len(log.viewers), MAX_VIEWERS)
        return _error(refused_exc, 429)
    headers = {**HEADERS, "x-accel-buffering": "no"}
    stream = log.events(after)
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def policy_page(request: Request) -> Response:
    """Each tenant's policy: version, hash, files, rules, guards, tests, model cards."""
    refused = _gate(request)
    if refused is not None:
        return refused
    console = _console(request)
    current = console.reloader.current if console.reloader else None
    attempts = history(console.reloader)
    tenants = []
    for tenant, proxy in console.proxies().items():
        pipeline = proxy.pipeline
        tests = await console.tests.results(pipeline)
        tenants.append(
            {
                "tenant": tenant,
                "policy": pipeline.policy,
                "files": [_shown_path(f, console.reloader) for f in pipeline.policy.files],
                "rules": rule_rows(pipeline),
                "guards": guard_rows(pipeline),
                "bundles": sorted(bundles(pipeline)),
                "tests": tests,
                "passed": sum(t["passed"] for t in tests),
            }
        )
    context: dict[str, Any] = {"page": "policy", "tenants": tenants, "history": attempts}
    context.update(version=current.version if current else None, last_error=last_error(attempts))
    return _page("policy.html", context)


def _shown_path(path: Path, reloader: Reloader | None) -> str:
    """A policy file relative to the server config's folder when it is under it."""
    base = reloader.base_dir.resolve() if reloader is not None else None
    resolved = path.resolve()
    return str(resolved.relative_to(base)) if base and resolved.is_relative_to(base) else str(path)


async def model_card(request: Request) -> Response:
    """The model card of a bundle a served policy uses (plain text, as written)."""
    refused = _gate(request)
    if refused is not None:
        return refused
    name = request.path_params["name"]
    served: dict[str, Path] = {}
    for proxy in _console(request).proxies().values():
        served.update(bundles(proxy.pipeline))
    card = served[name] / MODEL_CARD if name in served else None
    if card is None or not card.is_file():
        return _error(NotFound(f"no model card for bundle {name!r}"), 404)
    text = card.read_text(encoding="utf-8", errors="replace")
    return PlainTextResponse(text, headers={**HEADERS, "content-type": "text/plain; charset=utf-8"})


async def static(request: Request) -> Response:
    """The console's CSS and script (only files that ship in the package's static folder)."""
    if not _console(request).enabled():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    name = request.path_params["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
    return FileResponse(path, headers=HEADERS)


Endpoint = Callable[[Request], Awaitable[Response]]


class _Path:
    """One console path as an ASGI app, so that every method reaches it (a function endpoint
    gets the router's 405, which would list the methods of a path that "does not exist"):
    while the console is off, 404 whatever the method; on, the method's handler, or a 405
    naming the methods the path takes."""

    def __init__(self, **by_method: Endpoint) -> None:
        self.handlers = {method.upper(): handler for method, handler in by_method.items()}
        if "GET" in self.handlers:
            self.handlers.setdefault("HEAD", self.handlers["GET"])
        self.allow = ", ".join(sorted(m for m in self.handlers if m != "HEAD"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        if not self.handlers or not _console(request).enabled():
            return _error(NotFound(f"no endpoint at {request.url.path}"), 404)
        handler = self.handlers.get(request.method)
        if handler is None:
            where = f"{request.url.path} does not accept {request.method}"
            response = _error(MethodNotAllowed(f"{where} (allowed: {self.allow})"), 405)
            response.headers["allow"] = self.allow
            return response
        return await handler(request)


ROUTES = [
    Route("/console", _Path(GET=index)),
    Route("/console/login", _Path(GET=login_form, POST=login)),
    Route("/console/logout", _Path(POST=logout)),
    Route("/console/playground", _Path(GET=playground_page, POST=playground_page)),
    Route("/console/api/check", _Path(POST=check_api)),
    Route("/console/live", _Path(GET=live_page)),
    Route("/console/api/events", _Path(GET=events)),
    Route("/console/policy", _Path(GET=policy_page)),
    Route("/console/models/{name}", _Path(GET=model_card)),
    Route("/console/static/{name}", _Path(GET=static)),
    Route("/console/{rest:path}", _Path()),  # anything else under /console, `/console/` too
]
