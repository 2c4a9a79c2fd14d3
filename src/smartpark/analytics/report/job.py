"""``smartpark report`` as one call: registry and store in, an HTML, PDF or .xlsx file out."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smartpark.analytics.alerts.state import default_path
from smartpark.analytics.report import monthly, pdf, xlsx
from smartpark.core import registry as registry_mod
from smartpark.core.errors import OutputError
from smartpark.core.urls import StoreUrl
from smartpark.core.workbook import write_xlsx
from smartpark.store.open import open_store

Format = Literal["html", "pdf", "xlsx"]


@dataclass(frozen=True)
class Written:
    path: Path
    missing: list[str]  # what the report says is missing (on its first page)
    seconds: float


def run(
    registry_path: Path,
    store_url: StoreUrl,
    request: monthly.Request,
    fmt: Format,
    out: Path | None = None,
) -> Written:
    """Write the monthly report of ``request`` to ``out`` (default: in the working folder,
    ``monthly-report-SCOPE-ID-MONTH.FORMAT``): an HTML page, its PDF, or an .xlsx
    workbook with a sheet per section (:mod:`analytics.report.xlsx`).

    Alerts come from the alert state file beside the store (``smartpark alerts``), land
    use from the zone's facts and the store's monthly KPIs (docs/report.md).
    """
    started = time.perf_counter()
    reg = registry_mod.load(registry_path)
    request = dataclasses.replace(
        request,
        alerts=request.alerts or default_path(str(store_url)),
        registry_path=registry_path,
        store_url=store_url,
    )
    store = open_store(store_url, reg)
    try:
        report = monthly.build(store, reg, request)
    finally:
        store.close()
    path = out or Path(f"monthly-report-{report.scope}-{report.id}-{report.month}.{fmt}")
    try:
        if fmt == "xlsx":
            write_xlsx(path, xlsx.sheets_of(report))
        elif fmt == "pdf":
            pdf.html_to_pdf(monthly.html(report), path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(monthly.html(report), encoding="utf-8")
    except OSError as exc:
        raise OutputError.cannot_write(path, exc) from None
    return Written(path, report.missing, time.perf_counter() - started)
