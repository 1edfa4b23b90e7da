"""Policy Studio in a real headless browser: Debian's chromium driven by Selenium through
chromedriver (`.ci/run` installs both). The test types into the editor, sees a problem appear
at its line and clear, draws a schedule, explains a request, runs the pack's tests, views diff
and floor, downloads the edited file, and replays a decision log after moving the curfew. With
STUDIO_SCREENSHOTS=DIR it saves the main views as DIR/studio-*.png (docs/img holds the ones
docs/studio.md shows)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from studio_support import Studio, copy_policies, snapshot
from test_replay import CURFEW, FLIPS_TO_DENY, OTHER_REASONS, UNCHANGED, write_log
from test_server import Server

import youthmode
from youthmode.server.auth import create_key

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: `.ci/run` installs them", pytrace=False)

WAIT_SECONDS = 60  # floor over a whole year of kinds of day takes a few seconds on a busy box


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Studio, WebDriver, Path]]:
    root = tmp_path_factory.mktemp("studio-browser")
    folder = copy_policies(root / "policies")
    logs = root / "logs"
    logs.mkdir()
    requests = FLIPS_TO_DENY + OTHER_REASONS + UNCHANGED  # 4 flip when the curfew moves to 21:00
    write_log(logs / "decisions.jsonl", requests, youthmode.Engine.from_path(folder))
    before = snapshot(folder), snapshot(logs)
    downloads = root / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1500,1000",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    studio = Studio(folder, ["--logs-dir", str(logs)])
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield studio, driver, downloads
    finally:
        driver.quit()
        studio.stop()
    assert (snapshot(folder), snapshot(logs)) == before


def wait(driver: WebDriver, condition: object) -> object:
    return WebDriverWait(driver, WAIT_SECONDS).until(condition)


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def shoot(driver: WebDriver, name: str) -> None:
    folder = os.environ.get("STUDIO_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / f"studio-{name}.png"))


def error_lines(driver: WebDriver) -> list[int]:
    found = driver.find_elements(By.CSS_SELECTOR, "#gutter .line.error")
    return [int(e.get_attribute("data-line") or 0) for e in found]


def test_edit_see_the_problem_at_its_line_then_fix_it(
    setup: tuple[Studio, WebDriver, Path],
) -> None:
    studio, driver, _ = setup
    driver.get(studio.page + "?file=cn-baseline.toml")
    wait(driver, lambda d: text_of(d, "status").startswith("ok"))
    source = driver.find_element(By.ID, "source")
    text = str(source.get_attribute("value"))
    line = text[: text.index('kind = "allow_window"')].count("\n") + 1
    # Put the caret at the end of the `kind = "allow_window"` line and type a mistake there.
    driver.execute_script(
        "const s = arguments[0], at = s.value.indexOf('kind = \"allow_window\"') + 21;"
        "s.focus(); s.setSelectionRange(at, at);",
        source,
    )
    source.send_keys(Keys.BACKSPACE, Keys.BACKSPACE, 'x"')  # allow_window -> allow_windox
    wait(driver, lambda d: error_lines(d) == [line])
    problems = text_of(driver, "problems")
    assert f"line {line}" in problems and "allow_windox" in problems
    marker = driver.find_element(By.CSS_SELECTOR, f'#gutter .line[data-line="{line}"]')
    assert "allow_windox" in str(marker.get_attribute("title"))
    assert "error" in text_of(driver, "status")
    shoot(driver, "problem")
    source.send_keys(Keys.BACKSPACE, Keys.BACKSPACE, 'w"')  # fixed again
    wait(driver, lambda d: error_lines(d) == [] and text_of(d, "status").startswith("ok"))


def test_draw_a_schedule(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, _ = setup
    Select(driver.find_element(By.ID, "action")).select_by_visible_text("game.play")
    driver.find_element(By.ID, "week").send_keys("2026-W48")
    driver.find_element(By.ID, "draw").click()
    wait(driver, lambda d: d.find_elements(By.ID, "schedule-svg"))
    picture = driver.find_element(By.ID, "schedule-svg")
    assert str(picture.get_attribute("src")).startswith("data:image/svg+xml")
    assert driver.execute_script("return arguments[0].naturalWidth", picture) > 500
    assert "fri 2026-11-27" in text_of(driver, "schedule-out")
    assert "20:00–21:00" in text_of(driver, "schedule-out")
    shoot(driver, "schedule")


def test_explain_a_request(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, _ = setup
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="explain"]').click()
    at = driver.find_element(By.ID, "at")
    at.clear()
    at.send_keys("2026-11-27T19:30:00+08:00")
    driver.find_element(By.ID, "explain").click()
    wait(driver, lambda d: d.find_elements(By.ID, "trace"))
    assert text_of(driver, "effect") == "deny"
    rows = driver.find_elements(By.CSS_SELECTOR, "#trace tr.outcome-deny")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["cn-baseline/game-window"]
    assert "Minors may play online games only" in text_of(driver, "explain-out")
    shoot(driver, "explain")


def test_run_the_packs_tests(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, _ = setup
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="tests"]').click()
    driver.find_element(By.ID, "run-tests").click()
    wait(driver, lambda d: d.find_elements(By.ID, "tests-summary"))
    assert text_of(driver, "tests-summary").endswith("passed, 0 failed")
    assert driver.find_elements(By.CSS_SELECTOR, "#tests-out tr.case-pass")


def widen_the_game_window(driver: WebDriver) -> None:
    driver.execute_script(
        "const s = document.getElementById('source');"
        's.value = s.value.replace(\'between = ["20:00", "21:00"] }]\','
        ' \'between = ["19:00", "21:00"] }]\');'
        "s.dispatchEvent(new Event('input'));"
    )


def test_diff_against_the_loaded_set(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, _ = setup
    widen_the_game_window(driver)
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="diff"]').click()
    driver.find_element(By.ID, "diff-year").send_keys("2026")
    driver.find_element(By.ID, "run-diff").click()
    wait(driver, lambda d: d.find_elements(By.ID, "diff-summary"))
    assert text_of(driver, "diff-summary").startswith("changed")
    groups = driver.find_elements(By.CSS_SELECTOR, "#diff-out .group h4")
    assert groups and all("cn-baseline/game-window" in g.text for g in groups)
    assert "old: deny (outside_allowed_window) → new: allow" in text_of(driver, "diff-out")
    shoot(driver, "diff")


def test_the_packs_tests_catch_the_edit(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, _ = setup  # the game window is still 19:00-21:00 from the diff above
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="tests"]').click()
    driver.find_element(By.ID, "run-tests").click()
    wait(driver, lambda d: "0 failed" not in text_of(d, "tests-summary"))
    first = driver.find_element(By.CSS_SELECTOR, "#tests-out table tr:nth-child(2)")
    assert first.get_attribute("class") == "case-fail"  # failures come first
    assert "expected" in first.text
    shoot(driver, "tests")


def test_replay_a_log_after_moving_the_curfew(setup: tuple[Studio, WebDriver, Path]) -> None:
    studio, driver, _ = setup
    driver.get(studio.page + "?file=cn-baseline.toml")  # as on disk
    wait(driver, lambda d: text_of(d, "status").startswith("ok"))
    source = driver.find_element(By.ID, "source")
    text = str(source.get_attribute("value"))
    start = text.index(CURFEW) + len('between = ["')
    source.click()
    driver.execute_script(
        "arguments[0].setSelectionRange(arguments[1], arguments[2])", source, start, start + 2
    )
    source.send_keys("21")  # typed over "22": the curfew now starts at 21:00
    wait(driver, lambda d: text_of(d, "status").startswith("ok"))
    assert 'between = ["21:00", "06:00"]' in str(source.get_attribute("value"))
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="replay"]').click()
    offered = Select(driver.find_element(By.ID, "replay-log")).first_selected_option.text
    assert offered.split(" (")[0].endswith("decisions.jsonl")
    driver.find_element(By.ID, "run-replay").click()
    wait(driver, lambda d: d.find_elements(By.ID, "replay-summary"))
    summary = text_of(driver, "replay-summary")
    assert "10 decisions read: 10 replayed, 0 skipped" in summary
    assert "flipped: 4 (allow → deny 4, deny → allow 0)" in summary
    assert "same effect, other reasons: 1" in summary
    assert "curfew" in text_of(driver, "replay-reasons")
    examples = driver.find_elements(By.CSS_SELECTOR, "#replay-out li.example")
    assert "after: deny (curfew), band 12-16" in examples[0].text
    assert not driver.find_elements(By.ID, "replay-capped")
    shoot(driver, "replay")
    driver.find_element(By.ID, "replay-lines").clear()
    driver.find_element(By.ID, "replay-lines").send_keys("2")
    driver.find_element(By.ID, "run-replay").click()
    wait(driver, lambda d: d.find_elements(By.ID, "replay-capped"))
    assert "Stopped at the limit of 2 lines" in text_of(driver, "replay-capped")
    assert "flipped: 2" in text_of(driver, "replay-summary")


def test_floor_against_a_baseline(setup: tuple[Studio, WebDriver, Path]) -> None:
    studio, driver, _ = setup
    driver.get(studio.page + "?file=vn-decree-147.toml")
    wait(driver, lambda d: text_of(d, "status").startswith("ok"))
    driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="floor"]').click()
    assert (
        Select(driver.find_element(By.ID, "baseline")).first_selected_option.text == "cn-baseline"
    )
    driver.find_element(By.ID, "floor-year").send_keys("2026")
    driver.find_element(By.ID, "run-floor").click()
    wait(driver, lambda d: d.find_elements(By.ID, "floor-summary"))
    assert "allows what the baseline denies" in text_of(driver, "floor-summary")
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#floor-out .group h4")]
    assert any("cn-baseline/game-window" in h for h in headings)
    shoot(driver, "floor")


def test_download_the_edited_file(setup: tuple[Studio, WebDriver, Path]) -> None:
    _, driver, downloads = setup
    source = driver.find_element(By.ID, "source")
    source.send_keys(Keys.CONTROL, Keys.END)
    source.send_keys("\n# edited in the studio\n")
    driver.find_element(By.ID, "download").click()
    target = downloads / "vn-decree-147.toml"
    wait(
        driver,
        lambda d: (
            target.is_file()
            and target.read_text(encoding="utf-8").endswith("# edited in the studio\n")
        ),
    )
    assert target.read_text(encoding="utf-8") == source.get_attribute("value")


def test_the_served_studio_asks_for_an_admin_key(
    setup: tuple[Studio, WebDriver, Path], tmp_path: Path
) -> None:
    _, driver, _ = setup
    keys = tmp_path / "keys.toml"
    admin = create_key(keys, "studio-admin", ["admin"])
    server = Server(tmp_path, env={"YOUTHMODE_KEYS_FILE": str(keys)})
    try:
        driver.get(server.url + "/studio/")
        wait(driver, lambda d: d.find_element(By.ID, "key-box").is_displayed())
        assert "401" in text_of(driver, "status") or "Unauthorized" in text_of(driver, "status")
        driver.find_element(By.ID, "key").send_keys(admin, Keys.TAB)
        wait(driver, lambda d: text_of(d, "status").startswith("ok"))
        assert driver.find_element(By.ID, "source").get_attribute("value").startswith("#")
        driver.find_element(By.CSS_SELECTOR, '#tabs [data-tab="replay"]').click()
        assert "Replay is off here" in text_of(driver, "replay-off")
        assert not driver.find_element(By.ID, "run-replay").is_enabled()
    finally:
        driver.execute_script("sessionStorage.clear()")
        server.stop()
