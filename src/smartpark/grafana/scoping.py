"""Who sees which dashboards in Grafana: a folder and a team per park, one zone folder.

The roles of the platform (docs/deploy.md, "Grafana scoped by park"): the zone's management
committee sees every park, a park's operating company sees its own park. In Grafana that
is one organisation with

- the zone folder (uid :data:`ZONE_FOLDER_UID`, the ``smartpark`` folder the dashboards
  always lived in): zone overview, the park dashboard with a free park choice, operations;
  viewed by every ``zone-<id>`` team;
- a folder per park (uid ``smartpark-park-<id>``, titled with the park's name) holding that
  park's dashboard, whose ``park`` (and ``zone``) variable is a hidden constant and whose
  panels are those the park's meters can fill; viewed by the team ``park-<id>`` and by the
  team of the park's zone, nobody else.

This module only plans: uids, team names, the fixed dashboards and who views which
folder. :mod:`smartpark.grafana.push` applies the plan over the HTTP API and
:mod:`smartpark.grafana.provisioning` writes it as provisioning files. Every id is
checked (:func:`~smartpark.core.ids.check_id`) before it becomes a uid or a team name, so
nothing but a slug can reach a URL.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from smartpark.core.ids import check_id
from smartpark.core.registry import Registry
from smartpark.grafana.dashboards import all_dashboards, park_dashboard
from smartpark.grafana.panels import Json

ZONE_FOLDER_UID: Final = "smartpark"
ZONE_FOLDER_TITLE: Final = "smartpark"
PARK_FOLDER_PREFIX: Final = "smartpark-park-"
PARK_BOARD_PREFIX: Final = "smartpark-board-"
VIEW: Final = 1  # Grafana's folder permission level "View"

# Grafana's own rule for uids: letters, digits, '-' and '_', at most 40 characters.
UID_MAX: Final = 40
UID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _uid(prefix: str, ident: str, field: str) -> str:
    """``prefix + ident``, or for a long id a stable 40-character form with a hash tail."""
    check_id(ident, field)
    uid = prefix + ident
    if len(uid) <= UID_MAX:
        return uid
    tail = hashlib.sha256(ident.encode()).hexdigest()[:8]
    return f"{prefix}{ident[: UID_MAX - len(prefix) - 9]}-{tail}"


def park_folder_uid(park_id: str) -> str:
    return _uid(PARK_FOLDER_PREFIX, park_id, "park")


def park_board_uid(park_id: str) -> str:
    return _uid(PARK_BOARD_PREFIX, park_id, "park")


def park_team(park_id: str) -> str:
    return f"park-{check_id(park_id, 'park')}"


def zone_team(zone_id: str) -> str:
    return f"zone-{check_id(zone_id, 'zone')}"


def fixed_variable(variable: Json, value: str) -> Json:
    """``variable`` as a hidden constant holding only ``value``: no choice left to make."""
    option = {"selected": True, "text": value, "value": value}
    return {
        "type": "constant",
        "name": variable["name"],
        "label": variable.get("label", variable["name"]),
        "query": value,
        "current": option,
        "options": [option],
        "hide": 2,
        "skipUrlSync": True,
    }


def park_dashboard_for(registry: Registry, park_id: str) -> Json:
    """The park dashboard of one park: its ``park`` and ``zone`` variables fixed to it,
    and only the panels that park's meters can fill (:mod:`smartpark.grafana.needs`)."""
    park = registry.parks[check_id(park_id, "park")]
    board = copy.deepcopy(park_dashboard(registry, [park_id]))
    fixed = {"park": park_id, "zone": park.zone}
    variables = board["templating"]["list"]
    if "park" not in {v["name"] for v in variables}:
        raise ValueError("the park dashboard has no 'park' variable to fix; see dashboards.py")
    board["templating"]["list"] = [
        fixed_variable(v, fixed[v["name"]]) if v["name"] in fixed else v for v in variables
    ]
    board["uid"] = park_board_uid(park_id)
    board["title"] = f"smartpark / {park.name}"
    board["tags"] = [*board["tags"], f"park:{park_id}"]
    return board


@dataclass(frozen=True, slots=True)
class ScopedFolder:
    """A folder, the teams that may view it (nobody else may) and its dashboards.

    ``park`` is the park a park folder is for; ``None`` for the zone folder.
    """

    uid: str
    title: str
    viewers: tuple[str, ...]
    dashboards: tuple[Json, ...]
    park: str | None = None


def folders(registry: Registry) -> list[ScopedFolder]:
    """The zone folder first, then one folder per park in id order."""
    zone = ScopedFolder(
        ZONE_FOLDER_UID,
        ZONE_FOLDER_TITLE,
        tuple(zone_team(z) for z in registry.zone_ids),
        tuple(all_dashboards(registry).values()),
    )
    parks = [
        ScopedFolder(
            park_folder_uid(p),
            registry.parks[p].name,
            (park_team(p), zone_team(registry.parks[p].zone)),
            (park_dashboard_for(registry, p),),
            park=p,
        )
        for p in registry.park_ids
    ]
    return [zone, *parks]


def teams(plan: Sequence[ScopedFolder]) -> list[str]:
    """Every team the plan names, zone teams first, each once."""
    names = dict.fromkeys(t for f in plan for t in f.viewers)
    return sorted(names, key=lambda t: (not t.startswith("zone-"), t))
