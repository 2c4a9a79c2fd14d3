"""HJ 212-2017 through the whole gateway: our simulated data logger dials the gateway's
receiver over TCP, the readings go to the outbox, a real mosquitto and a subscriber; the
logger gets its data response (CN 9014) only for what was committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartpark.core.quantities import BY_NAME
from smartpark.gateway import config as gwconfig
from smartpark.gateway.hj212 import simulator
from smartpark.gateway.hj212.codes import CODES
from smartpark.gateway.report import meter_rows
from smartpark.gateway.service import Gateway
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto, free_port
from tests.gateway.test_gateway_e2e import by_meter, until, write_config, write_registry

pytestmark = pytest.mark.timeout(90)

MN = "010000A8900016F000169DC0"
METERS = {"a21026": "stack-so2", "a21002": "stack-nox", "a19001": "stack-o2"}
T0 = 1_764_547_200_000  # 2025-12-01 00:00 UTC


def test_hj212_uploads_reach_a_real_subscriber_through_the_gateway(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.toml"
    write_registry(registry, {m: CODES[c].quantity for c, m in METERS.items()})
    port = free_port()
    body = f"""
[hj212]
port = {port}
[hj212.logger.{MN}]
pw = "123456"
[hj212.logger.{MN}.meters]
""" + "".join(f'{code} = "{meter}"\n' for code, meter in METERS.items())
    cfg = gwconfig.load(write_config(tmp_path / "gw.toml", registry, mosquitto.url, body))
    how = {meter: read_by for meter, _, _, read_by in meter_rows(cfg)}
    assert how["stack-so2"] == f"hj212 logger {MN} code a21026 (mg/m3)"
    logger = simulator.SimLogger(MN, "123456", codes=tuple(METERS))
    collector = Collector(mosquitto.host, mosquitto.port).start()
    count = 5

    async def main() -> simulator.RunReport:
        gw = Gateway(cfg)
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.hj212 is not None and gw.hj212.serving, 10, "receiver")
            report = await simulator.run(
                "127.0.0.1", port, logger, start_ms=T0, count=count, step_ms=30_000
            )
            await until(
                lambda: len(collector.readings()) >= count * len(METERS), 30, "every reading"
            )
        finally:
            gw.stop()
            await asyncio.wait_for(task, 30)
        return report

    try:
        report = asyncio.run(main())
        readings = by_meter(collector.readings())
    finally:
        collector.stop()
    assert (report.sent, report.acked) == (count, count)
    for code, meter in METERS.items():
        rs = readings[meter]
        assert [r["ts"] for r in rs] == [T0 + i * 30_000 for i in range(count)]
        quantity = CODES[code].quantity
        assert {(r["quantity"], r["unit"]) for r in rs} == {
            (quantity, BY_NAME[quantity].canonical_unit)
        }
        factor = BY_NAME[quantity].factor(CODES[code].unit)
        expected = [simulator.value(MN, code, T0 + i * 30_000) * factor for i in range(count)]
        assert [r["value"] for r in rs] == pytest.approx(expected)


def test_a_logger_meter_of_the_wrong_quantity_is_an_error_naming_the_code(
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry.toml"
    write_registry(registry, {"stack-so2": "nox"})
    body = f"""
[hj212]
[hj212.logger.{MN}]
pw = "123456"
[hj212.logger.{MN}.meters]
a21026 = "stack-so2"
a21002 = "nobody"
"""
    path = write_config(tmp_path / "gw.toml", registry, "mqtt://127.0.0.1:1883", body)
    with pytest.raises(gwconfig.ConfigError) as info:
        gwconfig.load(path)
    text = "\n".join(info.value.problems)
    assert f"hj212.logger.{MN}.meters.a21026: a21026 is so2 but meter 'stack-so2' is nox" in text
    assert f"hj212.logger.{MN}.meters.a21002: meter 'nobody' is not read by this gateway" in text
