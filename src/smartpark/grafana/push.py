"""Upload the datasource and dashboards to a Grafana server, idempotently.

``smartpark grafana push --url https://grafana.park.example`` ends in the same state however
often it runs: the datasource is created once and then updated in place under its fixed
uid, the ``smartpark`` folder is created once, and each dashboard is saved with its fixed
uid and ``overwrite: true`` (Grafana keeps the previous versions in its history). The API
token comes from ``SMARTPARK_GRAFANA_TOKEN`` or the file named by
``SMARTPARK_GRAFANA_TOKEN_FILE``, never from the command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from smartpark.core.errors import GrafanaPushError
from smartpark.core.logs import get_logger

FOLDER_UID: Final = "smartpark"
FOLDER_TITLE: Final = "smartpark"

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
    from grafana_client.client import GrafanaException
    from niquests.exceptions import RequestException

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
