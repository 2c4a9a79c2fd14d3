"""CSV replay: back-fill history from a file of ``timestamp,meter,quantity,value,unit`` rows.

``timestamp`` is epoch milliseconds or RFC 3339 with an offset. A header row is optional.
Rows are read in chunks; each chunk goes through the same screening as polled readings
and into the outbox in one transaction together with the replay's progress (rows done),
so a restarted gateway continues after the last committed chunk instead of starting over.
A row that cannot be read, names a meter this gateway does not read, or whose quantity
differs from the registry's is an error with its line number; it is counted, never sent.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smartpark.core.errors import ContractError
from smartpark.core.timestamps import parse_ts
from smartpark.gateway.drivers.base import BAD_ROW, UNKNOWN_METER, MeterError
from smartpark.gateway.readings import ReadingBatch

HEADER = ["timestamp", "meter", "quantity", "value", "unit"]


@dataclass(slots=True)
class Chunk:
    readings: ReadingBatch
    errors: list[MeterError] = field(default_factory=list)
    rows_done: int = 0  # data rows consumed from the start of the file, this chunk included


def progress_key(path: Path) -> str:
    """The outbox ``meta`` key under which a file's replay progress is kept."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return f"csv_rows_done:{digest}"


def read_chunks(
    path: Path, meter_quantity: Mapping[str, str], *, chunk: int = 5000, skip_rows: int = 0
) -> Iterator[Chunk]:
    """Chunks of readings from ``path``, skipping the first ``skip_rows`` data rows.

    ``meter_quantity`` maps the meters this gateway reads to their registry quantity.
    """
    meters: list[str] = []
    quantities: list[str] = []
    units: list[str] = []
    stamps: list[int] = []
    values: list[float] = []
    errors: list[MeterError] = []
    done = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if line_no == 1 and [c.strip().lower() for c in row] == HEADER:
                continue
            if not row or all(not c.strip() for c in row):
                continue
            done += 1
            if done <= skip_rows:
                continue
            parsed = _parse(row, line_no, meter_quantity)
            if isinstance(parsed, MeterError):
                errors.append(parsed)
            else:
                ts, meter, quantity, value, unit = parsed
                stamps.append(ts)
                meters.append(meter)
                quantities.append(quantity)
                values.append(value)
                units.append(unit)
            if len(stamps) + len(errors) >= chunk:
                yield Chunk(
                    ReadingBatch.of(meters, quantities, units, stamps, values), errors, done
                )
                meters, quantities, units, stamps, values, errors = [], [], [], [], [], []
    if stamps or errors or done > skip_rows:
        yield Chunk(ReadingBatch.of(meters, quantities, units, stamps, values), errors, done)


def _parse(
    row: list[str], line_no: int, meter_quantity: Mapping[str, str]
) -> tuple[int, str, str, float, str] | MeterError:
    where = f"line {line_no}"
    if len(row) != 5:
        return MeterError("-", BAD_ROW, f"{where}: expected 5 columns {HEADER}, got {len(row)}")
    raw_ts, meter, quantity, raw_value, unit = (c.strip() for c in row)
    if meter not in meter_quantity:
        return MeterError(
            meter[:64] or "-", UNKNOWN_METER, f"{where}: meter not read by this gateway"
        )
    if quantity != meter_quantity[meter]:
        return MeterError(
            meter,
            BAD_ROW,
            f"{where}: quantity {quantity!r} but the registry says {meter_quantity[meter]!r}",
        )
    try:
        ts = parse_ts(int(raw_ts) if raw_ts.lstrip("-").isdigit() else raw_ts)
    except ContractError as exc:
        return MeterError(meter, BAD_ROW, f"{where}: {exc.detail}")
    try:
        value = float(raw_value)
    except ValueError:
        return MeterError(meter, BAD_ROW, f"{where}: value {raw_value[:40]!r} is not a number")
    return ts, meter, quantity, value, unit
