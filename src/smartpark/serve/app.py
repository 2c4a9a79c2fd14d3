"""The ASGI app of ``smartpark serve`` and the call that runs it on uvicorn.

FastAPI on uvicorn (docs/api.md says why): :func:`create_app` wires the sources, the
access file and the rate limiter into one app; :func:`serve` is what the command calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smartpark import __version__
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.core.logs import get_logger
from smartpark.core.settings import CommonSettings
from smartpark.serve import access as access_mod
from smartpark.serve import api, savings
from smartpark.serve.data import Sources
from smartpark.serve.limits import RateLimiter, SizeLimit
from smartpark.store.open import open_store

_log = get_logger(__name__)
_ERRORS: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}
_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ServeOptions:
    """The options of one server."""

    host: str = "127.0.0.1"
    port: int = 8080
    tokens: Path | None = None  # default: beside the registry
    alerts_state: Path | None = None
    landuse_monthly: Path | None = None
    rate: float = 20.0  # requests per second per caller; 0: unlimited
    burst: float = 60.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    secure_cookies: bool = False  # set behind a TLS proxy; implied by tls_cert


class Headers:
    """ASGI middleware: the :data:`_HEADERS` an answer has not set, and one log line per
    request with its path only (a query string may carry what a caller should not have
    sent). Plain ASGI, not ``@app.middleware``: no task and no stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"][:200],
                    status=message["status"],
                )
                headers = MutableHeaders(scope=message)
                for key, value in _HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(sources: Sources, access: access_mod.AccessStore, options: ServeOptions) -> FastAPI:
    app = FastAPI(
        title="smartpark",
        version=__version__,
        description="Read API over smartpark's store: KPIs, registry, land use, alerts, "
        "freshness (docs/api.md). Authenticate with `Authorization: Bearer TOKEN`.",
    )
    app.state.sources = sources
    app.state.access = access
    app.state.limiter = RateLimiter(options.rate, options.burst)
    app.state.secure_cookies = options.secure_cookies or options.tls_cert is not None
    app.include_router(api.router)
    app.include_router(savings.router)
    from smartpark.serve import web

    web.mount(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (400, 401, 403, 404) and web.wants_page(request):
            return web.error_page(request, exc.status_code, str(exc.detail))
        body = {"error": _ERRORS.get(exc.status_code, "error"), "detail": str(exc.detail)}
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [  # where and what, never the value sent
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        if web.wants_page(request):
            return web.error_page(request, 400, "; ".join(problems))
        return JSONResponse({"error": "bad_request", "detail": "; ".join(problems)}, 400)

    app.add_middleware(Headers)
    app.add_middleware(SizeLimit)
    return app


def serve(settings: CommonSettings, options: ServeOptions) -> None:
    """Open the registry, store and access file, and serve until SIGINT/SIGTERM."""
    import uvicorn

    logs.configure(settings.log_level)
    if (options.tls_cert is None) != (options.tls_key is None):
        raise OptionError("--tls-cert: give both --tls-cert and --tls-key, or neither")
    reg = registry_mod.load(settings.registry)
    store = open_store(settings.store_url, reg)
    access = access_mod.AccessStore(options.tokens or access_mod.default_path(settings.registry))
    sources = Sources(
        reg,
        settings.registry,
        store,
        settings.store_url,
        alerts_path=options.alerts_state,
        landuse_monthly=options.landuse_monthly,
    )
    app = create_app(sources, access, options)
    try:
        uvicorn.run(
            app,
            host=options.host,
            port=options.port,
            ssl_certfile=options.tls_cert,
            ssl_keyfile=options.tls_key,
            log_config=None,
            access_log=False,  # it logs query strings; the middleware logs paths only
            server_header=False,
            proxy_headers=True,
            h11_max_incomplete_event_size=16_384,
        )
    finally:
        store.close()
        access.close()
