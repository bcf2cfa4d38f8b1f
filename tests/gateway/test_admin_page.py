"""The reference admin page in a real browser (Debian's Chromium, headless, through
chromedriver), on the cell `make run` makes: sign in with the API token, browse the store,
remove Notes and install it again through the page with a title typed into its generated
settings form, see every step arrive live, reconfigure it from the Services screen (its form
holds its current title), and find the new title answering through Caddy.
Screenshots of the store and of the finished install are written for a person to look at
(their paths are printed); the page logs no JavaScript error."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.embedded.example import INSTALLED
from shared.config import CellConfig
from tests.parts.host_tables import clear_cell, leftovers
from tests.parts.stack import cleanup_docker
from tests.parts.up import start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CELL = "browser"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"  # var/ is not tracked
TITLE = "Notes typed in a browser"
RETITLED = "Notes retitled in a browser"

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ready  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def cell(tmp_path: Path, cell_turn: None) -> Iterator[dict[str, str]]:
    yield up_cell(tmp_path / "cell", cell=CELL)
    asyncio.run(clear_cell(CELL, tmp_path / "cell"))
    cleanup_docker("pic-cell", list(INSTALLED))
    assert leftovers(CELL) == []


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("chromium and chromium-driver are not installed (make setup installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-proxy-server"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    options.set_capability("goog:loggingOptions", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def _wait(browser: webdriver.Chrome, within: float = 30) -> WebDriverWait:
    return WebDriverWait(browser, within, poll_frequency=0.2)


def _text_of(browser: webdriver.Chrome, css: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, css).text)


def _click(browser: webdriver.Chrome, css: str, within: float = 30) -> None:
    """Click the element once it is there and clickable; again if the page redrew it."""

    def clicked(driver: webdriver.Chrome) -> bool:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        if not found or not found[0].is_displayed() or not found[0].is_enabled():
            return False
        found[0].click()
        return True

    WebDriverWait(
        browser, within, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    ).until(clicked)


def test_a_service_is_installed_through_the_admin_page_in_a_real_browser(
    cell: dict[str, str], browser: webdriver.Chrome
) -> None:
    up, out = start_up(cell, "--install-example")
    try:
        out.until(r"^Try it: ", 600)
        out.until(r" routes$", 10)
        started = time.monotonic()
        gateway = f"http://127.0.0.1:{cell['PIC_GATEWAY_HTTP_PORT']}"
        token = (Path(cell["DATA"]) / "secrets" / "api-token").read_text().strip()

        browser.get(f"{gateway}/ui/")
        _wait(browser).until(ready.visibility_of_element_located((By.ID, "token")))
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
        notes_card = '#catalog .card[data-service="notes"]'
        _wait(browser).until(ready.visibility_of_element_located((By.CSS_SELECTOR, notes_card)))
        _wait(browser).until(
            ready.text_to_be_present_in_element((By.CSS_SELECTOR, notes_card), "installed 1.0.0")
        )
        cards = browser.find_elements(By.CSS_SELECTOR, "#catalog .card")
        assert {c.get_attribute("data-service") for c in cards} >= set(INSTALLED)
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / "admin-store.png"))

        # Remove Notes on the Services screen (confirmed in the browser's dialog).
        browser.get(f"{gateway}/ui/#services")
        remove = '#services-rows tr[data-service="notes"] button:nth-of-type(3)'
        _click(browser, remove)
        _wait(browser).until(ready.alert_is_present()).accept()
        _wait(browser, 120).until(
            ready.text_to_be_present_in_element((By.ID, "service-output"), "succeeded")
        )

        # Install it from the store with a title typed into the generated form.
        browser.get(f"{gateway}/ui/#store")
        _click(browser, notes_card)
        title = _wait(browser).until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, 'input[name="site_title"]'))
        )
        secret = browser.find_element(By.CSS_SELECTOR, 'input[name="smtp_password"]')
        assert secret.get_attribute("type") == "password"  # a secret field is not shown
        upload = browser.find_element(By.CSS_SELECTOR, 'input[name="max_upload_mb"]')
        assert (upload.get_attribute("min"), upload.get_attribute("max")) == ("1", "1024")
        title.send_keys(TITLE)
        browser.find_element(By.ID, "install-button").click()
        _wait(browser, 180).until(
            ready.text_to_be_present_in_element((By.ID, "outcome"), "succeeded")
        )

        def steps_now(driver: webdriver.Chrome) -> dict[str, str]:
            return {
                str(li.get_attribute("data-step")): str(li.get_attribute("class"))
                for li in driver.find_elements(By.CSS_SELECTOR, "#steps li")
            }

        # A step's last word may trail the result by a moment: every one final within 5 s.
        WebDriverWait(browser, 5, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda driver: set(steps_now(driver).values()) <= {"done", "skipped"}
        )
        steps = steps_now(browser)
        # Every step arrived, each in its final state.
        assert {"verify", "containers", "routes", "accounts"} <= set(steps), steps
        assert set(steps.values()) <= {"done", "skipped"}, sorted(steps.items())
        link = _wait(browser).until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, "#outcome a"))
        )
        assert "notes." in str(link.get_attribute("href"))
        browser.execute_script("document.getElementById('detail').scrollIntoView()")
        browser.save_screenshot(str(SHOTS / "admin-installed.png"))

        # Reconfigure it from the Services screen: its form holds its current title.
        browser.get(f"{gateway}/ui/#services")
        _click(browser, '#services-rows tr[data-service="notes"] button:nth-of-type(2)')
        # The form drawn again for a reconfigure (the button says so), with the current title.
        _wait(browser).until(
            ready.text_to_be_present_in_element((By.ID, "install-button"), "Reconfigure")
        )
        title = browser.find_element(By.CSS_SELECTOR, 'input[name="site_title"]')
        assert title.get_attribute("value") == TITLE
        title.clear()
        title.send_keys(RETITLED)
        _click(browser, "#install-button")
        _wait(browser, 120).until(
            ready.text_to_be_present_in_element((By.ID, "outcome"), "succeeded")
        )
        assert "reconfigured" in _text_of(browser, "#outcome")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        took = time.monotonic() - started

        # The service answers through Caddy with the title typed in the page.
        listen = _caddy_listen(Path(cell["DATA"]))
        host = f"notes.{CELL}.test"
        page = subprocess.run(
            ["curl", "-sS", "--resolve", f"{host}:{listen}:127.0.0.1", f"http://{host}:{listen}/"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert f"<h1>{RETITLED}</h1>" in page.stdout, page.stdout + page.stderr
    finally:
        stop_up(up)
    print(f"browser part {took:.1f} s; screenshots {SHOTS}/admin-store.png, admin-installed.png")


def _caddy_listen(data: Path) -> str:
    return CellConfig.load(data).router.listen[0].rpartition(":")[2]
