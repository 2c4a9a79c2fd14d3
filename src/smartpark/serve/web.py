"""The web view: server-rendered pages (Jinja2) per scope, behind a login (docs/api.md).

``/login`` checks a user's argon2 password hash and sets an HttpOnly, SameSite=Strict
session cookie (Secure behind TLS); ``/`` sends the user to the page of their scope;
``/view/{kind}/{id}`` shows a zone, park or enterprise: the KPI summary of its latest
day coloured against the zero-carbon lines, a month chart (Chart.js, shipped in
``static/``, no CDN), land-use grades, alerts and freshness, in English or Chinese.
A page outside the user's scope and a page that does not exist answer the same 403.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from smartpark.analytics import targets
from smartpark.analytics.catalogue import KPIS
from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.errors import AccessError, AnalyticsError, ConfigError
from smartpark.core.ids import is_valid_id
from smartpark.core.timestamps import now_ms
from smartpark.serve import data, report
from smartpark.serve.access import Caller
from smartpark.serve.api import authenticate
from smartpark.serve.labels import LABELS, LANGS
from smartpark.serve.scopes import SCOPE_KINDS, visible

COOKIE: Final = "smartpark_session"
SUMMARY_KPIS: Final = (
    "energy_tce",
    "electricity_kwh",
    "co2_total_t",
    "carbon_per_energy",
    "clean_energy_share",
    "renewable_share",
    "water_reuse_rate",
    "solid_waste_utilisation_rate",
)
DAY_MS: Final = 86_400_000
CSP: Final = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"

_HERE = Path(str(resources.files("smartpark.serve")))
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "en")
    return lang if lang in LANGS else "en"


def _page(
    request: Request, name: str, status: int = 200, caller: Caller | None = None, **ctx: Any
) -> HTMLResponse:
    lang = _lang(request)
    context = {"t": LABELS[lang], "lang": lang, "caller": _who(caller), "heading": "", **ctx}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    return response


def _who(caller: Caller | None) -> str:
    if caller is None:
        return ""
    return f"{caller.key.partition(':')[2]} ({caller.grant.scope or caller.grant.role})"


def error_page(request: Request, status: int) -> HTMLResponse:
    t = LABELS[_lang(request)]
    if status == 401:
        return _page(request, "login.html", 401, message=t["unauthorized"])
    return _page(request, "error.html", status, message=t["forbidden"])


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


@router.get("/view/{kind}/{ident}")
def view(
    request: Request,
    kind: str,
    ident: str,
    month: Annotated[str | None, Query(pattern=report.MONTH, max_length=7)] = None,
    lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
) -> HTMLResponse:
    caller = page_caller(request)
    if kind not in SCOPE_KINDS or not is_valid_id(ident):
        raise HTTPException(403)
    src: data.Sources = request.app.state.sources
    vis = visible(src.registry, caller.grant)
    if not vis.allows(kind, ident):
        raise HTTPException(403)
    t = LABELS[lang]
    tz = data.timezone_of(src.registry, kind, ident)  # type: ignore[arg-type]
    first = _month(month, tz)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    start, end = local_midnight_ms(first, tz), local_midnight_ms(following, tz)
    rows = data.kpi_rows(src, kind, ident, "day", start, end, ())  # type: ignore[arg-type]
    summary, last = _summary(rows, t, lang)
    chart = _chart(rows, t, tz, lang)
    year = first.year - 1
    try:
        landuse = data.landuse(src, vis, year)["enterprises"]
    except (AnalyticsError, ConfigError):
        landuse = None
    reg = src.registry
    name = (
        reg.zones[ident].name
        if kind == "zone"
        else reg.parks[ident].name
        if kind == "park"
        else reg.enterprises[ident].name
    )
    return _page(
        request,
        "view.html",
        caller=caller,
        heading=f"{name} ({kind}:{ident})",
        summary=summary,
        summary_day=_local_day(last, tz) if last else "",
        month=first.strftime("%Y-%m"),
        report=f"/report/{kind}/{ident}" if kind in report.SCOPES else "",
        chart=chart,
        year=year,
        landuse=landuse,
        alerts=data.alerts(src, vis, history=False),
        freshness=data.freshness(src, vis, now_ms(), 24.0),
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


def _month(text: str | None, tz: str) -> dt.date:
    if text is None:
        today = dt.datetime.now(ZoneInfo(tz)).date()
        return today.replace(day=1)
    try:
        return dt.date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise HTTPException(400, "month: YYYY-MM") from None


def _summary(
    rows: list[dict[str, Any]], t: dict[str, str], lang: str
) -> tuple[list[dict[str, Any]], str]:
    if not rows:
        return [], ""
    last = max(r["start"] for r in rows)
    day = {r["kpi"]: r for r in rows if r["start"] == last}
    energy = (day.get("energy_tce") or {}).get("value")
    annual = None if energy is None else targets.annualised(energy, DAY_MS)
    out = []
    for kpi in SUMMARY_KPIS:
        r = day.get(kpi)
        if r is None or r["value"] is None:
            continue
        ok = targets.meets(kpi, r["value"], annual)
        line = data.line_of(kpi)
        shown = ""
        if line is not None:
            value = line["value"]
            if kpi == "carbon_per_energy" and annual is not None:
                value = targets.carbon_per_energy_line(annual)
            shown = f"{'≤' if line['side'] == 'below' else '≥'} {value:g}"
            shown += f" ({t['meets'] if ok else t['misses']})"
        css = "" if ok is None else ("meets" if ok else "misses")
        out.append(
            {
                "kpi": kpi,
                "label": KPIS[kpi].label(lang),
                "value": f"{r['value']:,.4g}",
                "unit": r["unit"],
                "line": shown,
                "css": css,
            }
        )
    return out, last


def _local_day(start: str, tz: str) -> str:
    moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def _chart(rows: list[dict[str, Any]], t: dict[str, str], tz: str, lang: str) -> dict[str, Any]:
    days = sorted({r["start"] for r in rows})
    series = []
    for kpi in ("energy_tce", "carbon_per_energy"):
        by = {r["start"]: r["value"] for r in rows if r["kpi"] == kpi}
        unit = next((r["unit"] for r in rows if r["kpi"] == kpi), "")
        label = f"{KPIS[kpi].label(lang)} ({unit})"
        series.append({"label": label, "values": [by.get(d) for d in days]})
    return {
        "days": [_local_day(d, tz) for d in days],
        "series": series,
        "line": targets.CARBON_PER_ENERGY_LINE,
        "line_label": t["line"],
    }
