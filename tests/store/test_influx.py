"""InfluxStore against a real influxd: schema, errors, chunked reads, setup."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.core import registry
from smartpark.core.errors import ConfigError, StoreError, StoreRejectedError
from smartpark.core.urls import parse_store_url
from smartpark.store import KpiRow
from smartpark.store.influx import InfluxStore
from smartpark.testing.servers import Influxd
from tests.store.stores import REGISTRY, T0, columns, expected, registry_doc, triples

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

ALL = (T0 - 10**9, T0 + 10**9)


@pytest.fixture
def store(influxd: Influxd, influx_db: str) -> Iterator[InfluxStore]:
    with InfluxStore(parse_store_url(influxd.store_url(influx_db)), REGISTRY) as s:
        yield s


def test_points_follow_the_design_schema(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    store.write(
        columns([("a-elec", T0, 12.5), ("b-nox", T0 + 1, 150.0), ("a-water", T0 + 2, 3.25)])
    )
    measurements = influxd.query(influx_db, "SHOW MEASUREMENTS")
    # rollup_dirty: the 15-minute windows the write touched (docs/store.md, "Rollups")
    assert [r["name"] for r in measurements] == ["emissions", "energy", "rollup_dirty", "water"]
    assert influxd.query(influx_db, "SELECT * FROM energy") == [
        {
            "time": T0,
            "enterprise": "ent-a",
            "meter": "a-elec",
            "park": "park-1",
            "quantity": "electricity_import",
            "value": 12.5,
        }
    ]
    assert influxd.query(influx_db, "SELECT * FROM emissions") == [
        {
            "time": T0 + 1,
            "enterprise": "ent-b",
            "meter": "b-nox",
            "park": "park-2",
            "quantity": "nox",
            "value": 150,
        }
    ]
    # Exactly these tags (no gateway) and one float field.
    tag_keys = influxd.query(influx_db, "SHOW TAG KEYS FROM water")
    assert [r["tagKey"] for r in tag_keys] == ["enterprise", "meter", "park", "quantity"]
    fields = influxd.query(influx_db, "SHOW FIELD KEYS FROM water")
    assert [(r["fieldKey"], r["fieldType"]) for r in fields] == [("value", "float")]
    # Millisecond precision: the point sits at exactly T0 + 2 ms.
    ns = influxd.query(influx_db, "SELECT value FROM water", epoch="ns")
    assert [r["time"] for r in ns] == [(T0 + 2) * 1_000_000]


def test_kpis_are_points_of_measurement_kpi(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    store.write_kpis([KpiRow("park", "park-1", "day", "energy_tce", T0, 2.5)])
    store.write_kpis([KpiRow("park", "park-1", "day", "energy_tce", T0, 3.5)])  # recompute
    assert influxd.query(influx_db, "SELECT * FROM kpi") == [
        {
            "time": T0,
            "id": "park-1",
            "kpi": "energy_tce",
            "period": "day",
            "scope": "park",
            "value": 3.5,
        }
    ]


def test_kpis_carry_factors_version_as_a_string_field(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    """A field, not a tag: a restatement replaces the point instead of adding a series."""
    store.write_kpis([KpiRow("park", "park-1", "month", "co2_total_t", T0, 5.366, "old")])
    store.write_kpis([KpiRow("park", "park-1", "month", "co2_total_t", T0, 5.306, "new")])
    assert influxd.query(influx_db, "SELECT * FROM kpi") == [
        {
            "time": T0,
            "factors_version": "new",
            "id": "park-1",
            "kpi": "co2_total_t",
            "period": "month",
            "scope": "park",
            "value": 5.306,
        }
    ]


def test_kpis_written_before_versions_read_back_unversioned(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    influxd.write(influx_db, f"kpi,id=park-1,kpi=energy_tce,period=day,scope=park value=2.5 {T0}")
    assert store.read_kpis(*ALL) == [KpiRow("park", "park-1", "day", "energy_tce", T0, 2.5, "")]


def test_unparsable_body_is_rejected_with_the_servers_message(store: InfluxStore) -> None:
    with pytest.raises(StoreRejectedError, match="HTTP 400: unable to parse"):
        store.write_lines(b"this is not line protocol\n")


def test_field_type_conflict_is_rejected(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    # someone wrote an integer into the same shard
    influxd.write(influx_db, f"energy,meter=other value=1i {T0 + 5}")
    with pytest.raises(StoreRejectedError, match=r"HTTP 400: .*field type conflict"):
        store.write(columns([("a-elec", T0, 1.5)]))


def test_missing_database_is_retryable_not_rejected(influxd: Influxd) -> None:
    url = parse_store_url(influxd.store_url(f"missing_{uuid.uuid4().hex[:8]}"))
    with InfluxStore(url, REGISTRY) as store:
        with pytest.raises(StoreError, match="HTTP 404: database not found") as info:
            store.write(columns([("a-elec", T0, 1.0)]))
        assert not isinstance(info.value, StoreRejectedError)
        with pytest.raises(StoreError, match="database not found") as info:
            store.read(*ALL)
        assert not isinstance(info.value, StoreRejectedError)


def test_ensure_database_creates_it_on_1x(influxd: Influxd) -> None:
    name = f"ensure_{uuid.uuid4().hex[:8]}"
    with InfluxStore(parse_store_url(influxd.store_url(name)), REGISTRY) as store:
        version = store.ensure_database()
        assert version.startswith("1.")
        assert name in influxd.databases()
        assert store.ensure_database() == version  # idempotent
        store.write(columns([("a-gas", T0, 7.0)]))
        assert triples(store.read(*ALL)) == [("a-gas", T0, 7.0)]
    influxd.drop_database(name)


def test_chunked_response_spanning_many_chunks(influxd: Influxd, influx_db: str) -> None:
    url = parse_store_url(influxd.store_url(influx_db))
    points = [(m, T0 + i * 1000, i / 3) for m in ("a-elec", "a-gas", "b-output") for i in range(50)]
    with InfluxStore(url, REGISTRY, chunk_size=7) as store:
        store.write(columns(points))
        assert triples(store.read(*ALL)) == expected(points)


def test_points_of_meters_unknown_to_the_registry_are_dropped_and_counted(
    influxd: Influxd, influx_db: str
) -> None:
    url = parse_store_url(influxd.store_url(influx_db))
    with InfluxStore(url, REGISTRY) as writer:
        writer.write(columns([("a-elec", T0, 1.0), ("a-gas", T0, 2.0), ("a-gas", T0 + 1, 3.0)]))
    doc = registry_doc()
    del doc["meter"]["a-gas"]
    smaller = registry.from_dict(doc)
    with InfluxStore(url, smaller) as reader:
        assert triples(reader.read(*ALL), smaller) == [("a-elec", T0, 1.0)]
        assert reader.dropped_unknown == 2


def test_gzip_body_is_accepted(influxd: Influxd, influx_db: str) -> None:
    url = parse_store_url(influxd.store_url(influx_db))
    points = [("b-waste", T0 + i, i * 0.5) for i in range(1000)]
    with InfluxStore(url, REGISTRY, gzip_min_bytes=0) as store:
        store.write(columns(points))
        assert triples(store.read(*ALL)) == expected(points)


def test_stopped_influxd_raises_store_error_then_recovers(tmp_path: Path) -> None:
    with Influxd(tmp_path / "own") as server:
        server.create_database("db")
        with InfluxStore(parse_store_url(server.store_url("db")), REGISTRY) as store:
            store.write(columns([("a-elec", T0, 1.0)]))
            server.stop()
            with pytest.raises(StoreError, match="write failed: ConnectError") as info:
                store.write(columns([("a-elec", T0 + 1, 2.0)]))
            assert not isinstance(info.value, StoreRejectedError)
            with pytest.raises(StoreError, match="failed: ConnectError"):
                store.read(*ALL)
            server.start()
            store.write(columns([("a-elec", T0 + 1, 2.0)]))
            assert triples(store.read(*ALL)) == [("a-elec", T0, 1.0), ("a-elec", T0 + 1, 2.0)]


def test_a_server_that_never_answers_times_out_as_store_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    accepted.append(listener.accept()[0])  # ...and never answer
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            url = parse_store_url(f"influxdb://127.0.0.1:{port}/db")
            with InfluxStore(url, REGISTRY, timeout_s=0.3) as store:
                with pytest.raises(StoreError, match="write failed: ReadTimeout") as info:
                    store.write(columns([("a-elec", T0, 1.0)]))
                assert not isinstance(info.value, StoreRejectedError)
        finally:
            stop.set()
            thread.join(5)
            for conn in accepted:
                conn.close()


def test_influxdb2_store_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTPARK_INFLUX_TOKEN", raising=False)
    monkeypatch.delenv("SMARTPARK_INFLUX_TOKEN_FILE", raising=False)
    url = parse_store_url("influxdb2://127.0.0.1:8086/bucket?org=park")
    with pytest.raises(ConfigError, match="SMARTPARK_INFLUX_TOKEN"):
        InfluxStore(url, REGISTRY)


def test_influxdb2_store_uses_the_v2_write_endpoint(
    influxd: Influxd, monkeypatch: pytest.MonkeyPatch
) -> None:
    # influxd 1.6 has no /api/v2/write: the 404 proves which endpoint was called, and a
    # missing endpoint is a configuration problem (retryable), not bad data.
    monkeypatch.setenv("SMARTPARK_INFLUX_TOKEN", "secret-token")
    url = parse_store_url(f"influxdb2://127.0.0.1:{influxd.port}/bucket?org=park")
    with InfluxStore(url, REGISTRY) as store:
        with pytest.raises(StoreError, match="HTTP 404") as info:
            store.write(columns([("a-elec", T0, 1.0)]))
        assert not isinstance(info.value, StoreRejectedError)
        assert "secret-token" not in str(info.value)


class _AuthInfluxd(Influxd):
    """The harness's influxd with HTTP authentication switched on."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text(encoding="utf-8")
        assert "auth-enabled = false" in text
        self.config_path.write_text(text.replace("auth-enabled = false", "auth-enabled = true"))


def test_v1_basic_auth_from_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _AuthInfluxd(tmp_path / "auth") as server:
        # With no user yet, influxd allows creating the first admin.
        server.query_raw("CREATE USER admin WITH PASSWORD 'pw-Secret-1' WITH ALL PRIVILEGES")
        url = parse_store_url(server.store_url("park"))
        monkeypatch.delenv("SMARTPARK_INFLUX_USER", raising=False)
        monkeypatch.delenv("SMARTPARK_INFLUX_PASSWORD", raising=False)
        with InfluxStore(url, REGISTRY) as anonymous:
            with pytest.raises(StoreError, match="HTTP 401") as info:
                anonymous.write(columns([("a-elec", T0, 1.0)]))
            assert not isinstance(info.value, StoreRejectedError)  # fix config, then retry
        monkeypatch.setenv("SMARTPARK_INFLUX_USER", "admin")
        password_file = tmp_path / "influx_password"
        password_file.write_text("pw-Secret-1\n")
        monkeypatch.setenv("SMARTPARK_INFLUX_PASSWORD_FILE", str(password_file))
        with InfluxStore(url, REGISTRY) as store:
            store.ensure_database()
            store.write(columns([("a-elec", T0, 1.0)]))
            assert triples(store.read(*ALL)) == [("a-elec", T0, 1.0)]
        monkeypatch.setenv("SMARTPARK_INFLUX_PASSWORD", "wrong-password")
        with InfluxStore(url, REGISTRY) as wrong:
            with pytest.raises(StoreError, match="HTTP 401") as info:
                wrong.write(columns([("a-elec", T0, 1.0)]))
            assert "wrong-password" not in str(info.value)


def test_large_writes_are_split_into_several_requests(influxd: Influxd, influx_db: str) -> None:
    url = parse_store_url(influxd.store_url(influx_db))
    points = [("a-water", T0 + i, float(i)) for i in range(10)]
    with InfluxStore(url, REGISTRY, max_points_per_request=3) as store:
        posts: list[str] = []
        store._http.event_hooks["request"].append(
            lambda request: posts.append(request.url.path) if request.method == "POST" else None
        )
        store.write(columns(points))
        assert posts == ["/write"] * 4  # 3 + 3 + 3 + 1 points
        assert triples(store.read(*ALL)) == expected(points)


def test_dirty_marks_written_without_done_are_found_until_cleared(
    store: InfluxStore, influxd: Influxd, influx_db: str
) -> None:
    """Marks as the first rollup version wrote them (``marked`` only): dirty, listed
    with or without bounds, and gone once a re-roll clears them; marks of this version
    carry ``done=0`` so influxd filters them itself."""
    influxd.write(influx_db, "rollup_dirty marked=5i 900000\nrollup_dirty marked=7i 1800000\n")
    influxd.write(influx_db, "rollup_dirty done=7i 1800000\n")  # cleared by a re-roll
    written_ms = 400 * 86_400_000  # a window this version marks
    store.write(columns([("a-elec", written_ms, 1.0)]))
    assert influxd.query(
        influx_db, f"SELECT done FROM rollup_dirty WHERE time = {written_ms}ms"
    ) == [{"time": written_ms, "done": 0}]
    window, marked = store.rollups.dirty()
    assert window.tolist() == [900000, written_ms]
    assert store.rollups.dirty(None, 1800000)[0].tolist() == [900000]
    store.rollups.clear_dirty(window, marked)
    assert store.rollups.dirty()[0].size == 0
    counts = influxd.query(influx_db, "SELECT count(marked), count(done) FROM rollup_dirty")
    assert (counts[0]["count"], counts[0]["count_1"]) == (3, 3)  # no mark without done left
