"""The web view in a real browser: headless Chromium (Debian chromium + chromium-driver)
driven by selenium, as the users of the demo (tests/serve/conftest.py) use it.

A zone user logs in, reads its zone and clicks down to a meter; the pages are readable
(catalogue labels, separated numbers, a drawn chart) in English and Chinese; the period
picker moves between days, months and years; a park user and an enterprise user see
their own scope only; freshness, search and a malformed period read as the markup
contract (the web-view design) says. Every date follows from DEMO_DAY; screenshots of
each kind of page, in both languages and at a phone's width, go to SMARTPARK_SCREENSHOTS.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from selenium import webdriver  # the dev extra installs it: missing fails, never skips
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.core.registry import load
from smartpark.serve.labels import LABELS
from smartpark.serve.nav import display_name
from tests.serve.conftest import DEMO_DAY, DEMO_MONTH, NEXT_DAY, PASSWORD, REGISTRY, Server

SHOTS = Path(os.environ.get("SMARTPARK_SCREENSHOTS", "/tmp/smartpark-screenshots"))
WAIT_S = 20
DESKTOP = (1200, 1600)
PHONE = (390, 844)

REG = load(REGISTRY)
ZONE = "lanzhou-new-area"
PREV_MONTH = (dt.date.fromisoformat(f"{DEMO_MONTH}-01") - dt.timedelta(days=1)).strftime("%Y-%m")
DEMO_YEAR = DEMO_DAY[:4]
# The park's path from the zone down to one meter, as the zone user clicks it.
PATH = [
    ("zone", ZONE),
    ("region", "lanzhou-city"),
    ("region", "yongdeng-county"),
    ("park", "petrochem"),
    ("enterprise", "chem-a"),
    ("meter", "chem-a-main"),
]
CHEM_A_METERS = sorted(m.id for m in REG.meters.values() if m.enterprise == "chem-a")
ZONE_PARKS = sorted(p.id for p in REG.parks.values() if p.zone == ZONE)
# A number as the contract writes it: thousands separators, never e-notation; "–" blank.
NUMBER = re.compile(r"^(–|-?\d{1,3}(,\d{3})*(\.\d+)?)$")
E_NOTATION = re.compile(r"\d[eE][+-]?\d")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")  # energy_tce, no_tax_2y
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
STATUSES = ("ok", "late", "never")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver_path = shutil.which("chromedriver")
    if driver_path is None or shutil.which("chromium") is None:
        message = "needs Debian packages chromium and chromium-driver (apt-get install)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


# ---------------------------------------------------------------- helpers


def wait(d: WebDriver, until: Callable[[WebDriver], object], what: str) -> None:
    WebDriverWait(d, WAIT_S).until(until, message=what)


def loaded(d: WebDriver) -> None:
    wait(d, lambda drv: drv.execute_script("return document.readyState") == "complete", "load")


def login(d: WebDriver, server: Server, user: str, lang: str = "en") -> None:
    """Log in afresh as ``user`` through the form; wait for the landing page."""
    d.set_window_size(*DESKTOP)
    d.get(f"{server.url}/login?lang={lang}")
    d.delete_all_cookies()  # the browser is shared by the module's tests
    d.get(f"{server.url}/login?lang={lang}")
    d.find_element(By.ID, "user").send_keys(user)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "submit").click()
    # the form posts, then the server redirects: wait for the page, bounded
    wait(d, lambda drv: "/view/" in drv.current_url, f"{user} lands on a page")
    loaded(d)


def go(d: WebDriver, server: Server, path: str) -> None:
    d.get(server.url + path)
    loaded(d)


def click(d: WebDriver, element: WebElement) -> None:
    """Follow a link or press a button and wait for the next page to load."""
    old = d.find_element(By.TAG_NAME, "html")
    element.click()
    wait(d, ec.staleness_of(old), "the next page")
    loaded(d)


def query(d: WebDriver) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(d.current_url).query).items()}


def path_of(d: WebDriver) -> str:
    return urlsplit(d.current_url).path


def text(d: WebDriver, css: str) -> str:
    return d.find_element(By.CSS_SELECTOR, css).text.strip()


def body(d: WebDriver) -> str:
    """What the page shows (rendered text, not attributes or scripts)."""
    return d.find_element(By.TAG_NAME, "body").text


def links(d: WebDriver, css: str) -> list[tuple[str, str]]:
    """(kind, id) of the /view/ links under ``css``."""
    out = []
    for a in d.find_elements(By.CSS_SELECTOR, f"{css} a"):
        parts = urlsplit(a.get_attribute("href") or "").path.split("/")
        if len(parts) == 4 and parts[1] == "view":
            out.append((parts[2], parts[3]))
    return out


def link_to(d: WebDriver, css: str, kind: str, ident: str) -> WebElement:
    return d.find_element(By.CSS_SELECTOR, f"{css} a[href^='/view/{kind}/{ident}?']")


def name(kind: str, ident: str, lang: str) -> str:
    return display_name(REG, kind, ident, lang)


def card(d: WebDriver, kpi: str) -> tuple[str, str]:
    """(label, value) of a headline card."""
    c = d.find_element(By.CSS_SELECTOR, f"#headline .card[data-kpi='{kpi}']")
    return (
        c.find_element(By.CLASS_NAME, "label").text.strip(),
        c.find_element(By.CLASS_NAME, "value").text.strip(),
    )


def chart(d: WebDriver) -> dict[str, object] | None:
    """The drawn chart's labels and datasets, None when Chart.js drew nothing."""
    result: dict[str, object] | None = d.execute_script(
        "if (typeof Chart === 'undefined') return null;"
        "const c = Chart.getChart('daily-chart'); if (c === undefined) return null;"
        "return {labels: c.data.labels,"
        " series: c.data.datasets.map(s => ({label: s.label, values: s.data}))};"
    )
    return result


def forbidden(d: WebDriver, lang: str = "en") -> bool:
    found = d.find_elements(By.ID, "error")
    return bool(found) and found[0].text.strip() == LABELS[lang]["forbidden"]


def check_breadcrumb(d: WebDriver, expected: list[tuple[str, str]], lang: str) -> None:
    """The breadcrumb names ``expected`` in order, each ancestor a link to its page and
    the last one the current page (no link)."""
    items = d.find_elements(By.CSS_SELECTOR, "#breadcrumb li")
    assert [li.text.strip() for li in items] == [name(k, i, lang) for k, i in expected]
    for li, (k, i) in zip(items[:-1], expected[:-1], strict=True):
        a = li.find_elements(By.TAG_NAME, "a")
        assert a, f"breadcrumb {k}:{i} is not a link"
        assert urlsplit(a[0].get_attribute("href") or "").path == f"/view/{k}/{i}"
    last = items[-1]
    assert not last.find_elements(By.TAG_NAME, "a")
    assert last.find_elements(By.CSS_SELECTOR, "[aria-current='page']")


def check_heading(d: WebDriver, kind: str, ident: str, lang: str) -> None:
    heading = text(d, "#heading")
    assert heading.startswith(name(kind, ident, lang)), heading
    assert text(d, "#heading small.id") == f"{kind}:{ident}"


def shot(d: WebDriver, file: str, full: bool = True) -> None:
    """A screenshot of the whole page (the window stretched to its height) to SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width, height = d.get_window_size()["width"], d.get_window_size()["height"]
    if full:
        tall = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(width, min(max(int(tall) + 120, height), 12_000))
    try:
        d.save_screenshot(str(SHOTS / file))
    finally:
        d.set_window_size(width, height)


def overflow(d: WebDriver) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    extra: int = d.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return extra


# ---------------------------------------------------------------- 1. navigation


def test_zone_user_lands_on_the_zone_and_sees_its_parks_and_regions(
    browser: WebDriver, server: Server
) -> None:
    d = browser
    login(d, server, "zone-user", "zh")
    assert path_of(d) == f"/view/zone/{ZONE}"
    assert query(d)["lang"] == "zh"
    check_heading(d, "zone", ZONE, "zh")
    check_breadcrumb(d, [("zone", ZONE)], "zh")
    side = links(d, "#side")
    assert side[0] == ("zone", ZONE)
    assert d.find_element(By.CSS_SELECTOR, "#side a.current").text.strip() == name(
        "zone", ZONE, "zh"
    )
    assert ("region", "lanzhou-city") in side
    names = [a.text.strip() for a in d.find_elements(By.CSS_SELECTOR, "#side a")]
    assert name("park", "petrochem", "zh") == "精细化工园区"
    # a zone's page lists its parks (nav.py: "a zone ... lists its parks, not its
    # meters"), however many regions sit between the zone and its parks
    missing = [name("park", p, "zh") for p in ZONE_PARKS if ("park", p) not in side]
    assert not missing, f"the zone's side list {names} lacks its parks {missing}"
    assert not [k for k, _ in side if k == "meter"]


def test_zone_user_clicks_down_to_a_meter_keeping_the_period(
    browser: WebDriver, server: Server
) -> None:
    d = browser
    login(d, server, "zone-user", "zh")
    go(d, server, f"/view/zone/{ZONE}?lang=zh&day={DEMO_DAY}")
    assert text(d, "#period-label") == DEMO_DAY
    for step, (kind, ident) in enumerate(PATH[1:], start=2):
        # down through the table of the level below (a region, park, enterprise); an
        # enterprise's meters are linked from its freshness table
        click(d, link_to(d, "#freshness" if kind == "meter" else "#children", kind, ident))
        assert path_of(d) == f"/view/{kind}/{ident}"
        assert query(d)["lang"] == "zh"
        assert query(d).get("day") == DEMO_DAY, f"{kind}:{ident} lost the period"
        check_heading(d, kind, ident, "zh")
        check_breadcrumb(d, PATH[:step], "zh")
        current = d.find_element(By.CSS_SELECTOR, "#side a.current")
        assert current.get_attribute("aria-current") == "page"
        assert current.text.strip() == name(kind, ident, "zh")
        if kind == "meter":
            assert not d.find_elements(By.ID, "period")  # a meter has no KPIs to pick for
            facts = dict(
                (row.find_element(By.TAG_NAME, "th").text, row.find_element(By.TAG_NAME, "td").text)
                for row in d.find_elements(By.CSS_SELECTOR, "#facts tr")
            )
            assert facts[LABELS["zh"]["enterprise"]] == name("enterprise", "chem-a", "zh")
        else:
            assert text(d, "#period-label") == DEMO_DAY
            assert d.find_elements(By.CSS_SELECTOR, "#period .period-day.current")
    # back up through the breadcrumb from the meter: the period is still the day
    click(d, d.find_element(By.CSS_SELECTOR, "#breadcrumb a[href^='/view/park/petrochem?']"))
    assert path_of(d) == "/view/park/petrochem"
    assert text(d, "#period-label") == DEMO_DAY
    # and across the side list to a sibling enterprise
    click(d, link_to(d, "#side", "enterprise", "chem-b"))
    check_breadcrumb(d, [*PATH[:4], ("enterprise", "chem-b")], "zh")
    assert text(d, "#period-label") == DEMO_DAY
    # the language switch keeps page and period
    click(d, d.find_element(By.CSS_SELECTOR, "header .langs a[hreflang='en']"))
    assert path_of(d) == "/view/enterprise/chem-b"
    assert query(d) == {"day": DEMO_DAY, "lang": "en"}
    check_heading(d, "enterprise", "chem-b", "en")


# ---------------------------------------------------------------- 2. readable


def test_park_page_reads_as_words_and_numbers(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "zone-user", "en")
    go(d, server, f"/view/park/petrochem?day={DEMO_DAY}&lang=en")
    label, value = card(d, "energy_tce")
    assert label == KPIS["energy_tce"].label("en") == "Energy consumption"
    assert value not in ("0", "–"), "the stored demo day has energy"
    assert not d.find_elements(By.ID, "partial"), "a complete stored day is not in progress"
    for c in d.find_elements(By.CSS_SELECTOR, "#headline .card"):
        kpi = c.get_attribute("data-kpi") or ""
        assert c.find_element(By.CLASS_NAME, "label").text.strip() == KPIS[kpi].label("en")
    _, electricity = card(d, "electricity_kwh")
    assert NUMBER.match(electricity), electricity
    if float(electricity.replace(",", "")) >= 1000:
        assert re.match(r"^\d{1,3}(,\d{3})+(\.\d+)?$", electricity), electricity
    drawn = chart(d)
    assert drawn is not None, "Chart.getChart('daily-chart') is undefined"
    assert len(drawn["labels"]) == 24  # type: ignore[arg-type]  # hours of an Asia/Shanghai day
    series = drawn["series"]
    assert isinstance(series, list)
    assert series[0]["label"] == f"{KPIS['energy_tce'].label('en')} ({KPIS['energy_tce'].unit})"
    assert sum(v or 0 for v in series[0]["values"]) > 0

    shown = body(d)
    problems = []
    cells = d.find_elements(By.CSS_SELECTOR, "#headline .value, main td.num")
    assert len(cells) > 30
    bad = [c.text for c in cells if not NUMBER.match(c.text.strip())]
    if bad:
        problems.append(f"numbers not as 1,234.5 or –: {bad}")
    if E_NOTATION.search(shown):
        problems.append(f"e-notation: {E_NOTATION.findall(shown)}")
    kpi_names = sorted(k for k in KPIS if re.search(rf"\b{re.escape(k)}\b", shown) and "_" in k)
    if kpi_names:
        problems.append(f"KPI machine names shown: {kpi_names}")
    machine = sorted(set(SNAKE.findall(shown)))
    if machine:
        problems.append(f"machine names shown: {machine}")
    assert not problems, "\n".join(problems)


def test_park_page_in_chinese(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "zone-user", "zh")
    go(d, server, f"/view/park/petrochem?day={DEMO_DAY}&lang=zh")
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    label, _ = card(d, "energy_tce")
    assert label == KPIS["energy_tce"].label("zh") == "综合能源消费量"
    for c in d.find_elements(By.CSS_SELECTOR, "#headline .card"):
        kpi = c.get_attribute("data-kpi") or ""
        assert c.find_element(By.CLASS_NAME, "label").text.strip() == KPIS[kpi].label("zh")
    header = [th.text.split("\n")[0] for th in d.find_elements(By.CSS_SELECTOR, "#children th")]
    assert header[1] == KPIS["energy_tce"].label("zh")
    assert LABELS["zh"]["headline"] in body(d)
    assert text(d, "#breadcrumb li:last-child") == "精细化工园区"
    drawn = chart(d)
    assert drawn is not None
    series = drawn["series"]
    assert isinstance(series, list)
    assert series[0]["label"].startswith("综合能源消费量")
    assert not E_NOTATION.search(body(d))


def test_park_page_lists_the_parks_own_alerts(browser: WebDriver, server: Server) -> None:
    """A zone user sees every park's alerts, but a park's page lists the park's own:
    the park, its enterprises and their meters."""
    d = browser
    login(d, server, "zone-user", "en")
    go(d, server, f"/view/park/petrochem?day={DEMO_DAY}&lang=en")
    ents = {e.id for e in REG.enterprises.values() if e.park == "petrochem"}
    mine = {
        ("park", "petrochem"),
        *(("enterprise", e) for e in ents),
        *(("meter", m.id) for m in REG.meters.values() if m.enterprise in ents),
    }
    subjects = links(d, "#alerts")
    assert ("park", "petrochem") in subjects
    assert set(subjects) <= mine, f"alerts of other scopes: {sorted(set(subjects) - mine)}"
    shown = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#alerts tbody a")]
    assert name("park", "petrochem", "en") in shown  # named as people know it


def test_meter_page_reads_as_words(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "zone-user", "en")
    go(d, server, "/view/meter/chem-a-main?lang=en")
    facts = d.find_element(By.ID, "facts").text
    assert "Chem A Co." in facts
    assert not SNAKE.findall(facts), f"machine names shown: {SNAKE.findall(facts)}"


# ---------------------------------------------------------------- 3. period picker


def test_period_picker_moves_between_days_months_and_years(
    browser: WebDriver, server: Server
) -> None:
    d = browser
    login(d, server, "zone-user", "en")
    go(d, server, f"/view/park/petrochem?month={DEMO_MONTH}&lang=en")
    assert text(d, "#period-label") == DEMO_MONTH
    assert d.find_elements(By.CSS_SELECTOR, "#period .period-month.current")
    assert card(d, "energy_tce")[1] not in ("0", "–"), "the month holds the demo day"

    click(d, d.find_element(By.ID, "prev"))
    assert query(d).get("month") == PREV_MONTH
    assert text(d, "#period-label") == PREV_MONTH
    assert path_of(d) == "/view/park/petrochem"

    click(d, d.find_element(By.ID, "next"))
    assert text(d, "#period-label") == DEMO_MONTH

    click(d, d.find_element(By.CSS_SELECTOR, "#period .period-day"))
    first = f"{DEMO_MONTH}-01"
    assert query(d).get("day") == first
    assert "month" not in query(d)
    assert text(d, "#period-label") == first
    assert d.find_elements(By.CSS_SELECTOR, "#period .period-day.current")
    drawn = chart(d)
    assert drawn is not None
    assert len(drawn["labels"]) == 24  # type: ignore[arg-type]

    go(d, server, f"/view/park/petrochem?day={DEMO_DAY}&lang=en")
    click(d, d.find_element(By.ID, "next"))
    assert text(d, "#period-label") == NEXT_DAY
    click(d, d.find_element(By.ID, "prev"))
    assert text(d, "#period-label") == DEMO_DAY

    click(d, d.find_element(By.CSS_SELECTOR, "#period .period-year"))
    assert query(d).get("year") == DEMO_YEAR
    assert text(d, "#period-label") == DEMO_YEAR
    assert d.find_elements(By.CSS_SELECTOR, "#period .period-year.current")
    assert text(d, "#prev").endswith(str(int(DEMO_YEAR) - 1))
    drawn = chart(d)
    assert drawn is not None
    assert drawn["labels"][0] == f"{DEMO_YEAR}-01"  # type: ignore[index]
    # the year holds the demo day: its energy is not zero
    energy = card(d, "energy_tce")[1]
    assert energy not in ("0", "–"), f"year {DEMO_YEAR} shows energy {energy}"


# ---------------------------------------------------------------- 4. scopes


def test_park_user_sees_its_park_only(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "petro-user", "zh")
    assert path_of(d) == "/view/park/petrochem"
    check_heading(d, "park", "petrochem", "zh")
    assert LABELS["zh"]["headline"] in body(d)
    side = links(d, "#side")
    assert [i for k, i in side if k == "park"] == ["petrochem"]
    assert not [k for k, _ in side if k in ("zone", "region")]
    assert "新材料产业园" not in body(d)
    # the breadcrumb names nothing above what the user sees in full
    assert ("zone", ZONE) not in links(d, "#breadcrumb")
    assert ("region", "lanzhou-city") not in links(d, "#breadcrumb")

    go(d, server, f"/view/park/petrochem?month={DEMO_MONTH}&lang=zh")
    assert d.find_elements(By.CSS_SELECTOR, "#headline .card.misses")
    assert len(d.find_elements(By.CSS_SELECTOR, "#headline .card")) >= 5
    assert chart(d) is not None
    for url in ("/view/park/new-materials", f"/view/zone/{ZONE}", "/view/park/nope"):
        go(d, server, url + "?lang=en")
        assert forbidden(d), url
        assert "new-materials" not in body(d)
    shot(d, "forbidden.png", full=False)

    go(d, server, "/view/park/petrochem?lang=en")
    box = d.find_element(By.ID, "q")
    box.send_keys("materials")
    click(d, d.find_element(By.CSS_SELECTOR, "#find button"))
    assert path_of(d) == "/find"
    assert not d.find_elements(By.ID, "results")
    assert d.find_elements(By.ID, "results-none")
    assert "New Materials" not in body(d)
    go(d, server, "/find?q=alu&lang=en")  # an enterprise of the other park, by id
    assert not d.find_elements(By.CSS_SELECTOR, "#results a")


def test_enterprise_user_sees_its_enterprise_and_meters_only(
    browser: WebDriver, server: Server
) -> None:
    d = browser
    login(d, server, "chem-user", "en")
    assert path_of(d) == "/view/enterprise/chem-a"
    check_heading(d, "enterprise", "chem-a", "en")
    check_breadcrumb(d, [("enterprise", "chem-a")], "en")
    expected = [("enterprise", "chem-a"), *(("meter", m) for m in CHEM_A_METERS)]
    assert sorted(links(d, "#side")) == sorted(expected)
    assert not d.find_elements(By.ID, "children")  # its meters are in the freshness table
    assert sorted(links(d, "#freshness")) == [("meter", m) for m in CHEM_A_METERS]
    landuse = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#landuse tbody td:first-child")]
    assert landuse in ([], [name("enterprise", "chem-a", "en")])
    subjects = links(d, "#alerts")
    assert set(subjects) <= {("enterprise", "chem-a"), *(("meter", m) for m in CHEM_A_METERS)}

    click(d, link_to(d, "#side", "meter", "chem-a-power"))
    check_heading(d, "meter", "chem-a-power", "en")
    check_breadcrumb(d, [("enterprise", "chem-a"), ("meter", "chem-a-power")], "en")
    for url in (
        "/view/park/petrochem",
        "/view/enterprise/chem-b",
        "/view/meter/chem-b-main",
        "/view/region/yongdeng-county",
        f"/view/zone/{ZONE}",
    ):
        go(d, server, url + "?lang=en")
        assert forbidden(d), url
    go(d, server, "/find?q=chem&lang=en")
    found = links(d, "#results")
    assert ("enterprise", "chem-a") in found
    assert set(found) <= set(expected)


# ---------------------------------------------------------------- 5. freshness


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_freshness_statuses(browser: WebDriver, server: Server, lang: str) -> None:
    d = browser
    login(d, server, "chem-user", lang)
    go(d, server, f"/view/enterprise/chem-a?day={DEMO_DAY}&lang={lang}")
    t = LABELS[lang]
    rows = d.find_elements(By.CSS_SELECTOR, "#freshness tbody tr")
    subjects = [r.find_element(By.CSS_SELECTOR, "td:first-child").text for r in rows]
    assert {s.split()[-1] for s in subjects} == {*CHEM_A_METERS, "gw-chem-a"}
    seen = []
    for row, subject in zip(rows, subjects, strict=True):
        _, last, status = row.find_elements(By.TAG_NAME, "td")
        css = set((status.get_attribute("class") or "").split())
        kinds = css & set(STATUSES)
        assert len(kinds) == 1, f"{subject}: status class {css}"
        kind = kinds.pop()
        assert status.text.strip() == t[f"status_{kind}"], subject
        assert status.text.strip() not in ("stale", "滞后")  # the words of the old table
        seen.append((subject, kind, last.text.strip()))
    assert "stale" not in d.find_element(By.ID, "freshness").text
    # the contract: "never" is a meter that never reported; "late" and "on time" have a
    # last reading, shown in the park's time zone
    wrong = [
        (s, k, last)
        for s, k, last in seen
        if (k == "never") != (last == "") or (last and not STAMP.match(last))
    ]
    assert not wrong, f"status and last reading disagree: {wrong}"
    # the demo simulated chem-a's meters on DEMO_DAY: their last readings are of that day
    days = {last[:10] for _, _, last in seen if last}
    assert days, "no meter shows a last reading"
    assert days <= {DEMO_DAY, NEXT_DAY}, days


# ---------------------------------------------------------------- 6. search


def test_zone_user_finds_an_enterprise(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "zone-user", "en")
    box = d.find_element(By.ID, "q")
    box.send_keys("chem")
    click(d, d.find_element(By.CSS_SELECTOR, "#find button"))
    assert path_of(d) == "/find"
    assert query(d) == {"q": "chem", "lang": "en"}
    assert d.find_element(By.ID, "q").get_attribute("value") == "chem"
    items = d.find_elements(By.CSS_SELECTOR, "#results li")
    assert items
    for li in items:  # every result matches by id or name
        assert "chem" in li.text.casefold(), li.text
    found = links(d, "#results")
    assert ("park", "petrochem") in found
    assert ("enterprise", "chem-a") in found
    assert not [i for k, i in found if k == "park" and i != "petrochem"]
    click(d, link_to(d, "#results", "enterprise", "chem-a"))
    assert path_of(d) == "/view/enterprise/chem-a"
    check_heading(d, "enterprise", "chem-a", "en")

    # by its Chinese name, from a Chinese page
    go(d, server, "/view/enterprise/chem-a?lang=zh")
    d.find_element(By.ID, "q").send_keys("化工甲")
    click(d, d.find_element(By.CSS_SELECTOR, "#find button"))
    assert links(d, "#results") == [("enterprise", "chem-a")]
    assert text(d, "#results a") == "化工甲有限公司"


# ---------------------------------------------------------------- 7. malformed period


def test_malformed_period_shows_the_error_page(browser: WebDriver, server: Server) -> None:
    d = browser
    login(d, server, "zone-user", "en")
    bad_month = f"{DEMO_YEAR}-13"
    go(d, server, f"/view/park/petrochem?month={bad_month}&lang=en")
    message = text(d, "#error")
    assert "month" in message
    assert bad_month in message
    assert "Traceback" not in body(d)
    shot(d, "error-period-en.png", full=False)
    go(d, server, f"/view/park/petrochem?month={bad_month}&lang=zh")
    assert text(d, "#error").startswith("地址无效")


def _log_in(client: httpx.Client) -> None:
    r = client.post("/login", data={"user": "admin-user", "password": PASSWORD})
    assert r.status_code == 303, r.text


@pytest.mark.parametrize(
    ("period", "named"),
    [
        (f"month={DEMO_YEAR}-13", "month"),
        (f"day={DEMO_MONTH}-32", "day"),
        (f"day={DEMO_DAY}&month={DEMO_MONTH}", "month"),
        ("year=abcd", "year"),
        ("year=1899", "year"),
        (f"year={DEMO_YEAR}0", "year"),  # too long for the query's own check
    ],
)
def test_malformed_period_is_a_400_page(server: Server, period: str, named: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        _log_in(client)
        r = client.get(f"/view/zone/{ZONE}?{period}&lang=en")
    assert r.status_code == 400, r.text[:300]
    assert r.headers["content-type"].startswith("text/html"), r.text[:300]
    assert 'id="error"' in r.text
    assert named in r.text


# ---------------------------------------------------------------- 8. screenshots


PAGES = [
    ("zone", f"/view/zone/{ZONE}?day={DEMO_DAY}"),
    ("park", f"/view/park/petrochem?day={DEMO_DAY}"),
    ("enterprise", f"/view/enterprise/chem-a?day={DEMO_DAY}"),
    ("meter", "/view/meter/chem-a-main?"),
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_fit_the_window_and_screenshots(
    browser: WebDriver, server: Server, lang: str
) -> None:
    """Each kind of page, whole, to SHOTS (look at them); none scrolls sideways, on a
    desktop or a phone (wide tables scroll in their own box)."""
    d = browser
    login(d, server, "zone-user", lang)
    wide = []
    for kind, url in PAGES:
        go(d, server, f"{url}&lang={lang}")
        check_heading(d, *PATH[[k for k, _ in PATH].index(kind)], lang)
        shot(d, f"{kind}-{lang}.png")
        if overflow(d) > 0:
            wide.append((kind, "desktop", overflow(d)))
    try:
        d.set_window_size(*PHONE)
        for kind, url in PAGES:
            go(d, server, f"{url}&lang={lang}")
            if kind == "park":
                shot(d, f"park-{lang}-phone.png", full=False)
                shot(d, f"park-{lang}-phone-full.png")
            if overflow(d) > 0:
                wide.append((kind, "phone", overflow(d)))
    finally:
        d.set_window_size(*DESKTOP)
    assert not wide, f"pages wider than the window (px): {wide}"
