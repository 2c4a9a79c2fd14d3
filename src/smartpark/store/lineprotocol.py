"""InfluxDB line protocol: one escaping function and a fast batch builder (docs/store.md).

Escaping (:func:`escape`), the same rules on every InfluxDB version:

- commas and spaces are escaped with a backslash everywhere; ``=`` too in tag keys, tag
  values and field keys (not in a measurement, where a ``\\=`` would be kept literally);
- double quotes need no escaping outside string field values (we write none);
- newlines and every other control character are *rejected*: line protocol has no way
  to carry them (a newline ends the point);
- backslashes are *rejected*: InfluxDB 1.x keeps ``\\\\`` as two backslashes and cannot
  represent a backslash before a special character or at the end of a tag, while newer
  parsers unescape ``\\\\``, so no spelling round-trips on every version;
- an empty string is rejected (InfluxDB drops empty tags; a point never carries one),
  and so are names (measurement, tag and field keys) starting with ``_`` (reserved by
  InfluxDB 2.x/3.x) or equal to ``time`` (dropped by InfluxDB 1.x).

Rejections raise :class:`ValueError` naming the offending value.

Batch building (:class:`LineBuilder`): the series key of each registry meter
(``energy,enterprise=…,meter=…,park=…,quantity=… value=``) is escaped once per
registry; a batch is then the per-point join of that key, the value and the timestamp.
The join is done by msgspec's C encoder rather than a Python loop: the batch becomes
one flat list ``[key, value, " ", ts, "\\n", key, ...]`` whose keys and separators are
:class:`msgspec.Raw` (copied verbatim) and whose numbers msgspec formats (floats in
their shortest form that parses back to the same double, ints exactly). The list's
JSON commas are then deleted in one ``bytes.translate`` pass, which also turns the
placeholder ``\\x01`` back into the commas of the series keys (no identifier may hold a
control character, so the placeholder cannot collide). One to three million points/s
on one core of the development machine (``bench/bench_store.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core import quantities
from smartpark.core.registry import Registry
from smartpark.store.base import KpiRow, ReadingColumns

Position = Literal["measurement", "tag_key", "tag_value", "field_key"]

FIELD: Final = "value"
"""The one field of every point."""

KPI_MEASUREMENT: Final = "kpi"
READING_TAGS: Final = ("enterprise", "meter", "park", "quantity")  # sorted, as influx likes
KPI_TAGS: Final = ("id", "kpi", "period", "scope")
VERSION_FIELD: Final = "factors_version"
"""The string field of a KPI point naming its coefficient set (docs/store.md)."""

# Control characters (C0, DEL) and the backslash cannot be carried; see module docstring.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
_ESCAPE_MEASUREMENT = re.compile(r"([, ])")
_ESCAPE_KEY = re.compile(r"([,= ])")
_PLACEHOLDER: Final = b"\x01"  # stands for the commas of series keys inside the JSON list
_TRANSLATE: Final = bytes.maketrans(_PLACEHOLDER, b",")
_SPACE: Final = msgspec.Raw(b" ")
_NEWLINE: Final = msgspec.Raw(b"\n")
_CHUNK: Final = 16_384  # points per encoder call: keeps the working set in cache

_encoder = msgspec.json.Encoder()


def escape(text: str, position: Position) -> str:
    """Escape ``text`` for ``position`` in a line; ``ValueError`` if it cannot be carried."""
    if not isinstance(text, str):
        raise ValueError(f"{position} must be a string, got {type(text).__name__}")
    if not text:
        raise ValueError(f"{position} must not be empty")
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        what = "a backslash" if bad.group() == "\\" else f"control character {bad.group()!r}"
        raise ValueError(
            f"{position} {text[:80]!r} contains {what}, which line protocol cannot carry"
        )
    if position != "tag_value" and (text.startswith("_") or text == "time"):
        raise ValueError(f"{position} {text[:80]!r}: names must not start with '_' or be 'time'")
    pattern = _ESCAPE_MEASUREMENT if position == "measurement" else _ESCAPE_KEY
    return pattern.sub(r"\\\1", text)


def string_field(text: str) -> str:
    """``text`` as a quoted string field value; ``ValueError`` if it cannot be carried."""
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        what = "a backslash" if bad.group() == "\\" else f"control character {bad.group()!r}"
        raise ValueError(f"string field {text[:80]!r} contains {what}")
    return '"' + text.replace('"', '\\"') + '"'


def series_key(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """``measurement,k1=v1,k2=v2`` with every part escaped, tags in the given order."""
    parts = [escape(measurement, "measurement")]
    parts += [f"{escape(k, 'tag_key')}={escape(v, 'tag_value')}" for k, v in tags]
    return ",".join(parts)


def reading_series_keys(registry: Registry) -> list[str]:
    """Series key of every registry meter, indexed by meter code (docs/store.md schema)."""
    keys = []
    for meter_id in registry.meter_ids:
        meter = registry.meters[meter_id]
        tags = {
            "enterprise": meter.enterprise,
            "meter": meter_id,
            "park": registry.park_of_meter(meter_id),
            "quantity": meter.quantity,
        }
        keys.append(series_key(quantities.BY_NAME[meter.quantity].kind, sorted(tags.items())))
    return keys


def _point_prefix(key: str) -> msgspec.Raw:
    return msgspec.Raw(
        (key + " " + escape(FIELD, "field_key") + "=").encode().replace(b",", _PLACEHOLDER)
    )


def _check_values(value: npt.NDArray[np.float64]) -> None:
    finite = np.isfinite(value)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"value: {value[first]!r} at position {first} is not finite")


def _join(
    prefixes: Sequence[msgspec.Raw] | npt.NDArray[np.object_],
    value: npt.NDArray[np.float64],
    ts: npt.NDArray[np.int64],
    middles: Sequence[msgspec.Raw] | None = None,
) -> bytes:
    """``prefix value middle ts\\n`` per point, prefixes (and the further fields with
    their trailing space, ``middles``) already chosen per point."""
    n = len(value)
    parts: list[object] = [_NEWLINE] * (5 * n)
    parts[0::5] = prefixes if isinstance(prefixes, list) else list(prefixes)
    parts[1::5] = value.tolist()
    parts[2::5] = [_SPACE] * n if middles is None else middles
    parts[3::5] = ts.tolist()
    # b"[a,b,...]" -> drop brackets and JSON commas, restore the series keys' commas.
    return _encoder.encode(parts)[1:-1].translate(_TRANSLATE, b",")


class LineBuilder:
    """Builds line protocol for :class:`ReadingColumns` of one registry, fast."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.series_keys = reading_series_keys(registry)
        prefixes = np.empty(len(self.series_keys), dtype=object)
        prefixes[:] = [_point_prefix(k) for k in self.series_keys]
        self._prefixes = prefixes

    def build(self, readings: ReadingColumns) -> bytes:
        """Line protocol (ms timestamps) for ``readings``, one point per line.

        ``ValueError`` names the column when a meter code is outside the registry or a
        value is not finite; nothing is built then.
        """
        n = len(readings)
        if n == 0:
            return b""
        meter = readings.meter
        if int(meter.min()) < 0 or int(meter.max()) >= len(self._prefixes):
            bad = int(np.flatnonzero((meter < 0) | (meter >= len(self._prefixes)))[0])
            raise ValueError(f"meter: code {int(meter[bad])} at position {bad} not in registry")
        _check_values(readings.value)
        chunks = [
            _join(
                self._prefixes[meter[i : i + _CHUNK]],
                readings.value[i : i + _CHUNK],
                readings.ts[i : i + _CHUNK],
            )
            for i in range(0, n, _CHUNK)
        ]
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def kpi_lines(rows: Sequence[KpiRow]) -> bytes:
    """Line protocol for KPI rows: measurement ``kpi``, tags scope/id/period/kpi, field
    ``value`` and (when set) string field ``factors_version``, ms."""
    if not rows:
        return b""
    cache: dict[tuple[str, str, str, str], msgspec.Raw] = {}
    versions: dict[str, msgspec.Raw] = {"": _SPACE}
    prefixes = []
    middles = []
    for row in rows:
        tags = (row.scope, row.id, row.period, row.kpi)
        prefix = cache.get(tags)
        if prefix is None:
            try:
                tagset = [("id", row.id), ("kpi", row.kpi), ("period", row.period)]
                key = series_key(KPI_MEASUREMENT, [*tagset, ("scope", row.scope)])
            except ValueError as exc:
                raise ValueError(f"kpi row {row!r}: {exc}") from None
            prefix = cache[tags] = _point_prefix(key)
        prefixes.append(prefix)
        middle = versions.get(row.factors_version)
        if middle is None:
            try:
                field = f",{VERSION_FIELD}={string_field(row.factors_version)} "
            except ValueError as exc:
                raise ValueError(f"kpi row {row!r}: {exc}") from None
            middle = versions[row.factors_version] = msgspec.Raw(
                field.encode().replace(b",", _PLACEHOLDER)
            )
        middles.append(middle)
    value = np.array([r.value for r in rows], dtype=np.float64)
    ts = np.array([r.start_ms for r in rows], dtype=np.int64)
    _check_values(value)
    return _join(prefixes, value, ts, middles)
