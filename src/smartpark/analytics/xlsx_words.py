"""What a table workbook says above each header, in English and Chinese.

Every .xlsx smartpark writes (:mod:`smartpark.core.workbook`) opens each sheet with a
few lines naming what the table is: a title, the scope, the period and the data source
(``Scope: park petrochem · Period: day · Source: rollups``), and the time zone its dates
and times are in. Those words are here; the column heads come with each table (KPI
names: :mod:`analytics.kpis.catalogue`; the monthly report's: :mod:`analytics.report.labels`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from smartpark.analytics.report.labels import check_lang
from smartpark.core.registry import Lang, Registry

WORDS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        ":": ": ",
        "(": " (",
        ")": ")",
        "scope": "Scope",
        "period": "Period",
        "source": "Source",
        "timezone": "Time zone",
        "local": "dates and times are local",
        "all": "all",
        "enterprise": "enterprise",
        "park": "park",
        "zone": "zone",
        "region": "region",
        "hour": "hour",
        "day": "day",
        "month": "month",
        "year": "year",
        "rollups": "rollups",
        "raw": "raw readings",
        "mixed": "rollups and raw readings",
        "kpi_sheet": "KPIs",
        "kpi_title": "smartpark KPIs per {period}, {start} to {end}",
        "incomplete_note": "Incomplete: completeness below {pct} %",
        "store_kpis": "the store's monthly KPIs",
        "store_rollups": "monthly KPIs from the store's rollups",
        "grades_sheet": "Grades",
        "grades_title": "{zone} {year}: per-mu grades ({profile}, shares {shares})",
        "flags_sheet": "Idle flags",
        "flags_title": "{zone}: idle and inefficient land at {as_of}",
        "park_kpis_sheet": "Park KPIs",
        "park_kpis_title": "{zone}: park land-use indicators {year}",
        "region_kpis_title": "{zone}: region shared figures {year} (enclave agreements)",
        "untested_sheet": "Not tested",
        "untested_title": "{zone}: enterprises the idle rules could not test at {as_of}",
        "notes_sheet": "Notes",
        "notes_title": "{zone} {year}: notes",
        "note": "note",
        "facts_year": "Facts of",
        "as_of": "As of",
    },
    "zh": {
        ":": "：",
        "(": "（",
        ")": "）",
        "scope": "范围",
        "period": "周期",
        "source": "数据来源",
        "timezone": "时区",
        "local": "日期时间均为当地时间",
        "all": "全部",
        "enterprise": "企业",
        "park": "园区",
        "zone": "区域",
        "region": "行政区",
        "hour": "小时",
        "day": "日",
        "month": "月",
        "year": "年",
        "rollups": "15 分钟汇总数据",
        "raw": "原始读数",
        "mixed": "汇总数据和原始读数",
        "kpi_sheet": "指标",
        "kpi_title": "smartpark 指标（按{period}），{start} 至 {end}",
        "incomplete_note": "数据不完整：数据完整率低于 {pct} %",
        "store_kpis": "数据库中的月度指标",
        "store_rollups": "由数据库汇总数据计算的月度指标",
        "grades_sheet": "亩均评价",
        "grades_title": "{zone} {year} 亩均评价等级（{profile}，比例 {shares}）",
        "flags_sheet": "低效闲置标记",
        "flags_title": "{zone}：{as_of} 低效闲置企业及用地",
        "park_kpis_sheet": "园区指标",
        "park_kpis_title": "{zone}：{year} 年园区土地利用指标",
        "region_kpis_title": "{zone}：{year} 年行政区分成数据（飞地协议）",
        "untested_sheet": "未检测",
        "untested_title": "{zone}：{as_of} 闲置规则无法检测的企业",
        "notes_sheet": "说明",
        "notes_title": "{zone} {year} 年说明",
        "note": "说明",
        "facts_year": "年度数据",
        "as_of": "检测月份",
    },
}


def word(lang: Lang, key: str) -> str:
    """``key``'s word in ``lang``; a key without one (an id) as it is."""
    return WORDS[lang].get(key, key)


def line(lang: Lang, pairs: Iterable[tuple[str, str]]) -> str:
    """``Scope: park petrochem · Period: day``: each (word key, value) pair, joined."""
    colon = WORDS[lang][":"]
    return " · ".join(f"{word(lang, key)}{colon}{value}" for key, value in pairs)


def aside(lang: Lang, text: str) -> str:
    """`` (text)``, or in Chinese ``（text）``."""
    return f"{WORDS[lang]['(']}{text}{WORDS[lang][')']}"


def timezone_line(lang: Lang, timezones: Iterable[str]) -> str:
    """``Time zone: Asia/Shanghai (dates and times are local)``."""
    zones = ", ".join(sorted(set(timezones))) or "UTC"
    return f"{word(lang, 'timezone')}{WORDS[lang][':']}{zones}{aside(lang, word(lang, 'local'))}"


def scope_text(lang: Lang, scope: str, park: str | None) -> str:
    """``park petrochem``, ``enterprise (park petrochem)`` or ``park (all)``."""
    if park is None:
        return f"{word(lang, scope)}{aside(lang, word(lang, 'all'))}"
    if scope == "park":
        return f"{word(lang, 'park')} {park}"
    return f"{word(lang, scope)}{aside(lang, word(lang, 'park') + ' ' + park)}"


def lang_of(registry: Registry, lang: str | None, park: str | None = None) -> Lang:
    """``lang`` checked (``--lang``), else the language of ``park``'s zone, else of the
    registry's first zone (``lang`` in ``[zone.ID]``, docs/registry.md)."""
    if lang is not None:
        return check_lang(lang)
    zone = registry.parks[park].zone if park is not None else registry.zone_ids[0]
    return registry.zones[zone].lang
