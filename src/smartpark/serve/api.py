"""The JSON API, ``/api/v1/...`` (docs/api.md): every route checks its parameters, then
the caller's scope, then reads.

Ids are slugs (:data:`~smartpark.core.ids.ID_PATTERN`) and are rejected with 400 before
any query when they are not; an unknown parameter or a repeated one is a 400 too (no
``id=mine&id=theirs``). An id outside the caller's scope and an id that does not exist
both answer the same 403. ``Accept: text/csv`` turns a list answer into CSV, and
``Accept:`` :data:`~smartpark.core.workbook.MEDIA_TYPE` into an .xlsx workbook (the
CSV's columns, numbers as numbers, what was asked and from where above the header); in
neither does a cell hold a formula.
"""

from __future__ import annotations

import datetime
import math
import numbers
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from smartpark.analytics.periods import parse_instant
from smartpark.core.cells import csv_text
from smartpark.core.errors import (
    AccessError,
    AnalyticsError,
    ConfigError,
    ContractError,
    OptionError,
)
from smartpark.core.ids import ID_PATTERN
from smartpark.core.logs import get_logger
from smartpark.core.timestamps import now_ms
from smartpark.core.workbook import MEDIA_TYPE as XLSX
from smartpark.core.workbook import Column, Sheet, sheet_name, xlsx_bytes
from smartpark.serve import data, products, report, targets
from smartpark.serve.access import Caller
from smartpark.serve.scopes import Visible, visible

SLUG: Final = f"^{ID_PATTERN}$"
KPI_NAME: Final = "^[A-Za-z0-9_]{1,64}$"
DAY_MS: Final = 86_400_000
MAX_RANGE_MS: Final = {"hour": 92 * DAY_MS, "day": 3 * 366 * DAY_MS}
FORBIDDEN: Final = "not in your scope (or no such id)"

_log = get_logger(__name__)
router = APIRouter(prefix="/api/v1")


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" else "-"


def authenticate(request: Request, token: str | None) -> Caller:
    """The caller of ``token``; 401 (reason logged, never the token) or 429."""
    state = request.app.state
    try:
        caller: Caller = state.access.authenticate(token)
    except AccessError as exc:
        _log.info("refused", path=request.url.path, reason=exc.reason)
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    wait = state.limiter.take(caller.key)
    if wait:
        _log.info("rate limited", caller=caller.key)
        raise HTTPException(429, "too many requests", headers={"Retry-After": str(math.ceil(wait))})
    return caller


def api_caller(request: Request) -> Caller:
    return authenticate(request, bearer(request))


def strict(*names: str, repeat: tuple[str, ...] = ()) -> Any:
    """A dependency: 400 for a parameter not in ``names`` or repeated (unless in ``repeat``)."""

    def check(request: Request) -> None:
        seen: set[str] = set()
        for key, _ in request.query_params.multi_items():
            if key not in names:
                raise HTTPException(400, f"unknown parameter (expected: {', '.join(names)})")
            if key in seen and key not in repeat:
                raise HTTPException(400, f"parameter {key} given twice")
            seen.add(key)

    return Depends(check)


def scoped(request: Request, caller: Caller) -> Visible:
    return visible(request.app.state.sources.registry, caller.grant)


class Json(JSONResponse):
    """A JSON reply encoded by msgspec: the same document as ``JSONResponse``, several
    times faster for long row lists (numbers may be spelt differently: ``1e16`` for
    ``1e+16``; the values are the same)."""

    def render(self, content: Any) -> bytes:
        return _encode(content)


_encode = msgspec.json.Encoder().encode


_TABLES: Final = {"application/json": "json", "text/csv": "csv", XLSX: "xlsx"}


def answer(
    request: Request,
    payload: dict[str, Any],
    rows: list[dict[str, Any]],
    source: str = "",
    caller: Caller | None = None,
    fmt: str | None = None,
) -> Response:
    """``payload`` as JSON, or ``rows`` as CSV or an .xlsx workbook: ``fmt`` when given
    (a ``format`` parameter), else the first of the three the Accept header names (JSON
    when it names none). ``source`` and the ``caller``'s scope are named above the
    workbook's header."""
    kind = fmt or "json"
    for part in request.headers.get("accept", "").split(",") if fmt is None else ():
        media = part.split(";")[0].strip().lower()
        if media in _TABLES:
            kind = _TABLES[media]
            break
    if kind == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8")
    if kind == "xlsx":
        body = to_xlsx(rows, _about(request, payload, source, caller), request.url.path)
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "smartpark"
        disposition = f'attachment; filename="smartpark-{name}.xlsx"'
        return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})
    return Json(payload)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every scalar field of ``rows``, in first-seen order."""
    columns: dict[str, None] = {}
    for r in rows:
        for k, v in r.items():
            if k not in columns and not isinstance(v, dict | list):
                columns[k] = None
    return list(columns)


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """A header of every scalar field (in first-seen order), then one line per row; no
    cell holds a formula (:func:`~smartpark.core.cells.safe_cell`)."""
    rows = list(rows)
    columns = _columns(rows)
    return csv_text([columns, *([r.get(k) for k in columns] for r in rows)])


def to_xlsx(rows: Iterable[dict[str, Any]], lines: tuple[str, ...], path: str) -> bytes:
    """The columns of :func:`to_csv` as one sheet named for the endpoint, ``lines``
    above the header, numbers as numbers (:mod:`smartpark.core.workbook`)."""
    rows = list(rows)
    names = _columns(rows)
    columns = tuple(Column(k, kind=_kind(rows, k)) for k in names) or (Column("-", kind="text"),)
    cells = [[r.get(k) for k in names] for r in rows] if names else []
    name = sheet_name(path.rstrip("/").rsplit("/", 1)[-1] or "smartpark")
    return xlsx_bytes([Sheet(name, columns, cells, lines)])


def _kind(rows: list[dict[str, Any]], key: str) -> Literal["text", "number", "integer"]:
    values = [r.get(key) for r in rows if r.get(key) is not None]
    if not values or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
    ):
        return "text"
    return "integer" if all(isinstance(v, int) for v in values) else "number"


def _about(
    request: Request, payload: dict[str, Any], source: str, caller: Caller | None
) -> tuple[str, ...]:
    """What a workbook says above its header: the request, what it asked for (the
    answer's own scalar fields: scope, id, period, time zone...), the caller's scope,
    where the rows come from and how times are written."""
    query = f"?{request.url.query}" if request.url.query else ""
    asked = [
        f"{k}: {v}"
        for k, v in payload.items()
        if not isinstance(v, dict | list) and v is not None and k != "disclaimer"
    ]
    seen = "all" if caller is None or caller.grant.scope is None else caller.grant.scope
    return (
        f"smartpark API {request.url.path}{query}",
        " · ".join([*asked, f"visible to: {seen}"]),
        f"Source: {source or 'smartpark serve'} · Times: RFC 3339 in UTC, or epoch "
        "milliseconds (fields ending in _ms)",
    )


Caller_ = Annotated[Caller, Depends(api_caller)]


@router.get(
    "/kpi", dependencies=[strict("scope", "id", "period", "from", "to", "kpi", repeat=("kpi",))]
)
def kpi(
    request: Request,
    caller: Caller_,
    scope: Annotated[Literal["zone", "park", "enterprise", "product"], Query()],
    id: Annotated[str, Query(pattern=SLUG, max_length=64)],
    period: Annotated[Literal["hour", "day", "month", "year"], Query()] = "day",
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    kpi: Annotated[list[str] | None, Query(max_length=64)] = None,
) -> Response:
    """KPI rows of one zone, park, enterprise or product: ``[from, to)``, dates local to
    it (a product's: its park's)."""
    names = tuple(kpi or ())
    for name in names:
        if not _is_kpi_name(name):
            raise HTTPException(400, f"kpi: a KPI name matches {KPI_NAME}")
    src: data.Sources = request.app.state.sources
    vis = scoped(request, caller)
    if not (
        products.allows(src.registry, vis, id) if scope == "product" else vis.allows(scope, id)
    ):
        raise HTTPException(403, FORBIDDEN)
    tz = data.timezone_of(src.registry, scope, id)
    try:
        end = parse_instant(to, tz, "to") if to else now_ms()
        start = parse_instant(from_, tz, "from") if from_ else end - 31 * DAY_MS
    except ContractError as exc:
        raise HTTPException(400, f"{exc.field}: {exc.detail}") from None
    if end <= start:
        raise HTTPException(400, "to: must be after from")
    if end - start > MAX_RANGE_MS.get(period, 100 * 366 * DAY_MS):
        raise HTTPException(400, f"from/to: too long a range for period {period}; narrow it")
    rows = data.kpi_rows(src, scope, id, period, start, end, names)
    payload = {"scope": scope, "id": id, "period": period, "timezone": tz, "rows": rows}
    return answer(request, payload, rows, "KPI rows in the store", caller)


def _is_kpi_name(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isascii() and (c.isalnum() or c == "_") for c in name)


@router.get("/report", dependencies=[strict("month", "scope", "id", "format", "lang")])
async def monthly_report(
    request: Request,
    caller: Caller_,
    month: Annotated[str, Query(pattern=report.MONTH, max_length=7)],
    scope: Annotated[Literal["zone", "park", "region"], Query()],
    id: Annotated[str, Query(pattern=SLUG, max_length=64)],
    format: Annotated[report.Format, Query()] = "html",
    lang: Annotated[Literal["zh", "en"] | None, Query()] = None,
) -> Response:
    """The monthly report of a zone, park or region (docs/report.md) as HTML, PDF or an
    .xlsx workbook (a sheet per section); the language defaults to the zone's."""
    return await report.answer(request.app.state.sources, caller, month, scope, id, format, lang)


@router.get("/kpis", dependencies=[strict()])
def kpi_catalogue(request: Request, caller: Caller_) -> Response:
    """Every KPI with its unit, group, meaning and zero-carbon line (docs/kpis.md)."""
    rows = data.catalogue()
    return answer(request, {"kpis": rows}, rows, "the KPI catalogue", caller)


@router.get("/products", dependencies=[strict()])
def product_list(request: Request, caller: Caller_) -> Response:
    """The products of the caller's enterprises: the standard each is graded against, its
    levels corrected for the plant, and where those numbers come from."""
    rows = products.records(request.app.state.sources.registry, scoped(request, caller))
    source = "the registry and the standards table"
    return answer(request, {"products": rows}, rows, source, caller)


@router.get("/targets", dependencies=[strict("year", "as_of", "format")])
def dual_control(
    request: Request,
    caller: Caller_,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
    as_of: Annotated[str | None, Query(max_length=10)] = None,
    format: Annotated[Literal["json", "csv", "xlsx"] | None, Query()] = None,
) -> Response:
    """Plan against actual of the dual-control targets the caller sees: per target and
    budget the budget, plan and actual to date, share used, year-end projection with its
    method and the projected gap (docs/dualcontrol.md); ``as_of`` (default today in each
    zone's time zone) closes the months before its month."""
    day = None
    if as_of is not None:
        try:
            day = datetime.date.fromisoformat(as_of)
        except ValueError:
            raise HTTPException(400, "as_of: a date YYYY-MM-DD") from None
    src: data.Sources = request.app.state.sources
    if not any(src.registry.zones[z].dual_control for z in src.registry.zone_ids):
        raise HTTPException(404, "no zone names a dual-control targets file")
    try:
        done = targets.of_caller(src.store, src.registry, scoped(request, caller), year, day)
    except OptionError as exc:
        raise HTTPException(400, str(exc).removeprefix("--").replace("-", "_", 1)) from None
    except (AnalyticsError, ConfigError) as exc:
        _log.info("targets unavailable", year=year, error=str(exc))
        raise HTTPException(404, "the dual-control targets could not be read") from None
    rows = targets.records(done)
    source = "the targets files and the store's readings"
    return answer(request, targets.payload(done, year, day), rows, source, caller, format)


@router.get("/registry", dependencies=[strict()])
def registry(request: Request, caller: Caller_) -> Response:
    """The registry tree the caller may see."""
    tree = data.tree(request.app.state.sources.registry, scoped(request, caller))
    return Json(tree)


@router.get("/alerts", dependencies=[strict("state")])
def alerts(
    request: Request,
    caller: Caller_,
    state: Annotated[Literal["active", "history"], Query()] = "active",
) -> Response:
    """Alerts now pending or firing, or (``state=history``) every firing and resolved."""
    rows = data.alerts(request.app.state.sources, scoped(request, caller), state == "history")
    return answer(request, {"state": state, "alerts": rows}, rows, "the alert state", caller)


@router.get("/freshness", dependencies=[strict("at", "window_h")])
def freshness(
    request: Request,
    caller: Caller_,
    at: Annotated[str | None, Query(max_length=40)] = None,
    window_h: Annotated[float, Query(gt=0, le=168)] = 24.0,
) -> Response:
    """Whether each meter and gateway reported as expected as of ``at``: its last reading
    at or before ``at``, however old, or "never" (``window_h`` is accepted for earlier
    clients, echoed, and changes nothing)."""
    try:
        at_ms = parse_instant(at, "UTC", "at") if at else now_ms()
    except ContractError as exc:
        raise HTTPException(400, f"{exc.field}: {exc.detail}") from None
    rows = data.freshness(request.app.state.sources, scoped(request, caller), at_ms)
    payload = {"at": at_ms, "window_h": window_h, "subjects": rows}
    return answer(request, payload, rows, "the last readings in the store", caller)


@router.get("/landuse", dependencies=[strict("year")])
def landuse(
    request: Request,
    caller: Caller_,
    year: Annotated[int, Query(ge=1900, le=2200)],
) -> Response:
    """Per-mu grades and idle flags of the caller's enterprises; park/zone land-use KPIs."""
    try:
        payload = data.landuse(request.app.state.sources, scoped(request, caller), year)
    except (AnalyticsError, ConfigError) as exc:
        _log.info("landuse unavailable", year=year, error=str(exc))
        raise HTTPException(404, f"no land-use analysis for {year}") from None
    return answer(request, payload, payload["enterprises"], "the land-use analysis", caller)


@router.get("/whoami", dependencies=[strict()])
def whoami(caller: Caller_) -> dict[str, Any]:
    """The caller's role and scope."""
    return {"role": caller.grant.role, "scope": caller.grant.scope}


@router.get("/tokens", dependencies=[strict()])
def tokens(request: Request, caller: Caller_) -> Response:
    """Every token (never its value), for admins."""
    if caller.grant.role != "admin":
        raise HTTPException(403, "admins only")
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "scope": t.scope,
            "created_ms": t.created_ms,
            "expires_ms": t.expires_ms,
            "revoked_ms": t.revoked_ms,
        }
        for t in request.app.state.access.tokens()
    ]
    return answer(request, {"tokens": rows}, rows, "the access file", caller)


@router.delete("/tokens/{ident}", dependencies=[strict()])
def revoke(request: Request, caller: Caller_, ident: int) -> dict[str, Any]:
    """Revoke a token, for admins."""
    if caller.grant.role != "admin":
        raise HTTPException(403, "admins only")
    if not request.app.state.access.revoke(ident):
        raise HTTPException(404, "no such unrevoked token")
    return {"revoked": ident}
