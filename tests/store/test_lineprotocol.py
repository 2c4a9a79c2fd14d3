"""Line protocol escaping and batch building, checked by a reference parser and influxd."""

from __future__ import annotations

import math
import re
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartpark.core import registry
from smartpark.store.base import KpiRow, ReadingColumns
from smartpark.store.lineprotocol import LineBuilder, escape, kpi_lines, series_key
from smartpark.testing.servers import Influxd

# ------------------------------------------------------------------ reference parser
#
# A small, slow, obviously-correct reader of the subset we write, following the rules
# of InfluxDB 1.x's parser (models/points.go): a backslash escapes the next character
# while scanning; afterwards only "\\,", "\\ " and (outside measurements) "\\=" are
# unescaped. One float field, a mandatory integer timestamp.

Parsed = tuple[str, dict[str, str], dict[str, float], int]


def _split_unescaped(text: str, separators: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str, specials: str) -> str:
    return re.sub(r"\\([" + re.escape(specials) + "])", r"\1", text)


def parse_line(line: str) -> Parsed:
    assert "\n" not in line
    key, fieldset, ts = _split_unescaped(line, " ")
    measurement, *tagset = _split_unescaped(key, ",")
    tags: dict[str, str] = {}
    for pair in tagset:
        k, v = _split_unescaped(pair, "=")
        tags[_unescape(k, ",= ")] = _unescape(v, ",= ")
    fields = {}
    for pair in _split_unescaped(fieldset, ","):
        k, v = _split_unescaped(pair, "=")
        assert re.fullmatch(r"-?[0-9.]+(e[-+]?[0-9]+)?", v), v
        fields[_unescape(k, ",= ")] = float(v)
    assert re.fullmatch(r"-?[0-9]+", ts), ts
    return _unescape(measurement, ", "), tags, fields, int(ts)


def parse_lines(data: bytes) -> list[Parsed]:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return [parse_line(line) for line in text[:-1].split("\n")]


# ------------------------------------------------------------------ escape


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("plain", "tag_value", "plain"),
        ("a b", "tag_value", r"a\ b"),
        ("a,b", "tag_value", r"a\,b"),
        ("a=b", "tag_value", r"a\=b"),
        ('a"b', "tag_value", 'a"b'),  # quotes are literal outside string fields
        ("'x'", "tag_value", "'x'"),
        ("_leading", "tag_value", "_leading"),  # only names may not start with '_'
        ("a b", "tag_key", r"a\ b"),
        ("a,b=c", "tag_key", r"a\,b\=c"),
        ("a,b=c", "field_key", r"a\,b\=c"),
        ("a b,c", "measurement", r"a\ b\,c"),
        ("a=b", "measurement", "a=b"),  # '=' is not special in a measurement
        ("电力 kWh", "tag_value", r"电力\ kWh"),
        ("#comment", "measurement", "#comment"),
        (" , = ", "tag_value", r"\ \,\ \=\ "),
    ],
)
def test_escape_special_characters(text: str, position: str, expected: str) -> None:
    assert escape(text, position) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("position", ["measurement", "tag_key", "tag_value", "field_key"])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a\nb", "control character"),
        ("a\rb", "control character"),
        ("a\tb", "control character"),
        ("a\x00b", "control character"),
        ("a\x7fb", "control character"),
        ("a\\b", "backslash"),
        ("ab\\", "backslash"),
        ("", "empty"),
    ],
)
def test_escape_rejects_what_line_protocol_cannot_carry(
    text: str, reason: str, position: str
) -> None:
    with pytest.raises(ValueError, match=reason) as info:
        escape(text, position)  # type: ignore[arg-type]
    assert position in str(info.value)


@pytest.mark.parametrize("position", ["measurement", "tag_key", "field_key"])
@pytest.mark.parametrize("name", ["_measurement", "_field", "_x", "time"])
def test_escape_rejects_reserved_names(position: str, name: str) -> None:
    with pytest.raises(ValueError, match="names must not start with '_'"):
        escape(name, position)  # type: ignore[arg-type]


def test_escape_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        escape(12, "tag_value")  # type: ignore[arg-type]


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from([" ", ",", "=", '"', "\\", "\n", "_", "'"]),
    max_size=12,
)


@given(measurement=_text, tag_key=_text, tag_value=_text, field_key=_text)
@example(measurement="a b", tag_key="k=", tag_value="v, w", field_key="f f")
@example(measurement="m", tag_key="k", tag_value='"q"', field_key="value")
def test_escaped_key_parses_back(
    measurement: str, tag_key: str, tag_value: str, field_key: str
) -> None:
    try:
        line = (
            f"{series_key(measurement, [(tag_key, tag_value)])} "
            f"{escape(field_key, 'field_key')}=1.5 42"
        )
    except ValueError:
        parts = (measurement, tag_key, tag_value, field_key)
        names = (measurement, tag_key, field_key)
        assert (
            any(p == "" for p in parts)
            or any(re.search(r"[\x00-\x1f\x7f\\]", p) for p in parts)
            or any(n.startswith("_") or n == "time" for n in names)
        )
        return
    assert parse_line(line) == (measurement, {tag_key: tag_value}, {field_key: 1.5}, 42)


# ------------------------------------------------------------------ batch builder

REGISTRY = registry.from_dict(
    {
        "zone": {"z": {"name": "Z"}},
        "park": {"p-1": {"zone": "z", "name": "P"}},
        "enterprise": {"ent-a": {"park": "p-1", "name": "A"}},
        "gateway": {"gw": {"park": "p-1"}},
        "meter": {
            "m-elec": {"enterprise": "ent-a", "gateway": "gw", "quantity": "electricity_import"},
            "m-water": {"enterprise": "ent-a", "gateway": "gw", "quantity": "fresh_water"},
            "m-nox": {"enterprise": "ent-a", "gateway": "gw", "quantity": "nox"},
        },
    }
)
ELEC, NOX, WATER = (REGISTRY.meter_code[m] for m in ("m-elec", "m-nox", "m-water"))


def _columns(meter: list[int], ts: list[int], value: list[float]) -> ReadingColumns:
    return ReadingColumns(
        np.array(meter, dtype=np.int32),
        np.array(ts, dtype=np.int64),
        np.array(value, dtype=np.float64),
    )


def test_builder_writes_the_design_schema() -> None:
    data = LineBuilder(REGISTRY).build(
        _columns([ELEC, WATER, NOX], [1700000000000, 1700000000001, 1], [12.5, 3.0, 0.1])
    )
    assert data == (
        b"energy,enterprise=ent-a,meter=m-elec,park=p-1,quantity=electricity_import"
        b" value=12.5 1700000000000\n"
        b"water,enterprise=ent-a,meter=m-water,park=p-1,quantity=fresh_water"
        b" value=3.0 1700000000001\n"
        b"emissions,enterprise=ent-a,meter=m-nox,park=p-1,quantity=nox value=0.1 1\n"
    )


def test_builder_empty_batch_is_empty_bytes() -> None:
    assert LineBuilder(REGISTRY).build(ReadingColumns.empty()) == b""


@given(
    st.lists(
        st.tuples(
            st.sampled_from([ELEC, NOX, WATER]),
            st.integers(-(2**62), 2**62),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        min_size=1,
        max_size=50,
    )
)
@example([(ELEC, 0, -0.0), (NOX, 1, 5e-324), (WATER, 2, 1.7976931348623157e308)])
@example([(ELEC, 3, 1e16), (ELEC, 4, 0.1 + 0.2), (ELEC, 5, 123456789012345680000.0)])
def test_builder_values_and_timestamps_round_trip_exactly(
    points: list[tuple[int, int, float]],
) -> None:
    meter, ts, value = (list(c) for c in zip(*points, strict=True))
    parsed = parse_lines(LineBuilder(REGISTRY).build(_columns(meter, ts, value)))
    assert len(parsed) == len(points)
    for (m, t, v), (measurement, tags, fields, got_ts) in zip(points, parsed, strict=True):
        meter_id = REGISTRY.meter_ids[m]
        assert tags == {
            "enterprise": "ent-a",
            "meter": meter_id,
            "park": "p-1",
            "quantity": REGISTRY.meters[meter_id].quantity,
        }
        assert measurement == REGISTRY.kind_of_meter(meter_id)
        assert got_ts == t
        assert fields["value"] == v
        assert math.copysign(1.0, fields["value"]) == math.copysign(1.0, v)


def test_builder_crosses_chunk_boundaries_in_order() -> None:
    n = 40_000  # more than one internal chunk
    ts = np.arange(n, dtype=np.int64) * 1000
    value = np.arange(n, dtype=np.float64) / 8
    meter = np.full(n, WATER, dtype=np.int32)
    lines = LineBuilder(REGISTRY).build(ReadingColumns(meter, ts, value)).split(b"\n")
    assert len(lines) == n + 1
    assert lines[-1] == b""
    assert lines[0].endswith(b" value=0.0 0")
    assert lines[n - 1].endswith(b" value=%r %d" % ((n - 1) / 8, (n - 1) * 1000))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_builder_rejects_non_finite_values(bad: float) -> None:
    with pytest.raises(ValueError, match=r"value: .* at position 1 is not finite"):
        LineBuilder(REGISTRY).build(_columns([ELEC, ELEC], [1, 2], [1.0, bad]))


@pytest.mark.parametrize("code", [-1, 3, 1000])
def test_builder_rejects_meter_codes_outside_the_registry(code: int) -> None:
    with pytest.raises(ValueError, match=f"meter: code {code} at position 0"):
        LineBuilder(REGISTRY).build(_columns([code], [1], [1.0]))


def test_kpi_lines_schema() -> None:
    rows = [
        KpiRow("park", "p-1", "day", "energy_tce", 1700000000000, 12.25),
        KpiRow("enterprise", "ent-a", "hour", "carbon_per_energy", 1700003600000, 2.0),
    ]
    assert kpi_lines(rows) == (
        b"kpi,id=p-1,kpi=energy_tce,period=day,scope=park value=12.25 1700000000000\n"
        b"kpi,id=ent-a,kpi=carbon_per_energy,period=hour,scope=enterprise value=2.0"
        b" 1700003600000\n"
    )
    assert kpi_lines([]) == b""


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (KpiRow("park", "", "day", "x", 0, 1.0), "tag_value must not be empty"),
        (KpiRow("park", "a\nb", "day", "x", 0, 1.0), "control character"),
        (KpiRow("park", "p", "day", "x", 0, math.nan), "not finite"),
    ],
)
def test_kpi_lines_reject_bad_rows(row: KpiRow, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kpi_lines([row])


# ------------------------------------------------------------------ real influxd

HOSTILE = [
    "a b",
    "a,b",
    "a=b",
    'a"b"',
    "'; DROP DATABASE x; --",
    " leading and trailing ",
    ",=, ,=",
    "_underscore",
    "电力/水 #1",
    "x" * 200,
    'meter=m-elec,park=p-1 value=999 1"',  # an injection attempt through a tag value
]


@pytest.mark.servers
def test_hostile_tag_values_round_trip_through_influxd(influxd: Influxd, influx_db: str) -> None:
    field = escape("the value", "field_key")
    keys = [series_key("hostile measurement,x", [("tag key=", v)]) for v in HOSTILE]
    lines = [f"{key} {field}={i}.5 {1700000000000 + i}" for i, key in enumerate(keys)]
    influxd.write(influx_db, "\n".join(lines))
    rows = influxd.query(
        influx_db, 'SELECT "the value" FROM "hostile measurement,x" GROUP BY "tag key="'
    )
    got = sorted((r["time"], r["tag key="], r["the value"]) for r in rows)
    assert got == [(1700000000000 + i, v, i + 0.5) for i, v in enumerate(HOSTILE)]


_tag_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="\\")
    | st.sampled_from([" ", ",", "=", '"', "'", "_", "#"]),
    min_size=1,
    max_size=20,
)


@pytest.mark.servers
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_tag_text, min_size=1, max_size=5, unique=True))
def test_random_tag_values_round_trip_through_influxd(
    influxd: Influxd, influx_db: str, values: list[str]
) -> None:
    measurement = f"m{uuid.uuid4().hex[:8]}"  # one measurement per example
    lines = [
        f"{series_key(measurement, [('t', v)])} value={i}.0 {1000 + i}"
        for i, v in enumerate(values)
    ]
    influxd.write(influx_db, "\n".join(lines))
    rows = influxd.query(influx_db, f'SELECT value FROM "{measurement}" GROUP BY "t"')
    assert sorted((r["time"], r["t"]) for r in rows) == [
        (1000 + i, v) for i, v in enumerate(values)
    ]
