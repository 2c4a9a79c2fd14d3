"""``smartpark bench [NAME] [ARGS]...``: run a benchmark of the repository's ``bench/``.

Benchmarks print figures (readings/s, latency percentiles, memory); they decide
nothing. They live in the source repository, not in the installed package, so this
command looks for ``bench/`` in the current directory (run it from a clone).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import err_console


def register(app: typer.Typer) -> None:
    app.command(
        "bench",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(bench)


def bench_dir() -> Path | None:
    candidate = Path("bench")
    if candidate.is_dir() and any(candidate.glob("bench_*.py")):
        return candidate
    return None


def bench(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Benchmark to run (e.g. ingest); none lists them.")
    ] = None,
) -> None:
    """Run bench/bench_NAME.py with the remaining arguments, or list the benchmarks."""
    folder = bench_dir()
    if folder is None:
        err_console.print(
            "error: no bench/ folder here; benchmarks live in the source repository "
            "(run this from a clone)"
        )
        raise typer.Exit(1)
    available = sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))
    if name is None:
        for item in available:
            doc = (folder / f"bench_{item}.py").read_text(encoding="utf-8").split("\n", 1)[0]
            typer.echo(f"{item:<10} {doc.strip(chr(34)).strip()}")
        return
    if name not in available:
        err_console.print(f"error: unknown benchmark {name!r} (available: {', '.join(available)})")
        raise typer.Exit(2)
    script = folder / f"bench_{name}.py"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder.parent), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(script), *ctx.args], env=env, check=False)
    raise typer.Exit(result.returncode)
