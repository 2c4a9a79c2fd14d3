"""Upload the datasource and dashboards to a Grafana server, idempotently.

``smartpark grafana push --url https://grafana.park.example`` ends in the same state however
often it runs: the datasource is created once and then updated in place under its fixed
uid, the ``smartpark`` folder is created once, and each dashboard is saved with its fixed
uid and ``overwrite: true`` (Grafana keeps the previous versions in its history). The API
token comes from ``SMARTPARK_GRAFANA_TOKEN`` or the file named by
``SMARTPARK_GRAFANA_TOKEN_FILE``, never from the command line.

``grafana-client`` is imported here only, and only when something is pushed: generating
the dashboards does not need it. Without it, push fails with a :class:`GrafanaPushError`
that says to install the ``grafana`` extra (:data:`INSTALL`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from smartpark.core.errors import ConfigError, GrafanaPushError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.core.secrets import read_secret
from smartpark.core.urls import StoreUrl
from smartpark.grafana.dashboards import all_dashboards
from smartpark.grafana.datasource import datasource_payload, prometheus_payload

FOLDER_UID: Final = "smartpark"
FOLDER_TITLE: Final = "smartpark"
INSTALL: Final = "pip install 'smartpark[grafana]'"

log = get_logger(__name__)

Action = Literal["created", "updated"]


class _DatasourceApi(Protocol):
    def get_datasource_by_uid(self, datasource_uid: str) -> Any: ...
    def create_datasource(self, datasource: Any) -> Any: ...
    def update_datasource_by_uid(self, datasource_uid: str, datasource: Any) -> Any: ...


class _FolderApi(Protocol):
    def get_folder(self, uid: str) -> Any: ...
    def create_folder(self, title: str, uid: str | None = None) -> Any: ...


class _DashboardApi(Protocol):
    def update_dashboard(self, dashboard: Any) -> Any: ...


class GrafanaLike(Protocol):
    """The part of ``grafana_client.GrafanaApi`` that :func:`push` uses."""

    @property
    def datasource(self) -> _DatasourceApi: ...
    @property
    def folder(self) -> _FolderApi: ...
    @property
    def dashboard(self) -> _DashboardApi: ...


@dataclass
class PushResult:
    datasources: dict[str, Action]
    folder: Action | None  # None: it existed and was left alone
    dashboards: dict[str, Action | None] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What happened, one line per datasource and dashboard, for the command to print."""
        return [f"datasource {uid}: {a}" for uid, a in self.datasources.items()] + [
            f"dashboard {uid}: {a or 'unchanged'}" for uid, a in self.dashboards.items()
        ]


def _not_installed(where: str) -> GrafanaPushError:
    return GrafanaPushError(f"{where}: grafana-client is not installed; run {INSTALL}")


def connect(url: str, token: str, *, timeout: float = 5.0) -> GrafanaLike:
    """A ``grafana_client.GrafanaApi`` for ``url`` authenticated by the API ``token``."""
    try:
        from grafana_client.api import GrafanaApi
    except ImportError:
        raise _not_installed(url) from None
    api: GrafanaLike = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    return api


def dashboard_payload(
    board: Mapping[str, Any], *, folder_uid: str = FOLDER_UID, message: str = ""
) -> dict[str, Any]:
    """The body of ``POST /api/dashboards/db`` that saves ``board`` under its own uid.

    ``id`` is cleared (ids differ between servers; the uid is the identity) and
    ``overwrite`` set, so a second push replaces the first instead of failing with
    "dashboard with the same uid already exists".
    """
    uid = board.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ValueError(f"dashboard {board.get('title')!r} has no uid; push needs stable uids")
    return {
        "dashboard": {**board, "id": None},
        "folderUid": folder_uid,
        "overwrite": True,
        "message": message or "smartpark grafana push",
    }


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


def push(
    api: GrafanaLike,
    datasources: Sequence[Mapping[str, Any]],
    boards: Sequence[Mapping[str, Any]],
    *,
    where: str = "grafana",
    folder_uid: str = FOLDER_UID,
    folder_title: str = FOLDER_TITLE,
) -> PushResult:
    """Create or update the datasources, the folder and every dashboard in ``api``."""
    try:
        from grafana_client.client import GrafanaException
        from niquests.exceptions import RequestException
    except ImportError:
        raise _not_installed(where) from None

    step = "datasource"
    try:
        actions: dict[str, Action] = {}
        for datasource in datasources:
            uid = str(datasource["uid"])
            step = f"datasource {uid}"
            try:
                api.datasource.get_datasource_by_uid(uid)
                api.datasource.update_datasource_by_uid(uid, dict(datasource))
                actions[uid] = "updated"
            except GrafanaException as exc:
                if not _is_not_found(exc):
                    raise
                api.datasource.create_datasource(dict(datasource))
                actions[uid] = "created"
            log.info("grafana_datasource", uid=uid, action=actions[uid])

        step = "folder"
        folder_action: Action | None = None
        try:
            api.folder.get_folder(folder_uid)
        except GrafanaException as exc:
            if not _is_not_found(exc):
                raise
            api.folder.create_folder(folder_title, uid=folder_uid)
            folder_action = "created"
        result = PushResult(datasources=actions, folder=folder_action)

        for board in boards:
            step = f"dashboard {board.get('uid')}"
            response = api.dashboard.update_dashboard(
                dashboard_payload(board, folder_uid=folder_uid)
            )
            version = response.get("version") if isinstance(response, dict) else None
            action: Action = "created" if version == 1 else "updated"
            result.dashboards[str(board["uid"])] = action
            log.info("grafana_dashboard", uid=board["uid"], action=action, version=version)
        return result
    except GrafanaException as exc:
        detail = getattr(exc, "message", None) or str(exc)
        raise GrafanaPushError(f"{where}: {step}: {detail}") from None
    except RequestException as exc:
        raise GrafanaPushError(f"{where}: {step}: cannot reach Grafana ({exc})") from None


def _check_url(url: str) -> None:
    if "@" in url:
        raise ConfigError(
            "grafana push",
            ["--url: must not carry credentials; set SMARTPARK_GRAFANA_TOKEN(_FILE)"],
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError("grafana push", [f"--url: must be http(s)://host[:port], got {url!r}"])


def push_to_grafana(
    url: str,
    store: StoreUrl,
    registry: Registry,
    *,
    influx_url: str | None = None,
    database: str | None = None,
    prometheus_url: str | None = None,
) -> PushResult:
    """``smartpark grafana push``: the datasources of ``store`` (and Prometheus) and every
    dashboard of ``registry``, pushed to the Grafana at ``url``.

    Secrets come from the environment (:func:`~smartpark.core.secrets.read_secret`): the
    API token from ``SMARTPARK_GRAFANA_TOKEN[_FILE]``, the InfluxDB token (2.x/3.x) from
    ``SMARTPARK_INFLUX_TOKEN[_FILE]``, a 1.x user and password from
    ``SMARTPARK_INFLUX_USER`` / ``SMARTPARK_INFLUX_PASSWORD[_FILE]``.
    """
    token = read_secret("grafana_token")
    if not token:
        raise ConfigError("grafana push", ["SMARTPARK_GRAFANA_TOKEN(_FILE): no API token set"])
    _check_url(url)
    try:
        payloads = [
            datasource_payload(
                store,
                url=influx_url,
                database=database,
                token=read_secret("influx_token"),
                user=read_secret("influx_user"),
                password=read_secret("influx_password"),
            )
        ]
        if prometheus_url:
            payloads.append(prometheus_payload(prometheus_url))
    except ValueError as exc:
        raise ConfigError("grafana push", [str(exc)]) from None
    boards = list(all_dashboards(registry).values())
    return push(connect(url, token), payloads, boards, where=url)
