"""``smartpark grafana dashboards|provision|push``: generate the dashboards and the
provisioning files, upload them to Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import ConfigOption, RegistryOption, StoreOption, report_errors


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Grafana dashboards and datasource.", no_args_is_help=True)
    group.command("dashboards")(dashboards)
    group.command("provision")(provision)
    group.command("push")(push)
    app.add_typer(group, name="grafana")


@report_errors
def dashboards(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the dashboard JSON files.")
    ] = Path("deploy/grafana/dashboards"),
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the zone overview, park and operations dashboards as JSON files."""
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.grafana.dashboards import write_dashboards

    settings = load_settings(CommonSettings, config, registry=registry)
    reg = registry_mod.load(settings.registry)
    for path in write_dashboards(reg, out):
        typer.echo(str(path))


@report_errors
def provision(
    out: Annotated[
        Path, typer.Option("--out", help="The Grafana deploy directory to write into.")
    ] = Path("deploy/grafana"),
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the zone dashboards, one dashboard and one provider per park folder.

    Teams and folder permissions cannot be provisioned from files in Grafana OSS: run
    `smartpark grafana push` against the running Grafana to set them.
    """
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.grafana.provisioning import write_provisioning

    settings = load_settings(CommonSettings, config, registry=registry)
    for path in write_provisioning(registry_mod.load(settings.registry), out):
        typer.echo(str(path))


@report_errors
def push(
    url: Annotated[str, typer.Option("--url", help="Grafana base URL, e.g. https://grafana:3000.")],
    influx_url: Annotated[
        str | None,
        typer.Option(
            "--influx-url", help="InfluxDB URL as Grafana reaches it (default: the store's)."
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="InfluxQL database (default: the store's database or bucket; on 2.x/3.x a "
            "DBRP mapping ties it to the bucket).",
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="Also create the Prometheus datasource of the operations dashboard's "
            "Services row (URL as Grafana reaches it).",
        ),
    ] = None,
    store: StoreOption = None,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Create or update the datasources, a team and folder per park, the folders'
    permissions and the dashboards (same uids and names; safe to rerun).

    The API token comes from SMARTPARK_GRAFANA_TOKEN or SMARTPARK_GRAFANA_TOKEN_FILE; the
    InfluxDB token (2.x/3.x) from SMARTPARK_INFLUX_TOKEN[_FILE], a 1.x user and password
    from SMARTPARK_INFLUX_USER / SMARTPARK_INFLUX_PASSWORD[_FILE].
    """
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.grafana.push import push_to_grafana

    settings = load_settings(CommonSettings, config, registry=registry, store=store)
    result = push_to_grafana(
        url,
        settings.store_url,
        registry_mod.load(settings.registry),
        influx_url=influx_url,
        database=database,
        prometheus_url=prometheus_url,
    )
    for line in result.lines():
        typer.echo(line)
