"""Options and error handling shared by every command (docs/configuration.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from smartpark.core.errors import ConfigError, OptionError, OutputError, SmartparkError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (SMARTPARK_* variables override it)."),
]
RegistryOption = Annotated[Path | None, typer.Option("--registry", help="Park registry TOML file.")]
BrokerOption = Annotated[
    str | None,
    typer.Option(
        "--broker",
        help="mqtt://[user@]host[:port] or mqtts://...; password from SMARTPARK_MQTT_PASSWORD "
        "or SMARTPARK_MQTT_PASSWORD_FILE.",
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="influxdb://host[:port]/DB, influxdb2://host[:port]/BUCKET?org=ORG "
        "(token from SMARTPARK_INFLUX_TOKEN), influxdbs://, influxdb2s://, or "
        "sqlite:///path/to/store.db.",
    ),
]

LogLevelOption = Annotated[
    str | None, typer.Option(help="debug, info, warning or error.", show_default=False)
]
MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        help="Serve Prometheus /metrics and /healthz on this port (127.0.0.1 unless "
        "metrics_host says otherwise).",
        show_default=False,
    ),
]

# A table's file: any format, and the only way to an .xlsx workbook (binary, never to a
# terminal): `--out FILE.xlsx`, or `--out -` for standard output (`> file.xlsx`).
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write to this file instead of standard output; needed with --format xlsx "
        "('-': standard output, e.g. to redirect it).",
        show_default=False,
    ),
]
SheetLangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="zh or en: the language of the .xlsx headers; default: the zone's lang in "
        "the registry.",
        show_default=False,
    ),
]


def check_out(output: str, out: Path | None) -> None:
    """Before any work: ``--format xlsx`` needs ``--out``; ``--out`` needs a file format."""
    if output == "xlsx" and out is None:
        raise typer.BadParameter(
            "--format xlsx writes a workbook, not text for the terminal: give --out "
            "FILE.xlsx (or --out - to send it to standard output)",
            param_hint="--out",
        )
    if output == "table" and out is not None:
        raise typer.BadParameter(
            "--out writes csv, json or xlsx; add --format csv, json or xlsx",
            param_hint="--out",
        )


def write_out(data: str | bytes, out: Path | None) -> None:
    """``data`` to the file ``out`` (its folder made if needed), or to standard output
    when ``out`` is None or ``-``; a file written is named on stderr."""
    if out is None or str(out) == "-":
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            out.write_bytes(data)
        else:
            out.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise OutputError.cannot_write(out, exc) from None
    err_console.print(f"wrote {out}", markup=False, highlight=False)


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn smartpark errors into a readable message on stderr and exit code 1; an
    :class:`OptionError` is a bad option to typer (usage, exit code 2)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(
                f"[bold red]error:[/] {exc.source}: {len(exc.problems)} error(s)", soft_wrap=True
            )
            for problem in exc.problems:
                err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except OptionError as exc:
            raise typer.BadParameter(str(exc)) from None
        except SmartparkError as exc:
            # soft_wrap: one message, one line, whatever the width (logs, grep, tests)
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None

    return wrapper
