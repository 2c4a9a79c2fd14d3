"""Real mosquitto and influxd servers started locally as subprocesses.

Used by the tests (real servers, never mocks), the benchmarks, and ``smartpark demo``
(which runs mosquitto this way when it is installed).

Each server runs on free loopback ports (``127.0.0.1`` only) with its config,
data and logs in one work directory, and can be stopped, restarted (same
ports, same data) and killed, so tests can exercise real fault paths::

    with Mosquitto() as broker, Influxd() as db:
        db.create_database("park")
        ...  # connect to broker.url, write to db.store_url("park")
        broker.restart()  # persistent sessions and queued QoS 1 messages survive

Nothing here is a mock, and nothing here imports more of ``smartpark`` than its errors. Every
wait is bounded, and a server that does not come up raises :class:`ServerError` with
the tail of its log. Servers still running when the interpreter exits are killed by an
``atexit`` hook.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from smartpark.core.errors import ServerError, ServerNotInstalledError

__all__ = [
    "LOOPBACK",
    "Influxd",
    "Mosquitto",
    "ServerError",
    "ServerNotInstalledError",
    "find_influxd",
    "find_mosquitto",
    "free_port",
    "wait_until",
]

LOOPBACK = "127.0.0.1"
"""The only address the servers listen on."""

DEFAULT_STARTUP_TIMEOUT = 20.0
DEFAULT_STOP_TIMEOUT = 15.0

_T = TypeVar("_T")

# Directories searched after $PATH: daemons live in sbin, often not on PATH.
_EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin")


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Binds port 0, reads the port the kernel chose and closes the socket. Another
    process may take it before the server binds it; the servers below detect
    that on their first start and retry with new ports.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in _EXTRA_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` binary ($PATH, then sbin directories), or None."""
    return _find_binary("mosquitto")


def find_influxd() -> str | None:
    """Path of the InfluxDB 1.x ``influxd`` binary ($PATH, then sbin directories), or None."""
    return _find_binary("influxd")


def wait_until(
    predicate: Callable[[], _T],
    *,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    interval: float = 0.05,
    what: str = "condition",
    details: Callable[[], str] | None = None,
) -> _T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Raises :class:`TimeoutError` after ``timeout`` seconds, naming ``what`` and
    appending ``details()`` (e.g. a server's log tail) to the message. An
    exception raised by ``predicate`` propagates at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:g} s waiting for {what}"
            if details is not None:
                message += "\n" + details()
            raise TimeoutError(message)
        time.sleep(interval)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _toml_str(value: str | Path) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(str(value))


_LIVE: set[_Server] = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.kill()


# --------------------------------------------------------------------------- base


class _Server:
    """Lifecycle shared by both servers: config, subprocess, readiness, logs."""

    name = "server"
    install_hint = ""
    _START_ATTEMPTS = 3  # first start only: new ports when one was taken meanwhile

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None,
        binary: str | None,
        finder: Callable[[], str | None],
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        found = binary or finder()
        if not found:
            raise ServerNotInstalledError(f"{self.name} not installed: {self.install_hint}")
        self.binary: str = found
        self._own_workdir = workdir is None
        path = (
            Path(tempfile.mkdtemp(prefix=f"smartpark-{self.name}-"))
            if workdir is None
            else Path(workdir)
        )
        path.mkdir(parents=True, exist_ok=True)
        self.workdir: Path = path.resolve()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.output_path: Path = self.workdir / f"{self.name}.out"
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_once = False
        self._starts = 0

    # -- to override

    def _allocate_ports(self) -> bool:
        """Pick new free ports; False when none may change (all given by the caller)."""
        raise NotImplementedError

    def _write_config(self) -> None:
        raise NotImplementedError

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def log_paths(self) -> Sequence[Path]:
        """Files the server writes its output and log to."""
        return (self.output_path,)

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    # -- public

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running server, None when stopped."""
        return self._proc.pid if self.running and self._proc is not None else None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of each log file, with headers."""
        parts = []
        for path in self.log_paths:
            text = _tail(path, lines)
            parts.append(f"--- {path} ---\n{text}" if text else f"--- {path} (empty) ---")
        return "\n".join(parts)

    def start(self) -> Self:
        """Start the server and wait until it serves; no-op when already running.

        Raises :class:`ServerError` (with the log tail) when it exits or is not
        ready within ``startup_timeout`` seconds.
        """
        if self.running:
            return self
        attempts = 1 if self._started_once else self._START_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._spawn()
                break
            except ServerError:
                port_taken = "address already in use" in self.log_tail(10).lower()
                # only the first start may move: restarts keep their ports
                if attempt == attempts or not port_taken or not self._allocate_ports():
                    raise
        self._started_once = True
        return self

    def stop(self) -> None:
        """Stop with SIGTERM, wait up to ``stop_timeout`` s, then SIGKILL. Keeps data."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(self.stop_timeout)
        finally:
            self._forget()

    def kill(self) -> None:
        """SIGKILL the server (a crash, for fault tests). Keeps what reached disk."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
                proc.wait(self.stop_timeout)
        finally:
            self._forget()

    def restart(self) -> Self:
        """Stop (SIGTERM) and start again on the same ports with the same data."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server; remove the work directory if this object created it."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals

    def _forget(self) -> None:
        self._proc = None
        _LIVE.discard(self)

    def _spawn(self) -> None:
        self._write_config()
        self._starts += 1
        with self.output_path.open("ab") as out:
            out.write(f"--- start #{self._starts}: {' '.join(self._command())}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._env(),
                start_new_session=True,  # a Ctrl-C of pytest reaches the fixtures, not us
            )
        _LIVE.add(self)
        proc = self._proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {proc.returncode} while starting\n"
                    + self.log_tail()
                )
            return self._ready()

        try:
            wait_until(
                ready,
                timeout=self.startup_timeout,
                what=f"{self.name} to serve",
                details=self.log_tail,
            )
        except TimeoutError as exc:
            self.kill()
            raise ServerError(str(exc)) from None
        except BaseException:
            self.kill()
            raise


# --------------------------------------------------------------------------- mosquitto


class Mosquitto(_Server):
    """A mosquitto 2.x MQTT broker on 127.0.0.1:<free port>, anonymous, persistent.

    Persistence is on, so a :meth:`restart` (SIGTERM, start) keeps persistent
    sessions (``clean_session=False``) and their queued QoS 1/2 messages. The
    broker also saves every ``autosave_interval`` seconds, so after a
    :meth:`kill` (SIGKILL) it loses at most that many seconds of state.
    Queues are effectively unbounded (``max_queued_messages``).
    """

    name = "mosquitto"
    install_hint = "apt-get install mosquitto"

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        binary: str | None = None,
        port: int | None = None,
        autosave_interval: int = 1,
        max_queued_messages: int = 1_000_000,
        max_inflight_messages: int = 100,
        extra_config: Iterable[str] = (),
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    ) -> None:
        super().__init__(workdir, binary, find_mosquitto, startup_timeout, stop_timeout)
        if any(ch.isspace() for ch in str(self.workdir)):
            # mosquitto.conf values cannot hold whitespace
            raise ValueError(f"mosquitto work directory must not contain spaces: {self.workdir}")
        self.host: str = LOOPBACK
        self.port: int = port if port is not None else free_port()
        self._fixed_port = port is not None
        self.autosave_interval = autosave_interval
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.extra_config = list(extra_config)
        self.config_path: Path = self.workdir / "mosquitto.conf"
        self.log_path: Path = self.workdir / "mosquitto.log"
        self.persistence_dir: Path = self.workdir / "persistence"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def log_paths(self) -> Sequence[Path]:
        return (self.output_path, self.log_path)

    def _allocate_ports(self) -> bool:
        if self._fixed_port:
            return False
        self.port = free_port()
        return True

    def _write_config(self) -> None:
        self.persistence_dir.mkdir(exist_ok=True)
        lines = [
            "# written by tests/servers.py",
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            # As root, mosquitto 2 drops to user "mosquitto", which cannot write
            # here; "user root" keeps root (the line has no effect for others).
            "user root",
            "persistence true",
            f"persistence_location {self.persistence_dir}/",  # trailing slash required
            "persistence_file mosquitto.db",
            f"autosave_interval {self.autosave_interval}",
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            *self.extra_config,
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.config_path)]

    def _ready(self) -> bool:
        # A real MQTT 3.1.1 CONNECT/CONNACK, so a stranger on the port does not count.
        connect = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x0a\x00\x00"  # clean session, empty id
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(connect)
                connack = sock.recv(4)
                sock.sendall(b"\xe0\x00")  # DISCONNECT
        except OSError:
            return False
        return connack == b"\x20\x02\x00\x00"


# --------------------------------------------------------------------------- influxd


class Influxd(_Server):
    """An InfluxDB 1.x ``influxd`` on 127.0.0.1:<free port>, with HTTP helpers.

    Only the HTTP API is served (no auth); the RPC/backup listener (default
    ``:8088``) is moved to another free loopback port, and graphite, collectd,
    opentsdb, udp, the ``_internal`` monitor database and usage reporting are
    off. Meta, data and WAL live in the work directory, so :meth:`restart`
    keeps every database.
    """

    name = "influxd"
    install_hint = "apt-get install influxdb"

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        *,
        binary: str | None = None,
        port: int | None = None,
        log_level: str = "warn",
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        http_timeout: float = 30.0,
    ) -> None:
        super().__init__(workdir, binary, find_influxd, startup_timeout, stop_timeout)
        self.host: str = LOOPBACK
        self.port: int = port if port is not None else free_port()
        self.rpc_port: int = free_port()
        self._fixed_port = port is not None
        self.log_level = log_level
        self.http_timeout = http_timeout
        self.config_path: Path = self.workdir / "influxd.toml"
        self._http: httpx.Client | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    def store_url(self, db: str) -> str:
        """``influxdb://127.0.0.1:PORT/DB``: the store URL smartpark takes."""
        return f"influxdb://{self.host}:{self.port}/{db}"

    # -- HTTP helpers

    @property
    def http(self) -> httpx.Client:
        """An httpx client bound to :attr:`url` (ignores proxy env vars)."""
        if self._http is None or str(self._http.base_url).rstrip("/") != self.url:
            if self._http is not None:
                self._http.close()
            # trust_env=False: an HTTP(S)_PROXY in CI must not capture loopback calls
            self._http = httpx.Client(base_url=self.url, timeout=self.http_timeout, trust_env=False)
        return self._http

    def ping(self) -> bool:
        """True when ``GET /ping`` answers 204."""
        try:
            return self.http.get("/ping", timeout=1.0).status_code == 204
        except httpx.HTTPError:
            return False

    def query_raw(
        self, influxql: str, db: str | None = None, *, epoch: str | None = "ms"
    ) -> dict[str, Any]:
        """POST ``/query`` and return the decoded JSON; raise on any error.

        ``epoch`` sets the unit of returned timestamps (``"ms"`` by default,
        matching :meth:`write`); ``None`` returns RFC 3339 strings.
        """
        params = {"q": influxql}
        if db is not None:
            params["db"] = db
        if epoch is not None:
            params["epoch"] = epoch
        response = self.http.post("/query", data=params)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {"error": response.text}
        errors = [body["error"]] if "error" in body else []
        errors += [r["error"] for r in body.get("results", []) if "error" in r]
        if response.status_code != 200 or errors:
            raise ServerError(
                f"influxd query {influxql!r} failed ({response.status_code}): {errors}"
            )
        return body

    def query(self, db: str, influxql: str, *, epoch: str | None = "ms") -> list[dict[str, Any]]:
        """Run ``influxql`` on ``db``; return every row of every series as a dict.

        Each row maps column names (``time`` first) to values; the tags of a
        ``GROUP BY`` series are merged into its rows. An empty result gives
        ``[]``. Note: influxd encodes whole floats as JSON integers (21.0 comes
        back as ``21``), which compare equal in Python.
        """
        rows: list[dict[str, Any]] = []
        for result in self.query_raw(influxql, db, epoch=epoch).get("results", []):
            for series in result.get("series", []):
                tags = series.get("tags") or {}
                for values in series.get("values", []):
                    row = dict(zip(series["columns"], values, strict=True))
                    row.update(tags)
                    rows.append(row)
        return rows

    def write(self, db: str, lines: str, *, precision: str = "ms") -> None:
        """POST line protocol to ``/write?db=DB&precision=ms``; raise unless 204."""
        response = self.http.post(
            "/write", params={"db": db, "precision": precision}, content=lines.encode()
        )
        if response.status_code != 204:
            raise ServerError(
                f"influxd write to {db!r} failed ({response.status_code}): {response.text.strip()}"
            )

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE "name"`` (idempotent)."""
        self.query_raw(f"CREATE DATABASE {_quote_ident(name)}")

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE "name"`` (no error when absent)."""
        self.query_raw(f"DROP DATABASE {_quote_ident(name)}")

    def databases(self) -> list[str]:
        """Names of all databases."""
        body = self.query_raw("SHOW DATABASES")
        series = body["results"][0].get("series", [])
        return [values[0] for s in series for values in s.get("values", [])]

    def close(self) -> None:
        """Stop the server, close the HTTP client, remove an own work directory."""
        super().close()
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- lifecycle hooks

    def _allocate_ports(self) -> bool:
        if not self._fixed_port:
            self.port = free_port()
        self.rpc_port = free_port()
        return True

    def _env(self) -> dict[str, str]:
        # INFLUXDB_* variables override the config file; keep them out.
        return {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}

    def _write_config(self) -> None:
        config = f"""\
# written by tests/servers.py
reporting-disabled = true   # upstream InfluxDB 1.x
reporting-enabled = false   # Debian's build (reporting patched out) uses this key
bind-address = {_toml_str(f"{self.host}:{self.rpc_port}")}

[meta]
  dir = {_toml_str(self.workdir / "meta")}
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = {_toml_str(self.workdir / "data")}
  wal-dir = {_toml_str(self.workdir / "wal")}
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = {_toml_str(f"{self.host}:{self.port}")}
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false
  unix-socket-enabled = false

[ifql]
  enabled = false

[logging]
  level = {_toml_str(self.log_level)}
  suppress-logo = true

[continuous_queries]
  enabled = true
  log-enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""
        self.config_path.write_text(config, encoding="utf-8")

    def _command(self) -> list[str]:
        return [self.binary, "-config", str(self.config_path)]

    def _ready(self) -> bool:
        return self.ping()


def _quote_ident(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
