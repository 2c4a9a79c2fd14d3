"""``smartpark serve``: the read API and web view over the store (docs/api.md).

::

    smartpark tokens create --role read --scope park:petrochem --name ops
    smartpark serve --store sqlite:///smartpark-demo/store.db --port 8080
"""

from __future__ import annotations

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

TokensOption = Annotated[
    Path | None,
    typer.Option(help="Token and user file (default: smartpark-access.db beside the registry)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


@report_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    tokens: TokensOption = None,
    alerts_state: Annotated[
        Path | None,
        typer.Option(
            help="Alert state file (default: the one beside the store).", show_default=False
        ),
    ] = None,
    landuse_monthly: Annotated[
        Path | None,
        typer.Option(
            help="Monthly CSV for land use (default: the store's monthly KPIs).", show_default=False
        ),
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0, help="Requests per second per token (0: no limit).")
    ] = 20.0,
    burst: Annotated[float, typer.Option(min=1, help="Requests a token may send at once.")] = 60.0,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this certificate.", show_default=False)
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="The certificate's key.", show_default=False)
    ] = None,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (behind a TLS proxy).")
    ] = False,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Serve the JSON API (OpenAPI at /docs) and the web view until Ctrl-C."""
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.serve.app import ServeOptions
    from smartpark.serve.app import serve as run

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    options = ServeOptions(
        host,
        port,
        tokens,
        alerts_state,
        landuse_monthly,
        rate,
        burst,
        tls_cert,
        tls_key,
        secure_cookies,
    )
    run(settings, options)
