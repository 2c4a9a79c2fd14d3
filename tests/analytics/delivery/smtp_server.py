"""A real SMTP server on a loopback port (aiosmtpd), run in a thread: STARTTLS with a
certificate made for the test, AUTH (PLAIN and LOGIN, or only one of them), and an
answer to DATA that can refuse: ``refuse`` holds the replies to give to the next DATA
commands (``"451 4.3.0 Try again later"``); once it is empty every message is accepted
and kept in ``accepted``.

Usage::

    cert = make_certificate(tmp_path)            # openssl; CN and SAN 127.0.0.1
    with SmtpServer(cert, users={"reports": "pw"}) as server:
        server.refuse.append("451 4.3.0 Try again later")
        ...  # send to 127.0.0.1:server.port with ca_file = cert.cert
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from smartpark.testing.servers import free_port


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (it is its own CA for the client)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class _Handler:
    server: SmtpServer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.server.lock:
            self.server.data_commands += 1
            if self.server.refuse:
                return self.server.refuse.pop(0)
            said = session.auth_data
            login = said.decode() if isinstance(said, bytes) else None
            self.server.accepted.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
            )
        return "250 2.0.0 OK: queued"


@dataclass
class SmtpServer:
    certificate: Certificate
    users: dict[str, str] = field(default_factory=dict)
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    refuse: list[str] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    mechanisms_used: list[str] = field(default_factory=list)
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def __post_init__(self) -> None:
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate.cert, self.certificate.key)
        excluded = [m for m in ("PLAIN", "LOGIN") if m not in self.mechanisms]
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=bool(self.users),
            auth_require_tls=True,
            auth_exclude_mechanism=excluded,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(user) == password
        if ok:
            with self.lock:
                self.mechanisms_used.append(mechanism)
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
