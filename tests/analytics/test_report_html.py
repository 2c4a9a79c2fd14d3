import numpy as np

from smartpark.analytics.report import Chart, Section, Series, Table, render

DAY = 86_400_000


def test_report_is_self_contained_and_escapes_everything():
    series = Series("<park>", np.array([0, DAY, 2 * DAY]), np.array([1.0, 3.0, np.nan]))
    html = render(
        "Demo & report",
        [
            Section(
                "Park <script>",
                text="a < b",
                tables=[Table(["kpi", "value"], [["energy_tce", "1.23"]], caption="KPIs")],
                charts=[Chart("Energy", "tce", [series], kind="bar", limit=2.0),
                        Chart("Empty", "kW", [])],
            )
        ],
    )  # fmt: skip
    assert html.startswith("<!doctype html>")
    assert "<script" not in html  # escaped, and the report carries no scripts
    assert "Park &lt;script&gt;" in html
    assert "&lt;park&gt;" in html
    assert "energy_tce" in html
    assert html.count("<rect") == 2  # two finite bars, the NaN is skipped
    assert "limit 2" in html
    assert "no data" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_line_chart_has_one_point_per_finite_value():
    x = np.arange(5, dtype=np.int64) * 3_600_000
    y = np.array([1.0, 2.0, np.inf, 4.0, 5.0])
    html = render("t", [Section("s", charts=[Chart("Load", "kW", [Series("p", x, y)])])])
    points = html.split('points="')[1].split('"')[0].split()
    assert len(points) == 4
