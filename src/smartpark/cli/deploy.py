"""``smartpark deploy acl``: deployment files generated from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import ConfigOption, RegistryOption, report_errors


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Deployment files generated from the registry.", no_args_is_help=True)
    group.command("acl")(acl)
    app.add_typer(group, name="deploy")


@report_errors
def acl(
    registry: RegistryOption = None,
    ingest_user: Annotated[
        list[str] | None,
        typer.Option("--ingest-user", help="MQTT user of ingest (repeat for several)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the mosquitto ACL: each gateway publishes only under its park's topic."""
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.deploy.acl import DEFAULT_INGEST_USER, mosquitto_acl

    settings = load_settings(CommonSettings, config, registry=registry)
    text = mosquitto_acl(registry_mod.load(settings.registry), ingest_user or [DEFAULT_INGEST_USER])
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
