"""The web view in a real browser: headless Chromium (Debian chromium + chromium-driver)
driven by selenium logs in as a park user, sees its park, cannot reach another's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver  # the dev extra installs it: missing fails, never skips
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.serve.conftest import DEMO_MONTH, PASSWORD, Server

SHOTS = Path(os.environ.get("SMARTPARK_SCREENSHOTS", "/tmp/smartpark-screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
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


def test_park_user_sees_its_park_only(browser: object, server: Server) -> None:
    d = browser  # selenium WebDriver
    SHOTS.mkdir(parents=True, exist_ok=True)
    d.get(server.url + "/login?lang=zh")  # type: ignore[attr-defined]
    d.find_element(By.ID, "user").send_keys("petro-user")  # type: ignore[attr-defined]
    d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.ID, "submit").click()  # type: ignore[attr-defined]
    # the form posts, then the server redirects: wait for the page, bounded
    WebDriverWait(d, 20).until(lambda drv: "/view/" in drv.current_url)  # type: ignore[arg-type]
    assert "/view/park/petrochem" in d.current_url  # type: ignore[attr-defined]
    heading = d.find_element(By.ID, "heading").text  # type: ignore[attr-defined]
    assert "park:petrochem" in heading
    assert "指标概览" in d.page_source  # type: ignore[attr-defined]
    d.get(server.url + f"/view/park/petrochem?month={DEMO_MONTH}&lang=zh")  # type: ignore[attr-defined]
    rows = d.find_elements(By.CSS_SELECTOR, "#summary tr")  # type: ignore[attr-defined]
    assert len(rows) > 1
    assert d.find_elements(By.CSS_SELECTOR, "#summary tr.misses")  # type: ignore[attr-defined]
    drawn = d.execute_script(  # type: ignore[attr-defined]
        "return typeof Chart !== 'undefined' && Chart.getChart('month-chart') !== undefined"
    )
    assert drawn is True
    d.save_screenshot(str(SHOTS / "park-zh.png"))  # type: ignore[attr-defined]
    for url in ("/view/park/new-materials", "/view/zone/lanzhou-new-area", "/view/park/nope"):
        d.get(server.url + url + "?lang=en")  # type: ignore[attr-defined]
        assert d.find_element(By.ID, "error").text == "Not in your scope (or no such page)."  # type: ignore[attr-defined]
        assert "new-materials" not in d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    d.save_screenshot(str(SHOTS / "forbidden.png"))  # type: ignore[attr-defined]
