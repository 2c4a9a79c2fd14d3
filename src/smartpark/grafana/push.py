"""Upload the datasources, folders, teams, permissions and dashboards to Grafana, idempotently.

``smartpark grafana push --url https://grafana.park.example`` ends in the same state however
often it runs. It applies the plan of :mod:`smartpark.grafana.scoping`, in this order:

1. the datasources, created once, then updated in place under their fixed uid (re-sent
   every run: Grafana never returns their secrets, so they cannot be compared); a
   provisioned (read-only) datasource is left alone;
2. the teams ``zone-<id>`` and ``park-<id>``, looked up by name and created when missing;
3. per folder, zone folder first: the folder (created, or retitled when the park's name
   changed), then its permissions (View for its teams and nobody else: the role-based
   defaults of a new folder are replaced), then its dashboards, so no dashboard ever sits
   in a folder that everyone may view. A dashboard equal to the stored one is not saved
   again; one loaded by file provisioning is left alone.

A second run therefore writes nothing but the datasources. The API token (an organisation
admin's, since it creates teams and sets permissions) comes from
``SMARTPARK_GRAFANA_TOKEN`` or the file named by ``SMARTPARK_GRAFANA_TOKEN_FILE``, never
from the command line. Every uid and team name is checked against Grafana's uid rule and
percent-encoded before it goes into a URL.

``grafana-client`` is imported here only, and only when something is pushed: generating
the dashboards does not need it. Without it, push fails with a :class:`GrafanaPushError`
that says to install the ``grafana`` extra (:data:`INSTALL`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol
from urllib.parse import quote

from smartpark.core.errors import ConfigError, GrafanaPushError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.core.secrets import read_secret
from smartpark.core.urls import StoreUrl
from smartpark.grafana.datasource import datasource_payload, prometheus_payload
from smartpark.grafana.scoping import (
    UID_RE,
    VIEW,
    ZONE_FOLDER_TITLE,
    ZONE_FOLDER_UID,
    ScopedFolder,
    folders,
    teams,
)

FOLDER_UID: Final = ZONE_FOLDER_UID
FOLDER_TITLE: Final = ZONE_FOLDER_TITLE
INSTALL: Final = "pip install 'smartpark[grafana]'"

log = get_logger(__name__)

# None in a result: it existed as wanted and was left alone.
Action = Literal["created", "updated", "provisioned"]


class _DatasourceApi(Protocol):
    def get_datasource_by_uid(self, datasource_uid: str) -> Any: ...
    def create_datasource(self, datasource: Any) -> Any: ...
    def update_datasource_by_uid(self, datasource_uid: str, datasource: Any) -> Any: ...


class _FolderApi(Protocol):
    def get_folder(self, uid: str) -> Any: ...
    def create_folder(self, title: str, uid: str | None = None) -> Any: ...
    def update_folder(self, uid: str, title: str | None = None, overwrite: bool = False) -> Any: ...
    def get_folder_permissions(self, uid: str) -> Any: ...
    def update_folder_permissions(self, uid: str, items: Any) -> Any: ...


class _TeamApi(Protocol):
    def get_team_by_name(self, team_name: str) -> Any: ...
    def add_team(self, team: Any) -> Any: ...


class _DashboardApi(Protocol):
    def get_dashboard(self, dashboard_uid: str) -> Any: ...
    def update_dashboard(self, dashboard: Any) -> Any: ...


class GrafanaLike(Protocol):
    """The part of ``grafana_client.GrafanaApi`` that :func:`push` uses."""

    @property
    def datasource(self) -> _DatasourceApi: ...
    @property
    def folder(self) -> _FolderApi: ...
    @property
    def teams(self) -> _TeamApi: ...
    @property
    def dashboard(self) -> _DashboardApi: ...


@dataclass
class PushResult:
    datasources: dict[str, Action]
    folder: Action | None  # the zone folder; None: it existed and was left alone
    dashboards: dict[str, Action | None] = field(default_factory=dict)
    folders: dict[str, Action | None] = field(default_factory=dict)
    teams: dict[str, Action | None] = field(default_factory=dict)
    permissions: dict[str, Action | None] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What happened, one line per object, for the command to print."""

        def said(kind: str, actions: Mapping[str, Action | None]) -> list[str]:
            return [f"{kind} {name}: {a or 'unchanged'}" for name, a in actions.items()]

        return [
            *said("datasource", self.datasources),
            *said("team", self.teams),
            *said("folder", self.folders),
            *said("permissions", self.permissions),
            *said("dashboard", self.dashboards),
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


def url_part(text: str) -> str:
    """``text`` for a URL path or query: a Grafana uid or team name, percent-encoded.

    Raises ``ValueError`` for anything but ``[A-Za-z0-9_-]{1,40}``: such a value never
    comes from a valid registry, and must not be sent as part of a path.
    """
    if not UID_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a Grafana uid or team name ([A-Za-z0-9_-]{{1,40}})")
    return quote(text, safe="")


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


class _Pusher:
    """The push steps on one server; ``step`` names the one under way for errors."""

    def __init__(self, api: GrafanaLike, not_found: type[Exception]) -> None:
        self.api = api
        self.not_found = not_found
        self.step = "connect"

    def _get(self, fetch: Callable[[str], Any], uid: str) -> Any:
        """``fetch(uid)``, or ``None`` when Grafana answers 404."""
        try:
            return fetch(uid)
        except self.not_found as exc:
            if not _is_not_found(exc):
                raise
            return None

    def datasources(self, payloads: Sequence[Mapping[str, Any]]) -> dict[str, Action]:
        actions: dict[str, Action] = {}
        for datasource in payloads:
            uid = str(datasource["uid"])
            self.step = f"datasource {uid}"
            part = url_part(uid)
            stored = self._get(self.api.datasource.get_datasource_by_uid, part)
            if stored is None:
                self.api.datasource.create_datasource(dict(datasource))
                actions[uid] = "created"
            elif isinstance(stored, dict) and stored.get("readOnly"):
                actions[uid] = "provisioned"
            else:
                self.api.datasource.update_datasource_by_uid(part, dict(datasource))
                actions[uid] = "updated"
            log.info("grafana_datasource", uid=uid, action=actions[uid])
        return actions

    def team(self, name: str) -> tuple[int, Action | None]:
        self.step = f"team {name}"
        found = self.api.teams.get_team_by_name(url_part(name))
        for team in found if isinstance(found, list) else []:
            if team.get("name") == name:
                return int(team["id"]), None
        created = self.api.teams.add_team({"name": name})
        log.info("grafana_team", name=name, action="created")
        return int(created["teamId"]), "created"

    def folder(self, uid: str, title: str) -> Action | None:
        self.step = f"folder {uid}"
        part = url_part(uid)
        stored = self._get(self.api.folder.get_folder, part)
        if stored is None:
            self.api.folder.create_folder(title, uid=uid)
            return "created"
        if isinstance(stored, dict) and stored.get("title") != title:
            self.api.folder.update_folder(part, title=title, overwrite=True)
            return "updated"
        return None

    def permissions(self, uid: str, team_ids: Sequence[int]) -> Action | None:
        """View for ``team_ids`` on folder ``uid``, and no other user, team or role."""
        self.step = f"permissions {uid}"
        part = url_part(uid)
        wanted = sorted({(t, VIEW) for t in team_ids})
        stored = self.api.folder.get_folder_permissions(part)
        if _granted(stored) == [(t, 0, "", p) for t, p in wanted]:
            return None
        items = [{"teamId": t, "permission": p} for t, p in wanted]
        self.api.folder.update_folder_permissions(part, {"items": items})
        log.info("grafana_permissions", folder=uid, teams=list(team_ids))
        return "updated"

    def dashboard(self, board: Mapping[str, Any], folder_uid: str) -> Action | None:
        uid = str(board.get("uid"))
        self.step = f"dashboard {uid}"
        payload = dashboard_payload(board, folder_uid=folder_uid)
        stored = self._get(self.api.dashboard.get_dashboard, url_part(uid))
        action: Action = "created"
        if isinstance(stored, dict):
            meta = stored.get("meta") or {}
            if meta.get("provisioned"):
                return "provisioned"
            same_place = meta.get("folderUid") == folder_uid
            if same_place and _content(stored.get("dashboard")) == _content(board):
                return None
            action = "updated"
        response = self.api.dashboard.update_dashboard(payload)
        version = response.get("version") if isinstance(response, dict) else None
        log.info("grafana_dashboard", uid=uid, action=action, version=version)
        return action


def _granted(stored: Any) -> list[tuple[int, int, str, int]]:
    """(team, user, role, level) of a folder's permissions, sorted; Admin is implied."""
    out = []
    for item in stored if isinstance(stored, list) else []:
        role = item.get("role") or ""
        if role == "Admin":
            continue
        team, user = int(item.get("teamId") or 0), int(item.get("userId") or 0)
        out.append((team, user, role, int(item.get("permission") or 0)))
    return sorted(out)


def _content(board: Any) -> Any:
    """A dashboard without the fields the server assigns (``id``, ``version``)."""
    if not isinstance(board, dict):
        return board
    return {k: v for k, v in board.items() if k not in ("id", "version")}


def _guarded(where: str, run: Callable[[_Pusher], PushResult], api: GrafanaLike) -> PushResult:
    """``run`` with Grafana's and the network's errors turned into :class:`GrafanaPushError`."""
    try:
        from grafana_client.client import GrafanaException
        from niquests.exceptions import RequestException
    except ImportError:
        raise _not_installed(where) from None
    pusher = _Pusher(api, GrafanaException)
    try:
        return run(pusher)
    except GrafanaException as exc:
        detail = getattr(exc, "message", None) or str(exc)
        raise GrafanaPushError(f"{where}: {pusher.step}: {detail}") from None
    except RequestException as exc:
        raise GrafanaPushError(f"{where}: {pusher.step}: cannot reach Grafana ({exc})") from None


def push(
    api: GrafanaLike,
    datasources: Sequence[Mapping[str, Any]],
    boards: Sequence[Mapping[str, Any]],
    *,
    where: str = "grafana",
    folder_uid: str = FOLDER_UID,
    folder_title: str = FOLDER_TITLE,
) -> PushResult:
    """Create or update the datasources, one folder and ``boards`` in it; no permissions."""

    def run(p: _Pusher) -> PushResult:
        result = PushResult(datasources=p.datasources(datasources), folder=None)
        result.folder = result.folders[folder_uid] = p.folder(folder_uid, folder_title)
        for board in boards:
            result.dashboards[str(board["uid"])] = p.dashboard(board, folder_uid)
        return result

    return _guarded(where, run, api)


def push_scoped(
    api: GrafanaLike,
    datasources: Sequence[Mapping[str, Any]],
    plan: Sequence[ScopedFolder],
    *,
    where: str = "grafana",
) -> PushResult:
    """Apply ``plan`` (:func:`~smartpark.grafana.scoping.folders`): datasources, teams,
    then per folder the folder, its permissions and its dashboards."""
    for folder in plan:  # refuse a bad uid or team name before the first request
        for name in (folder.uid, *folder.viewers, *(str(b.get("uid")) for b in folder.dashboards)):
            url_part(name)

    def run(p: _Pusher) -> PushResult:
        result = PushResult(datasources=p.datasources(datasources), folder=None)
        team_ids: dict[str, int] = {}
        for name in teams(plan):
            team_ids[name], result.teams[name] = p.team(name)
        for folder in plan:
            result.folders[folder.uid] = p.folder(folder.uid, folder.title)
            viewers = [team_ids[t] for t in folder.viewers]
            result.permissions[folder.uid] = p.permissions(folder.uid, viewers)
            for board in folder.dashboards:
                result.dashboards[str(board["uid"])] = p.dashboard(board, folder.uid)
        result.folder = result.folders.get(ZONE_FOLDER_UID)
        return result

    return _guarded(where, run, api)


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
    """``smartpark grafana push``: the datasources of ``store`` (and Prometheus), and the
    folders, teams, permissions and dashboards of ``registry``'s zones and parks
    (:func:`~smartpark.grafana.scoping.folders`), pushed to the Grafana at ``url``.

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
    return push_scoped(connect(url, token), payloads, folders(registry), where=url)
