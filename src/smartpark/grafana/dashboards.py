"""The smartpark dashboards, generated from code: zone overview, park, operations.

Every query reads the docs/store.md schema: readings in measurements named for their kind
(``energy``, ``water``, ``emissions``, ``waste``, ``production``; tags ``park``,
``enterprise``, ``meter``, ``quantity``; field ``value`` in the canonical unit) and KPIs in
``kpi`` (tags ``scope``, ``id``, ``period``, ``kpi``; field ``value``). KPI panels are
built by :mod:`smartpark.grafana.kpis`, so their units, descriptions and reference lines
are the analytics catalogue's and targets'; carrier factors, emission limits and units
come from :mod:`smartpark.core.factors` and :mod:`smartpark.core.quantities`.

The registry is an input for two things the schema cannot answer. Which meters are
sub-meters: panels that add counters up exclude them, as the KPIs do, so nothing is
counted twice. And what a dashboard's scope meters: every target names what it needs (the
quantity it reads, or its KPI's inputs in the catalogue), and a dashboard shows only the
targets, panels and rows its scope can give data (:mod:`smartpark.grafana.needs`): a park
without CEMS stacks has no emission panels. Regenerate the dashboards whenever meters
change::

    smartpark grafana provision --registry registry.toml --out deploy/grafana
"""

# InfluxQL here is built from code constants and registry ids (validated slugs), never
# from user input, so string building is safe:
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from smartpark.analytics.kpis.targets import (
    CARBON_PER_ENERGY_LINE,
    CARBON_PER_ENERGY_LINE_LARGE,
    LARGE_PARK_TCE,
)
from smartpark.analytics.periods import PERIODS
from smartpark.core import quantities
from smartpark.core.factors import DEFAULT_FACTORS, DEFAULT_LIMITS
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.grafana.cost import cost_panels
from smartpark.grafana.dualcontrol import dualcontrol_panels
from smartpark.grafana.kpis import (
    grafana_unit,
    kpi_bargauge,
    kpi_query,
    kpi_stat,
    kpi_timeseries,
    reference_line,
    unit,
)
from smartpark.grafana.needs import Metered, shown
from smartpark.grafana.panels import (
    Json,
    Panel,
    PromQuery,
    Query,
    Row,
    custom_variable,
    dashboard,
    query_variable,
    stat,
    table,
    text,
    timeseries,
)
from smartpark.grafana.products import level_panels, product_panels
from smartpark.store.lineprotocol import KPI_MEASUREMENT

ZONE_UID: Final = "smartpark-zone"
PARK_UID: Final = "smartpark-park"
OPS_UID: Final = "smartpark-operations"

READINGS: Final = "/^(" + "|".join(quantities.KINDS) + ")$/"
PARK: Final = '"park" =~ /^$park$/'
ENTERPRISE: Final = '"enterprise" =~ /^$enterprise$/'
# The last 15 minutes of the dashboard's range: ``$__to`` is its end (now, when it ends now).
LAST_15_MIN: Final = "time > ${__to}ms - 15m AND time <= ${__to}ms"

# Energy carriers converted to tce with the default factors (docs/kpis.md): quantity,
# legend, factor name in core.factors.DEFAULT_FACTORS (tce per canonical unit).
CARRIERS: Final = (
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
                f'SHOW TAG VALUES FROM "{KPI_MEASUREMENT}" WITH KEY = "id" '
                "WHERE \"scope\" = 'zone'",
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
        out.append(custom_variable("period", "KPI period", PERIODS, "day"))
    return out


def _spaced(number: float) -> str:
    """``1000000.0`` → ``1 000 000``: a large whole number as docs/kpis.md writes it."""
    return f"{number:,.0f}".replace(",", " ")


def _carbon_note() -> str:
    per, tce = unit("carbon_per_energy"), unit("energy_tce")
    large = _spaced(LARGE_PARK_TCE)
    return (
        f"Core zero-carbon park indicator: at most {CARBON_PER_ENERGY_LINE} {per} for parks "
        f"consuming less than {large} {tce}/year, {CARBON_PER_ENERGY_LINE_LARGE} from "
        f"{large} {tce}/year on (red line: {CARBON_PER_ENERGY_LINE})."
    )


def _guiding_note(kpi: str, label: str) -> str:
    line = reference_line(kpi)
    if line is None:
        raise ValueError(f"{kpi} has no guiding line in analytics.kpis.targets.GUIDING_LINES")
    side, value = line
    return f"Guiding line: {label} {'>=' if side == 'above' else '<='} {value:g} {unit(kpi)}."


# ---------------------------------------------------------------------------------------
# Zone overview


def zone_overview(registry: Registry) -> Json:
    """Parks side by side: tce, CO2, tCO2/tce against the line, clean/renewable, water;
    the level each product reached (where the registry has products); the zone's, its
    regions' and parks' energy budgets against their plan (where the zone names a
    dual-control targets file).

    Shows what the registry's parks meter together.
    """
    per = unit("carbon_per_energy")
    items: list[Panel | Row] = [
        Row("Zone totals"),
        kpi_stat(
            f"Zone energy ({unit('energy_tce')})",
            kpi_query("zone", "energy_tce", "$zone", select='sum("value")', alias="$tag_id"),
            decimals=1,
            width=6,
        ),
        kpi_stat(
            f"Zone CO2 ({unit('co2_total_t')})",
            kpi_query("zone", "co2_total_t", "$zone", select='sum("value")'),
            decimals=1,
            width=6,
        ),
        kpi_stat(
            f"Zone {per} (latest period)",
            kpi_query("zone", "carbon_per_energy", "$zone", select='last("value")'),
            decimals=3,
            width=6,
        ),
        kpi_stat(
            "Zone clean energy share (latest)",
            kpi_query("zone", "clean_energy_share", "$zone", select='last("value")'),
            decimals=1,
            width=6,
        ),
        Row("Parks side by side"),
        kpi_bargauge(
            f"Energy by park ({unit('energy_tce')}, selected range)",
            kpi_query("park", "energy_tce", ".*", select='sum("value")'),
            decimals=1,
            width=8,
        ),
        kpi_bargauge(
            f"CO2 by park ({unit('co2_total_t')}, selected range)",
            kpi_query("park", "co2_total_t", ".*", select='sum("value")'),
            decimals=1,
            width=8,
        ),
        kpi_bargauge(
            f"Water reuse by park (latest, {unit('water_reuse_rate')})",
            kpi_query("park", "water_reuse_rate", ".*", select='last("value")'),
            decimals=1,
            width=8,
        ),
        kpi_timeseries(
            f"Carbon per energy by park ({per}) against the zero-carbon line",
            [kpi_query("park", "carbon_per_energy", ".*")],
            width=12,
            note=_carbon_note(),
        ),
        kpi_timeseries(
            f"Renewable and clean energy share by park ({unit('clean_energy_share')})",
            [
                kpi_query("park", "renewable_share", ".*", alias="$tag_id renewable"),
                kpi_query("park", "clean_energy_share", ".*", alias="$tag_id clean"),
            ],
            width=12,
            note=_guiding_note("clean_energy_share", "clean energy share"),
        ),
        *level_panels(registry),
        *dualcontrol_panels(registry, ("zone", "region", "park")),
    ]
    return dashboard(
        ZONE_UID,
        "smartpark / Zone overview",
        "Parks of the zone side by side on the zero-carbon park indicators (KPIs).",
        shown(items, Metered.of(registry)),
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
        needs=frozenset({quantity}),
    )


def _carrier_sources() -> str:
    """The standards the carriers' default factors come from (``GB/T 2589-2020 ...``)."""
    sources = (DEFAULT_FACTORS[factor].source.split(",")[0] for _, _, factor in CARRIERS)
    return ", ".join(dict.fromkeys(sources))


def _emission_panel(pollutant: str) -> Panel:
    measured = quantities.BY_NAME[pollutant].canonical_unit
    limit = DEFAULT_LIMITS[pollutant]
    return timeseries(
        f"{_POLLUTANT_TITLES[pollutant]} hourly mean ({measured}, measured)",
        [
            Query(
                'SELECT mean("value") FROM "emissions" '
                f"WHERE \"quantity\" = '{pollutant}' AND {PARK} AND {ENTERPRISE} AND $timeFilter "
                'GROUP BY time($__interval), "meter" fill(none)',
                alias="$tag_meter",
                needs=frozenset({pollutant}),
            )
        ],
        unit=grafana_unit(measured),
        threshold_line=limit,
        min_interval="1h",
        width=8,
        description=(
            f"Hourly means as the monitoring rules count them; red line: the default "
            f"limit {limit:g} {measured} (GB 13271-2014, gas-fired). Values are "
            "as measured, not O2-corrected; the exceedance-hour KPIs below use each "
            "park's own limits and the O2 correction."
        ),
    )


def park_dashboard(registry: Registry, parks: Sequence[str] | None = None) -> Json:
    """One park (or several): load, energy by carrier, carbon, water, cost, unit-product
    energy, the park's and its enterprises' energy budgets against their plan (where the
    zone names a dual-control targets file), emissions, quality.

    Shows what ``parks`` meter together (every park of the registry when None): the zone
    folder's dashboard, whose park is a choice, has every panel some park can fill, the
    panels of every park's products among them; a park's own has its products' only.
    """
    exclude_subs = _sub_meter_filter(registry)
    power = quantities.BY_NAME["active_power"].canonical_unit
    tce = unit("energy_tce")
    items: list[Panel | Row] = [
        Row("Key figures (park KPIs over the selected range)"),
        kpi_stat(
            f"Energy ({tce})",
            kpi_query("park", "energy_tce", "$park", select='sum("value")', group_by='"kpi"'),
            decimals=1,
        ),
        kpi_stat(
            f"Electricity ({unit('electricity_kwh')})",
            kpi_query("park", "electricity_kwh", "$park", select='sum("value")', group_by='"kpi"'),
        ),
        kpi_stat(
            f"CO2 total ({unit('co2_total_t')})",
            kpi_query("park", "co2_total_t", "$park", select='sum("value")', group_by='"kpi"'),
            decimals=1,
        ),
        kpi_stat(
            f"{unit('carbon_per_energy')} (latest)",
            kpi_query("park", "carbon_per_energy", "$park", select='last("value")'),
            decimals=3,
        ),
        kpi_stat(
            "Renewable share (latest)",
            kpi_query("park", "renewable_share", "$park", select='last("value")'),
            decimals=1,
        ),
        kpi_stat(
            "Water reuse (latest)",
            kpi_query("park", "water_reuse_rate", "$park", select='last("value")'),
            decimals=1,
        ),
        Row("Energy"),
        timeseries(
            f"Load curve ({power}, by enterprise)",
            [
                Query(
                    'SELECT mean("value") FROM "energy" '
                    f"WHERE \"quantity\" = 'active_power' AND {PARK} AND {ENTERPRISE}"
                    f'{exclude_subs} AND $timeFilter GROUP BY time($__interval), "enterprise" '
                    "fill(null)",
                    alias="$tag_enterprise",
                    needs=frozenset({"active_power"}),
                )
            ],
            unit=grafana_unit(power),
            stacked=True,
            width=12,
        ),
        timeseries(
            f"Energy by carrier ({tce})",
            [_carrier_query(q, label, f, exclude_subs) for q, label, f in CARRIERS],
            unit=grafana_unit(tce),
            bars=True,
            stacked=True,
            width=12,
            description=(
                "Counter deltas of boundary meters per interval, converted with the default "
                f"coefficients of {_carrier_sources()} (park overrides are applied only in "
                "the KPIs)."
            ),
        ),
        Row("Carbon and water (KPIs per $period)"),
        kpi_timeseries(
            f"CO2 by scope ({unit('co2_total_t')})",
            [
                kpi_query("park", "co2_scope1_t", "$park", alias="$tag_id scope 1"),
                kpi_query("park", "co2_scope2_t", "$park", alias="$tag_id scope 2"),
            ],
            bars=True,
            stacked=True,
            width=12,
        ),
        kpi_timeseries(
            f"Water ({unit('fresh_water_m3')})",
            [
                kpi_query("park", "fresh_water_m3", "$park", alias="$tag_id fresh"),
                kpi_query("park", "wastewater_m3", "$park", alias="$tag_id wastewater"),
            ],
            bars=True,
            width=12,
        ),
        *cost_panels(),
        *product_panels(registry, parks),
        *dualcontrol_panels(registry, ("park", "enterprise"), parks),
        Row("Emissions against limits"),
        *(_emission_panel(p) for p in POLLUTANTS),
        kpi_timeseries(
            "Exceedance hours (park limits, O2-corrected)",
            [kpi_query("park", f"{p}_exceed_h", "$park", alias=f"$tag_id {p}") for p in POLLUTANTS],
            bars=True,
            stacked=True,
            width=24,
        ),
        Row("Data quality"),
        kpi_timeseries(
            "Data completeness by enterprise (received / expected samples)",
            [kpi_query("enterprise", "completeness", "$enterprise")],
            width=24,
        ),
    ]
    return dashboard(
        PARK_UID,
        "smartpark / Park",
        "Energy, carbon, water, emissions and data quality of a park and its enterprises.",
        shown(items, Metered.of(registry, parks)),
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


def operations(registry: Registry) -> Json:
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
                f"{READINGS} WHERE {PARK} AND {LAST_15_MIN} "
                'GROUP BY "enterprise")',
            ),
            thresholds=[],
            width=6,
            description=(
                "An enterprise's gateway is online when at least one meter reported in the "
                "last 15 minutes of the selected range (up to now, for a range ending now)."
            ),
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
        kpi_bargauge(
            "Completeness by enterprise (latest hour)",
            kpi_query(
                "enterprise",
                "completeness",
                "$enterprise",
                select='last("value")',
                period="\"period\" = 'hour'",
            ),
            width=24,
        ),
        *_service_panels(),
    ]
    return dashboard(
        OPS_UID,
        "smartpark / Operations",
        "Is the data arriving: stored rates, meters and enterprises reporting, lag, completeness.",
        shown(items, Metered.of(registry)),
        _variables(zone=False, park=True, enterprise=True, period=False),
        time_from="now-6h",
        refresh="1m",
    )


# ---------------------------------------------------------------------------------------
# Files


def all_dashboards(registry: Registry) -> dict[str, Json]:
    """File name → dashboard, for every smartpark dashboard."""
    return {
        "zone-overview.json": zone_overview(registry),
        "park.json": park_dashboard(registry),
        "operations.json": operations(registry),
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
