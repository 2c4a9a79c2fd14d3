"""DL/T 645-2007 meters through the whole gateway: our meter simulator on a pty (an RS-485
line), the [dlt645.BUS] config, the driver, the outbox, a real mosquitto, a subscriber."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartpark.gateway import config as gwconfig
from smartpark.gateway.drivers import dlt645_codec as codec
from smartpark.gateway.drivers.dlt645_sim import LineSimulator, SimMeter, serve_pty
from smartpark.gateway.report import meter_rows
from smartpark.gateway.service import Gateway
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto
from tests.gateway.test_gateway_e2e import by_meter, until, write_config, write_registry

pytestmark = pytest.mark.timeout(90)


def test_dlt645_meters_reach_a_real_subscriber_through_the_gateway(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.toml"
    write_registry(
        registry,
        {"meter-import": "electricity_import", "meter-power": "active_power"},
    )
    energy = codec.data_id("forward_active_energy").di
    power = codec.data_id("active_power_total").di
    sim = LineSimulator(
        [
            SimMeter("000000000001", overrides={energy: 1206.42}),
            SimMeter("202401150042", overrides={power: -1.2345}),
        ]
    )
    collector = Collector(mosquitto.host, mosquitto.port).start()
    rows: list[tuple[str, str, str, str]] = []

    async def main() -> None:
        line = serve_pty(sim)
        try:
            body = f"""
[dlt645.feeder]
device = "{line.device}"
baudrate = 9600
timeout_s = 0.5
[[dlt645.feeder.read]]
meter = "meter-import"
address = "000000000001"
di = "00010000"
[[dlt645.feeder.read]]
meter = "meter-power"
address = "202401150042"
di = "active_power_total"
scale = 40.0
"""
            cfg = gwconfig.load(write_config(tmp_path / "gw.toml", registry, mosquitto.url, body))
            rows.extend(meter_rows(cfg))
            gw = Gateway(cfg)
            task = asyncio.create_task(gw.run())
            try:
                await until(
                    lambda: sum(r["meter"] == "meter-power" for r in collector.readings()) >= 2,
                    30,
                    "two polls of meter-power",
                )
            finally:
                gw.stop()
                await asyncio.wait_for(task, 30)
        finally:
            line.close()

    try:
        asyncio.run(main())
        readings = by_meter(collector.readings())
    finally:
        collector.stop()
    imported = readings["meter-import"]
    assert {(r["quantity"], r["unit"]) for r in imported} == {("electricity_import", "kWh")}
    assert [r["value"] for r in imported] == [pytest.approx(1206.42)] * len(imported)
    power_readings = readings["meter-power"]
    assert {(r["quantity"], r["unit"]) for r in power_readings} == {("active_power", "kW")}
    assert [r["value"] for r in power_readings] == [pytest.approx(-49.38)] * len(power_readings)
    how = {meter: read_by for meter, _, _, read_by in rows}
    assert how["meter-import"].startswith("dlt645.feeder meter 000000000001")
    assert "active_power_total" in how["meter-power"]


def test_a_meter_read_by_modbus_and_dlt645_is_an_error_naming_both(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    write_registry(registry, {"m": "electricity_import"})
    body = """
[modbus.board]
host = "127.0.0.1"
[[modbus.board.read]]
meter = "m"
address = 0
type = "float32"
[dlt645.feeder]
device = "/dev/ttyUSB0"
[[dlt645.feeder.read]]
meter = "m"
address = "000000000001"
di = "00010000"
"""
    path = write_config(tmp_path / "gw.toml", registry, "mqtt://127.0.0.1:1883", body)
    with pytest.raises(gwconfig.ConfigError) as info:
        gwconfig.load(path)
    text = "\n".join(info.value.problems)
    assert "dlt645.feeder.read[0].meter" in text
    assert "modbus.board.read[0]" in text
