"""The console in headless Chromium: `paybridge sandbox` as a real process, clicked through
3DS and a capture. Chromium (Debian's `chromium` + `chromium-driver`) is required: the test
fails, never skips, without it — `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from paybridge.sandbox.checkout_cards import TOKEN_THREE_DS

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    """`paybridge sandbox` on a free loopback port; stopped with Ctrl-C (SIGINT) at the end,
    which must shut it down cleanly."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("paybridge")),
        "sandbox",
        "--port",
        str(port),
        "--database",
        f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}",
    ]
    output = tmp_path / "sandbox.out"
    env = {**os.environ, "PAYBRIDGE_LOG_LEVEL": "WARNING"}
    env.pop("PAYBRIDGE_API_KEYS", None)
    with output.open("wb") as sink:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"paybridge sandbox did not start:\n{output.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"Ctrl-C did not stop the sandbox:\n{output.read_text()}")
    printed = output.read_text()
    assert code == 0, printed
    assert "API key     sbx_" in printed
    assert f"{url}/sandbox" in printed


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[WebDriver]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_binary = shutil.which("chromedriver")
    if binary is None or driver_binary is None:
        pytest.fail(
            "Chromium is required for the console test: "
            "apt-get update && apt-get install -y chromium chromium-driver",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_binary))
    try:
        yield driver
    finally:
        driver.quit()


def click_when_ready(driver: WebDriver, element_id: str, *, timeout_s: float = 20) -> None:
    """The console refreshes itself while webhooks and the worker are busy; reload until the
    button for the next step is there, then click it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            driver.find_element(By.ID, element_id).click()
            return
        except (NoSuchElementException, StaleElementReferenceException):
            if time.monotonic() > deadline:
                raise AssertionError(f"no #{element_id} on {driver.current_url}") from None
        time.sleep(0.5)
        driver.refresh()


def wait_for_text(driver: WebDriver, *texts: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(text in driver.page_source for text in texts):
        if time.monotonic() > deadline:
            raise AssertionError(f"{texts} not all on {driver.current_url}")
        time.sleep(0.5)
        driver.refresh()


def test_click_through_three_ds_and_capture(sandbox_url: str, chromium: WebDriver) -> None:
    chromium.get(f"{sandbox_url}/sandbox")
    assert "paybridge sandbox" in chromium.title
    Select(chromium.find_element(By.ID, "token")).select_by_value(TOKEN_THREE_DS)
    chromium.find_element(By.ID, "btn-create").click()

    deadline = time.monotonic() + 20
    while "/sandbox/payments/pay_" not in chromium.current_url:  # the POST, then its 303
        assert time.monotonic() < deadline, chromium.current_url
        time.sleep(0.2)
    assert "the shopper must complete 3DS" in chromium.page_source
    click_when_ready(chromium, "btn-complete-3ds")

    wait_for_text(chromium, "<td>Authorized</td>", "payment_approved")
    click_when_ready(chromium, "btn-capture")

    wait_for_text(chromium, "<td>Captured</td>", "payment_captured", "<h3>CKO_Payment__c</h3>")
    record = chromium.find_element(By.XPATH, "//h3[text()='CKO_Payment__c']/following::table[1]")
    assert "Captured" in record.text
    assert "149.90" in record.text
