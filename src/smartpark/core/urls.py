"""Broker and store URLs of the common options (docs/configuration.md).

- broker: ``mqtt://[user@]host[:port]`` or ``mqtts://...`` (TLS). The password never
  travels in the URL: it comes from ``SMARTPARK_MQTT_PASSWORD`` or the file named by
  ``SMARTPARK_MQTT_PASSWORD_FILE``.
- store: ``influxdb://host[:port]/DB`` (v1 ``/write`` + ``/query``; user/password from
  ``SMARTPARK_INFLUX_USER`` / ``SMARTPARK_INFLUX_PASSWORD``), ``influxdb2://host[:port]/
  BUCKET?org=ORG`` (``/api/v2/write``; token from ``SMARTPARK_INFLUX_TOKEN``), the https
  variants ``influxdbs://`` and ``influxdb2s://``, or ``sqlite:///path/to/store.db``.

The defaults (:data:`DEFAULT_BROKER`, :data:`DEFAULT_STORE`) live here, not in
:mod:`smartpark.core.settings`, so that the lean gateway shares them without pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

StoreKind = Literal["influxdb", "influxdb2", "sqlite"]

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
DEFAULT_STORE = "sqlite:///smartpark.db"  # relative to the working directory

_STORE_SCHEMES: dict[str, tuple[StoreKind, bool]] = {
    "influxdb": ("influxdb", False),
    "influxdbs": ("influxdb", True),
    "influxdb2": ("influxdb2", False),
    "influxdb2s": ("influxdb2", True),
    "sqlite": ("sqlite", False),
}


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool = False
    username: str | None = None

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class StoreUrl:
    kind: StoreKind
    host: str = ""
    port: int = 8086
    tls: bool = False
    database: str = ""  # InfluxDB 1.x database, or 2.x/3.x bucket
    org: str | None = None
    path: str = ""  # sqlite file

    @property
    def http_base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def __str__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        scheme = self.kind + ("s" if self.tls else "")
        query = f"?org={self.org}" if self.org else ""
        return f"{scheme}://{self.host}:{self.port}/{self.database}{query}"


def parse_broker_url(url: str) -> BrokerUrl:
    """Parse ``mqtt://[user@]host[:port]``; ``ValueError`` says what is wrong."""
    parts = _split(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
    if parts.password is not None:
        raise ValueError(
            "broker URL must not carry a password; set SMARTPARK_MQTT_PASSWORD or "
            "SMARTPARK_MQTT_PASSWORD_FILE"
        )
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {_redact(url)!r}")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"broker URL takes no path or query: {_redact(url)!r}")
    tls = parts.scheme == "mqtts"
    return BrokerUrl(
        host=parts.hostname,
        port=_port(parts, 8883 if tls else 1883, url),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
    )


def parse_store_url(url: str) -> StoreUrl:
    """Parse a store URL (see module docstring); ``ValueError`` says what is wrong."""
    parts = _split(url)
    if parts.scheme not in _STORE_SCHEMES:
        raise ValueError(
            f"store URL scheme must be one of {', '.join(s + '://' for s in _STORE_SCHEMES)}, "
            f"got {_redact(url)!r}"
        )
    kind, tls = _STORE_SCHEMES[parts.scheme]
    if parts.password is not None or parts.username is not None:
        raise ValueError(
            "store URL must not carry credentials; set SMARTPARK_INFLUX_USER/"
            "SMARTPARK_INFLUX_PASSWORD or SMARTPARK_INFLUX_TOKEN"
        )
    if kind == "sqlite":
        if parts.netloc or not parts.path or parts.path == "/":
            raise ValueError(f"sqlite store URL must be sqlite:///path/to/store.db, got {url!r}")
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs/x.db -> "/abs/x.db"
        return StoreUrl(kind="sqlite", path=unquote(parts.path[1:]))
    if not parts.hostname:
        raise ValueError(f"store URL has no host: {url!r}")
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        what = "bucket" if kind == "influxdb2" else "database"
        raise ValueError(f"store URL must name one {what} as its path, got {url!r}")
    query = parse_qs(parts.query)
    org = query.pop("org", [None])[0]
    if query:
        raise ValueError(f"store URL has unknown query parameters {sorted(query)}: {url!r}")
    if kind == "influxdb2" and not org:
        raise ValueError(f"influxdb2 store URL needs ?org=ORG, got {url!r}")
    if kind == "influxdb" and org:
        raise ValueError(f"influxdb (v1) store URL takes no org, got {url!r}")
    return StoreUrl(
        kind=kind,
        host=parts.hostname,
        port=_port(parts, 8086, url),
        tls=tls,
        database=database,
        org=org,
    )


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url or any(c.isspace() for c in url):
        raise ValueError(f"not a URL: {url!r}")
    return urlsplit(url)


def _port(parts: SplitResult, default: int, url: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"invalid port in {_redact(url)!r}") from None
    return int(port) if port is not None else default


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@")
