"""The smartpark dashboards, generated from code: zone overview, park, operations.

Every query reads the docs/store.md schema: readings in measurements named for their kind
(``energy``, ``water``, ``emissions``, ``waste``, ``production``; tags ``park``,
``enterprise``, ``meter``, ``quantity``; field ``value`` in the canonical unit) and KPIs in
``kpi`` (tags ``scope``, ``id``, ``period``, ``kpi``; field ``value``).

The registry is an input for one thing the schema cannot answer: which meters are
sub-meters. Panels that add counters up exclude them, as the KPIs do, so nothing is
counted twice. Regenerate the dashboards whenever sub-meters change::

    smartpark grafana dashboards --registry registry.toml --out deploy/grafana/dashboards
"""

# InfluxQL here is built from code constants and registry ids (validated slugs), never
# from user input, so string building is safe:
# ruff: noqa: S608

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from smartpark.core import quantities
from smartpark.core.factors import DEFAULT_FACTORS, DEFAULT_LIMITS
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.grafana.panels import (
    Json,
    Panel,
    PromQuery,
    Query,
    Row,
    bargauge,
    custom_variable,
    dashboard,
    query_variable,
    stat,
    table,
    text,
    timeseries,
)

ZONE_UID: Final = "smartpark-zone"
PARK_UID: Final = "smartpark-park"
OPS_UID: Final = "smartpark-operations"

# Zero-carbon park lines (docs/kpis.md §2): tCO2/tce for 200k-1M tce/year, larger parks.
CARBON_PER_ENERGY_LINE: Final = 0.20
CARBON_PER_ENERGY_LINE_LARGE: Final = 0.30
CLEAN_ENERGY_LINE: Final = 90.0
WATER_REUSE_LINE: Final = 80.0
COMPLETENESS_LINE: Final = 95.0  # KPIs in % (analytics.catalogue), like the shares

READINGS: Final = "/^(" + "|".join(quantities.KINDS) + ")$/"
PARK: Final = '"park" =~ /^$park$/'
ENTERPRISE: Final = '"enterprise" =~ /^$enterprise$/'
PERIOD: Final = "\"period\" = '$period'"

# Energy carriers as tce, with the GB/T 2589 defaults of docs/kpis.md §1.
_CARRIERS: Final = (
    ("electricity_import", "purchased electricity", "electricity_tce_per_kwh"),
    ("green_electricity_import", "purchased green electricity", "electricity_tce_per_kwh"),
    ("pv_generation", "on-site PV", "electricity_tce_per_kwh"),
    ("wind_generation", "on-site wind", "electricity_tce_per_kwh"),
    ("natural_gas", "natural gas", "natural_gas_tce_per_m3"),
    ("coal", "coal", "coal_tce_per_t"),
    ("diesel", "diesel", "diesel_tce_per_t"),
    ("heat", "heat", "heat_tce_per_gj"),
    ("steam", "steam", "steam_tce_per_t"),
)
_POLLUTANT_TITLES: Final = {"so2": "SO2", "nox": "NOx", "particulate": "Particulate"}


def kpi_query(
    scope: str,
    kpi: str,
    ids: str,
    *,
    select: str = '"value"',
    group_by: str = '"id"',
    period: str = PERIOD,
    alias: str = "$tag_id",
    fmt: Any = "time_series",
) -> Query:
    """A query on measurement ``kpi`` for one KPI of a scope; ``ids`` filters tag ``id``."""
    where = f'"scope" = \'{scope}\' AND "id" =~ /^{ids}$/ AND {period} AND "kpi" = \'{kpi}\''
    influxql = f'SELECT {select} FROM "kpi" WHERE {where} AND $timeFilter GROUP BY {group_by}'
    return Query(influxql, alias=alias, format=fmt)


def _sub_meter_filter(registry: Registry) -> str:
    subs = sorted(m.id for m in registry.meters.values() if m.role == "sub")
    return f' AND "meter" !~ /^({"|".join(subs)})$/' if subs else ""


def _variables(zone: bool, park: bool, enterprise: bool, period: bool) -> list[Json]:
    out: list[Json] = []
    if zone:
        out.append(
            query_variable(
                "zone",
                "Zone",
                'SHOW TAG VALUES FROM "kpi" WITH KEY = "id" WHERE "scope" = \'zone\'',
            )
        )
    if park:
        out.append(
            query_variable("park", "Park", f'SHOW TAG VALUES FROM {READINGS} WITH KEY = "park"')
        )
    if enterprise:
        out.append(
            query_variable(
                "enterprise",
                "Enterprise",
                f'SHOW TAG VALUES FROM {READINGS} WITH KEY = "enterprise" WHERE {PARK}',
            )
        )
    if period:
        out.append(custom_variable("period", "KPI period", ("hour", "day", "month"), "day"))
    return out


# ---------------------------------------------------------------------------------------
# Zone overview


def zone_overview() -> Json:
    """Parks side by side: tce, CO2, tCO2/tce against the line, clean/renewable, water."""
    items: list[Panel | Row] = [
        Row("Zone totals"),
        stat(
            "Zone energy (tce)",
            kpi_query("zone", "energy_tce", "$zone", select='sum("value")', alias="$tag_id"),
            unit="none",
            decimals=1,
            width=6,
        ),
        stat(
            "Zone CO2 (t)",
            kpi_query("zone", "co2_total_t", "$zone", select='sum("value")'),
            unit="none",
            decimals=1,
            width=6,
        ),
        stat(
            "Zone tCO2/tce (latest period)",
            kpi_query("zone", "carbon_per_energy", "$zone", select='last("value")'),
            decimals=3,
            thresholds=[(CARBON_PER_ENERGY_LINE, "red")],
            width=6,
        ),
        stat(
            "Zone clean energy share (latest)",
            kpi_query("zone", "clean_energy_share", "$zone", select='last("value")'),
            unit="percent",
            decimals=1,
            thresholds=[(0, "red"), (CLEAN_ENERGY_LINE, "green")],
            width=6,
        ),
        Row("Parks side by side"),
        bargauge(
            "Energy by park (tce, selected range)",
            kpi_query("park", "energy_tce", ".*", select='sum("value")'),
            decimals=1,
            width=8,
        ),
        bargauge(
            "CO2 by park (t, selected range)",
            kpi_query("park", "co2_total_t", ".*", select='sum("value")'),
            decimals=1,
            width=8,
        ),
        bargauge(
            "Water reuse by park (latest, %)",
            kpi_query("park", "water_reuse_rate", ".*", select='last("value")'),
            unit="percent",
            decimals=1,
            thresholds=[(0, "red"), (WATER_REUSE_LINE, "green")],
            width=8,
        ),
        timeseries(
            "Carbon per energy by park (tCO2/tce) against the zero-carbon line",
            [kpi_query("park", "carbon_per_energy", ".*")],
            threshold_line=CARBON_PER_ENERGY_LINE,
            width=12,
            description=(
                f"Core zero-carbon park indicator: at most {CARBON_PER_ENERGY_LINE} tCO2/tce "
                "for parks consuming 200 000 - 1 000 000 tce/year, "
                f"{CARBON_PER_ENERGY_LINE_LARGE} for larger ones (red line: "
                f"{CARBON_PER_ENERGY_LINE})."
            ),
        ),
        timeseries(
            "Renewable and clean energy share by park (%)",
            [
                kpi_query("park", "renewable_share", ".*", alias="$tag_id renewable"),
                kpi_query("park", "clean_energy_share", ".*", alias="$tag_id clean"),
            ],
            unit="percent",
            threshold_line=CLEAN_ENERGY_LINE,
            width=12,
            description=f"Guiding line: clean energy share >= {CLEAN_ENERGY_LINE:g} %.",
        ),
    ]
    return dashboard(
        ZONE_UID,
        "smartpark / Zone overview",
        "Parks of the zone side by side on the zero-carbon park indicators (KPIs).",
        items,
        [*_variables(zone=True, park=False, enterprise=False, period=True)],
        time_from="now-30d",
    )


# ---------------------------------------------------------------------------------------
# Park dashboard


def _carrier_query(quantity: str, label: str, factor: str, exclude_subs: str) -> Query:
    tce = DEFAULT_FACTORS[factor].value
    inner = (
        f'SELECT non_negative_difference(last("value")) AS "delta" FROM "energy" '
        f"WHERE \"quantity\" = '{quantity}' AND {PARK} AND {ENTERPRISE}{exclude_subs} "
        f'AND $timeFilter GROUP BY time($__interval), "meter"'
    )
    return Query(
        f'SELECT sum("delta") * {tce!r} AS "tce" FROM ({inner}) '
        f"WHERE $timeFilter GROUP BY time($__interval)",
        alias=label,
    )


def park_dashboard(registry: Registry) -> Json:
    """One park (or several): load, energy by carrier, carbon, water, emissions, quality."""
    exclude_subs = _sub_meter_filter(registry)
    emission_panels = [
        timeseries(
            f"{_POLLUTANT_TITLES[p]} hourly mean (mg/m3, measured)",
            [
                Query(
                    'SELECT mean("value") FROM "emissions" '
                    f"WHERE \"quantity\" = '{p}' AND {PARK} AND {ENTERPRISE} AND $timeFilter "
                    'GROUP BY time($__interval), "meter" fill(none)',
                    alias="$tag_meter",
                )
            ],
            unit="conmgm3",
            threshold_line=DEFAULT_LIMITS[p],
            min_interval="1h",
            width=8,
            description=(
                f"Hourly means as the monitoring rules count them; red line: the default "
                f"limit {DEFAULT_LIMITS[p]:g} mg/m3 (GB 13271-2014, gas-fired). Values are "
                "as measured, not O2-corrected; the exceedance-hour KPIs below use each "
                "park's own limits and the O2 correction."
            ),
        )
        for p in POLLUTANTS
    ]
    items: list[Panel | Row] = [
        Row("Key figures (park KPIs over the selected range)"),
        stat(
            "Energy (tce)",
            kpi_query("park", "energy_tce", "$park", select='sum("value")', group_by='"kpi"'),
            decimals=1,
        ),
        stat(
            "Electricity (kWh)",
            kpi_query("park", "electricity_kwh", "$park", select='sum("value")', group_by='"kpi"'),
            unit="kwatth",
        ),
        stat(
            "CO2 total (t)",
            kpi_query("park", "co2_total_t", "$park", select='sum("value")', group_by='"kpi"'),
            decimals=1,
        ),
        stat(
            "tCO2/tce (latest)",
            kpi_query("park", "carbon_per_energy", "$park", select='last("value")'),
            decimals=3,
            thresholds=[(CARBON_PER_ENERGY_LINE, "red")],
        ),
        stat(
            "Renewable share (latest)",
            kpi_query("park", "renewable_share", "$park", select='last("value")'),
            unit="percent",
            decimals=1,
        ),
        stat(
            "Water reuse (latest)",
            kpi_query("park", "water_reuse_rate", "$park", select='last("value")'),
            unit="percent",
            decimals=1,
            thresholds=[(0, "red"), (WATER_REUSE_LINE, "green")],
        ),
        Row("Energy"),
        timeseries(
            "Load curve (kW, by enterprise)",
            [
                Query(
                    'SELECT mean("value") FROM "energy" '
                    f"WHERE \"quantity\" = 'active_power' AND {PARK} AND {ENTERPRISE}"
                    f'{exclude_subs} AND $timeFilter GROUP BY time($__interval), "enterprise" '
                    "fill(null)",
                    alias="$tag_enterprise",
                )
            ],
            unit="kwatt",
            stacked=True,
            width=12,
        ),
        timeseries(
            "Energy by carrier (tce)",
            [_carrier_query(q, label, f, exclude_subs) for q, label, f in _CARRIERS],
            unit="none",
            bars=True,
            stacked=True,
            width=12,
            description=(
                "Counter deltas of boundary meters per interval, converted with the "
                "GB/T 2589 default coefficients (park overrides are applied only in the KPIs)."
            ),
        ),
        Row("Carbon and water (KPIs per $period)"),
        timeseries(
            "CO2 by scope (t)",
            [
                kpi_query("park", "co2_scope1_t", "$park", alias="$tag_id scope 1"),
                kpi_query("park", "co2_scope2_t", "$park", alias="$tag_id scope 2"),
            ],
            bars=True,
            stacked=True,
            width=12,
        ),
        timeseries(
            "Water (m3)",
            [
                kpi_query("park", "fresh_water_m3", "$park", alias="$tag_id fresh"),
                kpi_query("park", "wastewater_m3", "$park", alias="$tag_id wastewater"),
            ],
            bars=True,
            width=12,
        ),
        Row("Emissions against limits"),
        *emission_panels,
        timeseries(
            "Exceedance hours (park limits, O2-corrected)",
            [kpi_query("park", f"{p}_exceed_h", "$park", alias=f"$tag_id {p}") for p in POLLUTANTS],
            unit="h",
            bars=True,
            stacked=True,
            width=24,
        ),
        Row("Data quality"),
        timeseries(
            "Data completeness by enterprise (received / expected samples)",
            [kpi_query("enterprise", "completeness", "$enterprise")],
            unit="percent",
            threshold_line=COMPLETENESS_LINE,
            width=24,
        ),
    ]
    return dashboard(
        PARK_UID,
        "smartpark / Park",
        "Energy, carbon, water, emissions and data quality of a park and its enterprises.",
        items,
        _variables(zone=True, park=True, enterprise=True, period=True),
    )


# ---------------------------------------------------------------------------------------
# Operations


OPS_NOTE: Final = """\
**Stored data** (InfluxDB) shows what reached the store, whatever happened on the way.
**Services** (Prometheus, datasource `smartpark-prometheus`) shows the ingest
processes' own counters: gateways online (their retained status), readings accepted
and rejected by reason, write latency and queue depth. It needs a Prometheus scraping
each ingest's `/metrics` (deploy/compose.yaml runs one; see docs/deploy.md).
"""

# Ingest's Prometheus metrics (ingest/metrics.py); a test checks names and labels.
INGEST_METRICS: Final = "smartpark_ingest"


def _service_panels() -> list[Panel | Row]:
    m = INGEST_METRICS
    rate = "[$__rate_interval]"
    return [
        Row("Services (Prometheus)"),
        stat(
            "Gateways online",
            PromQuery(f"sum(max by (gateway) ({m}_gateway_online))", instant=True),
            width=6,
            description="Gateways whose retained status topic says online.",
        ),
        stat(
            "Ingest processes connected",
            PromQuery(f"sum({m}_broker_connected)", instant=True),
            width=6,
        ),
        stat(
            "Readings rejected (selected range)",
            PromQuery(f"sum(increase({m}_readings_rejected_total[$__range]))", instant=True),
            thresholds=[(1, "orange")],
            width=6,
        ),
        stat(
            "Dead letters (selected range)",
            PromQuery(f"sum(increase({m}_dead_letters_total[$__range]))", instant=True),
            thresholds=[(1, "red")],
            width=6,
        ),
        timeseries(
            "Ingest rate (readings/s)",
            [
                PromQuery(f"sum(rate({m}_readings_accepted_total{rate}))", "accepted"),
                PromQuery(f"sum(rate({m}_readings_stored_total{rate}))", "stored"),
            ],
            unit="reqps",
            width=12,
        ),
        timeseries(
            "Rejections by reason (/s)",
            [
                PromQuery(
                    f"sum by (reason) (rate({m}_readings_rejected_total{rate}))",
                    "reading: {{reason}}",
                ),
                PromQuery(
                    f"sum by (reason) (rate({m}_payloads_rejected_total{rate}))",
                    "payload: {{reason}}",
                ),
            ],
            width=12,
        ),
        timeseries(
            "Seconds since each gateway was last heard",
            [
                PromQuery(
                    f"time() - max by (gateway) ({m}_gateway_last_seen_seconds)", "{{gateway}}"
                )
            ],
            unit="s",
            width=12,
        ),
        timeseries(
            "Store write latency and queue",
            [
                PromQuery(
                    f"histogram_quantile(0.99, sum by (le) (rate({m}_write_seconds_bucket{rate})))",
                    "write p99 (s)",
                ),
                PromQuery(f"sum({m}_queue_depth)", "queued messages"),
                PromQuery(f"sum(rate({m}_write_retries_total{rate}))", "write retries/s"),
            ],
            width=12,
        ),
    ]


def operations() -> Json:
    """Is the data arriving? Stored rates, meters reporting, lag per meter, completeness."""
    per_meter_last = (
        f'SELECT last("value") FROM {READINGS} WHERE {PARK} AND $timeFilter '
        'GROUP BY time($__interval), "park", "meter"'
    )
    items: list[Panel | Row] = [
        text("About these panels", OPS_NOTE, width=24, height=4),
        Row("Stored data (InfluxDB)"),
        timeseries(
            "Readings stored per interval (by park and kind)",
            [
                Query(
                    f'SELECT count("value") FROM {READINGS} WHERE {PARK} AND $timeFilter '
                    'GROUP BY time($__interval), "park" fill(0)',
                    alias="$tag_park $measurement",
                )
            ],
            stacked=True,
            bars=True,
            width=12,
        ),
        timeseries(
            "Meters reporting per interval (by park)",
            [
                Query(
                    f'SELECT count("last") FROM ({per_meter_last}) WHERE $timeFilter '
                    'GROUP BY time($__interval), "park" fill(0)',
                    alias="$tag_park",
                )
            ],
            width=12,
        ),
        stat(
            "Enterprises reporting in the last 15 min",
            Query(
                'SELECT count("last") FROM (SELECT last("value") FROM '
                f"{READINGS} WHERE {PARK} AND time > now() - 15m "
                'GROUP BY "enterprise")',
            ),
            thresholds=[],
            width=6,
            description="An enterprise's gateway is online when at least one meter reported.",
        ),
        table(
            "Last reading per meter (data lag)",
            Query(
                f'SELECT last("value") AS "value" FROM {READINGS} '
                f'WHERE {PARK} AND {ENTERPRISE} AND $timeFilter GROUP BY "park", "enterprise", '
                '"meter", "quantity"',
                format="table",
            ),
            width=18,
            height=10,
            overrides=[
                {
                    "matcher": {"id": "byName", "options": "Time"},
                    "properties": [
                        {"id": "unit", "value": "dateTimeFromNow"},
                        {"id": "displayName", "value": "last reading"},
                    ],
                }
            ],
            description="Time of each meter's last stored reading, as 'n minutes ago'.",
        ),
        bargauge(
            "Completeness by enterprise (latest hour)",
            kpi_query(
                "enterprise",
                "completeness",
                "$enterprise",
                select='last("value")',
                period="\"period\" = 'hour'",
            ),
            unit="percent",
            thresholds=[(0, "red"), (COMPLETENESS_LINE, "green")],
            width=24,
        ),
        *_service_panels(),
    ]
    return dashboard(
        OPS_UID,
        "smartpark / Operations",
        "Is the data arriving: stored rates, meters and enterprises reporting, lag, completeness.",
        items,
        _variables(zone=False, park=True, enterprise=True, period=False),
        time_from="now-6h",
        refresh="1m",
    )


# ---------------------------------------------------------------------------------------
# Files


def all_dashboards(registry: Registry) -> dict[str, Json]:
    """File name → dashboard, for every smartpark dashboard."""
    return {
        "zone-overview.json": zone_overview(),
        "park.json": park_dashboard(registry),
        "operations.json": operations(),
    }


def render(board: Json) -> str:
    """The file text of a dashboard: stable key order and indentation, newline at end."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def write_dashboards(registry: Registry, out: Path) -> list[Path]:
    """Write every dashboard to ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in all_dashboards(registry).items():
        path = out / name
        path.write_text(render(board), encoding="utf-8")
        written.append(path)
    return written
