"""The lean gateway runner: ``python -m smartpark.gateway --config FILE [options]``.

The same gateway as ``smartpark gateway`` (both call :func:`smartpark.gateway.service.run`),
without the command-line framework: the process loads neither typer, rich nor pydantic,
which matters on a small edge device (docs/gateway.md). Exit codes: 0 stopped by
SIGTERM/SIGINT, 1 configuration error, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smartpark.core.errors import ConfigError
from smartpark.gateway.config import LOG_LEVELS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartpark.gateway", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--broker")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--log-level", choices=LOG_LEVELS)
    args = parser.parse_args(argv)

    from smartpark.gateway.service import run

    try:
        return run(args.config, args.registry, args.broker, args.metrics_port, args.log_level)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
