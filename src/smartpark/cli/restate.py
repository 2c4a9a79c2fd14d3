"""``smartpark kpi restate``: recompute stored KPIs with the factor sets now valid.

::

    smartpark kpi restate --from 2025-10-01 --to 2026-01-01            # dry run: the table
    smartpark kpi restate --from 2025-10-01 --to 2026-01-01 --park petrochem --write \\
        --record restated.csv    # old and new points listed in restated.csv

Logic: :mod:`smartpark.analytics.restate` (docs/kpis.md, "Restating history").
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    LogLevelOption,
    RegistryOption,
    StoreOption,
    report_errors,
)


def register(group: typer.Typer) -> None:
    group.command("restate")(restate)


@report_errors
def restate(
    from_: Annotated[
        str, typer.Option("--from", help="Start: a date (local midnight) or RFC 3339 time.")
    ],
    to: Annotated[str, typer.Option("--to", help="End (exclusive), like --from.")],
    park: Annotated[
        str | None,
        typer.Option(
            "--park", help="Only this park (its enterprises, itself, its zone).", show_default=False
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Apply: replace the changed points (default: dry run).")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option(
            "--record",
            help="CSV of the old and new points, written with --write. "
            "Default: restated-FROM-TO.csv in the current directory.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Recompute the stored KPIs of [--from, --to) and show tCO2 and tCO2/tce before/after."""
    from smartpark.analytics import restate as restate_mod
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    path = record or Path(f"restated-{from_}-{to}.csv".replace(":", ""))
    the_store = open_store(settings.store_url, reg)
    try:
        result = restate_mod.restate_range(
            the_store, reg, from_, to, park=park, write=write, record=path
        )
    finally:
        the_store.close()
    sys.stdout.write(restate_mod.render(result, write=write))
