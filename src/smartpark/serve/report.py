"""The monthly report (docs/report.md) as an HTTP answer, for the API and the web view.

The caller's scope is checked first (:func:`~smartpark.serve.scopes.may_report`: a
forbidden id and an unknown one give the same 403); then the report is gathered with
:func:`~smartpark.analytics.report.monthly.build` from the server's own store and laid
out with :func:`~smartpark.analytics.report.monthly.html` (or, format xlsx, as a
workbook with :func:`~smartpark.analytics.report.xlsx.workbook`), off the event loop in
a worker thread, bounded by :data:`TIMEOUT_S`. PDF is printed by headless Chromium
(:mod:`smartpark.analytics.report.pdf`), at most ``Sources.pdf_slots`` at a time.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Final, Literal

from fastapi import HTTPException
from fastapi.responses import Response

from smartpark.analytics.report import monthly, pdf, xlsx
from smartpark.core.errors import AnalyticsError, ConfigError, OptionError
from smartpark.core.logs import get_logger
from smartpark.core.workbook import MEDIA_TYPE as XLSX
from smartpark.serve import data
from smartpark.serve.access import Caller
from smartpark.serve.scopes import may_report, visible

Format = Literal["html", "pdf", "xlsx"]
SCOPES: Final = ("zone", "park", "region")
# YYYY-MM of 1900-2199, as land use's years: a month the report and the calendar can
# bound (no year 0, no month after 9999-12)
MONTH: Final = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$"
TIMEOUT_S: Final = 60.0
FORBIDDEN: Final = "not in your scope (or no such id)"
MEDIA: Final = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "xlsx": XLSX}

# the report is self-contained: inline CSS and SVG, no script, nothing fetched
CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

_log = get_logger(__name__)


async def answer(
    src: data.Sources,
    caller: Caller,
    month: str,
    scope: str,
    ident: str,
    fmt: Format,
    lang: str | None,
) -> Response:
    """The report of ``scope:ident`` for ``month`` as HTML, PDF or .xlsx; 403 outside the scope,
    503 when it cannot be made (the reason logged), 504 past :data:`TIMEOUT_S`."""
    if not may_report(src.registry, visible(src.registry, caller.grant), scope, ident):
        raise HTTPException(403, FORBIDDEN)
    request = monthly.Request(
        month,
        scope,
        ident,
        lang,
        alerts=src.alert_state,
        registry_path=src.registry_path,
        store_url=src.store_url,
    )
    try:
        if fmt == "pdf":
            async with src.pdf_slots:
                body = await asyncio.wait_for(asyncio.to_thread(_pdf, src, request), TIMEOUT_S)
        elif fmt == "xlsx":
            body = await asyncio.wait_for(asyncio.to_thread(_xlsx, src, request), TIMEOUT_S)
        else:
            page = await asyncio.wait_for(asyncio.to_thread(_html, src, request), TIMEOUT_S)
            body = page.encode("utf-8")
    except TimeoutError:
        _log.warning("report timed out", scope=scope, id=ident, month=month, format=fmt)
        detail = f"report: not ready within {TIMEOUT_S:g} s; try format=html"
        raise HTTPException(504, detail) from None
    except OptionError as exc:  # the request itself: a month that has not begun
        raise HTTPException(400, str(exc).removeprefix("--")) from None
    except (AnalyticsError, ConfigError) as exc:
        _log.warning("report failed", scope=scope, id=ident, month=month, error=str(exc))
        hint = "; try format=html" if fmt == "pdf" else ""
        raise HTTPException(503, f"report: could not be made (see the server log){hint}") from None
    filename = f"monthly-report-{scope}-{ident}-{month}.{fmt}"
    shown = "attachment" if fmt == "xlsx" else "inline"  # a browser shows no workbook
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'{shown}; filename="{filename}"',
            "Content-Security-Policy": CSP,
        },
    )


def _html(src: data.Sources, request: monthly.Request) -> str:
    return monthly.html(monthly.build(src.store, src.registry, request))


def _xlsx(src: data.Sources, request: monthly.Request) -> bytes:
    return xlsx.workbook(monthly.build(src.store, src.registry, request))


def _pdf(src: data.Sources, request: monthly.Request) -> bytes:
    page = _html(src, request)
    with tempfile.TemporaryDirectory(prefix="smartpark-report-") as tmp:
        return pdf.html_to_pdf(page, Path(tmp) / "report.pdf").read_bytes()
