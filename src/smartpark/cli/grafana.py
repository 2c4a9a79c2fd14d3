"""``smartpark grafana dashboards|push``: generate the dashboards, upload them to Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import ConfigOption, RegistryOption, StoreOption, report_errors


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Grafana dashboards and datasource.", no_args_is_help=True)
    group.command("dashboards")(dashboards)
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
    """Create or update the datasources and dashboards (same uids; safe to rerun).

    The API token comes from SMARTPARK_GRAFANA_TOKEN or SMARTPARK_GRAFANA_TOKEN_FILE; the
    InfluxDB token (2.x/3.x) from SMARTPARK_INFLUX_TOKEN[_FILE], a 1.x user and password
    from SMARTPARK_INFLUX_USER / SMARTPARK_INFLUX_PASSWORD[_FILE].
    """
    from grafana_client.api import GrafanaApi

    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import ConfigError
    from smartpark.core.settings import CommonSettings, load_settings, read_secret
    from smartpark.grafana import push as push_mod
    from smartpark.grafana.dashboards import all_dashboards
    from smartpark.grafana.datasource import datasource_payload, prometheus_payload

    settings = load_settings(CommonSettings, config, registry=registry, store=store)
    token = read_secret("grafana_token")
    if not token:
        raise ConfigError("grafana push", ["SMARTPARK_GRAFANA_TOKEN(_FILE): no API token set"])
    if "@" in url:
        raise ConfigError(
            "grafana push",
            ["--url: must not carry credentials; set SMARTPARK_GRAFANA_TOKEN(_FILE)"],
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError("grafana push", [f"--url: must be http(s)://host[:port], got {url!r}"])
    try:
        payload = datasource_payload(
            settings.store_url,
            url=influx_url,
            database=database,
            token=read_secret("influx_token"),
            user=read_secret("influx_user"),
            password=read_secret("influx_password"),
        )
        payloads = [payload]
        if prometheus_url:
            payloads.append(prometheus_payload(prometheus_url))
    except ValueError as exc:
        raise ConfigError("grafana push", [str(exc)]) from None
    boards = list(all_dashboards(registry_mod.load(settings.registry)).values())
    api = GrafanaApi.from_url(url, credential=token)
    result = push_mod.push(api, payloads, boards, where=url)
    for uid, ds_action in result.datasources.items():
        typer.echo(f"datasource {uid}: {ds_action}")
    for uid, board_action in result.dashboards.items():
        typer.echo(f"dashboard {uid}: {board_action or 'unchanged'}")
