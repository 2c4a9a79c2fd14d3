"""The lean gateway runner: ``python -m smartpark.gateway --config FILE [options]``.

``smartpark gateway`` validates the configuration and then replaces itself with this
runner (``exec``, same process id), so the long-running gateway does not carry the
command-line framework (typer, and the pydantic it loads) in its memory: an edge device
saves about 10 MiB. Exit codes: 0 stopped by SIGTERM/SIGINT, 1 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path

from smartpark.core.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartpark.gateway", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--broker")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    args = parser.parse_args(argv)

    from smartpark.core import logs
    from smartpark.gateway.config import load
    from smartpark.gateway.service import Gateway

    try:
        cfg = load(args.config, registry_path=args.registry, broker=args.broker)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    changes: dict[str, object] = {}
    if args.metrics_port is not None:
        changes["metrics_port"] = args.metrics_port
    if args.log_level is not None:
        changes["log_level"] = args.log_level
    cfg = dataclasses.replace(cfg, **changes) if changes else cfg  # type: ignore[arg-type]
    logs.configure(cfg.log_level)
    asyncio.run(Gateway(cfg).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
