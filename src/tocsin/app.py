"""The application factory: `create_app(settings)`, with no import-time state."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote_plus

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from tocsin import paths
from tocsin.errors import TocsinError
from tocsin.http import (
    admin,
    contacts,
    deliveries,
    events,
    notifications,
    openapi,
    pages,
    preferences,
    push,
    stream,
)
from tocsin.http import settings as settings_api
from tocsin.http._request import runtime
from tocsin.http.problems import http_error, problem, tocsin_error, unexpected_error
from tocsin.runtime import Runtime
from tocsin.settings import Settings

log = logging.getLogger(__name__)

# A query pair whose name, once percent-decoded as the server decodes it, names a
# token: `?access_%74oken=` is `?access_token=` to Starlette, so it is to the filter.
_QUERY_PAIR = re.compile(r"(?P<name>[^?&;\s\"'=]+)=(?P<value>[^&;\s\"']*)")
_TOKEN_NAMES = frozenset({"access_token", "token"})
# Whatever carries it, a vendor token is a JWT: `eyJ…` header, payload, signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _redact_pair(match: re.Match[str]) -> str:
    if unquote_plus(match.group("name")).strip().lower() in _TOKEN_NAMES:
        return f"{match.group('name')}=[redacted]"
    return match.group(0)


def redact(text: str) -> str:
    """`text` with every token value in a URL, and every JWT, replaced by `[redacted]`."""
    return _JWT.sub("[redacted]", _QUERY_PAIR.sub(_redact_pair, text))


class RedactTokens(logging.Filter):
    """Keeps tokens that travel in URLs (`?access_token=`, `?token=`) out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


async def healthz(request: Request) -> Response:
    """Liveness: 503 when restarting this process is what would help (see `EventLog.alive`)."""
    reason = await runtime(request).log.alive()
    if reason is not None:
        return problem(503, f"not alive: {reason}; restart this process")
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    rt = runtime(request)
    checks: dict[str, str] = {}
    for name, check in (("database", rt.stores.ping), ("event_log", rt.log.ping)):
        try:
            await check()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unreachable: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(k for k, v in checks.items() if v != "ok")
    return problem(503, f"not ready: {failing} unreachable")


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _route_path(scope: Scope) -> str:
    """The path the router matches: `path` without the `root_path` it starts with."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class App(Starlette):
    """The Starlette app, with `GET /api/v1/stream` taken before its middleware.

    See `tocsin.http.stream.StreamEndpoint`: the stream answers auth errors,
    caps and CORS itself, so only its own frames stay on a stream's call stack.
    """

    def __init__(self, *args: Any, stream_endpoint: stream.StreamEndpoint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream_endpoint = stream_endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and _route_path(scope) == stream.PATH
        ):
            scope["app"] = self
            # The stream runs in this frame: see `StreamEndpoint.__call__`.
            response = await self.stream_endpoint.open(scope, receive, send)
            if response is not None:
                await response(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, workers: bool | None = None) -> Starlette:
    """A tocsin ASGI app. `workers` (default: `settings.run_workers`) runs the relay in-process."""
    settings = settings or Settings.from_env()
    run_workers = settings.run_workers if workers is None else workers

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for warning in settings.warnings():
            log.warning("%s", warning)
        rt = Runtime.build(settings)
        await rt.start(workers=run_workers)
        app.state.tocsin = rt
        try:
            yield
        finally:
            await rt.stop()

    endpoint = stream.StreamEndpoint()
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi.endpoint, methods=["GET"]),
        *notifications.routes,
        *events.routes,
        *preferences.routes,
        *contacts.routes,
        *settings_api.routes,
        *deliveries.routes,
        *push.routes,
        *stream.routes(endpoint),
        *pages.routes,
        *admin.routes,
        Mount("/static", StaticFiles(directory=paths.static_dir()), name="static"),
    ]
    middleware = []
    if settings.cors_origins:
        cors: dict[str, Any] = dict(
            allow_origins=["*"] if "*" in settings.cors_origins else list(settings.cors_origins),
            # A wildcard with credentials would let any site read a signed-in vendor's data.
            allow_credentials=settings.cors_credentials,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
        )
        middleware.append(Middleware(CORSMiddleware, **cors))
        endpoint.cors = CORSMiddleware(_no_app, **cors)  # the same policy, for the stream
    app = App(
        stream_endpoint=endpoint,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            TocsinError: tocsin_error,
            HTTPException: http_error,
            Exception: unexpected_error,
        },
    )
    app.state.settings = settings
    _relative_slash_redirects(app.router)
    return app


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("only the CORS headers of this middleware are used")


def _relative_slash_redirects(router: Router) -> None:
    """Redirect `/path/` to `/path` (and back) with a relative `Location`.

    Starlette's own redirect builds an absolute URL from the `Host` header, which
    a client chooses: behind a proxy that passes `Host` through, a link could send
    a vendor to another site.
    """
    router.redirect_slashes = False
    fallback = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path not in ("", "/"):
            other = dict(scope, path=path.rstrip("/") if path.endswith("/") else path + "/")
            if any(route.matches(other)[0] is not Match.NONE for route in router.routes):
                query = scope.get("query_string", b"").decode("latin-1")
                location = quote(other["path"]) + (f"?{query}" if query else "")
                if location.startswith("//"):  # would name another host
                    await fallback(scope, receive, send)
                    return
                await RedirectResponse(location)(scope, receive, send)
                return
        await fallback(scope, receive, send)

    router.default = default  # type: ignore[method-assign]


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "tocsin"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
