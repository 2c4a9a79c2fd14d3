"""The monthly report's wording in English and Chinese (KPI names: analytics/kpis/catalogue.py)."""

from __future__ import annotations

from typing import Final

from smartpark.core.errors import OptionError
from smartpark.core.registry import (
    LANGS,
    Enterprise,
    Lang,
    Park,
    Product,
    Project,
    Region,
    Zone,
)

LABELS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        "title": "Monthly report",
        "zone": "zone",
        "park": "park",
        "scope": "Scope",
        "month": "Month",
        "source_store": "KPIs from the store (kpi rows)",
        "source_readings": "KPIs computed from the readings (no month rows in the store)",
        "source_partial": "month in progress: KPIs of the days so far, computed from the "
        "rollups and readings",
        "in_progress": "Month in progress (partial): days {first} – {last} so far, {n} of "
        "{m} days; every value covers these days only.",
        "in_progress_none": "Month in progress (partial): its first day is not over yet, "
        "0 of {m} days so far.",
        "missing": "Missing data",
        "complete": "Data complete: every meter reported every interval of the month.",
        "no_data": "no data",
        "no_readings": "No readings at all for this month: every value below is empty, not zero.",
        "days_covered": "Data for {n} of {m} days; days without any data: {days}.",
        "ent_incomplete": "{name}: completeness {value} %",
        "no_value": "No value (nothing metered): {kpis}.",
        "no_last_year": "No month KPIs for {month} in the store: no year-on-year comparison.",
        "no_last_year_days": "No readings for the same days of {month} in the store: no "
        "year-on-year comparison.",
        "no_landuse": "Land use: {reason}",
        "no_alerts": "Alerts: no alert state file at {path} (run `smartpark alerts`).",
        "headline": "Key indicators",
        "kpi": "Indicator",
        "value": "Value",
        "unit": "Unit",
        "last_year": "Same month last year",
        "change": "Change %",
        "line": "Zero-carbon line",
        "verdict": "Meets",
        "yes": "yes",
        "no": "no",
        "energy": "Energy and its mix",
        "tou": "Electricity by time-of-use period",
        "tou_share": "Share of import %",
        "no_tariffs": "No tariffs in the registry for this scope: no time-of-use split.",
        "carbon": "Carbon (scope 1 and 2)",
        "line_text": "Zero-carbon park line (annualised consumption {tce} tce): {line} tCO2/tce.",
        "water": "Water and reuse",
        "emissions": "Pollutants per stack",
        "enterprise": "Enterprise",
        "stack": "Stack",
        "no_stack": "(no stack)",
        "no_stack_readings": (
            "Pollutants per stack: the store holds no CEMS readings of {stacks} for this "
            "month, so their mass and exceedance hours are empty; import the month's "
            "readings (or check those gauges) to fill them."
        ),
        "quality": "Data completeness per enterprise",
        "landuse": "Land use: grades and idle flags",
        "grade": "Grade",
        "previous": "Previous year",
        "changed": "changed",
        "rule": "Idle rule",
        "alerts": "Alerts fired this month",
        "none_fired": "No alert fired this month.",
        "rule_id": "Rule",
        "state": "State",
        "at": "Since",
        "daily_energy": "Daily energy and CO2",
        "daily_tou": "Daily electricity by time-of-use period",
        "daily_cpe": "Daily tCO2/tce against the zero-carbon line",
        "limit": "line",
        "sharp": "sharp",
        "peak": "peak",
        "flat": "flat",
        "valley": "valley",
        # the .xlsx workbook (analytics/report/xlsx.py): sheet names, at most 31 characters
        "note": "Note",
        "day": "Day",
        "sheet_missing": "Missing data",
        "sheet_complete": "Data complete",
        "sheet_headline": "Key indicators",
        "sheet_parks": "Parks",
        "sheet_energy": "Energy",
        "sheet_tou": "Time of use",
        "sheet_carbon": "Carbon",
        "sheet_water": "Water",
        "sheet_emissions": "Pollutants",
        "sheet_quality": "Data quality",
        "sheet_grades": "Land use",
        "sheet_flags": "Idle flags",
        "sheet_alerts": "Alerts",
        "sheet_daily": "Daily",
        "daily": "Daily values (the charts' data)",
        # the section "Unit-product energy" (analytics/report/products.py)
        "products": "Unit-product energy against the limit standards",
        "products_text": (
            "Each product's energy (or electricity) per unit of output, graded against its "
            "national limit standard (单位产品能源消耗限额): level 1 is advanced, level 2 "
            "for new and expanded plants, level 3 the limit an existing plant must meet, "
            "corrected for the plant where the standard says so (altitude, clinker ratio). "
            "The gap is how much the value must fall to reach the next level."
        ),
        "product": "Product",
        "standard": "Standard and product",
        "indicator": "Indicator graded",
        "output_unit": "Output unit",
        "level_1": "level 1",
        "level_2": "level 2",
        "level_3": "level 3",
        "above_limit": "above the limit",
        "ungraded": "ungraded",
        "no_output": "no output",
        "park_or_zone": "Park or zone",
        "levels_caption": "Output per level (share in % of the category's graded output)",
        "without_output": "Products without output",
        "above_caption": "Above the limit: to rectify or exit",
        "none_above": "No product is above its limit this month.",
        "excess": "Excess over the limit",
        "missing_caption": "Output missing",
        "how": "How to supply it",
        "output_missing": (
            "Output missing: {product} of {enterprise} used {tce} tce and has no output "
            "for the month, so it has no unit value and no level; {hint}."
        ),
        "hint_import": "import it with `{command}`",
        "hint_meter": "check its output meter {meter} (no readings, or a count of 0)",
        "products_unread": (
            "Unit-product energy: the store holds no month KPIs of {products}; write them "
            "with `smartpark kpi --period month --from {first} --to {next} --write`."
        ),
        "sheet_products": "Unit-product energy",
        "sheet_levels": "Output per level",
        "sheet_above": "Above the limit",
        "sheet_output_missing": "Output missing",
        # the section "Dual-control targets" (analytics/report/dualcontrol.py)
        "dualcontrol": "Dual-control targets",
        "dc_text": (
            "As of {as_of}: the year to date is the closed months of {year} ({closed} of "
            "12). Energy counts the energy consumption of target accounting (new renewables "
            "and feedstock left out), CO2 the total CO2 emissions; intensities are per "
            "10,000 CNY of industrial value added. The "
            "projection follows last year's shape (last year's remaining months scaled to "
            "this year's year to date) or else the run rate (the year to date per day times "
            "the days of the year). A projected gap above zero is off target (red)."
        ),
        "dc_target": "Target",
        "dc_budget": "Budget",
        "dc_plan": "Plan to date",
        "dc_actual": "Actual to date",
        "dc_used": "Budget used %",
        "dc_projection": "Year-end projection",
        "dc_method": "Method",
        "dc_gap": "Projected gap",
        "dc_gap_pct": "Gap %",
        "dc_off": "Off target",
        "measure_energy_tce": "Energy total (target accounting)",
        "measure_energy_intensity": "Energy per value added",
        "measure_co2_t": "CO2 total",
        "measure_co2_intensity": "CO2 per value added",
        "measure_renewable_share": "Renewable share (minimum)",
        "method_last_year_shape": "last year's shape",
        "method_run_rate": "run rate",
        "dc_unreadable": (
            "Dual-control targets: {reason}; correct the targets file or fill it with `{command}`."
        ),
        "dc_none": (
            "Dual-control targets: {path} has no target for {year} of this scope, its parks "
            "or its enterprises; add [[target]] tables (docs/dualcontrol.md) or import them "
            "with `{command}`."
        ),
        "dc_missing": "Dual-control targets, {target}: {note}.",
        "sheet_dualcontrol": "Dual-control targets",
        "savings": "Savings of energy-saving projects",
        "sheet_savings": "Project savings",
        "sv_project": "Project",
        "sv_month": "Avoided this month",
        "sv_month_pct": "% of the baseline",
        "sv_total": "Avoided since go-live",
        "sv_uncertainty": "± (90 %)",
        "sv_tce": "Avoided tce since go-live",
        "sv_tco2": "Avoided tCO2 since go-live",
        "sv_cost": "Avoided cost since go-live (CNY)",
        "sv_go_live": "Go-live",
        "sv_text": (
            "Measured savings: the use a baseline fitted on the year before go-live on daily "
            "outdoor temperature predicts, minus the use measured ({method}); ± is the 90 % "
            "uncertainty of the prediction (docs/savings.md)."
        ),
    },
    "zh": {
        "title": "月度报告",
        "zone": "区域",
        "park": "园区",
        "scope": "范围",
        "month": "月份",
        "source_store": "指标取自数据库（kpi 记录）",
        "source_readings": "指标由原始读数计算（数据库中无月度指标）",
        "source_partial": "本月进行中：指标为截至目前各日，由汇总数据和原始读数计算",
        "in_progress": "本月进行中（不完整）：截至目前为 {first} 至 {last}，共 {m} 天中的 {n} "
        "天；以下数值仅涵盖这些日期。",
        "in_progress_none": "本月进行中（不完整）：本月第一天尚未结束，{m} 天中已过 0 天。",
        "missing": "数据缺失",
        "complete": "数据完整：本月所有计量表每个采集周期均有数据。",
        "no_data": "无数据",
        "no_readings": "本月无任何读数：以下数值为空，并非零。",
        "days_covered": "本月 {m} 天中有 {n} 天有数据；无数据的日期：{days}。",
        "ent_incomplete": "{name}：数据完整率 {value} %",
        "no_value": "无数值（未计量）：{kpis}。",
        "no_last_year": "数据库中无 {month} 的月度指标：无法同比。",
        "no_last_year_days": "数据库中无 {month} 同期各日的读数：无法同比。",
        "no_landuse": "亩均评价：{reason}",
        "no_alerts": "告警：{path} 处无告警状态文件（请运行 `smartpark alerts`）。",
        "headline": "主要指标",
        "kpi": "指标",
        "value": "数值",
        "unit": "单位",
        "last_year": "上年同月",
        "change": "同比 %",
        "line": "零碳园区基准线",
        "verdict": "达标",
        "yes": "是",
        "no": "否",
        "energy": "能源消费及结构",
        "tou": "分时电量",
        "tou_share": "占购入电量 %",
        "no_tariffs": "登记册中无该范围的电价：无分时电量。",
        "carbon": "碳排放（范围一、范围二）",
        "line_text": "零碳园区基准线（年化综合能源消费量 {tce} tce）：{line} tCO2/tce。",
        "water": "用水及重复利用",
        "emissions": "分排放口污染物",
        "enterprise": "企业",
        "stack": "排放口",
        "no_stack": "（未指定排放口）",
        "no_stack_readings": (
            "分排放口污染物：数据库中无 {stacks} 本月的在线监测读数，"
            "其排放量和超标小时数为空；请导入本月读数（或检查这些监测仪表）。"
        ),
        "quality": "分企业数据完整率",
        "landuse": "亩均评价等级及低效闲置标记",
        "grade": "等级",
        "previous": "上年等级",
        "changed": "有变化",
        "rule": "闲置规则",
        "alerts": "本月触发的告警",
        "none_fired": "本月无告警触发。",
        "rule_id": "规则",
        "state": "状态",
        "at": "开始时间",
        "daily_energy": "逐日能耗及二氧化碳排放",
        "daily_tou": "逐日分时电量",
        "daily_cpe": "逐日单位能耗碳排放与零碳基准线",
        "limit": "基准线",
        "sharp": "尖峰",
        "peak": "高峰",
        "flat": "平段",
        "valley": "低谷",
        "note": "说明",
        "day": "日期",
        "sheet_missing": "数据缺失",
        "sheet_complete": "数据完整",
        "sheet_headline": "主要指标",
        "sheet_parks": "各园区",
        "sheet_energy": "能源",
        "sheet_tou": "分时电量",
        "sheet_carbon": "碳排放",
        "sheet_water": "用水",
        "sheet_emissions": "污染物",
        "sheet_quality": "数据完整率",
        "sheet_grades": "亩均评价",
        "sheet_flags": "闲置标记",
        "sheet_alerts": "告警",
        "sheet_daily": "逐日",
        "daily": "逐日数值（图表数据）",
        "products": "单位产品能耗对标",
        "products_text": (
            "各产品单位产量的综合能耗（或电耗）按国家单位产品能源消耗限额标准对标：1级为"
            "先进值，2级为新建及改扩建企业准入值，3级为现有企业必须达到的限定值（按标准"
            "规定对海拔、熟料掺量等修正）。差距：达到上一等级尚需降低的数值。"
        ),
        "product": "产品",
        "standard": "标准及产品",
        "indicator": "对标指标",
        "output_unit": "产量单位",
        "level_1": "一级",
        "level_2": "二级",
        "level_3": "三级",
        "above_limit": "超限额",
        "ungraded": "未定级",
        "no_output": "无产量",
        "park_or_zone": "园区或区域",
        "levels_caption": "各等级产量（占该类产品已定级产量的 %）",
        "without_output": "无产量产品数",
        "above_caption": "超限额企业（整改或退出）",
        "none_above": "本月无超过限定值的产品。",
        "excess": "超出限定值",
        "missing_caption": "产量缺失",
        "how": "补充方式",
        "output_missing": (
            "产量缺失：{enterprise}的{product}本月消耗 {tce} tce 而无产量，"
            "无单位产品能耗及等级；{hint}。"
        ),
        "hint_import": "请用 `{command}` 导入产量",
        "hint_meter": "请检查产量计量表 {meter}（无读数或计数为 0）",
        "products_unread": (
            "单位产品能耗：数据库中无 {products} 本月的指标；请用 "
            "`smartpark kpi --period month --from {first} --to {next} --write` 写入。"
        ),
        "sheet_products": "单位产品能耗对标",
        "sheet_levels": "分等级产量",
        "sheet_above": "超限额",
        "sheet_output_missing": "产量缺失",
        "dualcontrol": "双控目标完成情况",
        "dc_text": (
            "截至 {as_of}：本年累计为 {year} 年已结束的月份（12 个月中的 {closed} 个）。"
            "能耗按纳入考核的能源消费量（扣除新增可再生能源和原料用能）"
            "计，碳排放按二氧化碳排放总量计；强度按万元工业增加值计。"
            "年末预计按上年月度结构（上年剩余月份按本年累计同比例折算），否则按日均速率"
            "（本年累计日均值乘以全年天数）。预计差距大于零即超目标（红色）。"
        ),
        "dc_target": "考核对象",
        "dc_budget": "目标值",
        "dc_plan": "累计计划",
        "dc_actual": "累计实际",
        "dc_used": "目标使用率 %",
        "dc_projection": "年末预计",
        "dc_method": "预计方法",
        "dc_gap": "预计差距",
        "dc_gap_pct": "差距 %",
        "dc_off": "超目标",
        "measure_energy_tce": "能耗总量（纳入考核部分）",
        "measure_energy_intensity": "单位工业增加值能耗",
        "measure_co2_t": "二氧化碳排放总量",
        "measure_co2_intensity": "单位工业增加值二氧化碳排放",
        "measure_renewable_share": "可再生能源消费占比（下限）",
        "method_last_year_shape": "按上年月度结构",
        "method_run_rate": "按日均速率",
        "dc_unreadable": "双控目标：{reason}；请修正目标文件或用 `{command}` 导入。",
        "dc_none": (
            "双控目标：{path} 中无本范围及其园区、企业 {year} 年的目标；请添加 [[target]] 表"
            "（docs/dualcontrol.md）或用 `{command}` 导入。"
        ),
        "dc_missing": "双控目标，{target}：{note}。",
        "sheet_dualcontrol": "双控目标完成情况",
        "savings": "节能项目节能量",
        "sheet_savings": "节能项目节能量",
        "sv_project": "项目",
        "sv_month": "本月节能量",
        "sv_month_pct": "占基准能耗 %",
        "sv_total": "投运以来节能量",
        "sv_uncertainty": "±（90 %）",
        "sv_tce": "投运以来节能量（吨标准煤）",
        "sv_tco2": "投运以来减排量（吨二氧化碳）",
        "sv_cost": "投运以来节约费用（元）",
        "sv_go_live": "投运日期",
        "sv_text": (
            "实测节能量：以投运前一年按日室外气温拟合的基准能耗预测值减去实测能耗（{method}）；"
            "± 为预测值 90 % 的不确定度（docs/savings.md）。"
        ),
    },
}


def check_lang(value: str) -> Lang:
    for lang in LANGS:
        if lang == value:
            return lang
    raise OptionError(f"--lang: unknown language {value!r} (expected one of {', '.join(LANGS)})")


def name(thing: Zone | Park | Enterprise | Region | Product | Project, lang: Lang) -> str:
    """The name in ``lang`` first, the other language's beside it when the registry has it."""
    name_zh = getattr(thing, "name_zh", "")  # a region has one name
    if not name_zh:
        return thing.name
    if lang == "zh":
        return f"{name_zh}（{thing.name}）"
    return f"{thing.name} ({name_zh})"
