"""The ``smartpark`` command: one entry point, one module per subcommand group.

Each command module imports the part it drives (gateway, ingest, analytics) lazily inside
its command functions, so ``smartpark --help`` stays fast and the kernel never depends on
a part. Exit codes: 0 ok, 1 error, 2 usage.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="smartpark",
    help="Industrial-park telemetry and low-carbon KPIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines ``register(app)``; add a new command group by adding its module here.
_COMMAND_MODULES = (
    "demo",
    "registry",
    "gateway",
    "ingest",
    "import_",
    "kpi",
    "rollup",
    "alerts",
    "schedule",
    "landuse",
    "idle",
    "grafana",
    "deploy",
    "bench",
    "serve",
    "tokens",
    "report",
    "targets",
    "savings",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"smartpark.cli.{_name}").register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        from smartpark import __version__

        typer.echo(__version__)
        raise typer.Exit(0)
    from smartpark.core import logs

    # Log lines go to stderr from the start, so a command's output on stdout (a token,
    # CSV, JSON) is only that; commands with --log-level configure it again.
    logs.configure("info")


def main() -> None:
    app()
