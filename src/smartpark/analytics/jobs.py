"""The KPI job: read a range from the store, compute its KPIs, write them back.

``smartpark kpi`` (one range, or ``--follow`` every cycle) and ``smartpark demo`` run
this one job; :class:`Selection` checks what ``smartpark kpi`` was asked for against
the registry (docs/kpis.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from smartpark.analytics import periods
from smartpark.analytics.days.maintain import keep_current
from smartpark.analytics.days.source import range_days
from smartpark.analytics.kpis.catalogue import KPIS, PRODUCT_KPIS
from smartpark.analytics.kpis.compute import ALL_SCOPES, kpis_of_days, kpis_of_windows
from smartpark.analytics.kpis.cost import DEFAULT_PEAK_SHIFT
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.periods import PeriodName
from smartpark.analytics.schedule import Follow
from smartpark.analytics.windows.rollups.source import Source, range_windows
from smartpark.analytics.windows.stacks import finish_ms
from smartpark.analytics.writeback import write_back
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.core.timestamps import now_ms
from smartpark.store.base import Scope, Store


@dataclass(frozen=True)
class KpiJobResult:
    table: KpiTable  # every full period of the range, every scope
    source: Source  # which parts came from day rows, rollups and raw readings
    written: int  # KPI points written back (0 without ``write``)


def kpi_job(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    periods_: Iterable[PeriodName],
    *,
    write: bool,
    peak_shift: float = DEFAULT_PEAK_SHIFT,
    use_rollups: bool = True,
    open_end: bool = False,
) -> KpiJobResult:
    """KPIs of the full ``periods_`` in ``[start_ms, end_ms)``, written back when ``write``;
    from the coarsest stored level that is current: day rows for days, months and years
    (analytics/days), 15-minute rollups for hours and for the cells without current day
    rows, raw readings elsewhere. ``use_rollups`` False reads raw readings only.

    ``open_end`` adds the period in progress at ``end_ms`` (e.g. the month so far); its
    rows are partial, so they are never written.
    """
    if open_end and write:
        raise AnalyticsError("kpi_job: a period in progress (open_end) is never written")
    kinds = list(periods_)
    outputs = store.outputs.read(start_ms, end_ms) if registry.products else []
    value_added = store.value_added.read(start_ms, end_ms)
    if use_rollups and "hour" not in kinds:
        dw, source = range_days(store, registry, start_ms, end_ms)
        table = kpis_of_days(
            registry,
            dw,
            start_ms,
            end_ms,
            kinds,
            peak_shift=peak_shift,
            open_end=open_end,
            outputs=outputs,
            value_added=value_added,
        )
    else:
        mw, source = range_windows(
            store, registry, start_ms, end_ms + finish_ms(registry), use_rollups=use_rollups
        )
        table = kpis_of_windows(
            registry,
            mw,
            start_ms,
            end_ms,
            kinds,
            peak_shift=peak_shift,
            open_end=open_end,
            outputs=outputs,
            value_added=value_added,
        )
    written = write_back(store, table) if write else 0
    return KpiJobResult(table, source, written)


# The scopes whose rows' products ``smartpark kpi`` shows for product KPIs.
PRODUCT_VIEWS: Final = ("enterprise", "park", "product")


@dataclass(frozen=True)
class Selection:
    """The period, scope, park and KPI columns of ``smartpark kpi``, checked."""

    period: PeriodName
    scope: Scope
    timezone: str  # of --park, else of the registry's first zone
    ids: list[str] | None  # the rows of --park at the scope; None: all
    columns: list[str] | None  # --kpi; None: the command's default set
    peak_shift: float = DEFAULT_PEAK_SHIFT  # --peak-shift: % of sharp + peak kWh moved
    products: bool = False  # product KPIs: the rows are the scope's products

    @classmethod
    def check(
        cls,
        registry: Registry,
        period: str,
        scope: str,
        park: str | None = None,
        kpis: Sequence[str] | None = None,
        peak_shift: float = DEFAULT_PEAK_SHIFT,
    ) -> Selection:
        """``AnalyticsError`` naming the option (``--park``, ``--kpi``, ``--peak-shift``)
        that is wrong."""
        if not 0.0 <= peak_shift <= 100.0:
            raise AnalyticsError(f"--peak-shift: {peak_shift:g} is not a percentage in [0, 100]")
        if park is not None and park not in registry.parks:
            raise AnalyticsError(
                f"--park: unknown park {park!r} (registry has {', '.join(registry.park_ids)})"
            )
        computed = KPIS | PRODUCT_KPIS  # not the plans targets --write stores
        unknown = [k for k in kpis or () if k not in computed]
        if unknown:
            raise AnalyticsError(
                f"--kpi: unknown KPI {unknown[0]!r} (known: {', '.join(computed)})"
            )
        the_scope = _scope(scope)
        of_products = the_scope == "product" or any(k not in KPIS for k in kpis or ())
        if of_products and the_scope not in PRODUCT_VIEWS:
            raise AnalyticsError(
                f"--kpi: product KPIs are shown per product: use --scope product, enterprise "
                f"or park (its products), not {the_scope}"
            )
        if of_products and not registry.products:
            raise AnalyticsError(
                "--kpi: the registry defines no products; add [product.ID] tables "
                "(docs/registry.md, Products)"
            )
        wrong = [k for k in kpis or () if of_products and k not in PRODUCT_KPIS]
        if wrong:
            raise AnalyticsError(
                f"--kpi: {wrong[0]!r} is not a product KPI (product KPIs: "
                f"{', '.join(PRODUCT_KPIS)})"
            )
        if the_scope == "region" and not registry.regions:
            raise AnalyticsError(
                "--scope: the registry defines no regions; add [region.ID] tables and each "
                "park's region (docs/registry.md)"
            )
        timezone = (
            registry.parks[park].timezone if park else registry.zones[registry.zone_ids[0]].timezone
        )
        ids = scope_ids(registry, the_scope, park)
        if of_products:
            ids = products_of(registry, the_scope, ids)
        return cls(
            periods.parse_period(period),
            the_scope,
            timezone,
            ids,
            list(kpis) if kpis else None,
            peak_shift,
            of_products,
        )

    def shown(self, table: KpiTable) -> KpiTable:
        """The blocks of the selected scope, only the rows of the selected park (the
        products of the scope's rows where product KPIs are asked for)."""
        return table.select("product" if self.products else self.scope, self.ids)


def products_of(registry: Registry, scope: Scope, ids: list[str] | None) -> list[str] | None:
    """The products made by ``ids`` at ``scope`` (enterprises, parks, products)."""
    if ids is None and scope == "product":
        return None
    if scope == "product":
        return [p for p in registry.product_ids if p in ids]  # type: ignore[operator]
    owner = {
        p: (pr.enterprise if scope == "enterprise" else registry.park_of_product(p))
        for p, pr in registry.products.items()
    }
    return [p for p in registry.product_ids if ids is None or owner[p] in ids]


def scope_ids(registry: Registry, scope: Scope, park: str | None) -> list[str] | None:
    """The ids at ``scope`` belonging to ``park`` (its enterprises, itself, its zone, the
    regions its figures count in)."""
    if park is None:
        return None
    if scope == "enterprise":
        return [e for e, ent in registry.enterprises.items() if ent.park == park]
    if scope == "park":
        return [park]
    if scope == "region":
        return registry.regions_of_park(park)
    if scope == "product":
        return [
            p
            for p, pr in registry.products.items()
            if registry.enterprises[pr.enterprise].park == park
        ]
    return [registry.parks[park].zone]


def run_range(
    store: Store, registry: Registry, selection: Selection, from_: str, to: str, *, write: bool
) -> KpiJobResult:
    """The job over ``[from_, to)`` (dates or RFC 3339, see :func:`periods.parse_instant`)."""
    start_ms = periods.parse_instant(from_, selection.timezone, "--from")
    end_ms = periods.parse_instant(to, selection.timezone, "--to")
    return kpi_job(
        store,
        registry,
        start_ms,
        end_ms,
        [selection.period],
        write=write,
        peak_shift=selection.peak_shift,
    )


def follow(
    store: Store,
    registry: Registry,
    selection: Selection,
    interval_s: float,
    max_cycles: int | None = None,
) -> int:
    """Recompute and write the latest closed periods until SIGTERM/SIGINT; cycles run."""

    def cycle(start_ms: int, end_ms: int) -> int:
        return follow_cycle(store, registry, selection, start_ms, end_ms, now_ms())

    runner = Follow(selection.timezone, selection.period, interval_s, max_cycles=max_cycles)
    runner.install_signal_handlers()
    return runner.run(cycle)


def follow_cycle(
    store: Store,
    registry: Registry,
    selection: Selection,
    start_ms: int,
    end_ms: int,
    at_ms: int,
) -> int:
    """One ``--follow`` cycle at ``at_ms`` (now): rollups first (new windows, and the windows of
    late readings, however late), then the KPIs of the latest closed periods
    ``[start_ms, end_ms)`` and of every earlier period a late reading changed; points
    written."""

    def job(a: int, b: int) -> int:
        return kpi_job(
            store, registry, a, b, [selection.period], write=True, peak_shift=selection.peak_shift
        ).written

    kept = keep_current(store, registry, start_ms, at_ms)
    written = job(start_ms, end_ms)
    for a, b in periods_touching(selection, kept.rerolled.ranges, before_ms=start_ms):
        written += job(a, b)
    return written


def periods_touching(
    selection: Selection, ranges: Iterable[tuple[int, int]], *, before_ms: int
) -> list[tuple[int, int]]:
    r"""The ``selection.period``\ s (its time zone) that contain some of ``ranges``
    before ``before_ms``, merged where adjacent."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if a >= before_ms:
            continue
        bounds = periods.enclosing(selection.timezone, selection.period, a, min(b, before_ms))
        if out and bounds[0] <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], bounds[1]))
        else:
            out.append(bounds)
    return out


def _scope(value: str) -> Scope:
    for scope in ALL_SCOPES:
        if scope == value:
            return scope
    raise AnalyticsError(
        f"--scope: unknown scope {value!r} (expected one of {', '.join(ALL_SCOPES)})"
    )
