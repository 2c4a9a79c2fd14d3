"""A real HTTP server that records the requests push makes and answers in the shape of
Grafana's HTTP API (folders, teams, folder permissions, dashboards, datasources).

It is not Grafana and does not pretend to check what Grafana would: there is no Grafana
binary for this machine (Debian does not ship it, PyPI has no server). It stores what it
is sent and answers the documented response bodies and status codes, so the tests can
check which requests push sends, in which order, with which bodies, and that a second
push sends no writes. Like Grafana it refuses a missing bearer token (401), a uid that
breaks Grafana's uid rule (400), a second team of the same name (409), a dashboard in a
folder that does not exist (400), and answers 404 for what it does not hold.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
# What a new folder gets in Grafana: the basic roles' default permissions.
DEFAULT_FOLDER_PERMISSIONS = [
    {"role": "Admin", "permission": 4},
    {"role": "Editor", "permission": 2},
    {"role": "Viewer", "permission": 1},
]


@dataclass
class Request:
    method: str
    path: str  # as sent, still percent-encoded
    body: Any


@dataclass
class State:
    datasources: dict[str, dict] = field(default_factory=dict)
    folders: dict[str, dict] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    permissions: dict[str, list[dict]] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Handler(BaseHTTPRequestHandler):
    server: RecordingGrafana

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        state = self.server.state
        with self.server.lock:
            state.requests.append(Request(method, self.path, body))
            if self.headers.get("Authorization") != f"Bearer {self.server.token}":
                return self._answer(401, {"message": "Unauthorized"})
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.split("/")[1:]]
            status, answer = _route(state, method, parts, parse_qs(url.query), body)
        self._answer(status, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


def _route(
    s: State, method: str, parts: list[str], query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    match method, parts:
        case "GET", ["api", "datasources", "uid", uid]:
            if uid not in s.datasources:
                return 404, {"message": "Data source not found"}
            return 200, s.datasources[uid]
        case "POST", ["api", "datasources"]:
            s.datasources[body["uid"]] = {**body, "id": s.new_id()}
            return 200, {"message": "Datasource added", "datasource": body}
        case "PUT", ["api", "datasources", "uid", uid]:
            if uid not in s.datasources:
                return 404, {"message": "Data source not found"}
            s.datasources[uid] = {**s.datasources[uid], **body}
            return 200, {"message": "Datasource updated"}
        case "GET", ["api", "folders", uid]:
            if uid not in s.folders:
                return 404, {"message": "folder not found", "status": "not-found"}
            return 200, s.folders[uid]
        case "POST", ["api", "folders"]:
            uid = body.get("uid", "")
            if not UID.fullmatch(uid):
                return 400, {"message": "uid contains illegal characters"}
            if uid in s.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            s.folders[uid] = {"id": s.new_id(), "uid": uid, "title": body["title"]}
            s.permissions[uid] = [dict(p) for p in DEFAULT_FOLDER_PERMISSIONS]
            return 200, s.folders[uid]
        case "PUT", ["api", "folders", uid]:
            if uid not in s.folders:
                return 404, {"message": "folder not found"}
            s.folders[uid]["title"] = body["title"]
            return 200, s.folders[uid]
        case "GET", ["api", "folders", uid, "permissions"]:
            if uid not in s.folders:
                return 404, {"message": "folder not found"}
            return 200, [{"folderId": s.folders[uid]["id"], **p} for p in s.permissions[uid]]
        case "POST", ["api", "folders", uid, "permissions"]:
            if uid not in s.folders:
                return 404, {"message": "folder not found"}
            s.permissions[uid] = [DEFAULT_FOLDER_PERMISSIONS[0], *body["items"]]
            return 200, {"message": "Folder permissions updated"}
        case "GET", ["api", "teams", "search"]:
            names = query.get("name", [])
            found = [{"id": i, "name": n} for n, i in s.teams.items() if n in names]
            return 200, {"totalCount": len(found), "teams": found, "page": 1, "perPage": 1000}
        case "POST", ["api", "teams"]:
            if body["name"] in s.teams:
                return 409, {"message": "Team name taken"}
            s.teams[body["name"]] = s.new_id()
            return 200, {"message": "Team created", "teamId": s.teams[body["name"]]}
        case "GET", ["api", "dashboards", "uid", uid]:
            if uid not in s.dashboards:
                return 404, {"message": "Dashboard not found"}
            stored = s.dashboards[uid]
            meta = {
                "folderUid": stored["folderUid"],
                "provisioned": stored.get("provisioned", False),
            }
            return 200, {"dashboard": stored["dashboard"], "meta": meta}
        case "POST", ["api", "dashboards", "db"]:
            board, folder = body["dashboard"], body.get("folderUid", "")
            if folder not in s.folders:
                return 400, {"message": "folder not found"}
            uid = board["uid"]
            version = s.dashboards[uid]["dashboard"]["version"] + 1 if uid in s.dashboards else 1
            saved = {**board, "id": s.new_id(), "version": version}
            s.dashboards[uid] = {"dashboard": saved, "folderUid": folder}
            return 200, {"id": saved["id"], "uid": uid, "status": "success", "version": version}
    return 404, {"message": "Not found"}


class RecordingGrafana(ThreadingHTTPServer):
    """``with RecordingGrafana(token) as g:`` serves on ``g.url`` until the block ends."""

    def __init__(self, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.state = State()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def writes(self) -> list[Request]:
        return [r for r in self.state.requests if r.method != "GET"]

    def __enter__(self) -> RecordingGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
