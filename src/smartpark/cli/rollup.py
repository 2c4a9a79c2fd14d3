"""``smartpark rollup``: (re)build both stored levels of a range: the exact 15-minute
rollups, then the day rows above them.

::

    smartpark rollup --from 2024-01-01 --to 2026-12-01       # build two years, day by day
    smartpark rollup --from 2026-11-01 --to 2026-12-01 --check   # what is built

Run it once over the stored history; ``smartpark kpi --follow`` keeps both current (it
re-rolls the windows late readings made dirty, however late, and rebuilds the ended
days they touch; ``--check`` names the dirty ones and the command that does it now).
After a registry change that affects them (a meter added, a multiplier, interval,
stack, time zone, limit or tariff schedule changed) the KPI readers fall back to the
level below and name this command with the range to rebuild. Logic:
:mod:`smartpark.analytics.windows.rollups`, :mod:`smartpark.analytics.days`
(docs/kpis.md, "Rollups" and "Day level").
"""

from __future__ import annotations

from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    LogLevelOption,
    RegistryOption,
    StoreOption,
    report_errors,
)


def register(app: typer.Typer) -> None:
    app.command("rollup")(rollup)


@report_errors
def rollup(
    from_: Annotated[
        str,
        typer.Option("--from", help="Start: a date (the zone's local midnight) or RFC 3339 time."),
    ],
    to: Annotated[str, typer.Option("--to", help="End (exclusive), like --from.")],
    check: Annotated[
        bool, typer.Option("--check", help="Only report what of the range is rolled up.")
    ] = False,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Rebuild the 15-minute rollups and the day rows of [--from, --to) from the stored
    readings (or --check them)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from smartpark.analytics import periods
    from smartpark.analytics.days import build as days_build
    from smartpark.analytics.days import source as days_source
    from smartpark.analytics.windows.rollups import build, source
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import ContractError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    tz = reg.zones[reg.zone_ids[0]].timezone
    try:
        start = periods.parse_instant(from_, tz, "--from")
        end = periods.parse_instant(to, tz, "--to")
    except ContractError as exc:
        raise typer.BadParameter(exc.detail or str(exc), param_hint=exc.field) from None
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    console = Console(stderr=True)
    the_store = open_store(settings.store_url, reg)
    try:
        if check:
            cov = source.coverage(the_store, reg, start, end)
            typer.echo(
                f"{cov.windows} windows: {cov.current} current, {cov.dirty} dirty, "
                f"{cov.outdated} outdated, {cov.missing} not rolled up"
            )
            if cov.dirty_runs:
                typer.echo(
                    f"dirty (readings written after they were rolled up; read raw until "
                    f"re-rolled): {source.runs_text(cov.dirty_runs)}"
                )
                typer.echo(
                    "re-roll them and rewrite the KPI periods they changed (each cycle of "
                    "`smartpark kpi --follow` does this; pass the --period you follow, "
                    f"default day): {source.REROLL_COMMAND}"
                )
            if cov.outdated_days:
                typer.echo(f"rebuild the outdated ones: {source.rebuild_hint(cov.outdated_days)}")
            day_cov = days_source.coverage(the_store, reg, start, end)
            typer.echo(
                f"{day_cov.cells} day cells: {day_cov.current} current, {day_cov.stale} "
                f"stale, {day_cov.outdated} outdated, {day_cov.missing} not built"
            )
            if day_cov.stale:
                typer.echo(
                    "stale days (readings written into them since) are read from the "
                    f"15-minute level until rebuilt by: {source.REROLL_COMMAND}"
                )
            if day_cov.outdated:
                typer.echo(f"rebuild the outdated days: {day_cov.rebuild_hint}")
            if day_cov.missing:
                typer.echo(f"build the missing days: smartpark rollup --from {from_} --to {to}")
            return
        with Progress(
            TextColumn("rollup"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f} %"),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as bar:
            task = bar.add_task("rollup", total=end - start)
            done = build.build(
                the_store,
                reg,
                start,
                end,
                progress=lambda d, total: bar.update(task, completed=d),
            )
            task = bar.add_task("days", total=end - start)
            built_days = days_build.build(
                the_store, reg, start, end, progress=lambda d, total: bar.update(task, completed=d)
            )
    finally:
        the_store.close()
    typer.echo(
        f"rolled up {done.windows} windows in {len(done.ranges)} pieces: {done.rows} rollup "
        f"rows from {done.readings} readings"
    )
    typer.echo(
        f"built {built_days.cells} day cells: {built_days.meter_rows} meter rows, "
        f"{built_days.scope_rows} "
        "scope rows"
    )
    if done.readings == 0:
        typer.echo(f"the store holds no readings in [{from_}, {to}): check --store", err=True)
