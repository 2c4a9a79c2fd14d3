"""``smartpark registry check FILE``: validate a park registry and summarise it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from smartpark.cli.common import RegistryOption, report_errors


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Inspect and validate the park registry.", no_args_is_help=True)
    group.command("check")(check)
    app.add_typer(group, name="registry")


@report_errors
def check(
    file: Annotated[
        Path | None, typer.Argument(help="Registry TOML file.", show_default=False)
    ] = None,
    registry_option: RegistryOption = None,
) -> None:
    """Validate FILE; print every error with its path, or a summary table. Exit 1 on errors."""
    from smartpark.core import quantities, registry

    file = file or registry_option
    if file is None:
        raise typer.BadParameter("give the registry file (FILE or --registry FILE)")
    reg = registry.load(file)
    kinds = quantities.KINDS
    table = Table(title=f"{file}: registry OK")
    table.add_column("park (zone)")
    for column in ("firms", "gateways", "meters (sub)", *kinds):
        table.add_column(column, justify="right")
    for park_id in reg.park_ids:
        park = reg.parks[park_id]
        meters = [m for m in reg.meters.values() if reg.enterprises[m.enterprise].park == park_id]
        per_kind = Counter(quantities.BY_NAME[m.quantity].kind for m in meters)
        roles = Counter(m.role for m in meters)
        table.add_row(
            f"{park_id} ({park.zone}{', enclave' if park.enclave else ''})",
            str(sum(e.park == park_id for e in reg.enterprises.values())),
            str(sum(g.park == park_id for g in reg.gateways.values())),
            f"{len(meters)} ({roles['sub']})",
            *(str(per_kind[k]) for k in kinds),
        )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    by_hand = sum(m.manual for m in reg.meters.values())
    console.print(
        f"{len(reg.zones)} zone(s), {len(reg.parks)} park(s), {len(reg.enterprises)} "
        f"enterprise(s), {len(reg.gateways)} gateway(s), {len(reg.meters)} meter(s)"
        + (f" ({by_hand} read by hand)" if by_hand else "")
        + (f", {len(reg.products)} product(s)" if reg.products else "")
    )
    for ident in reg.product_ids:
        p = reg.products[ident]
        levels = " / ".join(f"{v:g}" for v in p.limit.corrected(p.inputs))
        output = f"output meter {p.output_meter}" if p.output_meter else "output entered"
        console.print(
            f"  product {ident} ({p.enterprise}): {p.standard} {p.category}, "
            f"levels {levels} {p.limit.unit}, {len(p.meters)} boundary meter(s), {output}",
            soft_wrap=True,
        )
