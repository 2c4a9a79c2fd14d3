"""E-mail: one message per delivery, sent through an SMTP server with the stdlib.

:func:`message` builds it: the content's title as the subject, its text (plus a footer
naming the schedule and recipient) as the plain-text body, its attachments, and a
``Message-ID`` made of the (schedule, period, recipient): the rare second copy after a
crash (docs/schedule.md) carries the same id, so mail systems and readers can tell it
is one message. ``Auto-Submitted: auto-generated`` (RFC 3834) keeps auto-responders quiet.

:func:`send` connects, upgrades with STARTTLS before anything else (or speaks TLS from
the start, ``security = "tls"``), checks the server's certificate (the system's CAs or
``ca_file``), logs in when the server has a user, and sends. A delivery counts as sent
once the server answered the message's data with 2xx. A 5xx answer to the sender,
every recipient or the data is permanent (the delivery is dead at once); anything else
(4xx, a timeout, a refused connection, a TLS failure) is retried. The password never
leaves :class:`~analytics.delivery.config.SmtpServer`: no reason, log line or error
message quotes it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from smartpark.analytics.delivery.config import Recipient, SmtpServer
from smartpark.analytics.delivery.content import Content
from smartpark.analytics.delivery.outcome import Outcome
from smartpark.analytics.periods import from_ms


def message_id(schedule: str, period: str, recipient: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "smartpark.invalid"
    return f"<smartpark.{schedule}.{period}.{recipient}@{domain}>"


def message(
    server: SmtpServer,
    recipient: Recipient,
    content: Content,
    *,
    schedule: str,
    period: str,
    now_ms: int,
    timezone: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = " ".join(content.title.split())  # never a line break in a header
    msg["From"] = server.sender
    msg["To"] = ", ".join(recipient.emails)
    msg["Date"] = format_datetime(from_ms(now_ms, timezone))
    msg["Message-ID"] = message_id(schedule, period, recipient.id, server.sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(content.text + "\n\n-- \n" + content.footer(schedule, recipient.id) + "\n")
    for a in content.attachments:
        maintype, _, subtype = a.mime.partition("/")
        params = {"charset": "utf-8"} if maintype == "text" else None
        msg.add_attachment(
            a.data, maintype=maintype, subtype=subtype, filename=a.filename, params=params
        )
    return msg


def send(server: SmtpServer, msg: EmailMessage, to: tuple[str, ...]) -> Outcome:
    """Deliver ``msg`` to the addresses ``to`` through ``server``."""
    context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
    sender = parseaddr(server.sender)[1]
    smtp: smtplib.SMTP | None = None
    try:
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout_s)
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                # Never fall back to clear text.
                return Outcome(False, "smtp_no_starttls: the server offers no STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.user is not None:
            smtp.login(server.user, server.password or "")
        refused = smtp.send_message(msg, from_addr=sender, to_addrs=list(to))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Outcome(False, f"smtp_recipients_refused: {sorted(set(codes))}", _permanent(codes))
    except smtplib.SMTPResponseException as exc:
        # SMTPAuthenticationError, SMTPSenderRefused, SMTPDataError, ...: the server's words.
        text = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        permanent = not isinstance(exc, smtplib.SMTPAuthenticationError) and exc.smtp_code >= 500
        return Outcome(False, f"smtp_{exc.smtp_code}: {text[:120]}", permanent)
    except (smtplib.SMTPException, OSError) as exc:
        # OSError covers refused connections, timeouts and TLS failures (ssl.SSLError).
        return Outcome(False, f"smtp_transport: {type(exc).__name__}")
    finally:
        if smtp is not None:
            _quit(smtp)
    if refused:
        return Outcome(True, f"ok; {len(refused)} of {len(to)} address(es) refused")
    return Outcome(True, "ok")


def _permanent(codes: list[int]) -> bool:
    return bool(codes) and all(code >= 500 for code in codes)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is already accepted, so a failure here changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
