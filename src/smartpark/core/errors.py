"""Every exception smartpark raises, in one place.

::

    SmartparkError              root of everything below
    ├── ConfigError             a file or setting is invalid; carries every problem at once
    ├── ContractError           a value breaks the wire contract (topic, id, unit, timestamp)
    │   └── PayloadError        the whole payload is rejected (not JSON, too large, envelope)
    ├── StoreError              the store could not be reached or failed; may be retried
    │   └── StoreRejectedError  the store refused the data itself (HTTP 4xx): do not retry
    ├── OutboxError             a gateway's outbox database cannot be opened or written
    ├── SheetError              a file cannot be imported as a sheet (not one, too big, no header)
    │   └── CellError           one cell of a sheet cannot be read as what its column holds
    ├── OutputError             a file a command writes (--out, a template) cannot be written
    ├── ConnectFailedError      one broker connection attempt failed (retried after a backoff)
    ├── AnalyticsError          a KPI or land-use job was asked what it cannot answer
    │   └── OptionError         one option's value is unusable; the message starts with it
    ├── StateBusyError          another process holds the state file (alerts, schedule)
    ├── StateFileError          a state file is damaged, not SQLite, or another kind's
    ├── AccessError             a token or login is refused (missing, unknown, expired, locked)
    ├── GrafanaPushError        Grafana refused or could not be reached (names step and URL)
    ├── MissingExtraError       a command needs an optional extra; says what to pip install
    ├── FrameError              a frame breaks its protocol (DL/T 645, HJ 212); counted by reason
    ├── MeterRefusedError       a meter answered a request with an error reply (bits decoded)
    ├── BusError                a field bus (serial port, serial server) cannot be used
    │   └── BusTimeoutError     no matching reply within the timeout, after the retries
    └── ServerError             a local test server failed to start, died or answered badly
        └── ServerNotInstalledError  its binary is missing; the message says how to install

User-facing errors say what to fix and where (``meter.chem-a-main.quantity: unknown
quantity 'gass'``), and where a command fixes it, name the command.
"""

from __future__ import annotations


class SmartparkError(Exception):
    """Root of all smartpark errors."""


class ConfigError(SmartparkError):
    """A configuration or registry file is invalid.

    ``problems`` lists every error found, each prefixed with its path, so a user fixes
    the file in one pass.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} error(s)\n{lines}")


class ContractError(SmartparkError):
    """A value breaks the wire contract (docs/contract.md).

    ``reason`` is machine-readable (``bad_id``, ``bad_unit``, ...); ``field`` names the
    offending field.
    """

    def __init__(self, reason: str, field: str, detail: str) -> None:
        self.reason = reason
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail} ({reason})")


class PayloadError(ContractError):
    """The whole payload is rejected (not JSON, too large, bad envelope)."""


class StoreError(SmartparkError):
    """The store could not be reached or failed; the write may be retried."""


class StoreRejectedError(StoreError):
    """The store refused the data itself (HTTP 4xx): retrying the same data cannot help."""


class OutboxError(SmartparkError):
    """The outbox database cannot be opened or written."""


class SheetError(SmartparkError):
    """A file cannot be imported as a sheet (``smartpark import``, docs/import.md): not a
    spreadsheet, over a size or row limit, a suspicious archive, no header row. The message
    names the file and what to fix; nothing of the file is stored."""


class CellError(SheetError):
    """One cell cannot be read as what its column holds (a formula, text in a number
    column, an unknown date form); ``reason`` is machine-readable, ``detail`` says what to
    enter instead; ``column``, when known, the column's name. The importer reports the row
    and goes on."""

    def __init__(self, reason: str, detail: str, column: str = "") -> None:
        self.reason = reason
        self.detail = detail
        self.column = column
        super().__init__(f"{column + ': ' if column else ''}{detail} ({reason})")


class OutputError(SmartparkError):
    """A file a command writes (``--out``: a table, a workbook, a report, a template)
    cannot be written; the message names the file and the system's reason."""

    @classmethod
    def cannot_write(cls, path: object, exc: OSError) -> OutputError:
        return cls(f"{path}: cannot write the file: {exc.strerror or exc}")


class ConnectFailedError(SmartparkError):
    """One connection attempt to the broker failed (the publisher retries after a backoff)."""


class AnalyticsError(SmartparkError):
    """A KPI or land-use job was asked something it cannot answer (bad range, period, zone)."""


class OptionError(AnalyticsError):
    """One option of a job has a value it cannot use; the message starts with the option
    (``--park: no park 'x' in zone 'z'``), and a command reports it as a bad option."""


class StateBusyError(SmartparkError):
    """Another process (``smartpark alerts``, ``smartpark schedule``) is using the state file."""


class StateFileError(SmartparkError):
    """A state file (alerts, schedule) cannot be used: not SQLite, damaged, another
    service's or database's, or of another schema version; the message names its path."""


class AccessError(SmartparkError):
    """A token, session or login of ``smartpark serve`` is refused (docs/api.md).

    The message never contains the secret; ``reason`` is one of ``missing``,
    ``malformed``, ``unknown``, ``expired``, ``revoked``, ``locked``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class MissingExtraError(SmartparkError):
    """A command needs packages of an optional extra that is not installed; the message
    names the ``pip install 'smartpark[EXTRA]'`` that brings them."""


class GrafanaPushError(SmartparkError):
    """Grafana refused or could not be reached; the message names the step and the URL."""


class FrameError(SmartparkError):
    """A frame or packet breaks its protocol (a DL/T 645 frame, an HJ 212 packet).

    ``reason`` is machine-readable and counted (``bad_checksum``, ``bad_crc``,
    ``bad_segment``, ...); ``detail`` says what was wrong, for the log.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{detail} ({reason})")


class MeterRefusedError(SmartparkError):
    """A meter answered with an error reply (DL/T 645: control 0xD1/0xD2): ``code`` is the
    error byte, the message names its bits."""

    def __init__(self, code: int, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)


class BusError(SmartparkError):
    """A field bus cannot be used: the serial port cannot be opened or the serial server
    cannot be reached; the message names the port or host."""


class BusTimeoutError(BusError):
    """No matching reply arrived within the timeout, after the retries."""


class ServerError(SmartparkError):
    """A local server (``smartpark.testing.servers``) failed to start, died, or answered an
    HTTP request with an error."""


class ServerNotInstalledError(ServerError):
    """The server binary was not found; the message says how to install it."""
