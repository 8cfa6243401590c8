"""A real browser drives a running ``smt admin``: log in, filter by a tag, open a
record, compare selected records. Screenshots are saved for a person to look at.

Headless Chromium (Debian packages ``chromium`` and ``chromium-driver``, which
``.ci/run`` installs) through Selenium, with the driver and browser named
explicitly so nothing is downloaded. Every request goes to 127.0.0.1. Skipped
when Chromium or Selenium is missing -- failed instead when ``CI`` is set.

Screenshots go to ``$SMTQ_ARTIFACTS/admin-browser/`` (default: pytest's
temporary directory, printed at the end of the test).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "a long enough browser password"
SMT = os.path.join(os.path.dirname(sys.executable), "smt")
# seconds to wait for a page or a script's effect: generous, for a loaded CI machine
WAIT = 120


def _missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install {package})"
    return None


@pytest.fixture(scope="module")
def browser_ready():
    why = _missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test: {why} (CI is set: it never skips)", pytrace=False)
        pytest.skip(f"browser test: {why}")


@pytest.fixture(scope="module")
def project(tmp_path_factory, browser_ready, demo_project_sqlite, copy_sqlite_project):
    """A copy of the demo project on SQLite (400 records, 2 runs) with one account."""
    path = copy_sqlite_project(demo_project_sqlite, tmp_path_factory.mktemp("browser") / "demo").path
    made = subprocess.run([SMT, "admin", "--create-user", "tester"], cwd=path,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return path


@pytest.fixture(scope="module")
def server(project):
    """``smt admin --port 0`` running in the project; yields its base URL."""
    proc = subprocess.Popen([SMT, "admin", "--port", "0"], cwd=project, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        line = proc.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


@pytest.fixture(scope="module")
def browser(browser_ready):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="smtq-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    root = os.environ.get("SMTQ_ARTIFACTS")
    folder = (os.path.join(root, "admin-browser") if root
              else str(tmp_path_factory.mktemp("admin-browser")))
    os.makedirs(folder, exist_ok=True)
    return folder


def test_login_filter_open_compare(server, browser, shots, project):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from smt_query import RecordStoreView
    view = RecordStoreView(project=project)

    def shot(name, full=False):
        path = os.path.join(shots, name)
        if full:   # the whole page: a window as tall as the document
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(1400, min(height, 6000))
        assert browser.save_screenshot(path)
        if full:
            browser.set_window_size(1400, 1000)
        return path

    def arrive(part):
        """Wait for the navigation a click started; the page is then loaded."""
        WebDriverWait(browser, WAIT).until(lambda b: part in b.current_url and b.execute_script(
            "return document.readyState") == "complete")

    def visible_labels():
        return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#result_list th.field-label a")]

    # 1. any page sends a stranger to the login form
    browser.get(server + "/django_store/record/?tag=fig")
    assert "/login/" in browser.current_url
    assert browser.find_element(By.ID, "id_username").is_displayed()
    shot("1-login.png")
    browser.find_element(By.ID, "id_username").send_keys("tester")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    arrive("tag=fig")

    # 2. the record list (the login went on to the page asked for first)
    browser.get(server + "/")
    assert browser.current_url.endswith("/django_store/record/")
    assert "Sumatra records" in browser.title
    assert visible_labels() == view.labels()[:100]
    shot("2-records.png")

    # 3. filter by the tag "fig" in the sidebar: exactly the library's records
    sidebar = browser.find_element(By.ID, "changelist-filter")
    sidebar.find_element(By.XPATH, ".//details[@data-filter-title='tag']//a[text()='fig']").click()
    arrive("tag=fig")
    fig = view.filter.tags("fig").labels()
    assert visible_labels() == fig and len(fig) > 3
    assert all(re.search(r"\bfig\b", row.text) for row in
               browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr"))
    shot("3-tag-fig.png")

    # the parameter box narrows further, with the --where language
    box = browser.find_element(By.ID, "smt-where-input")
    box.send_keys("optimizer.lr >= 0.005")
    box.submit()
    arrive("where=")
    assert "tag=fig" in browser.current_url
    assert visible_labels() == view.filter.tags("fig").filter.where("optimizer.lr >= 0.005").labels()
    shot("4-tag-and-parameters.png")
    browser.get(server + "/django_store/record/?tag=fig")

    # 4. open a record: every field, parameters as a tree
    first = fig[0]
    browser.find_element(By.LINK_TEXT, first).click()
    arrive("/change/")
    page = browser.find_element(By.ID, "content").text
    record = view.get(first)
    assert first in page and record.main_file in page and "μtilde" in page
    assert browser.find_element(By.ID, "id_tag_list").get_attribute("value") == ", ".join(
        sorted(t for t in record.tags if not t.startswith("_")))
    shot("5-record.png", full=True)

    # 5. select three records and run "compare selected"
    browser.get(server + "/django_store/record/?tag=fig")
    # the admin's actions script (admin/js/actions.js) sets up its listeners as
    # soon as it has run on a parsed page; a click before that is not counted
    WebDriverWait(browser, WAIT).until(lambda b: b.execute_script(
        "return typeof window.Actions === 'function' && document.readyState === 'complete'"))
    boxes = browser.find_elements(By.CSS_SELECTOR, "#result_list input.action-select")
    for box in boxes[:3]:
        box.click()
    # the admin's script marks the rows of the ticked boxes and counts them: it
    # is running and saw them
    WebDriverWait(browser, WAIT).until(lambda b: b.execute_script(
        "return document.querySelectorAll('#result_list tbody tr.selected').length") == 3
        and b.find_element(By.CSS_SELECTOR, ".action-counter").text.startswith("3 of"))
    assert [row.get_attribute("class").split().count("selected") for row in
            browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")[:4]] == [1, 1, 1, 0]
    assert [box.is_selected() for box in boxes[:4]] == [True, True, True, False]
    Select(browser.find_element(By.NAME, "action")).select_by_value("compare_selected")
    browser.find_element(By.CSS_SELECTOR, "#changelist-form button[name=index]").click()
    arrive("/compare/")
    table = browser.find_element(By.ID, "smt-compare-table")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == fig[:3]
    Select(browser.find_element(By.ID, "smt-depth")).select_by_value("1")
    browser.find_element(By.CSS_SELECTOR, "#smt-compare-controls input[type=submit]").click()
    arrive("depth=1")
    folded = browser.find_elements(By.CSS_SELECTOR, "#smt-compare-table a.smt-folded")
    assert folded and folded[0].text == "<+>"
    shot("6-compare-depth1.png")
    folded[0].click()                   # one level deeper
    arrive("depth=2")
    shot("7-compare-depth2.png")

    # 6. the charts: parallel coordinates above the comparison, the list's selection against time
    from smt_query.compare import compare_view
    from smt_query.params import get_task_param
    if compare_view(view.filter.labels(*fig[:3])).comparison.parallel_data()["keys"]:
        chart = browser.find_element(By.CSS_SELECTOR, "#smt-compare-chart svg")
        assert chart.is_displayed() and chart.size["width"] > 300
        assert len(chart.find_elements(By.CSS_SELECTOR, "g.smt-marks path")) == 3
    browser.get(server + "/django_store/record/?tag=fig")
    box = browser.find_element(By.ID, "smt-chart-y")
    box.send_keys("optimizer.lr")
    box.submit()
    arrive("/chart/")
    assert "tag=fig" in browser.current_url
    chart = browser.find_element(By.CSS_SELECTOR, "#smt-list-chart svg")
    assert chart.is_displayed() and chart.size["height"] > 300
    with_lr = [lbl for lbl in fig if get_task_param(view.get(lbl), "optimizer.lr", None) is not None]
    marks = chart.find_elements(By.CSS_SELECTOR, "g.smt-marks circle")
    assert len(marks) == len(with_lr) > 0 and all(m.is_displayed() for m in marks)
    shot("8-list-chart.png")
    print(f"\nscreenshots in {shots}")
