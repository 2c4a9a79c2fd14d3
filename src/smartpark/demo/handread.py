"""The demo's meters read by hand: a filled-in sheet, imported as park staff would.

After the simulation, each meter of the registry read by hand (``source = "manual"``,
the example's city gas meter ``chem-c-gas``) gets the two register readings a meter
reader takes, at the start and at the end of the simulated range. They are entered into
the template of ``smartpark import template readings`` (opened and filled with openpyxl,
as a spreadsheet program would) and imported with ``smartpark import readings``'s own
function (docs/import.md), before the KPIs are computed: they count in the KPIs like
any reading, and the "nothing lost" check counts the gateways' readings apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl  # type: ignore[import-untyped]

from smartpark.core import quantities
from smartpark.core.registry import Registry
from smartpark.core.sheets import ImportReport
from smartpark.core.template import write_template
from smartpark.ingest.importer import import_readings, readings_template
from smartpark.store.base import Store

SHEET: Final = "hand-read.xlsx"
DAILY_USE: Final = 1_100.0  # a hand-read meter's mean use per day, in its canonical unit


@dataclass(frozen=True)
class HandRead:
    """What the demo imported from its sheet."""

    path: Path
    meters: tuple[str, ...]
    report: ImportReport


def import_sheet(
    out: Path,
    registry: Registry,
    store: Store,
    span: tuple[int, int],
    seed: int,
) -> HandRead | None:
    """Fill ``out``/hand-read.xlsx for the meters read by hand over ``span`` (epoch ms)
    and import it into ``store``; None when the registry has no such meter."""
    meters = sorted(m.id for m in registry.meters.values() if m.manual)
    if not meters:
        return None
    path = write_template(out / SHEET, readings_template(registry))
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    rng = np.random.default_rng(seed)
    days = (span[1] - span[0]) / 86_400_000
    for meter in meters:
        tz = ZoneInfo(registry.parks[registry.park_of_meter(meter)].timezone)
        unit = quantities.BY_NAME[registry.meters[meter].quantity].canonical_unit
        first = round(float(rng.uniform(10_000, 90_000)), 1)
        used = round(DAILY_USE * days * float(rng.uniform(0.8, 1.2)), 1)
        for ts, value in ((span[0], first), (span[1], first + used)):
            local = dt.datetime.fromtimestamp(ts / 1000, tz).replace(tzinfo=None)
            sheet.append([meter, local, value, unit])  # local time of the meter's park
    book.save(path)
    report = import_readings(path, registry, store, dead_letters=out / "dead-letters.db")
    return HandRead(path, tuple(meters), report)


__all__ = ["SHEET", "HandRead", "import_sheet"]
