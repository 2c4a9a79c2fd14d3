"""Run the ingest service in-process for a test, against a real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from smartpark.core.registry import Registry
from smartpark.ingest.service import Running, serve
from smartpark.ingest.settings import IngestSettings
from smartpark.store.base import Store
from smartpark.testing.servers import Mosquitto


def settings_for(broker: Mosquitto, tmp_path: Path, **over: Any) -> IngestSettings:
    values: dict[str, Any] = {
        "broker": broker.url,
        "store": f"sqlite:///{tmp_path / 'unused.db'}",
        "client_id": f"ingest-{uuid.uuid4().hex[:8]}",
        "dead_letters": tmp_path / "dead.db",
        "batch_ms": 20,
        "retry_base_s": 0.01,
        "retry_max_s": 0.2,
    }
    values.update(over)
    return IngestSettings(**values)


async def eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def run_service(
    settings: IngestSettings,
    registry: Registry,
    store: Store | None,
    body: Callable[[Running], Awaitable[None]],
    timeout: float = 60.0,
) -> None:
    """Start the service, wait until subscribed, run ``body``, then stop it (as SIGTERM).

    With ``store=None`` the service opens the store of ``settings.store`` itself.
    """

    async def main() -> None:
        stop = asyncio.Event()
        started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as tg:
            service = tg.create_task(
                serve(settings, registry=registry, store=store, stop=stop, started=started)
            )
            running = await started
            try:
                await eventually(lambda: running.subscriber.subscribed)
                await body(running)
            finally:
                stop.set()
            await service

    asyncio.run(main())
