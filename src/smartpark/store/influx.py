"""InfluxDB over HTTP (docs/store.md): line protocol writes, InfluxQL reads, sync httpx.

Endpoints, by store URL:

- ``influxdb://host:port/DB`` (InfluxDB 1.x; 2.x via DBRP mapping; 3.x): writes to
  ``/write?db=DB&precision=ms``; optional basic auth from ``SMARTPARK_INFLUX_USER`` /
  ``SMARTPARK_INFLUX_PASSWORD`` (or ``..._FILE``).
- ``influxdb2://host:port/BUCKET?org=ORG`` (2.x, 3.x): writes to
  ``/api/v2/write?org=ORG&bucket=BUCKET&precision=ms`` with ``Authorization: Token``
  from ``SMARTPARK_INFLUX_TOKEN``; reads through the v1 compatibility ``/query`` with
  ``db=BUCKET`` and the same token (needs a DBRP mapping, a deploy step).

Reads are one InfluxQL query per measurement and range (``SELECT value FROM energy
WHERE time >= …ms AND time < …ms GROUP BY meter``), streamed with ``chunked=true`` and
decoded chunk by chunk straight into numpy arrays; meter tags map to registry codes and
points of meters the registry does not know are dropped and counted
(:attr:`InfluxStore.dropped_unknown`). Answers are asked for uncompressed
(``Accept-Encoding: identity``): httpx otherwise asks for gzip, which costs 15-30% of a
read on loopback (influxd compressing, the client decompressing); ``read_gzip=True`` is
for slow links.

Read format (``read_format``, docs/store.md "Raw read format"): MessagePack
(``Accept: application/x-msgpack``) by default, JSON on request. influxd spends most of
a read encoding points, and msgpack is its cheapest encoding. It is asked of InfluxDB
1.x from 1.5 and of 2.x only (their version is pinged once, on the first read): 1.4's
msgpack writer panics on error answers, older versions know only JSON, and InfluxDB 3
lays its msgpack out differently (positional arrays, not maps). A server that answers
JSON anyway (``Content-Type``) is decoded as JSON.

Errors (ingest retries the first kind and bisects/dead-letters the second):

- :class:`StoreError` (retry later): connection refused, timeouts and other transport
  errors, HTTP 5xx and 429, and also 401/403 (credentials) and 404 (database or bucket
  missing). Those last three are configuration problems, not bad data: dead-lettering
  every reading until an operator fixes a password would lose the stream, while
  retrying keeps it safe in the broker.
- :class:`StoreRejectedError` (the data itself): every other 4xx, notably 400 (unable
  to parse, field type conflict, "partial write": the good points of the batch were
  stored, rewriting them is harmless) and 413 (body too large: bisecting helps).

Overwrites: InfluxDB 1.x/2.x keep the last write of a point, so replays and KPI
recomputation overwrite. On InfluxDB 3 Core an overwrite of a point with a *different*
value is not deterministic: identical replays stay safe, but recomputed KPIs must not
rely on overwriting there (read the latest of the series, or version the ``kpi`` tag).

Gzip: ``gzip_min_bytes`` compresses write bodies of at least that size
(``Content-Encoding: gzip``; bodies shrink about 9x), off by default. Measured with
``bench/bench_store.py`` against a local influxd it gained nothing: the link is not the
bottleneck, and level 1 costs about 12-19 ms of client CPU per 10,000 points, which on
a 2-core machine is taken from influxd and ingest. Turn it on for slow links only.

Reading spans (:meth:`InfluxStore.reading_span`): one request of two statements,
``SELECT first(value)`` and ``SELECT last(value)`` over all time, ``FROM`` the
measurements of the meters asked for, ``GROUP BY meter`` (filtered to those meters
in the query up to 200 of them): a selector alone in its statement answers with the
time of the point it selected. Its cost follows the series, not the readings: 150-270
ms for 1,000 meters on influxd 1.6 (2-core machine), whether each held 1,000 or 4,000
readings. A retention policy or ``DELETE`` that drops readings shows at once.

Change token: none (:meth:`InfluxStore.version` is ``None``), so caches of answers
expire them after a short time instead. InfluxDB has no exact and cheap one: the write
counters of 1.x (``pointsWrittenOK`` in ``/debug/vars``, ``SHOW STATS``) cover the whole
server, live in memory and restart from 0 with influxd (so a count seen before a
restart can come back with other data), miss InfluxQL ``DELETE`` (which rollup rebuilds
use), and need admin rights where authentication is on; 2.x and 3.x have other
counters again. Asking for the newest point of each measurement would cost a query per
measurement and still miss overwrites of older points and deletes.

HTTP proxy variables are ignored (``trust_env=False``): the database is reached
directly.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Final, Literal, NamedTuple, TypeVar, get_args

import httpx
import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.errors import ConfigError, StoreError, StoreRejectedError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.core.settings import read_secret
from smartpark.core.urls import StoreUrl
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope
from smartpark.store.checks import check_kpi_rows, check_readings
from smartpark.store.influx_days import InfluxDays
from smartpark.store.influx_outputs import InfluxOutputs
from smartpark.store.influx_rollups import MAX_MS, MIN_MS, InfluxRollups, dirty_lines, time_range
from smartpark.store.lineprotocol import (
    FIELD,
    KPI_MEASUREMENT,
    VERSION_FIELD,
    LineBuilder,
    kpi_lines,
)
from smartpark.store.outputs import PRODUCT_OUTPUT, VALUE_ADDED
from smartpark.store.rollups import NO_TS

_log = get_logger(__name__)

ReadFormat = Literal["msgpack", "json"]
"""How ``/query`` answers are encoded (``Accept``): MessagePack or JSON."""
READ_FORMATS: Final[tuple[ReadFormat, ...]] = get_args(ReadFormat)
_ACCEPT: Final[dict[ReadFormat, str]] = {
    "msgpack": "application/x-msgpack",
    "json": "application/json",
}

CHUNK_SIZE: Final = 10_000  # points per chunk of a chunked /query response
# Larger writes are split (about 6 MB of body each; influxd 1.x refuses > 25 MB).
MAX_POINTS_PER_REQUEST: Final = 50_000
_MAX_ERROR_CHARS: Final = 500
_IN_QUERY_METERS: Final = 200  # up to this many meters, filter in the query itself


class _Series(msgspec.Struct):
    name: str = ""
    tags: dict[str, str] | None = None
    columns: list[str] = []
    values: list[tuple[int, float]] = []


class _Result(msgspec.Struct):
    series: list[_Series] = []
    error: str | None = None


class _Response(msgspec.Struct):
    results: list[_Result] = []
    error: str | None = None


class _Decoders(NamedTuple):
    """One response type's decoders, by the ``Content-Type`` of the answer."""

    json: Callable[[str], Any]
    msgpack: Callable[[bytes | bytearray], Any]


class RowSeries(msgspec.Struct):
    """A series of any columns, for the rollup and day spans (influx_rollups.py, influx_days.py)."""

    name: str = ""
    tags: dict[str, str] | None = None
    columns: list[str] = []
    values: list[list[Any]] = []


class _RowResult(msgspec.Struct):
    series: list[RowSeries] = []
    error: str | None = None


class _RowResponse(msgspec.Struct):
    results: list[_RowResult] = []
    error: str | None = None


_ROWS: Final = _Decoders(
    msgspec.json.Decoder(_RowResponse).decode, msgspec.msgpack.Decoder(_RowResponse).decode
)
_READINGS: Final = _Decoders(
    msgspec.json.Decoder(_Response).decode, msgspec.msgpack.Decoder(_Response).decode
)


class _KpiSeries(msgspec.Struct):
    """A ``kpi`` series: rows of time, value and factors_version (null before versions)."""

    tags: dict[str, str] | None = None
    columns: list[str] = []
    values: list[tuple[int, float, str | None]] = []


class _KpiResult(msgspec.Struct):
    series: list[_KpiSeries] = []
    error: str | None = None


class _KpiResponse(msgspec.Struct):
    results: list[_KpiResult] = []
    error: str | None = None


_KPIS: Final = _Decoders(
    msgspec.json.Decoder(_KpiResponse).decode, msgspec.msgpack.Decoder(_KpiResponse).decode
)


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(text: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxStore:
    """The :class:`~smartpark.store.Store` on InfluxDB (v1 or v2 write API)."""

    def __init__(
        self,
        url: StoreUrl,
        registry: Registry,
        *,
        timeout_s: float = 30.0,
        gzip_min_bytes: int | None = None,
        chunk_size: int = CHUNK_SIZE,
        read_concurrency: int = 2,
        max_points_per_request: int = MAX_POINTS_PER_REQUEST,
        read_format: ReadFormat = "msgpack",
        read_gzip: bool = False,
    ) -> None:
        if url.kind not in ("influxdb", "influxdb2"):
            raise ValueError(f"not an InfluxDB store URL: {url}")
        if read_format not in READ_FORMATS:
            raise ValueError(f"read_format must be one of {READ_FORMATS}, not {read_format!r}")
        self.url = url
        self.registry = registry
        self.gzip_min_bytes = gzip_min_bytes
        self.chunk_size = chunk_size
        self.read_concurrency = read_concurrency
        self.max_points_per_request = max(1, max_points_per_request)
        self.read_format: ReadFormat = read_format
        self.read_gzip = read_gzip  # let influxd gzip query answers (slow links only)
        self._server_msgpack: bool | None = None  # the server's msgpack is ours: pinged once
        self.dropped_unknown = 0  # points of meters not in the registry, over all reads
        self._lines = LineBuilder(registry)
        self.rollups = InfluxRollups(self)
        self.days = InfluxDays(self)
        self.outputs = InfluxOutputs(self, PRODUCT_OUTPUT)
        self.value_added = InfluxOutputs(self, VALUE_ADDED)
        headers: dict[str, str] = {}
        auth: httpx.BasicAuth | None = None
        if url.kind == "influxdb2":
            token = read_secret("influx_token")
            if not token:
                raise ConfigError(
                    str(url),
                    [
                        "an influxdb2 store needs a token: set SMARTPARK_INFLUX_TOKEN or "
                        "SMARTPARK_INFLUX_TOKEN_FILE"
                    ],
                )
            headers["Authorization"] = f"Token {token}"
            self._write_path = "/api/v2/write"
            self._write_params = {"org": url.org or "", "bucket": url.database, "precision": "ms"}
        else:
            user = read_secret("influx_user")
            if user:
                auth = httpx.BasicAuth(user, read_secret("influx_password") or "")
            self._write_path = "/write"
            self._write_params = {"db": url.database, "precision": "ms"}
        self._http = httpx.Client(
            base_url=url.http_base,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"InfluxStore({str(self.url)!r})"

    # -- HTTP plumbing

    def query_rows(self, query: str, what: str) -> Iterator[RowSeries]:
        """Every series piece of a chunked query, rows as lists (any columns, nulls None)."""
        yield from self._query(query, what, _ROWS, self.wire_format())

    def execute(self, statement: str, what: str) -> None:
        """Run an InfluxQL statement that changes data (``DELETE``), via POST."""
        response = self._request(
            what, "POST", "/query", data={"db": self.url.database, "q": statement}
        )
        for result in response.json().get("results", []):
            if result.get("error"):
                raise _query_error(f"{self.url}: {what}", str(result["error"]))

    def _request(self, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(f"{self.url}: {what} failed: {type(exc).__name__}: {exc}") from exc
        _raise_for_status(response, f"{self.url}: {what}")
        return response

    @contextmanager
    def _stream(
        self, what: str, params: dict[str, str], headers: dict[str, str]
    ) -> Iterator[httpx.Response]:
        try:
            with self._http.stream("GET", "/query", params=params, headers=headers) as response:
                if response.status_code >= 300:
                    response.read()
                _raise_for_status(response, f"{self.url}: {what}")
                yield response
        except httpx.HTTPError as exc:
            raise StoreError(f"{self.url}: {what} failed: {type(exc).__name__}: {exc}") from exc

    def _post_lines(self, what: str, body: bytes) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_min_bytes is not None and len(body) >= self.gzip_min_bytes:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self._request(
            what, "POST", self._write_path, params=self._write_params, content=body, headers=headers
        )

    # -- setup

    def server_version(self) -> str:
        """The server's ``X-Influxdb-Version`` from ``/ping`` ('' when it sends none)."""
        response = self._request("ping", "GET", "/ping")
        return str(response.headers.get("X-Influxdb-Version", ""))

    def wire_format(self) -> ReadFormat:
        """The format reads ask for: :attr:`read_format`, unless the server's msgpack is
        not the InfluxDB 1.5+/2.x layout (asks the version once, on the first read)."""
        if self.read_format != "msgpack":
            return self.read_format
        if self._server_msgpack is None:
            version = self.server_version()
            self._server_msgpack = msgpack_layout_of(version)
            if not self._server_msgpack:
                _log.info("influx_read_format_json", version=version, asked=self.read_format)
        return "msgpack" if self._server_msgpack else "json"

    def ensure_database(self) -> str:
        """Create the database on InfluxDB 1.x (no-op elsewhere); return the server version.

        InfluxDB 2.x accepts no ``CREATE`` over InfluxQL (its bucket and DBRP mapping are
        a deploy step), and 3.x creates databases on first write.
        """
        version = self.server_version()
        self._server_msgpack = msgpack_layout_of(version)
        if self.url.kind == "influxdb" and version.lstrip("v").startswith("1."):
            self._request(
                "create database",
                "POST",
                "/query",
                data={"q": f"CREATE DATABASE {quote_ident(self.url.database)}"},
            )
            _log.info("influx_database_ensured", database=self.url.database, version=version)
        return version

    def version(self) -> None:
        """No change token on InfluxDB (the module docstring says why)."""
        return None

    # -- readings

    def write(self, readings: ReadingColumns) -> None:
        """Write ``readings``; returns once InfluxDB acknowledged them (HTTP 204)."""
        if len(readings) == 0:
            return
        check_readings(readings, len(self.registry.meter_ids))
        step = self.max_points_per_request
        for i in range(0, len(readings), step):
            part = readings if len(readings) <= step else _slice(readings, i, i + step)
            # The windows written are marked dirty in the same request (store/rollups.py).
            self.write_lines(self._lines.build(part) + dirty_lines(part.ts))

    def write_lines(self, body: bytes) -> None:
        """POST pre-built line protocol (ms timestamps) to the write endpoint."""
        if body:
            self._post_lines("write", body)

    def read(
        self,
        start_ms: int,
        end_ms: int,
        meters: npt.NDArray[np.int32] | None = None,
    ) -> ReadingColumns:
        """Readings with ``start_ms <= ts < end_ms``, sorted by (meter code, ts).

        One query per measurement (quantity kind) involved, not per meter.
        """
        registry = self.registry
        n_meters = len(registry.meter_ids)
        if meters is not None:
            codes = np.unique(np.asarray(meters, dtype=np.int64))
            if len(codes) and (codes.min() < 0 or codes.max() >= n_meters):
                raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
            wanted = np.zeros(n_meters, dtype=bool)
            wanted[codes] = True
        else:
            codes = np.arange(n_meters, dtype=np.int64)
            wanted = np.ones(n_meters, dtype=bool)
        if len(codes) == 0 or end_ms <= start_ms:
            return ReadingColumns.empty()
        accept = self.wire_format()  # before the worker threads: it may ping the server
        kinds = sorted({registry.kind_of_meter(registry.meter_ids[c]) for c in codes.tolist()})
        meter_filter = ""
        if meters is not None and len(codes) <= _IN_QUERY_METERS:
            ids = [registry.meter_ids[c] for c in codes.tolist()]
            meter_filter = " AND (" + " OR ".join(f'"meter" = {quote_string(m)}' for m in ids)
            meter_filter += ")"
        queries = [
            (
                f"SELECT {quote_ident(FIELD)} FROM {quote_ident(kind)} "  # noqa: S608 (quoted)
                f"WHERE {time_range(start_ms, end_ms)}{meter_filter} "
                f'GROUP BY "meter"',
                f"read {kind}",
            )
            for kind in kinds
        ]
        # influxd spends its time emitting points, so measurements are queried in
        # parallel (read_concurrency at a time); each stays chunked and bounded.
        workers = max(1, min(self.read_concurrency, len(queries)))
        with ThreadPoolExecutor(workers, thread_name_prefix="influx-read") as pool:
            pieces = list(
                pool.map(lambda q: self._read_measurement(q[0], q[1], wanted, accept), queries)
            )
        parts_meter = [m for piece in pieces for m in piece[0]]
        parts_ts = [t for piece in pieces for t in piece[1]]
        parts_value = [v for piece in pieces for v in piece[2]]
        dropped = sum(piece[3] for piece in pieces)
        del pieces
        if dropped:
            self.dropped_unknown += dropped
            _log.warning("influx_read_unknown_meters", points=dropped, start_ms=start_ms)
        if not parts_ts:
            return ReadingColumns.empty()
        meter = np.concatenate(parts_meter)
        ts = np.concatenate(parts_ts)
        value = np.concatenate(parts_value)
        del parts_meter, parts_ts, parts_value
        # Each series arrives time-sorted; series of one measurement in meter order.
        order = np.argsort(meter, kind="stable")
        return ReadingColumns(meter[order], ts[order], value[order])

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(first ts, last ts) of each meter's readings, ``NO_TS`` for none: one query
        of ``first()`` and ``last()`` per meter series (the module docstring)."""
        registry = self.registry
        n_meters = len(registry.meter_ids)
        codes = np.asarray(meters, dtype=np.int64)
        if len(codes) and (codes.min() < 0 or codes.max() >= n_meters):
            raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
        span = {"first": np.full(n_meters, NO_TS, np.int64), "last": np.full(n_meters, NO_TS)}
        wanted = np.unique(codes).tolist()
        if not wanted:
            return span["first"][codes], span["last"][codes]
        ids = [registry.meter_ids[c] for c in wanted]
        kind_of = {m: registry.kind_of_meter(m) for m in ids}
        where = time_range(MIN_MS, MAX_MS)
        if len(wanted) <= _IN_QUERY_METERS:
            where += " AND (" + " OR ".join(f'"meter" = {quote_string(m)}' for m in kind_of) + ")"
        sources = ", ".join(quote_ident(kind) for kind in sorted(set(kind_of.values())))
        query = "; ".join(
            f"SELECT {selector}({quote_ident(FIELD)}) FROM {sources} "  # noqa: S608 (quoted)
            f'WHERE {where} GROUP BY "meter"'
            for selector in span
        )
        for series in self.query_rows(query, "reading_span"):
            meter = (series.tags or {}).get("meter", "")
            # A meter's readings are those of its kind's measurement, as read() sees them.
            if kind_of.get(meter) != series.name or not series.values:
                continue
            columns = series.columns
            if len(columns) != 2 or columns[0] != "time" or columns[1] not in span:
                raise StoreError(f"{self.url}: reading_span: columns {series.columns}")
            span[columns[1]][registry.meter_code[meter]] = int(series.values[0][0])
        return span["first"][codes], span["last"][codes]

    def _read_measurement(
        self, query: str, what: str, wanted: npt.NDArray[np.bool_], accept: ReadFormat
    ) -> tuple[
        list[npt.NDArray[np.int32]], list[npt.NDArray[np.int64]], list[npt.NDArray[np.float64]], int
    ]:
        """Columns per series of one ``GROUP BY meter`` query, and the unknown points."""
        meter_code = self.registry.meter_code
        parts_meter: list[npt.NDArray[np.int32]] = []
        parts_ts: list[npt.NDArray[np.int64]] = []
        parts_value: list[npt.NDArray[np.float64]] = []
        dropped = 0
        for tags, ts, value in self._query_series(query, what, accept):
            code = meter_code.get(tags.get("meter", ""), -1)
            if code < 0:
                dropped += len(ts)
            elif wanted[code]:
                parts_meter.append(np.full(len(ts), code, dtype=np.int32))
                parts_ts.append(ts)
                parts_value.append(value)
        return parts_meter, parts_ts, parts_value, dropped

    def _query_series(
        self, query: str, what: str, accept: ReadFormat
    ) -> Iterator[tuple[dict[str, str], npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """(tags, ts, value) per series piece of a chunked ``/query`` response."""
        for series in self._query(query, what, _READINGS, accept):
            if series.columns[:2] != ["time", FIELD]:
                raise StoreError(f"{self.url}: {what}: columns {series.columns}")
            if not series.values:
                continue
            table = np.array(series.values, dtype=_POINT)
            yield series.tags or {}, table["ts"], table["value"]

    def query_typed(
        self,
        query: str,
        what: str,
        json: Callable[[str], Any],
        msgpack: Callable[[bytes | bytearray], Any],
    ) -> Iterator[Any]:
        """Every series piece of ``query``, decoded by the caller's own msgspec decoders
        of its response type (one per wire format): a reader of a known column layout
        (the rollups) gets typed rows, never generic objects."""
        yield from self._query(query, what, _Decoders(json, msgpack), self.wire_format())

    def _query(
        self, query: str, what: str, decoders: _Decoders, accept: ReadFormat
    ) -> Iterator[Any]:
        """Every series piece of a chunked ``/query`` response, asked for in ``accept``
        and decoded as the server's ``Content-Type`` says."""
        params = {
            "db": self.url.database,
            "q": query,
            "epoch": "ms",
            "chunked": "true",
            "chunk_size": str(self.chunk_size),
        }
        headers = {
            "Accept": _ACCEPT[accept],
            "Accept-Encoding": "gzip" if self.read_gzip else "identity",
        }
        with self._stream(what, params, headers) as response:
            chunks: Iterator[Any]
            if _is_msgpack(response):
                chunks = _msgpack_chunks(response.iter_bytes(), decoders.msgpack)
            else:
                chunks = (decoders.json(line) for line in response.iter_lines() if line.strip())
            while True:
                try:
                    chunk = next(chunks, None)
                except msgspec.DecodeError as exc:
                    raise StoreError(f"{self.url}: {what}: bad response chunk: {exc}") from exc
                if chunk is None:
                    break
                if chunk.error:
                    raise StoreError(f"{self.url}: {what}: {chunk.error}")
                for result in chunk.results:
                    if result.error:
                        raise _query_error(f"{self.url}: {what}", result.error)
                    yield from result.series

    # -- KPIs

    def write_kpis(self, rows: list[KpiRow]) -> None:
        """Write KPI rows to measurement ``kpi`` (ts = period start)."""
        if not rows:
            return
        check_kpi_rows(rows)
        self._post_lines("write_kpis", kpi_lines(rows))

    def read_kpis(
        self,
        start_ms: int,
        end_ms: int,
        scope: Scope | None = None,
        period: Period | None = None,
        *,
        ids: Collection[str] | None = None,
        kpis: Collection[str] | None = None,
    ) -> list[KpiRow]:
        """KPI rows with ``start_ms <= start < end_ms``, sorted by series then start; of
        ``scope``, ``period``, ``ids`` and ``kpis`` only, where given (in the query)."""
        if (ids is not None and not ids) or (kpis is not None and not kpis):
            return []
        where = time_range(start_ms, end_ms)
        if scope is not None:
            where += f' AND "scope" = {quote_string(scope)}'
        if period is not None:
            where += f' AND "period" = {quote_string(period)}'
        for tag, values in (("id", ids), ("kpi", kpis)):
            if values is not None:
                alternatives = (f'"{tag}" = {quote_string(v)}' for v in sorted(set(values)))
                where += f" AND ({' OR '.join(alternatives)})"
        query = (
            f"SELECT {quote_ident(FIELD)}, {quote_ident(VERSION_FIELD)} "  # noqa: S608
            f"FROM {quote_ident(KPI_MEASUREMENT)} WHERE {where} "
            'GROUP BY "scope", "id", "period", "kpi"'
        )
        rows: list[KpiRow] = []
        for series in self._query(query, "read_kpis", _KPIS, self.wire_format()):
            tags = series.tags or {}
            if series.columns[:3] != ["time", FIELD, VERSION_FIELD]:
                raise StoreError(f"{self.url}: read_kpis: columns {series.columns}")
            try:
                key = (tags["scope"], tags["id"], tags["period"], tags["kpi"])
            except KeyError:
                continue  # a point written without our tags: not a smartpark KPI
            rows += [KpiRow(*key, t, v, ver or "") for t, v, ver in series.values]
        rows.sort(key=lambda r: (r.scope, r.id, r.period, r.kpi, r.start_ms))
        return rows

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InfluxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_POINT = np.dtype([("ts", np.int64), ("value", np.float64)])


def _slice(readings: ReadingColumns, start: int, stop: int) -> ReadingColumns:
    return ReadingColumns(
        readings.meter[start:stop], readings.ts[start:stop], readings.value[start:stop]
    )


_T = TypeVar("_T")

# Every chunk of influxd's msgpack answer is a one-entry map, {"results": [...]} or
# {"error": "..."}: these are its first bytes (fixmap of 1, then a fixstr key).
_MSGPACK_CHUNK_STARTS: Final = (b"\x81\xa7results", b"\x81\xa5error")
_LONGEST_START: Final = max(len(s) for s in _MSGPACK_CHUNK_STARTS)


def _msgpack_chunks(
    pieces: Iterable[bytes], decode: Callable[[bytes | bytearray], _T]
) -> Iterator[_T]:
    """Each chunk of a chunked msgpack ``/query`` body, decoded by ``decode``.

    influxd (1.x ``services/httpd/response_writer.go``, 2.x ``influxql/query``) writes
    one msgpack map per chunk, back to back, with no length or delimiter, and the HTTP
    pieces split them anywhere. A chunk ends where the next one starts, but its first
    bytes can also occur inside one (in a tag or string value), so a candidate end is
    confirmed by decoding: a msgpack value has exactly one length, so a piece that
    decodes is a whole chunk, and one that does not is extended to the next candidate.
    A malformed body raises :class:`msgspec.DecodeError` at its end.
    """
    buf = bytearray()
    scan = 1  # where the next candidate start is looked for (buf[0] starts a chunk)
    for piece in pieces:
        buf += piece
        while True:
            cut = _next_chunk_start(buf, scan)
            if cut < 0:  # a start may straddle this piece and the next: look again there
                scan = max(scan, len(buf) - _LONGEST_START + 1)
                break
            try:
                chunk = decode(buf[:cut])
            except msgspec.DecodeError:
                scan = cut + 1  # those bytes were inside the chunk
                continue
            yield chunk
            del buf[:cut]
            scan = 1
    if buf:
        yield decode(buf)


def _next_chunk_start(buf: bytearray, start: int) -> int:
    found = [i for i in (buf.find(s, start) for s in _MSGPACK_CHUNK_STARTS) if i >= 0]
    return min(found, default=-1)


def msgpack_layout_of(version: str) -> bool:
    """Whether a server of this ``X-Influxdb-Version`` writes the msgpack ``/query``
    layout this store decodes: InfluxDB 1.5+ and 2.x (``v2.7.10`` and the like)."""
    match = re.match(r"v?(\d+)\.(\d+)", version.strip())
    if match is None:
        return False
    major, minor = int(match[1]), int(match[2])
    return (major == 1 and minor >= 5) or major == 2


def _is_msgpack(response: httpx.Response) -> bool:
    content_type = str(response.headers.get("Content-Type", ""))
    return content_type.split(";")[0].strip().lower() == _ACCEPT["msgpack"]


def _error_text(response: httpx.Response) -> str:
    msgpack = _is_msgpack(response)
    try:
        body = msgspec.msgpack.decode(response.content) if msgpack else response.json()
    except ValueError:  # msgspec.DecodeError is one too
        body = None
    if isinstance(body, dict):
        text = body.get("error") or body.get("message") or ("" if msgpack else response.text)
    else:
        text = "" if msgpack else response.text
    # influxd repeats the message (up to 1,024 characters) in a header, except on 401
    text = str(text).strip() or str(response.headers.get("X-InfluxDB-Error", "")).strip()
    return text if len(text) <= _MAX_ERROR_CHARS else text[:_MAX_ERROR_CHARS] + "…"


def _raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 300:
        return
    message = f"{what}: HTTP {status}: {_error_text(response)}"
    if status >= 500 or status in (401, 403, 404, 408, 429):
        raise StoreError(message)
    raise StoreRejectedError(message)


def _query_error(what: str, error: str) -> StoreError:
    # "database not found" is a configuration problem; other statement errors are bugs
    # in the query or data the server refuses: neither improves by retrying, but only
    # the first may be fixed by an operator while we wait.
    if "not found" in error:
        return StoreError(f"{what}: {error}")
    return StoreRejectedError(f"{what}: {error}")
