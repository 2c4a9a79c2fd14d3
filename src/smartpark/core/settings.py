"""Settings: one model per command, read from a TOML file and ``SMARTPARK_*`` variables.

Precedence, highest first: command-line options, environment (``SMARTPARK_BROKER``,
``SMARTPARK_STORE``, ...), the ``--config`` TOML file, defaults. Every invalid setting is
reported at once (:class:`~smartpark.core.errors.ConfigError`), each as ``key: what is
wrong``, the same shape as every checked file (:mod:`smartpark.core.tomlcheck`), with
``(from SMARTPARK_KEY)`` when the value came from the environment.

Secrets are never settings: :func:`read_secret` takes them from ``SMARTPARK_<NAME>`` or
from the file named by ``SMARTPARK_<NAME>_FILE``, so they stay off command lines and out
of logs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from smartpark.core.errors import ConfigError
from smartpark.core.secrets import (
    read_secret as read_secret,  # re-exported; lives apart (no pydantic)
)
from smartpark.core.tomlcheck import read_toml
from smartpark.core.urls import (
    DEFAULT_BROKER,
    DEFAULT_STORE,
    BrokerUrl,
    StoreUrl,
    parse_broker_url,
    parse_store_url,
)


def _valid_broker(value: str) -> str:
    parse_broker_url(value)
    return value


def _valid_store(value: str) -> str:
    parse_store_url(value)
    return value


BrokerSetting = Annotated[str, AfterValidator(_valid_broker)]
StoreSetting = Annotated[str, AfterValidator(_valid_store)]


class CommonSettings(BaseSettings):
    """The options every service takes (docs/configuration.md); services subclass it."""

    model_config = SettingsConfigDict(env_prefix="SMARTPARK_", extra="forbid", frozen=True)

    registry: Path = Path("registry.toml")
    broker: BrokerSetting = DEFAULT_BROKER
    store: StoreSetting = DEFAULT_STORE
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    # Prometheus metrics and /healthz; localhost only unless an operator says otherwise.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)

    @property
    def broker_url(self) -> BrokerUrl:
        return parse_broker_url(self.broker)

    @property
    def store_url(self) -> StoreUrl:
        return parse_store_url(self.store)


S = TypeVar("S", bound=CommonSettings)


class _FileSource(PydanticBaseSettingsSource):
    """Values of the ``--config`` TOML file, below environment variables."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def load_settings(cls: type[S], config: Path | None = None, **options: Any) -> S:
    """Build settings of type ``cls`` from options, environment and an optional TOML file.

    ``options`` whose value is ``None`` (an option not given) are ignored.
    """
    source = str(config) if config else "settings"
    data: dict[str, Any] = {}
    if config is not None:
        data = read_toml(config, "config file")
        # Relative file paths in the config are relative to the config file.
        base = Path(config).resolve().parent
        for key, value in data.items():
            annotation = cls.model_fields.get(key)
            if annotation is not None and _is_path(annotation) and isinstance(value, str):
                data[key] = str(base / value)

    class _Sourced(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, _FileSource(settings_cls, data)

    given = {k: v for k, v in options.items() if v is not None}
    try:
        built = _Sourced(**given)
    except ValidationError as exc:
        problems = [_problem(err, given) for err in exc.errors()]
        raise ConfigError(source, problems) from None
    return cls.model_validate(built.model_dump())


def _problem(err: Any, given: dict[str, Any]) -> str:
    """``key: message``, naming the variable when the bad value came from the environment."""
    key = ".".join(str(p) for p in err["loc"]) or "settings"
    env = f"SMARTPARK_{key.upper()}"
    origin = f" (from {env})" if key not in given and os.environ.get(env) else ""
    return f"{key}: {_message(err)}{origin}"


def _is_path(field: FieldInfo) -> bool:
    return field.annotation is Path or field.annotation == Path | None


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        return "unknown setting"
    # Our own validators already name the value (redacted); pydantic's do not.
    if err["type"] != "value_error" and isinstance(value, str | int | float):
        return f"{msg} (got {value!r})"
    return msg
