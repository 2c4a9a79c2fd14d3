"""InfluxStore reads in every answer format (msgpack, JSON; gzipped or not) against a
real influxd: the same columns and KPI rows as the JSON read, the same errors."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import KpiRow
from smartpark.store.base import ReadingColumns
from smartpark.store.influx import (
    _READINGS,
    READ_FORMATS,
    InfluxStore,
    ReadFormat,
    _msgpack_chunks,
    msgpack_layout_of,
)
from smartpark.testing.servers import LOOPBACK, Influxd
from tests.store.stores import T0, columns, expected, registry_doc, triples

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

ALL = (T0 - 10**9, T0 + 10**9)
QUANTITIES = (
    "electricity_import",
    "natural_gas",
    "fresh_water",
    "nox",
    "output_value",
    "solid_waste_generated",
)
# 6 + 250 meters: more than the 200 a meter filter names in the query itself.
REG: Registry = registry.from_dict(
    registry_doc(
        {
            f"x-{i:03d}": {
                "enterprise": "ent-a" if i % 2 else "ent-b",
                "gateway": "gw-a" if i % 2 else "gw-b",
                "quantity": QUANTITIES[i % len(QUANTITIES)],
            }
            for i in range(250)
        }
    )
)
VALUES = (0.0, 1e-7, 5e-324, 1.5, 1e300, -1.7976931348623157e308, 2.0**53 + 2, 123.456)
# The first bytes of every chunk of a msgpack answer ("\x81\xa7results"), inside a
# string: U+1067 is E1 81 A7 in UTF-8.
LOOKALIKE = "\u1067results"


@dataclass(frozen=True)
class Way:
    """How a read asks: ``read_format`` and ``read_gzip``."""

    read_format: ReadFormat
    gzip: bool

    def __str__(self) -> str:
        return f"{self.read_format}{'-gzip' if self.gzip else ''}"


WAYS = [Way(f, gzip) for f in READ_FORMATS for gzip in (False, True)]
OpenStore = Callable[..., InfluxStore]


@pytest.fixture
def open_store(influxd: Influxd, influx_db: str) -> Iterator[OpenStore]:
    """Opens InfluxStores on the test's database (``reg``, ``way`` and any other
    keyword); closes them afterwards."""
    opened: list[InfluxStore] = []

    def open_(way: Way = Way("json", False), reg: Registry = REG, **kwargs: Any) -> InfluxStore:
        url = parse_store_url(influxd.store_url(influx_db))
        store = InfluxStore(url, reg, read_format=way.read_format, read_gzip=way.gzip, **kwargs)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def dataset() -> list[tuple[str, int, float]]:
    """Every meter of REG (all five measurements), a few points each, tricky values."""
    points = []
    for n, meter in enumerate(REG.meter_ids):
        for i in range(5):
            points.append((meter, T0 + i * 60_000 + n, VALUES[(n + i) % len(VALUES)]))
    return points


def assert_same(got: ReadingColumns, want: ReadingColumns) -> None:
    """Equal columns, values bit for bit."""
    assert got.meter.dtype == want.meter.dtype
    assert got.ts.dtype == want.ts.dtype
    assert got.value.dtype == want.value.dtype
    np.testing.assert_array_equal(got.meter, want.meter)
    np.testing.assert_array_equal(got.ts, want.ts)
    np.testing.assert_array_equal(got.value.view(np.int64), want.value.view(np.int64))


def content_types(store: InfluxStore) -> list[tuple[str, str]]:
    """(Content-Type, Content-Encoding) of each answer ``store`` gets from now on."""
    seen: list[tuple[str, str]] = []
    store._http.event_hooks["response"].append(
        lambda r: seen.append(
            (r.headers.get("Content-Type", ""), r.headers.get("Content-Encoding", ""))
        )
    )
    return seen


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_every_format_reads_what_json_reads(open_store: OpenStore, way: Way) -> None:
    points = dataset()
    reference = open_store()
    reference.write(columns(points, REG))
    want = reference.read(*ALL)
    assert triples(want, REG) == expected(points, REG)
    store = open_store(way)
    answers = content_types(store)
    assert_same(store.read(*ALL), want)
    # It really asked for (and got) what it says: msgpack on this influxd (1.6).
    query_answers = answers[1:] if way.read_format == "msgpack" else answers  # [0]: /ping
    assert len({REG.kind_of_meter(m) for m in REG.meter_ids}) == 5
    assert len(query_answers) == 5  # one query per measurement
    content_type = "application/x-msgpack" if way.read_format == "msgpack" else "application/json"
    encoding = "gzip" if way.gzip else ""
    assert set(query_answers) == {(content_type, encoding)}
    assert store.wire_format() == way.read_format


@pytest.mark.parametrize("way", WAYS, ids=str)
@pytest.mark.parametrize("n_meters", [3, 230], ids=["in-query", "after-query"])
def test_meter_filter_reads_what_json_reads(open_store: OpenStore, way: Way, n_meters: int) -> None:
    points = dataset()
    reference = open_store()
    reference.write(columns(points, REG))
    wanted = sorted(random.Random(n_meters).sample(range(len(REG.meter_ids)), n_meters))
    meters = np.array(wanted, dtype=np.int32)
    want = reference.read(*ALL, meters)
    ids = {REG.meter_ids[c] for c in wanted}
    assert triples(want, REG) == expected([p for p in points if p[0] in ids], REG)
    assert_same(open_store(way).read(*ALL, meters), want)


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_empty_reads(open_store: OpenStore, way: Way) -> None:
    open_store().write(columns(dataset(), REG))
    store = open_store(way)
    empty = ReadingColumns.empty()
    assert_same(store.read(T0 + 10**8, T0 + 2 * 10**8), empty)  # no point in the range
    assert_same(store.read(T0 - 10, T0), empty)  # ends just before the first point
    assert_same(store.read(T0, T0), empty)
    assert_same(store.read(T0 + 5, T0), empty)
    assert_same(store.read(*ALL, np.array([], dtype=np.int32)), empty)
    assert store.read_kpis(*ALL) == []


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_a_database_that_does_not_exist_is_a_store_error(influxd: Influxd, way: Way) -> None:
    url = parse_store_url(influxd.store_url(f"missing_{uuid.uuid4().hex[:8]}"))
    messages = []
    for asked in (Way("json", False), way):
        with InfluxStore(url, REG, read_format=asked.read_format, read_gzip=asked.gzip) as store:
            for read in (lambda: store.read(*ALL), lambda: store.read_kpis(*ALL)):
                with pytest.raises(StoreError, match="database not found") as info:
                    read()
                assert not isinstance(info.value, StoreRejectedError)
                messages.append(str(info.value))
    assert messages[2:] == messages[:2]


@pytest.mark.parametrize("way", WAYS, ids=str)
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_chunk_boundaries(open_store: OpenStore, way: Way, chunk_size: int) -> None:
    # Few meters, so a series spans many chunks at the smaller sizes.
    meters = ("a-elec", "a-gas", "b-nox", "x-004")
    points = [(m, T0 + i * 1000, i / 3) for m in meters for i in range(60)]
    reference = open_store()
    reference.write(columns(points, REG))
    want = reference.read(*ALL)
    assert triples(want, REG) == expected(points, REG)
    assert_same(open_store(way, chunk_size=chunk_size).read(*ALL), want)


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_unknown_meters_are_dropped_and_counted(
    open_store: OpenStore, influxd: Influxd, influx_db: str, way: Way
) -> None:
    points = [(m, T0 + i, float(i)) for m in ("a-elec", "x-000", "b-waste") for i in range(20)]
    open_store().write(columns(points, REG))
    # Meters the registry does not know, one of them spelling a msgpack chunk's start.
    influxd.write(
        influx_db,
        "\n".join(
            f"{kind},meter={meter} value={i}.5 {T0 + i}"
            for kind, meter in (("energy", "gone"), ("waste", LOOKALIKE))
            for i in range(7)
        ),
    )
    reference = open_store()
    want = reference.read(*ALL)
    assert reference.dropped_unknown == 14
    assert triples(want, REG) == expected(points, REG)
    store = open_store(way, chunk_size=3)
    assert_same(store.read(*ALL), want)
    assert store.dropped_unknown == 14


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_kpis_read_alike(open_store: OpenStore, influxd: Influxd, influx_db: str, way: Way) -> None:
    rows = [
        KpiRow("park", ident, "day", kpi, T0 + n * 86_400_000, n + 0.25, version)
        for ident in ("park-1", LOOKALIKE, "园区 'q'")
        for kpi, version in (("energy_tce", "v1"), (LOOKALIKE, ""), ("co2_total_t", "a>b"))
        for n in range(4)
    ]
    reference = open_store()
    reference.write_kpis(rows)
    # ...and one written before versions were stored: no factors_version field at all
    influxd.write(influx_db, f"kpi,id=park-2,kpi=energy_tce,period=day,scope=park value=2.5 {T0}")
    want = reference.read_kpis(*ALL)
    assert len(want) == len(rows) + 1
    assert KpiRow("park", "park-2", "day", "energy_tce", T0, 2.5, "") in want
    store = open_store(way, chunk_size=2)
    assert store.read_kpis(*ALL) == want
    assert store.read_kpis(*ALL, "park", "day", ids=[LOOKALIKE], kpis=[LOOKALIKE]) == [
        r for r in want if r.id == LOOKALIKE and r.kpi == LOOKALIKE
    ]


def test_msgpack_keeps_negative_zero_json_cannot(open_store: OpenStore) -> None:
    open_store().write(columns([("a-elec", T0, -0.0), ("a-gas", T0, 0.0)], REG))
    from_json = open_store(Way("json", False)).read(*ALL)
    from_msgpack = open_store(Way("msgpack", False)).read(*ALL)
    assert np.signbit(from_msgpack.value).tolist() == [True, False]
    assert np.signbit(from_json.value).tolist() == [False, False]  # influxd writes "0"
    np.testing.assert_array_equal(from_msgpack.value, from_json.value)  # -0.0 == 0.0


class _AuthInfluxd(Influxd):
    """The harness's influxd with HTTP authentication switched on."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text(encoding="utf-8")
        assert "auth-enabled = false" in text
        self.config_path.write_text(text.replace("auth-enabled = false", "auth-enabled = true"))


def test_unauthorized_says_the_same_in_every_format(tmp_path: Path) -> None:
    """influxd answers a msgpack request's 401 in msgpack, the message in the body only."""
    with _AuthInfluxd(tmp_path / "auth") as server:
        server.query_raw("CREATE USER admin WITH PASSWORD 'pw-Secret-1' WITH ALL PRIVILEGES")
        url = parse_store_url(server.store_url("park"))
        messages: list[str] = []
        for way in WAYS:
            with InfluxStore(url, REG, read_format=way.read_format, read_gzip=way.gzip) as store:
                assert store.wire_format() == way.read_format  # /ping needs no credentials
                for read in (lambda: store.read(*ALL), lambda: store.read_kpis(*ALL)):
                    with pytest.raises(StoreError, match="HTTP 401: unable to parse") as info:
                        read()
                    assert not isinstance(info.value, StoreRejectedError)  # credentials
                    messages.append(str(info.value))
        assert len(set(messages[0::2])) == 1, messages
        assert len(set(messages[1::2])) == 1, messages


@pytest.mark.parametrize("way", WAYS, ids=str)
def test_a_refused_query_says_the_same_in_every_format(open_store: OpenStore, way: Way) -> None:
    """A 400 to a msgpack request: the message in a msgpack body and a header."""
    messages = []
    for store in (open_store(), open_store(way)):
        with pytest.raises(
            StoreRejectedError, match="probe: HTTP 400: error parsing query"
        ) as info:
            list(store._query("SELECT FROM", "probe", _READINGS, store.wire_format()))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_msgpack_layout_by_server_version() -> None:
    for version in ("1.5.0", "1.6.7~rc0", "v1.8.10", "1.11.8-c1.11.8", "v2.7.10", "2.0.0-beta"):
        assert msgpack_layout_of(version), version
    for version in ("1.4.3", "1.3", "0.13", "3.0.1", "v3.2", "", "unknown", "cloud2"):
        assert not msgpack_layout_of(version), version


class _AcceptDroppingProxy(ThreadingHTTPServer):
    """A loopback HTTP proxy to influxd that drops the Accept header, so influxd answers
    JSON to a msgpack request, as influxd before 1.4 (which knows no msgpack) does."""

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream, trust_env=False, timeout=30)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("accept", "host")
                }
                with proxy.upstream.stream("GET", self.path, headers=headers) as answer:
                    body = b"".join(answer.iter_raw())  # as sent: gzipped if it was
                self.send_response(answer.status_code)
                for key in ("Content-Type", "Content-Encoding", "X-Influxdb-Version"):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        proxy = self
        super().__init__((LOOPBACK, 0), Handler)


@pytest.mark.parametrize("gzip", [False, True])
def test_a_json_answer_to_a_msgpack_request_is_read_as_json(
    open_store: OpenStore, influxd: Influxd, influx_db: str, gzip: bool
) -> None:
    points = dataset()
    reference = open_store()
    reference.write(columns(points, REG))
    reference.write_kpis([KpiRow("park", "park-1", "day", "energy_tce", T0, 1.5, "v1")])
    proxy = _AcceptDroppingProxy(influxd.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = parse_store_url(f"influxdb://{LOOPBACK}:{proxy.server_address[1]}/{influx_db}")
        with InfluxStore(url, REG, read_format="msgpack", read_gzip=gzip, chunk_size=50) as store:
            answers = content_types(store)
            assert_same(store.read(*ALL), reference.read(*ALL))
            assert store.read_kpis(*ALL) == reference.read_kpis(*ALL)
            assert store.wire_format() == "msgpack"  # asked for, not answered
            assert set(answers[1:]) == {("application/json", "gzip" if gzip else "")}
    finally:
        proxy.shutdown()
        proxy.server_close()
        proxy.upstream.close()
        thread.join(5)


def test_msgpack_chunks_split_anywhere(influxd: Influxd, open_store: OpenStore) -> None:
    """A real chunked msgpack answer, cut into pieces of every size, decodes to the same
    chunks; a lookalike of a chunk's start inside a chunk is not taken for one."""
    open_store().write(columns([("a-elec", T0 + i, i * 0.5) for i in range(40)], REG))
    db = open_store().url.database
    influxd.write(db, "\n".join(f"energy,meter={LOOKALIKE} value={i} {T0 + i}" for i in range(9)))
    params = {
        "db": db,
        "q": 'SELECT "value" FROM "energy" GROUP BY "meter"',
        "epoch": "ms",
        "chunked": "true",
        "chunk_size": "4",
    }
    answer = influxd.http.get("/query", params=params, headers={"Accept": "application/x-msgpack"})
    assert answer.headers["Content-Type"] == "application/x-msgpack"
    body = answer.content
    decode = msgspec.msgpack.Decoder().decode
    whole = list(_msgpack_chunks([body], decode))
    assert len(whole) == 10 + 3  # ceil(40 / 4) + ceil(9 / 4)
    assert body.count(b"\x81\xa7results") > len(whole)  # the lookalikes are in there
    assert [len(s["values"]) for c in whole for r in c["results"] for s in r["series"]] == [
        4
    ] * 10 + [4, 4, 1]
    rng = random.Random(7)
    for size in (1, 2, 3, 8, 9, 10, 100, len(body)):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        assert list(_msgpack_chunks(pieces, decode)) == whole, size
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(body)), 12))
        pieces = [body[i:j] for i, j in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert list(_msgpack_chunks(pieces, decode)) == whole
    with pytest.raises(msgspec.DecodeError):
        list(_msgpack_chunks([body[:-1]], decode))
