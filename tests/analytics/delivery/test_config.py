"""The schedules file: every problem with its path at once; recipients kept in scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics.delivery import config as config_mod
from smartpark.core.errors import ConfigError
from smartpark.core.registry import Registry
from tests.analytics.delivery.conftest import EXAMPLES


def base(**schedule: Any) -> dict[str, Any]:
    return {
        "smtp": {"main": {"host": "smtp.park.example", "from": "reports@park.example"}},
        "recipient": {
            "committee": {"scope": "zone:lanzhou-new-area", "email": "c@park.example"},
            "chem-a": {"scope": "enterprise:chem-a", "email": "e@chem-a.example"},
            "petrochem": {"scope": "park:petrochem", "email": "p@park.example"},
            "materials": {"scope": "park:new-materials", "email": "m@park.example"},
        },
        "schedule": {
            "s": {
                "kind": "monthly_report",
                "scope": "zone:lanzhou-new-area",
                "recipients": ["committee"],
            }
            | schedule
        },
    }


def problems(data: dict[str, Any], reg: Registry, tmp: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_mod.from_dict(data, reg, base=tmp)
    return info.value.problems


def test_the_example_file_loads_and_validates(example, monkeypatch):
    monkeypatch.setenv("SMARTPARK_SMTP_PASSWORD", "pw-4f9a")
    monkeypatch.setenv("SMARTPARK_COMMITTEE_WECOM_URL", "https://qyapi.example/send?key=k")
    cfg = config_mod.load(EXAMPLES / "schedules.toml", example)
    assert set(cfg.schedules) == {"zone-monthly", "park-monthly", "enterprise-weekly"}
    monthly = cfg.schedules["zone-monthly"]
    assert monthly.formats == ("pdf", "xlsx")
    assert (monthly.cadence.every, monthly.cadence.day, str(monthly.cadence.at)) == (
        "month",
        1,
        "09:00:00",
    )
    assert monthly.timezone == "Asia/Shanghai"
    weekly = cfg.schedules["enterprise-weekly"]
    assert weekly.scope is None
    assert [weekly.scope_for(cfg.recipients[r]) for r in weekly.recipients] == [
        "enterprise:chem-a",
        "enterprise:chem-b",
        "enterprise:alu-a",
    ]
    assert cfg.smtp["main"].password == "pw-4f9a"
    assert "pw-4f9a" not in repr(cfg.smtp["main"])  # secrets stay out of repr
    assert cfg.recipients["committee"].route == "smtp:main"
    assert cfg.recipients["committee-robot"].route == "channel:committee-robot"


def test_the_example_checks_without_secrets(example, monkeypatch):
    monkeypatch.delenv("SMARTPARK_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("SMARTPARK_COMMITTEE_WECOM_URL", raising=False)
    with pytest.raises(ConfigError, match="SMARTPARK_SMTP_PASSWORD is not set"):
        config_mod.load(EXAMPLES / "schedules.toml", example)
    cfg = config_mod.load(EXAMPLES / "schedules.toml", example, resolve_secrets=False)
    assert cfg.smtp["main"].password is None


def test_a_recipient_outside_the_reports_scope_is_a_config_error_naming_the_path(example, tmp_path):
    data = base(recipients=["committee", "chem-a", "petrochem"])
    assert problems(data, example, tmp_path) == [
        "schedule.s.recipients: recipient 'chem-a' (enterprise:chem-a) may not receive the "
        "monthly report of zone:lanzhou-new-area: it is outside the recipient's scope",
        "schedule.s.recipients: recipient 'petrochem' (park:petrochem) may not receive the "
        "monthly report of zone:lanzhou-new-area: it is outside the recipient's scope",
    ]
    park_report = base(scope="park:petrochem", recipients=["committee", "petrochem", "materials"])
    assert problems(park_report, example, tmp_path) == [
        "schedule.s.recipients: recipient 'materials' (park:new-materials) may not receive the "
        "monthly report of park:petrochem: it is outside the recipient's scope"
    ]


def test_weekly_summaries_and_region_reports_are_scoped_too(example, tmp_path):
    weekly = base(kind="weekly_summary", scope="enterprise:chem-b", recipients=["chem-a"])
    assert problems(weekly, example, tmp_path) == [
        "schedule.s.recipients: recipient 'chem-a' (enterprise:chem-a) may not receive the "
        "weekly summary of enterprise:chem-b: it is outside the recipient's scope"
    ]
    # a park sees its enterprises' summaries, not its zone's
    ok = base(kind="weekly_summary", scope="enterprise:chem-b", recipients=["petrochem"])
    assert config_mod.from_dict(ok, example, base=tmp_path).schedules["s"].scope == (
        "enterprise:chem-b"
    )
    zone = base(kind="weekly_summary", scope="zone:lanzhou-new-area", recipients=["petrochem"])
    assert "outside the recipient's scope" in problems(zone, example, tmp_path)[0]
    # a county counting two parks: not for one park's office
    region = base(scope="region:gaolan-county", recipients=["materials", "committee"])
    assert problems(region, example, tmp_path) == [
        "schedule.s.recipients: recipient 'materials' (park:new-materials) may not receive the "
        "monthly report of region:gaolan-county: it is outside the recipient's scope"
    ]
    # each recipient's own scope: an enterprise has no monthly report
    own = base(scope="recipient", recipients=["petrochem", "chem-a"])
    assert problems(own, example, tmp_path) == [
        "schedule.s.recipients: recipient 'chem-a' (enterprise:chem-a): a monthly report is of "
        "a zone or park, not of an enterprise"
    ]


def test_every_problem_is_reported_at_once_with_its_path(example, tmp_path):
    data = {
        "smtp": {
            "main": {
                "host": "smtp.park.example",
                "from": "not an address",
                "user": "u",
                "security": "none",
                "port": 70000,
            }
        },
        "channel": {"robot": {"kind": "wecom"}},
        "recipient": {
            "a": {"scope": "county:x", "email": ["ok@park.example", "bad"]},
            "b": {"scope": "park:atlantis", "channel": "nope"},
            "c": {"scope": "zone:lanzhou-new-area"},
            "d": {"scope": "zone:lanzhou-new-area", "email": "d@x.example", "channel": "robot"},
        },
        "schedule": {
            "m": {
                "kind": "monthly_report",
                "scope": "enterprise:chem-a",
                "formats": ["pdf", "docx"],
                "day": 31,
                "at": "9am",
                "recipients": ["a", "ghost"],
                "link": "ftp://x/{month}",
            },
            "w": {"kind": "weekly", "recipients": []},
        },
        "colour": "blue",
    }
    assert problems(data, example, tmp_path) == [
        "colour: unknown section 'colour' (expected smtp, channel, recipient, schedule)",
        "smtp.main.port: must be within [1, 65535], got 70000",
        "smtp.main.from: not an e-mail address: 'not an address'",
        "smtp.main: a user logs in: give password_env or password_file",
        'smtp.main.security: logging in needs "starttls" or "tls", not "none"',
        "channel.robot: missing url or url_env",
        "recipient.a.scope: expected zone:ID, park:ID or enterprise:ID (ID matching "
        "[a-z0-9][a-z0-9_-]{0,63}), got 'county:x'",
        "recipient.a.email: not an e-mail address: 'bad'",
        "recipient.b.scope: unknown park 'atlantis'",
        "recipient.b.channel: unknown channel 'nope'",
        "recipient.c: give email (addresses) or channel (a [channel.ID])",
        "recipient.d: give email or channel, not both (make two recipients)",
        "schedule.m.at: expected a local time HH:MM (24 h), e.g. '09:00', got '9am'",
        "schedule.m.day: must be within [1, 28], got 31",
        "schedule.m.formats: unknown format 'docx' (one of pdf, xlsx, html)",
        "schedule.m.link: must be an http:// or https:// URL, got 'ftp://x/{month}'",
        "schedule.m.recipients: unknown recipient 'ghost'",
        "schedule.m.scope: expected zone:ID or park:ID or region:ID, got 'enterprise:chem-a'",
        "schedule.w.kind: must be one of monthly_report, weekly_summary, got 'weekly'",
        "schedule.w.recipients: must be a non-empty list of recipient ids, got []",
        'schedule.w.scope: missing required key (a kind:ID, or "recipient")',
    ]


def test_link_templates_name_known_fields_only(example, tmp_path):
    data = base(link="https://x.example/{scope}/{id}?month={month}")
    assert problems(data, example, tmp_path) == [
        "schedule.s.link: unknown field {month} (known: schedule, period, scope, id)"
    ]


def test_the_password_comes_from_a_file_or_a_variable_never_inline(example, tmp_path, monkeypatch):
    data = base()
    data["smtp"]["main"] |= {"user": "u", "password": "hunter2"}
    assert problems(data, example, tmp_path) == [
        "smtp.main.password: unknown key 'password'",
        "smtp.main: a user logs in: give password_env or password_file",
    ]
    (tmp_path / "pw").write_text("from-file\n")
    data["smtp"]["main"] = {"host": "h.example", "from": "r@x.example", "user": "u"}
    data["smtp"]["main"]["password_file"] = "pw"
    cfg = config_mod.from_dict(data, example, base=tmp_path)
    assert cfg.smtp["main"].password == "from-file"
    assert (cfg.smtp["main"].port, cfg.smtp["main"].security) == (587, "starttls")
    monkeypatch.setenv("SCHEDULE_TEST_PW", "from-env")
    data["smtp"]["main"] = {"host": "h.example", "from": "r@x.example", "user": "u"}
    data["smtp"]["main"] |= {"password_env": "SCHEDULE_TEST_PW", "security": "tls"}
    cfg = config_mod.from_dict(data, example, base=tmp_path)
    assert (cfg.smtp["main"].password, cfg.smtp["main"].port) == ("from-env", 465)


def test_recipients_in_different_time_zones_need_two_schedules(example, tmp_path):
    from smartpark.core.registry import from_dict

    reg = from_dict(
        {
            "zone": {
                "east": {"name": "East", "timezone": "Asia/Shanghai"},
                "west": {"name": "West", "timezone": "Asia/Urumqi"},
            },
            "park": {"p": {"zone": "east", "name": "P"}, "q": {"zone": "west", "name": "Q"}},
        }
    )
    data = {
        "smtp": {"main": {"host": "h.example", "from": "r@x.example"}},
        "recipient": {
            "p": {"scope": "park:p", "email": "p@x.example"},
            "q": {"scope": "park:q", "email": "q@x.example"},
        },
        "schedule": {
            "s": {"kind": "weekly_summary", "scope": "recipient", "recipients": ["p", "q"]}
        },
    }
    assert problems(data, reg, tmp_path) == [
        "schedule.s.recipients: the recipients' scopes are in different time zones "
        "(Asia/Shanghai, Asia/Urumqi): split the schedule, one per time zone"
    ]
