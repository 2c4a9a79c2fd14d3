"""The one Grafana datasource every smartpark dashboard queries: InfluxDB over InfluxQL.

Two variants with the same uid, so the dashboards work with either:

- InfluxDB 1.x: ``/query`` with an optional user and password;
- InfluxDB 2.x / 3.x through the v1 compatibility API: InfluxQL on a database name that a
  DBRP mapping ties to the bucket, authenticated by an ``Authorization: Token ...`` header.

A second, optional datasource is the Prometheus that scrapes the services' own metrics;
only the "Services" row of the operations dashboard uses it.

The provisioning files in ``deploy/grafana/`` carry the same settings with the secret
taken from a file (Grafana's ``$__file{...}``); :func:`datasource_payload` builds the body
that ``smartpark grafana push`` sends, with the secret read by
:func:`smartpark.core.settings.read_secret`.
"""

from __future__ import annotations

from typing import Any, Final

from smartpark.core.urls import StoreUrl

DATASOURCE_UID: Final = "smartpark-influxdb"
DATASOURCE_NAME: Final = "smartpark InfluxDB"
PROMETHEUS_UID: Final = "smartpark-prometheus"
PROMETHEUS_NAME: Final = "smartpark Prometheus"
MIN_INTERVAL: Final = "10s"  # the finest meter interval worth a point on a chart


def datasource_payload(
    store: StoreUrl,
    *,
    url: str | None = None,
    database: str | None = None,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """The Grafana API body for the smartpark datasource of ``store``.

    ``url`` is the InfluxDB address as Grafana sees it (default: the store's own);
    ``database`` the InfluxQL database (default: the store's database or bucket; on 2.x
    a DBRP mapping must map it to the bucket). A 2.x/3.x store needs ``token``.
    """
    if store.kind not in ("influxdb", "influxdb2"):
        raise ValueError(f"Grafana needs an InfluxDB store, got {store.kind}://")
    json_data: dict[str, Any] = {
        "dbName": database or store.database,
        "httpMode": "POST",
        "timeInterval": MIN_INTERVAL,
    }
    secure: dict[str, str] = {}
    payload: dict[str, Any] = {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "access": "proxy",
        "url": url or store.http_base,
        "isDefault": True,
        "jsonData": json_data,
    }
    if store.kind == "influxdb2":
        if not token:
            raise ValueError(
                "an InfluxDB 2.x/3.x datasource needs a token (SMARTPARK_INFLUX_TOKEN)"
            )
        json_data["httpHeaderName1"] = "Authorization"
        secure["httpHeaderValue1"] = f"Token {token}"
    elif user:
        payload["user"] = user
        if password:
            secure["password"] = password
    if secure:
        payload["secureJsonData"] = secure
    return payload


def prometheus_payload(url: str) -> dict[str, Any]:
    """The Grafana API body for the Prometheus that scrapes the services' ``/metrics``."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"Prometheus URL must be http(s)://host[:port], got {url!r}")
    return {
        "uid": PROMETHEUS_UID,
        "name": PROMETHEUS_NAME,
        "type": "prometheus",
        "access": "proxy",
        "url": url,
        "isDefault": False,
        "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
    }
