"""The playground in a real browser: Debian's headless Chromium, driven by Selenium
through Debian's chromedriver (no browser is downloaded; the network is not needed).

One server and one browser serve every test here, to keep them quick. The page is
loaded afresh for each test, which gives it a session of its own.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tracegrad.playground.server import Playground, PlaygroundServer

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: The flags for a closed network: no updates, syncing, component downloads or QUIC.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1200",
]  # fmt: skip

if os.environ.get("CI") == "true":  # CI installs both: missing, they are a failure
    from selenium import webdriver
else:
    webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    reason = (
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[PlaygroundServer]:
    playground = Playground()
    running = PlaygroundServer(0, playground)
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield running
    finally:
        playground.stop()
        running.shutdown()
        running.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ.setdefault("SE_AVOID_STATS", "true")  # selenium's manager is not used; say so
    profile = tempfile.mkdtemp(prefix="tracegrad-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Any, server: PlaygroundServer) -> Any:
    browser.get(server.url)
    wait_for(lambda: js(browser, "return window.playground.frame !== null"))
    return browser


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("the page did not get there in time")


def epoch(driver: Any) -> int:
    return int(js(driver, "return window.playground.epoch"))


def play_to(driver: Any, epochs: int) -> None:
    """Press play, wait for ``epochs`` epochs, press pause and wait until it has paused."""
    driver.find_element(By.ID, "play").click()
    wait_for(lambda: epoch(driver) >= epochs)
    driver.find_element(By.ID, "play").click()
    wait_for(
        lambda: js(driver, "return document.getElementById('play').dataset.playing") == "false"
    )


def set_field(driver: Any, name: str, value: str) -> None:
    field = driver.find_element(By.ID, name)
    field.clear()
    field.send_keys(value)


def picture(driver: Any) -> np.ndarray:
    from PIL import Image

    png = driver.find_element(By.ID, "output").screenshot_as_png
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def test_the_page_loads_with_its_run(page: Any) -> None:
    assert page.title == "tracegrad playground"
    assert "Value engine, 2-8-8-1 tanh network" in page.find_element(By.ID, "status").text
    assert len(page.find_elements(By.CSS_SELECTOR, "#network .neuron")) == 2 + 8 + 8 + 1
    assert len(page.find_elements(By.CSS_SELECTOR, "#network line")) == 2 * 8 + 8 * 8 + 8
    assert "nn.scalar.MLP(2, [8, 8, 1]" in page.find_element(By.ID, "code").text
    assert page.find_element(By.ID, "epoch").text == "0"
    assert not [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"]


def test_a_control_changes_the_run_and_a_bad_value_is_a_message(page: Any) -> None:
    set_field(page, "hidden", "4")
    wait_for(lambda: "2-4-1" in page.find_element(By.ID, "status").text)
    assert len(page.find_elements(By.CSS_SELECTOR, "#network .neuron")) == 2 + 4 + 1
    assert "nn.scalar.MLP(2, [4, 1]" in page.find_element(By.ID, "code").text
    set_field(page, "lr", "fast")
    error = page.find_element(By.CSS_SELECTOR, '.error[data-for="lr"]')
    wait_for(lambda: error.text)
    assert error.text == "learning rate: expected a number, got 'fast'"
    assert "invalid" in page.find_element(By.ID, "lr").get_attribute("class")
    assert "the run goes on with the last good settings" in page.find_element(By.ID, "status").text
    assert len(page.find_elements(By.CSS_SELECTOR, "#network .neuron")) == 2 + 4 + 1


def test_play_lowers_the_loss_and_moves_the_boundary_and_pause_stops(page: Any) -> None:
    before = picture(page)
    play_to(page, 15)
    history = js(page, "return window.playground.history")
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    after = picture(page)
    assert np.abs(after - before).mean() > 2.0  # the regions moved (0-255 per channel)
    stopped_at, shown = epoch(page), len(history)
    time.sleep(1.0)
    assert epoch(page) == stopped_at
    assert len(js(page, "return window.playground.history")) == shown
    assert np.array_equal(picture(page), after)
    for view in ("show-test", "show-gradients"):  # views, not settings: the run stays
        page.find_element(By.ID, view).click()
    wait_for(lambda: js(page, "return window.playground.gradients !== null"))
    time.sleep(0.5)
    assert epoch(page) == stopped_at
    assert len(js(page, "return window.playground.history")) == shown


@pytest.mark.parametrize("engine", ["value", "tensor"])
def test_the_copied_code_reproduces_the_first_20_losses(page: Any, engine: str) -> None:
    if engine == "tensor":
        page.find_element(By.CSS_SELECTOR, "#engine option[value='tensor']").click()
        wait_for(lambda: "Tensor engine" in page.find_element(By.ID, "status").text)
    play_to(page, 20)
    losses = js(page, "return window.playground.firstRecords.map(r => r.train_loss)")[:20]
    page.find_element(By.ID, "copy").click()
    code = page.find_element(By.ID, "code").text
    assert ("nn.MLP(" if engine == "tensor" else "nn.scalar.MLP(") in code
    script = code + '\nimport json\nprint(json.dumps(history["train_loss"]))\n'
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    reproduced = json.loads(done.stdout.splitlines()[-1])[:20]
    assert len(losses) == 20
    np.testing.assert_allclose(reproduced, losses, rtol=0, atol=1e-9)


def test_a_neuron_shows_its_graph_and_backward_pass(page: Any) -> None:
    page.find_elements(By.CSS_SELECTOR, "#network .neuron:not(.input)")[0].click()
    wait_for(lambda: page.find_elements(By.CSS_SELECTOR, "#neuron-graph svg"))
    steps = page.find_elements(By.CSS_SELECTOR, "#backward li")
    assert steps[0].text.startswith("out = tanh(z)")
    assert "rule weighted_sum" in " ".join(step.text for step in steps)
    assert "# backward of weighted_sum" in page.find_element(By.ID, "neuron-code").text
    page.find_element(By.ID, "show-gradients").click()
    wait_for(lambda: js(page, "return window.playground.gradients !== null"))
    title = page.find_element(By.CSS_SELECTOR, "#network line title")
    assert "∂L/∂w" in title.get_attribute("textContent")


def test_closing_a_tab_ends_its_session(page: Any, server: PlaygroundServer) -> None:
    sessions = server.playground.sessions
    first = js(page, "return window.playground.session")
    page.switch_to.new_window("tab")
    page.get(server.url)
    second = wait_for(lambda: js(page, "return window.playground.session"))
    assert second != first and {first, second} <= set(sessions)
    page.find_element(By.ID, "play").click()
    wait_for(lambda: epoch(page) > 0)
    page.close()
    wait_for(lambda: second not in sessions, timeout=10)
    page.switch_to.window(page.window_handles[0])
    assert first in sessions
