"""The pages in real Chromium (Debian's /usr/bin/chromium driven by Playwright) against a real
`cablesearch serve` process on a free loopback port, over the same index as the API tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_api import CITER_ID, SCRIPT, XSS_ID, build_web_index

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT = 15.0


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing: install Debian's chromium (`make test` does, or "
        f"`apt-get install -y chromium`)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    index_dir = tmp_path_factory.mktemp("browser") / "index"
    return index_dir, build_web_index(index_dir)


@pytest.fixture(scope="module")
def server(browser_index: tuple[Path, list]) -> Iterator[str]:
    """`cablesearch serve --port 0` in a subprocess; yields its base URL."""
    yield from run_server(browser_index[0], browser_index[0].parent / "serve.log")


def run_server(index_dir: Path, log_path: Path, *extra: str) -> Iterator[str]:
    """Runs `cablesearch --index INDEX serve --port 0 EXTRA...`, yields its base URL (read from
    the line it prints on start) and stops it. Its output goes to a file (a pipe nobody reads
    would block it); a traceback in it fails the test."""
    cmd = [
        sys.executable,
        "-c",
        "from cablesearch.cli import main; main()",
        "--index",
        str(index_dir),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *extra,
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:
        url = _read_url(proc, log_path)
        _wait_until_answering(url)
        yield url.rstrip("/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output = log_path.read_text()
        assert "Traceback" not in output, output


def _read_url(proc: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        m = re.search(r"http://127\.0\.0\.1:\d+/", log_path.read_text())
        if m:
            return m.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the server printed no URL: {log_path.read_text()!r}")


def _wait_until_answering(url: str) -> None:
    host, port = re.match(r"http://([^:]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0) as s:
                s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {TIMEOUT} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: object, server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT * 1000)
    pg = context.new_page()
    pg.dialogs = []  # any alert() would land here: escaping failed
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    assert pg.dialogs == [] and pg.errors == []
    context.close()


def total(pg: object) -> int:
    text = pg.locator("#total strong").inner_text()  # type: ignore[attr-defined]
    return int(text.replace(",", ""))


def test_search_from_the_keyboard_and_open_a_cable(page: object, server: str) -> None:
    page.goto(server + "/browse")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("corruption tunisia")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?q=corruption\+tunisia$"))
    first = page.locator("li.hit").first
    assert "CORRUPTION IN TUNISIA" in first.locator(".hit-title").inner_text()
    assert first.locator(".snippet mark").count() > 0
    first.locator(".hit-title a").click()
    page.wait_for_url(re.compile(r"/cable/08TUNIS679\?q=corruption\+tunisia$"))
    assert page.locator(".topbox td").first.inner_text() == "08TUNIS679"
    assert page.locator("#body mark").count() > 5
    assert page.locator("#body .r-para#p1 a.r-num").count() == 1
    # A tag in the cable links to the tag filter.
    page.locator(".cable-facts a.tag", has_text="KCOR").click()
    page.wait_for_url(re.compile(r"/\?tag=KCOR$"))
    assert page.locator(".chip").first.get_attribute("aria-label") == "Remove filter Tag: KCOR"


def test_click_facets_then_remove_the_chips(page: object, server: str) -> None:
    page.goto(server + "/?q=zanzibar")
    everything = total(page)
    assert everything == 2
    page.locator('a.facet-link[data-facet="classification"]', has_text="CONFIDENTIAL").first.click()
    page.wait_for_url(re.compile(r"classification=CONFIDENTIAL"))
    assert total(page) == 1
    page.locator('a.facet-link[data-facet="origin"]', has_text="Embassy Testville").click()
    page.wait_for_url(
        re.compile(r"classification=CONFIDENTIAL.*origin=|origin=.*classification=CONFIDENTIAL")
    )
    assert page.locator(".chip").count() == 2
    assert total(page) == 1
    # The state is in the URL: opening it afresh gives the same page.
    url = page.url
    page.goto(url)
    assert total(page) == 1 and page.locator(".chip").count() == 2
    page.locator(".chip", has_text="CONFIDENTIAL").click()
    page.wait_for_url(re.compile(r"^(?!.*classification=)"))
    assert page.locator(".chip").count() == 1
    assert total(page) == 2
    page.locator(".chip").click()
    assert page.locator(".chip").count() == 0
    assert total(page) == everything


def test_pages_through_the_results(page: object, server: str, browser_index: tuple[Path, list]) -> None:
    page.goto(server + "/?sort=-created")
    assert total(page) == len(browser_index[1])
    first_page = page.locator(".hit-meta .refid").all_inner_texts()
    assert len(first_page) == 10
    page.locator("a.pager-next").click()
    page.wait_for_url(re.compile(r"page=2"))
    second_page = page.locator(".hit-meta .refid").all_inner_texts()
    assert len(second_page) == 10 and not set(first_page) & set(second_page)
    assert page.locator("ol.hits").get_attribute("start") == "11"
    page.locator(".pager-numbers a", has_text="1").first.click()
    page.wait_for_url(re.compile(r"^(?!.*page=)"))
    assert page.locator(".hit-meta .refid").all_inner_texts() == first_page


def test_follow_ref_links_and_cited_by(page: object, server: str) -> None:
    page.goto(server + f"/cable/{CITER_ID}")
    page.locator(f'a.ref-known[href="/cable/{XSS_ID}"]').click()
    page.wait_for_url(re.compile(f"/cable/{XSS_ID}$"))
    # The cable's own <script> is shown as text, not run (the page fixture checks for dialogs).
    assert SCRIPT in page.locator("#body").inner_text()
    assert page.locator("#body script").count() == 0
    assert page.locator(".ref-missing", has_text="99NOWHERE1").count() == 1
    assert f"/cable/{CITER_ID}" in page.locator("#cited-by a").first.get_attribute("href")
    page.locator('a.ref-known[href="/cable/08TUNIS679"]').click()
    page.wait_for_url(re.compile(r"/cable/08TUNIS679$"))
    page.locator("#cited-by a", has_text=XSS_ID).click()
    page.wait_for_url(re.compile(f"/cable/{XSS_ID}$"))


def test_timeline_narrows_the_dates(page: object, server: str, browser_index: tuple[Path, list]) -> None:
    by_month = Counter(c.created.strftime("%Y-%m") for c in browser_index[1] if c.created)
    page.goto(server + "/?q=brazil")
    before = total(page)
    bars = page.locator(".timeline a.bar")
    assert bars.count() > 1
    key = bars.first.get_attribute("data-key")
    bars.first.click()
    page.wait_for_url(re.compile(f"from={key}&to={key}"))
    assert 0 < total(page) <= min(before, by_month[key] if len(key) == 7 else before)
    assert page.locator(".chip", has_text=key).count() == 1
    page.locator(".timeline-reset").click()
    page.wait_for_url(re.compile(r"^(?!.*from=)"))
    assert total(page) == before
    # All cables span 1966-2010: one bar per year; a year's bar narrows to that year, whose
    # timeline then has a bar per month, counting every cable of the month.
    page.goto(server + "/")
    assert page.locator(".timeline-year a.bar").count() > 2
    page.locator('.timeline a.bar[data-key="2010"]').click()
    page.wait_for_url(re.compile(r"from=2010&to=2010"))
    assert total(page) == sum(n for k, n in by_month.items() if k.startswith("2010-"))
    page.locator('.timeline-month a.bar[data-key="2010-02"]').click()
    page.wait_for_url(re.compile(r"from=2010-02&to=2010-02"))
    assert total(page) == by_month["2010-02"]


def test_pages_fit_a_phone(browser: object, server: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,  # type: ignore[attr-defined]
        has_touch=True,
    )
    try:
        pg = context.new_page()
        for path in ("/?q=corruption", "/cable/08TUNIS679?q=corruption", "/browse", f"/cable/{XSS_ID}"):
            pg.goto(server + path)
            width = pg.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, f"{path} is {width}px wide on a 390px screen"
        placeholder = pg.locator("#top-q").get_attribute("placeholder")
        assert placeholder and "press" not in placeholder  # no keyboard hint on a touch screen
        pg.goto(server + "/cable/04MADRID4063#p3")
        pg.screenshot(path=str(shot("phone-cable-p3.png")))
        assert pg.locator("#p3 .pmark").inner_text() == "C"
        pg.goto(server + "/?q=corruption")
        # Facets start folded on a phone so the results are in view.
        assert pg.evaluate("[...document.querySelectorAll('details.facet')].every(d => !d.open)")
    finally:
        context.close()


SHOTS = Path(os.environ.get("CABLESEARCH_SHOTS", "/tmp/cablesearch-shots"))


def shot(name: str) -> Path:
    """Where a screenshot goes (looked at by a person; the test asserts on the DOM)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


def test_cable_reads_in_numbered_paragraphs_with_marks(browser: object, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        pg = context.new_page()
        pg.goto(server + "/cable/04MADRID4063?q=bono#p3")
        pg.screenshot(path=str(shot("cable-p3.png")))
        full = pg.locator("#p3")
        assert full.locator(".r-num").inner_text() == "3."
        assert full.locator(".pmark").inner_text() == "C"
        assert full.locator(".pmark").get_attribute("title") == "Confidential"
        # the paragraph linked to is on screen, and marked as the target
        box = full.bounding_box()
        assert box is not None and 0 <= box["y"] < 900
        assert (
            pg.evaluate("getComputedStyle(document.getElementById('p3')).backgroundColor")
            != "rgba(0, 0, 0, 0)"
        )
        assert pg.locator(".reading .r-para").count() == 8
        assert pg.locator(".reading h3.r-heading", has_text="U.S. Policies Post-Election").count() == 1
        assert pg.locator(".reading .r-signature").inner_text() == "ARGYROS"
        # Copy link puts the paragraph's address on the clipboard
        full.hover()
        full.locator("button.copy-link").click()
        assert pg.evaluate("navigator.clipboard.readText()") == server + "/cable/04MADRID4063#p3"
        # the original text is one click away
        assert not pg.locator("#raw-body").is_visible()
        pg.locator("a.js-open-original").click()
        assert pg.locator("#raw-body").is_visible()
        assert "DFM Leon Agrees" in pg.locator("#raw-body").inner_text()
    finally:
        context.close()


def test_cable_prints_without_the_navigation(browser: object, server: str) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 1200})  # type: ignore[attr-defined]
    try:
        pg = context.new_page()
        pg.goto(server + "/cable/04MADRID4063")
        pg.emulate_media(media="print")
        pg.screenshot(path=str(shot("cable-as-printed.png")))
        for hidden in (".topbar", ".cable-side", ".crumbs", ".footer", "details.original"):
            assert not pg.locator(hidden).is_visible(), hidden
        assert pg.locator("#p1").is_visible()
        pg.emulate_media(media="screen")
        pg.locator("#print-link").click()
        pg.wait_for_url(re.compile(r"/cable/04MADRID4063/print$"))
        assert pg.locator(".topbar").count() == 0 and pg.locator("#p7 .pmark").inner_text() == "C"
        pg.screenshot(path=str(shot("print-view.png")), full_page=True)
        pdf = pg.pdf(path=str(shot("print-view.pdf")), format="A4")
        assert pdf.startswith(b"%PDF")
    finally:
        context.close()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static/../../../../etc/passwd",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/../app.py",
        "/cable/..%2F..%2F..%2Fetc%2Fpasswd",
        "/cable/../../etc/passwd",
        "/api/cables/..%2F..%2Fapp.py",
    ],
)
def test_raw_paths_do_not_reach_files_outside_the_index(server: str, raw_path: str) -> None:
    """The same traversal attempts as the API tests, but sent byte for byte to the real server
    (an HTTP client library would normalise the dots away before sending)."""
    host, port = re.match(r"http://([^:]+):(\d+)", server).groups()  # type: ignore[union-attr]
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as s:
        s.sendall(f"GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    assert status in (400, 404), data[:300]
    assert b"root:" not in data and b"create_app" not in data


def test_serve_watch_shows_new_cables_while_the_page_is_open(browser: object, tmp_path: Path) -> None:
    """`serve --watch DIR` (what `make run` starts): the daemon indexes in the server's process;
    a cable dropped into the folder is announced on the open page and found after a refresh."""
    from test_web_api import DATA

    watched = tmp_path / "cables"
    watched.mkdir()
    for name in ("04MADRID4063.txt", "05PARIS8442.txt"):
        (watched / name).write_bytes((DATA / "telegram" / name).read_bytes())
    servers = run_server(tmp_path / "index", tmp_path / "serve.log", "--watch", str(watched))
    base = next(servers)
    context = browser.new_context()  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    try:
        pg = context.new_page()
        pg.goto(base + "/")
        pg.wait_for_function("document.querySelector('.live-dot') !== null")
        deadline = time.monotonic() + 30
        while total(pg) < 2:  # the catch-up scan may still be running: reload
            assert time.monotonic() < deadline, "the watched cables were not indexed"
            pg.wait_for_timeout(200)
            pg.reload()
        (watched / "08TUNIS679.txt").write_bytes((DATA / "telegram" / "08TUNIS679.txt").read_bytes())
        notice = pg.locator("#live-notice")
        notice.wait_for(state="visible")
        assert "new cable" in notice.inner_text()
        notice.locator("a").click()
        pg.wait_for_function("document.querySelector('#total strong').textContent === '3'")
    finally:
        context.close()
        next(servers, None)


def test_serve_with_worker_processes(browser_index: tuple[Path, list], tmp_path: Path) -> None:
    """`serve --workers 2`: worker processes get the settings from the serve command and answer
    like the single-process server."""
    import json
    import urllib.request

    servers = run_server(browser_index[0], tmp_path / "serve.log", "--workers", "2")
    base = next(servers)
    try:
        with urllib.request.urlopen(base + "/api/search?q=yacht") as r:
            data = json.load(r)
        assert data["hits"][0]["reference_id"] == "08TUNIS679"
        with urllib.request.urlopen(base + f"/cable/{XSS_ID}") as r:
            assert SCRIPT.encode() not in r.read()
        assert "2 worker processes" in (tmp_path / "serve.log").read_text()
    finally:
        next(servers, None)


def test_show_every_tag_and_filter_the_list(page: object, server: str) -> None:
    page.goto(server + "/")
    tags = page.locator("#facet-tag li")
    top = tags.count()
    page.locator("#facet-tag a.facet-more").click()
    page.wait_for_url(re.compile(r"facet_limit=1000#facet-tag$"))
    assert tags.count() > top
    box = page.locator("#filter-tag")
    assert box.is_visible()
    box.fill("political")  # matches the description of PREL, not only codes
    visible = page.locator("#facet-tag li:not([hidden])")
    assert 0 < visible.count() < tags.count()
    assert visible.filter(has_text="PREL").count() == 1
    assert "External Political Relations" in visible.filter(has_text="PREL").inner_text()
    box.fill("zzzz-no-such-tag")
    assert visible.count() == 0 and page.locator("#facet-tag .facet-none").is_visible()
    box.fill("")
    assert visible.count() == tags.count()


def test_batch_page_uploads_a_file_and_links_each_row(page: object, server: str, tmp_path: Path) -> None:
    batch = tmp_path / "names.csv"
    batch.write_text("name,query\nisland,zanzibar\nbroken,(oops AND\n", encoding="utf-8")
    page.goto(server + "/")
    page.locator("nav.mainnav a", has_text="Batch").click()
    page.wait_for_url(re.compile(r"/batch$"))
    page.locator("#batch-file").set_input_files(str(batch))
    page.locator("button", has_text="Run the searches").click()
    rows = page.locator(".batch-table tbody tr")
    assert rows.count() == 2
    assert "line 3" in rows.nth(1).locator(".batch-error").inner_text()
    rows.first.locator(".batch-query a").click()
    page.wait_for_url(re.compile(r"/\?q=zanzibar$"))
    assert total(page) == 2


def test_save_a_search_from_the_results_page_and_see_it_on_alerts(page: object, server: str) -> None:
    page.goto(server + "/?q=zanzibar&tag=ZZTEST")
    page.locator("#save-search summary").click()
    page.locator("#save-name").fill("zanzibar-watch")
    page.screenshot(path=str(shot("alerts-save-form.png")))
    page.locator("#save-search button", has_text="Save").click()
    page.wait_for_url(re.compile(r"/alerts\?saved=zanzibar-watch$"))
    row = page.locator("#alert-zanzibar-watch")
    assert row.locator(".alert-name").inner_text() == "zanzibar-watch"
    assert "zanzibar" in row.locator(".alert-search").inner_text()
    assert "ZZTEST" in row.locator(".alert-search").inner_text()
    assert row.locator(".feed-link").get_attribute("href") == "/alerts/zanzibar-watch.atom"
    assert page.locator("nav.mainnav a[aria-current=page]").inner_text().startswith("Alerts")
    page.screenshot(path=str(shot("alerts-list.png")), full_page=True)

    # the same name again: the results page comes back with the error by the form
    page.goto(server + "/?q=cloves")
    page.locator("#save-search summary").click()
    page.locator("#save-name").fill("zanzibar-watch")
    page.locator("#save-search button", has_text="Save").click()
    assert "exists already" in page.locator("#save-error").inner_text()
    assert page.locator("#save-name").input_value() == "zanzibar-watch"
    page.screenshot(path=str(shot("alerts-save-error.png")))

    page.goto(server + "/alerts/zanzibar-watch")
    assert "No new match" in page.locator("#new-heading").inner_text()
    page.screenshot(path=str(shot("alert-page.png")), full_page=True)
    page.locator("button", has_text="Delete this alert").click()
    page.wait_for_url(re.compile(r"/alerts\?deleted=zanzibar-watch$"))
    assert page.locator("#alert-zanzibar-watch").count() == 0


def test_thread_page_from_the_cable_page(page: object, server: str) -> None:
    page.goto(server + f"/cable/{XSS_ID}")
    link = page.locator("#thread-link")
    size = int(re.search(r"\((\d+) cables\)", link.inner_text()).group(1))  # type: ignore[union-attr]
    link.click()
    page.wait_for_url(re.compile(rf"/cable/{XSS_ID}/thread$"))
    rows = page.locator("#thread tbody tr")
    assert page.locator("#thread tbody tr:not(.thread-missing)").count() == size
    assert rows.count() > size  # the cited cables missing from the index are listed too
    page.screenshot(path=str(shot("thread-all.png")), full_page=True)
    # the depth selector narrows the thread to the cables one step away
    page.locator(".depth-choice a", has_text=re.compile(r"^1$")).click()
    page.wait_for_url(re.compile(rf"/cable/{XSS_ID}/thread\?depth=1$"))
    assert rows.count() == 4
    assert page.locator(".depth-choice a.current").inner_text() == "1"
    start = page.locator(f"tr#t-{XSS_ID}")
    assert start.locator(".badge").inner_text() == "this cable"
    assert start.locator(".thread-depth").inner_text() == "0"
    # the missing reference is marked and is no link, anywhere
    missing = page.locator("tr#t-99NOWHERE1")
    assert "not in the index" in missing.inner_text() and missing.locator(".thread-cable a").count() == 0
    assert page.locator('a[href$="99NOWHERE1"]').count() == 0
    page.screenshot(path=str(shot("thread-depth-1.png")), full_page=True)
    # who cites whom: the cable citing the start links to its row, and the row to its cable
    page.locator(f"tr#t-{XSS_ID} td.thread-links a", has_text=CITER_ID).click()
    page.wait_for_url(re.compile(rf"#t-{CITER_ID}$"))
    page.locator(f"tr#t-{CITER_ID} .thread-cable a.refid").click()
    page.wait_for_url(re.compile(rf"/cable/{CITER_ID}$"))


def test_person_facet_click_and_the_person_page(page: object, server: str) -> None:
    page.goto(server + "/")
    everything = total(page)
    facet = page.locator("#facet-person")
    facet.scroll_into_view_if_needed()
    clinton = facet.locator("li", has_text="CLINTON")
    count = int(clinton.locator(".facet-count").inner_text())
    clinton.locator("a.facet-link").click()
    page.wait_for_url(re.compile(r"/\?person=CLINTON$"))
    assert total(page) == count < everything
    assert page.locator(".chip").get_attribute("aria-label") == "Remove filter Person: CLINTON"
    assert "any of" in page.locator("#facet-person summary").inner_text()
    page.locator("#facet-person").scroll_into_view_if_needed()
    page.locator(".facets").screenshot(path=str(shot("person-facet.png")))
    # the arrow beside the name opens the person's page: their cables by date, posts, roles
    page.locator("#facet-person li", has_text="CLINTON").locator("a.facet-profile").click()
    page.wait_for_url(re.compile(r"/person/CLINTON$"))
    assert page.locator("#person-name").inner_text() == "CLINTON"
    assert page.locator("#person-cables tbody tr").count() == count
    assert "signer" in page.locator("#roles").inner_text()
    page.screenshot(path=str(shot("person-page.png")), full_page=True)
    page.locator("#person-search").click()
    page.wait_for_url(re.compile(r"/\?person=CLINTON&sort=created$"))
    assert total(page) == count
    # a signer on the cable page links to their person page
    page.goto(server + "/cable/08TUNIS679")
    page.locator(".fact-signed a.person", has_text="GODEC").click()
    page.wait_for_url(re.compile(r"/person/GODEC%2C%20ROBERT%20F\.$"))
    assert page.locator("#person-name").inner_text() == "GODEC, ROBERT F."
