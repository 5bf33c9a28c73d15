"""The HTML report in a real browser: Debian's Chromium, driven by Selenium through chromium-driver.

Offline (the browser's network emulated off): the page opens from a file, every chart decodes, and the
drill-down links land on their rows: cohort x topic -> page -> the answers behind it.
.ci/run installs chromium and chromium-driver with apt-get; without them this test skips and says why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from citecast.citations.report import build_report
from citecast.citations.report.html import to_html
from tests.test_citations_report import NOW, data

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
    pytest.skip("no Chromium: apt-get install chromium chromium-driver (.ci/run does)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "citations.html"
    path.write_text(to_html(build_report(data(), now=NOW)), encoding="utf-8")
    browser.get(path.as_uri())
    return browser


def test_opens_offline_and_every_chart_renders(page):
    assert page.title == "citecast citation report"
    images = page.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    assert [i[0] for i in images] == ["Citation rate by cohort and topic", "Time to first citation",
                                      "Citation rate by cohort and freshness", "Trends per engine",
                                      "Share of voice per topic"]
    assert all(done and w > 200 and h > 100 for _, done, w, h in images), images
    fetched = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith("data:")] == []  # nothing from the network


def _visible(driver, element_id: str) -> bool:
    return driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return r.top > -2 && r.top < window.innerHeight;", element_id)  # scrolled to it (sub-pixel tops)


def test_drill_down_from_cohort_topic_to_page_to_answers(page):
    from selenium.webdriver.common.by import By

    page.find_element(By.CSS_SELECTOR, "table.cohort_topic a[href='#pages-e']").click()
    assert page.execute_script("return location.hash") == "#pages-e" and _visible(page, "pages-e")
    row = page.find_element(By.ID, "pages-e")
    assert row.find_elements(By.TAG_NAME, "td")[1].text == "distribution"
    row.find_element(By.CSS_SELECTOR, "a[href='#answers-e']").click()
    assert page.execute_script("return location.hash") == "#answers-e" and _visible(page, "answers-e")
    cells = [td.text for td in page.find_element(By.ID, "answers-e").find_elements(By.TAG_NAME, "td")]
    assert cells[:3] == ["e", "3", "perplexity"]
    page.find_element(By.CSS_SELECTOR, "table.pages a[href='#answers-a']").click()
    assert "Backlinks still matter, says ex.com." in page.find_element(By.ID, "answers-a").text


def test_every_internal_link_has_a_target(page):
    missing = page.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')]"
        ".map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))")
    assert missing == []
