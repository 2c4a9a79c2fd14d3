"""The schedule service against a real SMTP server (STARTTLS, AUTH, a refused first DATA)
and a real HTTP receiver, on a real SQLite store, with pinned clocks; each ``serve``
call is a restart (new state connection, new SMTP connections, nothing kept in memory)."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from smartpark.analytics.alerts import signing
from smartpark.analytics.delivery import config as config_mod
from smartpark.analytics.delivery.content import SUMMARY_KPIS
from smartpark.analytics.delivery.service import CycleReport, Scheduler, serve
from smartpark.analytics.delivery.state import DeliveryState
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.report import monthly
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from tests.analytics.alerts.receiver import Receiver
from tests.analytics.delivery.conftest import (
    EXAMPLE_REGISTRY,
    PASSWORD,
    SECRET,
    USER,
    Clock,
    load,
    shanghai_ms,
    simulated_store,
    smtp_table,
)
from tests.analytics.delivery.smtp_server import Certificate, SmtpServer

MIN = 60_000
DAY = 86_400_000
ZONE = "zone:lanzhou-new-area"
ROBOT_KEY = "robot-key-0123456789"
LINK = "https://smartpark.park.example/report/{scope}/{id}?month={period}"


def run_once(
    cfg: config_mod.DeliveryConfig, reg: Registry, store_url: str, state: Path, clock: Clock
) -> CycleReport:
    """One ``smartpark schedule --once``, as a fresh process would run it."""
    out = io.StringIO()
    report = serve(
        cfg, reg, EXAMPLE_REGISTRY, parse_store_url(store_url), state, "once", out=out, clock=clock
    )
    assert out.getvalue() == f"schedule: {report}\n"
    return report


def monthly_config(
    tmp: Path, smtp: SmtpServer, certificate: Certificate, receiver: Receiver
) -> dict[str, Any]:
    (tmp / "hook.secret").write_text(SECRET)
    return {
        "smtp": {"main": smtp_table(smtp, certificate, tmp)},
        "channel": {
            "robot": {"kind": "wecom", "url": f"{receiver.url}?key={ROBOT_KEY}"},
            "audit": {
                "kind": "webhook",
                "url": f"{receiver.url}?audit",
                "secret_file": "hook.secret",
            },
        },
        "recipient": {
            "committee": {"scope": ZONE, "email": ["a@park.example", "b@park.example"]},
            "robot": {"scope": ZONE, "channel": "robot"},
            "audit": {"scope": ZONE, "channel": "audit"},
        },
        "schedule": {
            "zone-monthly": {
                "kind": "monthly_report",
                "scope": ZONE,
                "formats": ["pdf", "xlsx"],
                "lang": "en",
                "link": LINK,
                "recipients": ["committee", "robot", "audit"],
            },
            "park-monthly": {
                "kind": "monthly_report",
                "scope": "park:petrochem",
                "formats": ["pdf"],
                "recipients": ["committee"],
            },
        },
    }


def test_the_monthly_report_is_mailed_once_across_a_refusal_and_restarts(
    tmp_path, example, smtp, certificate, receiver, capsys
):
    receiver.answer = b'{"errcode": 0, "errmsg": "ok"}'
    store_url = simulated_store(
        tmp_path / "park.db", example, shanghai_ms(2026, 11, 1), shanghai_ms(2026, 11, 3)
    )
    cfg = load(monthly_config(tmp_path, smtp, certificate, receiver), example, tmp_path)
    state = tmp_path / "park.schedule.db"
    clock = Clock(shanghai_ms(2026, 12, 1, 9, 5))  # 5 minutes after it fell due
    smtp.refuse.append("451 4.3.0 Try again later")

    first = run_once(cfg, example, store_url, state, clock)
    # the refused mail (the park report, first by id) blocks its server for this cycle
    assert (first.planned, first.sent, first.failed, first.waiting) == (4, 2, 1, 1)
    assert smtp.data_commands == 1
    assert smtp.accepted == []

    clock.ms += 10 * MIN  # the retry is due (5 s ± 20 % after the refusal)
    second = run_once(cfg, example, store_url, state, clock)
    assert (second.planned, second.sent, second.failed) == (0, 2, 0)
    clock.ms += 10 * MIN
    third = run_once(cfg, example, store_url, state, clock)
    assert (third.planned, third.sent, third.failed, third.waiting) == (0, 0, 0, 0)
    with DeliveryState(state) as st:
        assert {(d.schedule, d.recipient, d.status, d.attempts) for d in st.deliveries()} == {
            ("zone-monthly", "committee", "sent", 1),
            ("zone-monthly", "robot", "sent", 1),
            ("zone-monthly", "audit", "sent", 1),
            ("park-monthly", "committee", "sent", 2),
        }

    # exactly one mail per schedule, to both addresses, after a login over STARTTLS
    assert len(smtp.accepted) == 2
    by_id = {m.message()["Message-ID"]: m for m in smtp.accepted}
    mail = by_id["<smartpark.zone-monthly.2026-11.committee@park.example>"]
    park_mail = by_id["<smartpark.park-monthly.2026-11.committee@park.example>"]
    assert sorted(mail.rcpt_tos) == ["a@park.example", "b@park.example"]
    assert (mail.mail_from, mail.login) == (USER, USER)
    assert smtp.mechanisms_used == ["PLAIN"] * 3  # one login per connection
    msg = mail.message()
    assert msg["Subject"] == "Monthly report: Lanzhou New Area, 2026-11"
    assert msg["Message-ID"] == "<smartpark.zone-monthly.2026-11.committee@park.example>"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    assert "2026-11-01 to 2026-11-30 (Asia/Shanghai)" in text
    assert "https://smartpark.park.example/report/zone/lanzhou-new-area?month=2026-11" in text
    files = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(files) == {
        "monthly-report-zone-lanzhou-new-area-2026-11.pdf",
        "monthly-report-zone-lanzhou-new-area-2026-11.xlsx",
    }

    # the PDF is readable and is the zone's report
    pdf = tmp_path / "got.pdf"
    pdf.write_bytes(files["monthly-report-zone-lanzhou-new-area-2026-11.pdf"].get_content())
    pdf_text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert " ".join(pdf_text.split()).startswith(
        "Lanzhou New Area (兰州新区) · Monthly report 2026-11"
    )
    park = park_mail.message()
    assert park["Subject"] == "月度报告：精细化工园区 2026-11"  # the zone's language
    [park_pdf] = park.iter_attachments()
    pdf.write_bytes(park_pdf.get_content())
    pdf_text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    first_line = pdf_text.split("\n")[0]
    assert "精细化工园区" in first_line
    assert "Fine Chemicals Park" in " ".join(pdf_text.split())

    # the workbook's numbers are the report's
    xlsx = tmp_path / "got.xlsx"
    xlsx.write_bytes(files["monthly-report-zone-lanzhou-new-area-2026-11.xlsx"].get_content())
    book = openpyxl.load_workbook(xlsx, read_only=True)
    numbers = [
        c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
        if isinstance(c, int | float) and not isinstance(c, bool)
    ]  # fmt: skip
    store = open_store(parse_store_url(store_url), example)
    try:
        report = monthly.build(
            store, example, monthly.Request("2026-11", lang="en", now_ms=shanghai_ms(2026, 12, 1))
        )
    finally:
        store.close()
    for kpi in ("energy_tce", "co2_total_t", "electricity_kwh"):
        assert report.values[kpi] > 0
        assert any(n == pytest.approx(report.values[kpi], rel=1e-9) for n in numbers), kpi

    # the robot and the audit webhook: one message each
    robot = [r for r in receiver.accepted if ROBOT_KEY in r.path]
    audit = [r for r in receiver.accepted if r.path.endswith("?audit")]
    assert len(robot) == len(audit) == 1
    content = robot[0].json()["markdown"]["content"]
    assert content.startswith("**Monthly report: Lanzhou New Area, 2026-11**\n[Open online](")
    assert "month=2026-11" in content
    body = audit[0].json()
    assert (body["schedule"], body["period"], body["scope"], body["id"]) == (
        "zone-monthly",
        "2026-11",
        "zone",
        "lanzhou-new-area",
    )
    assert body["delivery"] == "zone-monthly/2026-11/audit"
    assert body["start"] == "2026-11-01T00:00:00+08:00"
    assert set(report.missing) <= set(body["missing"])  # plus alerts and land use
    headers = audit[0].headers
    verdict = signing.verify(
        SECRET,
        headers[signing.TIMESTAMP_HEADER],
        headers[signing.SIGNATURE_HEADER],
        audit[0].body,
        max_age_s=0,
    )
    assert verdict.ok

    # no secret in any log line or output
    captured = capsys.readouterr()
    logged = captured.out + captured.err
    for secret in (PASSWORD, ROBOT_KEY, SECRET):
        assert secret not in logged
    assert "delivery_failed" in logged
    assert "smtp_451" in logged


def test_a_weekly_summary_goes_to_each_enterprise_with_its_own_days(
    tmp_path, example, certificate, receiver
):
    (tmp_path / "hook.secret").write_text(SECRET)
    week = (shanghai_ms(2026, 11, 2), shanghai_ms(2026, 11, 9))  # Monday to Monday
    store_url = simulated_store(tmp_path / "park.db", example, week[0], week[0] + 2 * DAY)
    with SmtpServer(certificate, users={USER: PASSWORD}, mechanisms=("LOGIN",)) as smtp:
        cfg = load(
            {
                "smtp": {"main": smtp_table(smtp, certificate, tmp_path)},
                "channel": {
                    "hook": {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}
                },
                "recipient": {
                    "chem-a": {"scope": "enterprise:chem-a", "email": "energy@chem-a.example"},
                    "chem-a-hook": {"scope": "enterprise:chem-a", "channel": "hook"},
                    "alu-a": {"scope": "enterprise:alu-a", "email": "energy@alu-a.example"},
                },
                "schedule": {
                    "weekly": {
                        "kind": "weekly_summary",
                        "scope": "recipient",
                        "at": "08:00",
                        "lang": "en",
                        "recipients": ["chem-a", "chem-a-hook", "alu-a"],
                    }
                },
            },
            example,
            tmp_path,
        )
        clock = Clock(shanghai_ms(2026, 11, 9, 8, 1))
        report = run_once(cfg, example, store_url, tmp_path / "s.db", clock)
        assert (report.planned, report.sent) == (3, 3)
        clock.ms += DAY
        assert run_once(cfg, example, store_url, tmp_path / "s.db", clock).sent == 0
        assert smtp.mechanisms_used == ["LOGIN", "LOGIN"]
        mails = {m.rcpt_tos[0]: m.message() for m in smtp.accepted}
    assert set(mails) == {"energy@chem-a.example", "energy@alu-a.example"}
    assert len(smtp.accepted) == 2
    chem_a = mails["energy@chem-a.example"]
    assert chem_a["Subject"] == "Weekly summary: Chem A Co., 2026-W45"
    assert chem_a["To"] == "energy@chem-a.example"
    [csv_part] = chem_a.iter_attachments()
    assert csv_part.get_filename() == "weekly-summary-enterprise-chem-a-2026-W45.csv"
    rows = [line.split(",") for line in csv_part.get_content().splitlines()]
    assert rows[0] == ["day", *(f"{k} ({u})" for k, u in _units().items())]
    assert [r[0] for r in rows[1:]] == [f"2026-11-{d:02d}" for d in range(2, 9)]
    # the days with readings have values, the days without have none (not zeros)
    assert all(cell for cell in rows[1][1:])
    assert all(cell for cell in rows[2][1:])
    assert all(cell == "" for r in rows[4:] for cell in r[1:])

    # the CSV, the webhook's JSON and the KPI job agree
    [hook] = receiver.accepted
    body = hook.json()
    assert (body["scope"], body["id"], body["source"]) == ("enterprise", "chem-a", "readings")
    store = open_store(parse_store_url(store_url), example)
    try:
        table = kpi_job(store, example, week[0], week[1], ["day"], write=False).table
    finally:
        store.close()
    block = table.block("enterprise", "day")
    row = block.row_of("chem-a")
    for k, day in enumerate(body["days"][:2]):
        for i, kpi in enumerate(SUMMARY_KPIS):
            expected = float(block.values[kpi][row, k])
            assert day[kpi] == pytest.approx(expected, rel=1e-12)
            assert float(rows[k + 1][i + 1]) == pytest.approx(expected, rel=1e-12)
    assert body["days"][3]["energy_tce"] is None
    text = chem_a.get_body(("plain",)).get_content()
    assert "Chem A Co. (enterprise chem-a)" in text
    assert "2026-11-02 to 2026-11-08 (Asia/Shanghai)" in text


def _units() -> dict[str, str]:
    from smartpark.analytics.kpis.catalogue import KPIS

    return {k: KPIS[k].unit for k in SUMMARY_KPIS}


def test_a_service_down_over_several_due_times_catches_up_once(tmp_path, example, receiver):
    (tmp_path / "hook.secret").write_text(SECRET)
    cfg = load(
        {
            "channel": {
                "hook": {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}
            },
            "recipient": {"chem-a": {"scope": "enterprise:chem-a", "channel": "hook"}},
            "schedule": {
                "weekly": {
                    "kind": "weekly_summary",
                    "scope": "enterprise:chem-a",
                    "recipients": ["chem-a"],
                }
            },
        },
        example,
        tmp_path,
    )
    store_url = parse_store_url(f"sqlite:///{tmp_path / 'empty.db'}")
    clock = Clock(shanghai_ms(2026, 11, 30, 9, 30))  # half an hour after W48 fell due

    def plan() -> CycleReport:
        report = CycleReport()
        with DeliveryState(tmp_path / "s.db") as st:
            Scheduler(cfg, example, EXAMPLE_REGISTRY, store_url, st, tmp_path, clock=clock).plan(
                report
            )
        return report

    assert plan().planned == 1
    assert plan().planned == 0  # the same period is never planned twice
    clock.ms = shanghai_ms(2026, 12, 22, 12)  # down over W49, W50 and W51
    report = plan()
    assert (report.planned, report.skipped) == (1, 2)
    assert plan().planned == 0
    with DeliveryState(tmp_path / "s.db") as st:
        assert [d.period for d in st.deliveries()] == ["2026-W48", "2026-W51"]


def test_a_first_run_sends_only_what_fell_due_in_the_last_day(tmp_path, example, receiver):
    (tmp_path / "hook.secret").write_text(SECRET)
    data = {
        "channel": {"hook": {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}},
        "recipient": {"zone": {"scope": ZONE, "channel": "hook"}},
        "schedule": {"m": {"kind": "monthly_report", "scope": ZONE, "recipients": ["zone"]}},
    }
    cfg = load(data, example, tmp_path)
    store_url = parse_store_url(f"sqlite:///{tmp_path / 'empty.db'}")
    late = Clock(shanghai_ms(2026, 12, 2, 9, 1))  # 24 h and a minute after the 1st, 09:00
    with DeliveryState(tmp_path / "late.db") as st:
        report = CycleReport()
        Scheduler(cfg, example, EXAMPLE_REGISTRY, store_url, st, tmp_path, clock=late).plan(report)
        assert report.planned == 0
        assert st.cursor("m") == late.ms  # from now on, every due time counts
    in_time = Clock(shanghai_ms(2026, 12, 2, 8, 59))
    with DeliveryState(tmp_path / "in-time.db") as st:
        report = CycleReport()
        Scheduler(cfg, example, EXAMPLE_REGISTRY, store_url, st, tmp_path, clock=in_time).plan(
            report
        )
        assert report.planned == 1


def test_permanent_refusals_and_untrusted_servers(tmp_path, example, smtp, certificate):
    table = smtp_table(smtp, certificate, tmp_path)
    data = {
        "smtp": {"main": table, "untrusted": table | {"ca_file": None}},
        "recipient": {
            "a": {"scope": ZONE, "email": "a@park.example", "smtp": "main"},
            "b": {"scope": ZONE, "email": "b@park.example", "smtp": "untrusted"},
        },
        "schedule": {
            "m": {"kind": "weekly_summary", "scope": ZONE, "recipients": ["a", "b"]},
        },
    }
    del data["smtp"]["untrusted"]["ca_file"]
    cfg = load(data, example, tmp_path)
    smtp.refuse.append("550 5.7.1 Message rejected by policy")
    store_url = f"sqlite:///{tmp_path / 'empty.db'}"
    clock = Clock(shanghai_ms(2026, 11, 30, 9, 1))
    report = run_once(cfg, example, store_url, tmp_path / "s.db", clock)
    assert (report.sent, report.failed, report.dead) == (0, 1, 1)
    with DeliveryState(tmp_path / "s.db") as st:
        by = {d.recipient: d for d in st.deliveries()}
    assert by["a"].status == "dead"
    assert by["a"].reason == "smtp_550: 5.7.1 Message rejected by policy"
    assert by["b"].status == "pending"
    assert by["b"].reason == "smtp_transport: SSLCertVerificationError"
    assert smtp.mechanisms_used == ["PLAIN"]  # no login toward the untrusted certificate
    assert smtp.accepted == []


def test_a_recipient_whose_scope_narrowed_gets_nothing_of_what_was_planned(
    tmp_path, example, receiver
):
    (tmp_path / "hook.secret").write_text(SECRET)
    data: dict[str, Any] = {
        "channel": {"hook": {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}},
        "recipient": {"office": {"scope": ZONE, "channel": "hook"}},
        "schedule": {
            "w": {"kind": "weekly_summary", "scope": "park:petrochem", "recipients": ["office"]}
        },
    }
    state = tmp_path / "s.db"
    store_url = parse_store_url(f"sqlite:///{tmp_path / 'empty.db'}")
    clock = Clock(shanghai_ms(2026, 11, 30, 9, 1))
    with DeliveryState(state) as st:
        Scheduler(
            load(data, example, tmp_path), example, EXAMPLE_REGISTRY, store_url, st, tmp_path,
            clock=clock,
        ).plan(CycleReport())  # fmt: skip
    # before it is sent, the operator narrows the office to another park and its schedule
    data["recipient"]["office"]["scope"] = "park:new-materials"
    data["schedule"]["w"]["scope"] = "park:new-materials"
    report = run_once(load(data, example, tmp_path), example, str(store_url), state, clock)
    assert (report.sent, report.dead) == (0, 1)
    assert receiver.requests == []
    with DeliveryState(state) as st:
        [d] = [d for d in st.deliveries() if d.status == "dead"]
    assert d.reason == "park:petrochem is outside the recipient's scope now"


def test_a_report_that_cannot_be_built_is_retried_and_sent_once_it_can(
    tmp_path, example, smtp, certificate, receiver, monkeypatch
):
    (tmp_path / "hook.secret").write_text(SECRET)
    data = {
        "smtp": {"main": smtp_table(smtp, certificate, tmp_path)},
        "channel": {"hook": {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}},
        "recipient": {
            "committee": {"scope": ZONE, "email": "c@park.example"},
            "audit": {"scope": ZONE, "channel": "hook"},
        },
        "schedule": {
            "m": {"kind": "monthly_report", "scope": ZONE, "recipients": ["committee", "audit"]}
        },
    }
    cfg = load(data, example, tmp_path)
    store_url = f"sqlite:///{tmp_path / 'empty.db'}"
    clock = Clock(shanghai_ms(2026, 12, 1, 9, 1))
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # no Chromium: no PDF
    report = run_once(cfg, example, store_url, tmp_path / "s.db", clock)
    assert (report.planned, report.sent, report.failed) == (2, 0, 2)
    with DeliveryState(tmp_path / "s.db") as st:
        reasons = {d.reason for d in st.deliveries()}
    assert len(reasons) == 1
    assert reasons.pop().startswith("content_error: AnalyticsError: PDF: no Chromium on PATH")
    assert smtp.data_commands == 0
    assert receiver.requests == []
    monkeypatch.setenv("PATH", path)
    clock.ms += 10 * MIN
    report = run_once(cfg, example, store_url, tmp_path / "s.db", clock)
    assert (report.sent, report.failed) == (2, 0)
    assert len(smtp.accepted) == 1
    assert len(receiver.accepted) == 1


def test_a_report_that_cannot_be_built_does_not_hold_up_its_mail_servers_other_deliveries(
    tmp_path, example, smtp, certificate, monkeypatch
):
    monthly_only: dict[str, Any] = {
        "smtp": {"main": smtp_table(smtp, certificate, tmp_path)},
        "recipient": {
            "committee": {"scope": ZONE, "email": "c@park.example"},
            "chem-a": {"scope": "enterprise:chem-a", "email": "energy@chem-a.example"},
        },
        "schedule": {
            "m": {"kind": "monthly_report", "scope": ZONE, "recipients": ["committee"]},
        },
    }
    store_url = f"sqlite:///{tmp_path / 'empty.db'}"
    state = tmp_path / "s.db"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # no Chromium: no PDF
    clock = Clock(shanghai_ms(2026, 12, 1, 9, 0, 30))  # a Tuesday
    report = run_once(load(monthly_only, example, tmp_path), example, store_url, state, clock)
    assert (report.planned, report.failed) == (1, 1)
    with DeliveryState(state) as st:
        [monthly] = st.pending()
    assert (monthly.reason or "").startswith("content_error: ")
    assert monthly.next_ms > clock.ms + 2_000  # in its backoff (5 s ± 20 %) below

    # the operator adds a weekly summary on the same mail server, due at 09:00 too
    weekly = {"kind": "weekly_summary", "scope": "recipient", "weekday": "tuesday"}
    both = monthly_only | {"schedule": monthly_only["schedule"] | {"w": weekly}}
    both["schedule"]["w"]["recipients"] = ["chem-a"]
    clock.ms += 2_000  # the report's retry is not due yet
    report = run_once(load(both, example, tmp_path), example, store_url, state, clock)
    assert (report.planned, report.sent, report.waiting) == (1, 1, 1)
    assert [m.rcpt_tos for m in smtp.accepted] == [["energy@chem-a.example"]]

    # a failure of the route itself still holds the route's later deliveries
    clock.ms = shanghai_ms(2026, 12, 8, 9, 0, 30)  # the next week's summary is due
    with DeliveryState(state) as st:
        [monthly] = st.pending()
        st.mark_failed(monthly, clock.ms, "smtp_451: 4.3.0 Try later", clock.ms + MIN, dead=False)
    report = run_once(load(both, example, tmp_path), example, store_url, state, clock)
    assert (report.planned, report.sent, report.waiting) == (1, 0, 2)
    assert len(smtp.accepted) == 1
