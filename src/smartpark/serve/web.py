"""The web view: server-rendered pages (Jinja2) per scope, behind a login (docs/api.md).

``/login`` checks a user's argon2 password hash and sets an HttpOnly, SameSite=Strict
session cookie (Secure behind TLS); ``/`` sends the user to the page of their scope;
``/view/{kind}/{id}?day=|month=|year=`` is the page of a zone, region, park, enterprise
or meter for a period (:mod:`~smartpark.serve.pages`: what it shows,
:mod:`~smartpark.serve.nav`: where it sits), ``/find?q=`` searches the visible
subjects, ``/download/...`` gives a page's KPI rows as CSV or .xlsx and
``/report/...`` the monthly report. Pages are kept until the store changes
(:class:`~smartpark.serve.cache.AnswerCache`). A page outside the user's scope and a
page that does not exist answer the same 403; a malformed address is a 400 page that
names the parameter.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from smartpark.core.errors import AccessError, OptionError
from smartpark.core.ids import is_valid_id
from smartpark.core.timestamps import now_ms
from smartpark.core.workbook import MEDIA_TYPE as XLSX
from smartpark.serve import data, pages, period, report
from smartpark.serve.access import Caller
from smartpark.serve.api import authenticate, to_csv, to_xlsx
from smartpark.serve.cache import AnswerCache
from smartpark.serve.labels import LABELS, LANGS
from smartpark.serve.nav import PAGE_KINDS, Navigator, allows
from smartpark.serve.scopes import visible

COOKIE: Final = "smartpark_session"
# A page is rebuilt when the store changes, but kept at least PAGE_MIN_AGE_S (a store
# written every second would otherwise rebuild it for every request) and never served
# older than PAGE_MAX_AGE_S (what ages with the clock: freshness, alerts, the period
# in progress); PAGE_TTL_S where the store cannot tell when it changed (InfluxDB).
PAGE_MIN_AGE_S: Final = 10.0
PAGE_MAX_AGE_S: Final = 60.0
PAGE_TTL_S: Final = 10.0
CSP: Final = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"

_HERE = Path(str(resources.files("smartpark.serve")))
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False)


def mount(app: FastAPI) -> None:
    """The pages, their cache and the static files on ``app``."""
    app.state.pages = AnswerCache[bytes](
        max_entries=512, ttl_s=PAGE_TTL_S, min_age_s=PAGE_MIN_AGE_S
    )
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "en")
    return lang if lang in LANGS else "en"


def _page(
    request: Request, template: str, status: int = 200, caller: Caller | None = None, **ctx: Any
) -> HTMLResponse:
    lang = _lang(request)
    context = {
        "t": LABELS[lang],
        "lang": lang,
        "caller": _who(caller),
        **{f"here_{code}": _in_lang(request, code) for code in LANGS},
        **ctx,
    }
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


_KEPT: Final = ("day", "month", "year", "q")  # what a language link carries over


def _in_lang(request: Request, lang: str) -> str:
    """This page in ``lang``: its path, its period or search, and ``lang``."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k in _KEPT]
    return f"{request.url.path}?{urlencode([*query, ('lang', lang)])}"


def _who(caller: Caller | None) -> str:
    if caller is None:
        return ""
    return f"{caller.key.partition(':')[2]} ({caller.grant.scope or caller.grant.role})"


def error_page(request: Request, status: int, detail: str = "") -> HTMLResponse:
    """The login form (401), the page saying what was wrong with the address (400, 404)
    or the one 403 for a page outside the scope and a page that does not exist."""
    t = LABELS[_lang(request)]
    # The language links stay on this page without naming its path: a 403 for an id
    # that exists and one that does not are the same bytes.
    if status == 401:
        template, message = "login.html", t["unauthorized"]
    elif status in (400, 404):
        template, message = "error.html", t["bad_request"].format(reason=detail)
    else:
        template, message = "error.html", t["forbidden"]
    return _page(request, template, status, message=message, here_en="?lang=en", here_zh="?lang=zh")


def page_caller(request: Request) -> Caller:
    return authenticate(request, request.cookies.get(COOKIE))


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html")


@router.post("/login")
def login(
    request: Request,
    user: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    t = LABELS[_lang(request)]
    try:
        session = request.app.state.access.login(user, password)
    except AccessError as exc:
        locked = exc.reason == "locked"
        return _page(
            request,
            "login.html",
            429 if locked else 401,
            message=t["locked" if locked else "bad_login"],
        )
    response = RedirectResponse(f"/?lang={_lang(request)}", status_code=303)
    response.set_cookie(
        COOKIE,
        session,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.secure_cookies),
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    session = request.cookies.get(COOKIE)
    if session:
        request.app.state.access.logout(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(request: Request) -> Response:
    caller = page_caller(request)
    scope = caller.grant.scope
    if scope is None:  # admin: the first zone
        zones = sorted(request.app.state.sources.registry.zones)
        scope = f"zone:{zones[0]}"
    kind, _, ident = scope.partition(":")
    return RedirectResponse(f"/view/{kind}/{ident}?lang={_lang(request)}", status_code=303)


Asked = tuple[Caller, pages.Page]  # who asks, and for which page


async def page_of(
    request: Request,
    kind: str,
    ident: str,
    day: Annotated[str | None, Query(max_length=10)] = None,
    month: Annotated[str | None, Query(max_length=7)] = None,
    year: Annotated[str | None, Query(max_length=4)] = None,
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> Asked:
    """The caller and the page they asked for (a dependency of every page route, run on
    the event loop: a session lookup and a few checks); 403 for a page outside their
    scope and for one that does not exist (the same answer), 400 naming a malformed
    period."""
    caller = page_caller(request)
    src: data.Sources = request.app.state.sources
    vis = visible(src.registry, caller.grant)
    if (
        kind not in PAGE_KINDS
        or not is_valid_id(ident)
        or not allows(src.registry, vis, kind, ident)
    ):
        raise HTTPException(403)
    clock = now_ms()
    try:
        picked = period.parse(day, month, year, data.timezone_of(src.registry, kind, ident), clock)
    except OptionError as exc:
        raise HTTPException(400, str(exc)) from None
    return caller, pages.Page(src.registry, vis, kind, ident, picked, lang, clock)


@router.get("/view/{kind}/{ident}")
async def view(request: Request, asked: Annotated[Asked, Depends(page_of)]) -> HTMLResponse:
    """A zone, region, park, enterprise or meter page for the picked period, kept until
    the store changes (at least :data:`PAGE_MIN_AGE_S`, at most :data:`PAGE_MAX_AGE_S`:
    freshness, alerts and a period in progress age with the clock), keyed by who asks
    and what the page is (never by the raw query: unknown parameters make no new
    entries). A kept page is answered from the event loop; a new one is built in a
    worker thread."""
    caller, page = asked
    src: data.Sources = request.app.state.sources
    cache: AnswerCache[bytes] = request.app.state.pages
    key = (caller.key, page.kind, page.id, page.period.query, page.lang)
    version = src.store.version()
    body = cache.peek(key, version, max_age_s=PAGE_MAX_AGE_S)
    if body is None:

        def build() -> bytes:
            if page.kind == "meter":
                ctx = pages.meter_page(src, page)
                return bytes(_page(request, "meter.html", caller=caller, **ctx).body)
            ctx = pages.scope_page(src, page)
            return bytes(_page(request, "view.html", caller=caller, **ctx).body)

        body = await run_in_threadpool(cache.get, key, version, build, max_age_s=PAGE_MAX_AGE_S)
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP})


@router.get("/find")
def find(
    request: Request,
    q: Annotated[str, Query(max_length=64)] = "",
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> HTMLResponse:
    """The visible zones, regions, parks, enterprises and meters matching ``q``."""
    caller = page_caller(request)
    src: data.Sources = request.app.state.sources
    vis = visible(src.registry, caller.grant)
    nav = Navigator(src.registry, vis, lang)
    top = nav.roots()
    side = nav.side(*top[0]) if top else []
    return _page(request, "find.html", caller=caller, q=q, results=nav.find(q), side=side)


@router.get("/download/{kind}/{ident}")
def download(
    request: Request,
    asked: Annotated[Asked, Depends(page_of)],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """A scope page's KPI rows (the period's, its children's and the finer series) as
    CSV or .xlsx."""
    caller, page = asked
    kind, ident = page.kind, page.id
    if kind == "meter":
        raise HTTPException(404, "a meter page has no KPI rows to download")
    src: data.Sources = request.app.state.sources
    rows = pages.rows(src, page)
    name = f"smartpark-{kind}-{ident}-{page.period.label}"
    if format == "csv":
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    seen = caller.grant.scope or "all"
    lines = (f"smartpark {kind}:{ident} {page.period.label}", f"visible to: {seen}")
    return Response(
        to_xlsx(rows, lines, name),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/report/{kind}/{ident}")
async def monthly_report(
    request: Request,
    caller: Annotated[Caller, Depends(page_caller)],
    kind: str,
    ident: str,
    month: Annotated[str, Query(pattern=report.MONTH, max_length=7)],
    format: Annotated[report.Format, Query()] = "html",
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> Response:
    """The page's monthly report (the API's ``/api/v1/report``, behind the session)."""
    if kind not in report.SCOPES or not is_valid_id(ident):
        raise HTTPException(403)
    src: data.Sources = request.app.state.sources
    return await report.answer(src, caller, month, kind, ident, format, lang)
