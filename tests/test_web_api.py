"""The web layer through FastAPI's test client, on a real index of the tests/data cables plus
three made-up ones (one whose text holds HTML, one citing it, one cited by nobody)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.cli.serve_cmd import bind_socket
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import LIMITS
from cablesearch.web.app import create_app

DATA = Path(__file__).resolve().parent / "data"

XSS_ID = "10TESTVILLE1"
CITER_ID = "10TESTVILLE2"
SCRIPT = "<script>alert(1)</script>"


def synthetic_cables() -> list[Cable]:
    """Three cables made up for the web tests: HTML in every text field, a REF line citing a
    real cable and a missing one, and a cable that cites the first."""
    xss = Cable(
        reference_id=XSS_ID,
        created=datetime(2010, 2, 3, 10, 15),
        released=datetime(2011, 1, 5, 9, 0),
        classification="UNCLASSIFIED",
        origin="Embassy Testville",
        tags=["PGOV", "ZZTEST"],
        subject="ZANZIBAR <b>MARKUP</b> & OTHER TRICKS",
        references=["08TUNIS679", "99NOWHERE1"],
        header='VZCZCXYZ0000\nFM AMEMBASSY TESTVILLE <img src=x onerror="alert(2)">\nTO SECSTATE WASHDC',
        body=(
            "UNCLAS TESTVILLE 000001\n\nE.O. 12958: N/A\nTAGS: PGOV ZZTEST\n"
            "SUBJECT: ZANZIBAR <b>MARKUP</b> & OTHER TRICKS\n\nREF: A. 08 TUNIS 679 B. 99 NOWHERE 1\n\n"
            f"1. (U) The zanzibar visitor typed {SCRIPT} into the form & left.\n\n"
            "2. (U) A second paragraph about zanzibar cloves, with 1 < 2 and 3 > 2.\n\nSMITH"
        ),
        format="telegram",
        source="<test>",
    )
    citer = Cable(
        reference_id=CITER_ID,
        created=datetime(2010, 2, 20, 8, 0),
        released=datetime(2011, 1, 6, 9, 0),
        classification="CONFIDENTIAL",
        origin="Embassy Testville",
        tags=["PREL", "ZZTEST"],
        subject="FOLLOW-UP ON THE ZANZIBAR CLOVES",
        references=[XSS_ID],
        header="VZCZCXYZ0001",
        body="C O N F I D E N T I A L\n\nREF: TESTVILLE 1\n\n"
        "1. (C) More about zanzibar cloves and their export.\n",
        format="telegram",
        source="<test>",
    )
    return [xss, citer]


def build_web_index(index_dir: Path) -> list[Cable]:
    """A real index of the 41 tests/data cables (telegram form) and the made-up ones; returns
    the cables indexed."""
    cables = list(parse.iter_cables([DATA / "telegram"])) + synthetic_cables()
    index = CableIndex.open(index_dir, create=True)
    with index.writer(timeout=30.0) as writer:
        for cable in cables:
            writer.put(cable)
    return cables


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Cable]]:
    index_dir = tmp_path_factory.mktemp("web") / "index"
    return index_dir, build_web_index(index_dir)


@pytest.fixture(scope="session")
def cables(web_index: tuple[Path, list[Cable]]) -> dict[str, Cable]:
    return {c.reference_id: c for c in web_index[1]}


@pytest.fixture(scope="session")
def client(web_index: tuple[Path, list[Cable]]) -> TestClient:
    config = Config(index_dir=web_index[0], page_size=10, max_page_size=50)
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        yield c


def assert_error(response: Any, status: int) -> str:
    """The response is the one JSON error shape with this status; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and len(message) > 5
    return message


# ------------------------------------------------------------------------------------ search


def test_search_answers_in_the_cli_json_shape(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "corruption tunisia"})
    assert r.status_code == 200
    data = r.json()
    assert set(data) >= {"query", "total", "page", "hits", "facets", "suggestion"}
    assert set(data["facets"]) == {"tag", "origin", "classification", "year", "warning", "person"}
    assert data["hits"][0]["reference_id"] == "08TUNIS679"
    hit = data["hits"][0]
    assert set(hit) >= {
        "reference_id",
        "subject",
        "created",
        "origin",
        "classification",
        "tags",
        "score",
        "snippet",
    }
    assert "<mark>" in hit["snippet"]


def test_filters_and_facet_counts_agree_with_the_cables(client: TestClient, cables: dict[str, Cable]) -> None:
    r = client.get("/api/facets", params={"facet_limit": 1000})
    assert r.status_code == 200
    data = r.json()
    assert data["total"] == len(cables)
    tags = Counter(t for c in cables.values() for t in c.tags)
    assert dict((v, n) for v, n in data["facets"]["tag"]) == dict(tags)
    years = Counter(str(c.created.year) for c in cables.values() if c.created)
    assert dict((v, n) for v, n in data["facets"]["year"]) == dict(years)
    months = Counter(c.created.strftime("%Y-%m") for c in cables.values() if c.created)
    assert dict((v, n) for v, n in data["months"]) == dict(months)

    r = client.get("/api/search", params=[("tag", "PREL"), ("tag", "ZZTEST"), ("year", "2010")])
    expected = {
        c.reference_id
        for c in cables.values()
        if {"PREL", "ZZTEST"} & set(c.tags) and c.created and c.created.year == 2010
    }
    assert r.json()["total"] == len(expected)

    r = client.get("/api/search", params={"origin": "Embassy Testville", "classification": "CONFIDENTIAL"})
    assert [h["reference_id"] for h in r.json()["hits"]] == [CITER_ID]

    r = client.get("/api/search", params={"from": "2009-01", "to": "2009-12", "limit": 50})
    assert r.json()["total"] == sum(1 for c in cables.values() if c.created and c.created.year == 2009)


def test_paging_walks_every_match_once(client: TestClient, cables: dict[str, Cable]) -> None:
    seen: list[str] = []
    page = 1
    while True:
        r = client.get("/api/search", params={"sort": "-created", "limit": 7, "page": page})
        assert r.status_code == 200
        hits = r.json()["hits"]
        if not hits:
            break
        seen += [h["reference_id"] for h in hits]
        page += 1
    assert len(seen) == len(set(seen)) == len(cables)
    created = [cables[i].created for i in seen if cables[i].created]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    "params, status, word",
    [
        ({"page": "0"}, 422, "page"),
        ({"page": "abc"}, 422, "page"),
        ({"page": "-3"}, 422, "page"),
        ({"page": "5000"}, 422, "page"),
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "51"}, 422, "limit"),
        ({"limit": "ten"}, 422, "limit"),
        ({"sort": "sideways"}, 422, "sort"),
        ({"from": "2008-13"}, 422, "from"),
        ({"to": "yesterday"}, 422, "to"),
        ({"from": "2009-02-30"}, 422, "from"),
        ({"year": "abc"}, 422, "year"),
        ({"year": "1492"}, 422, "year"),
        ({"q": "x" * (LIMITS.max_query_length + 1)}, 422, "q"),
        ({"tag": "A" * 101}, 422, "tag"),
        ({"q": '"unbalanced quote'}, 400, ""),
        ({"q": "created:[2008 to"}, 400, ""),
        ({"q": "created:[notadate to 2009]"}, 400, ""),
    ],
)
def test_bad_parameters_get_a_4xx_with_a_message(
    client: TestClient, params: dict[str, str], status: int, word: str
) -> None:
    for path in ("/api/search", "/api/facets"):
        message = assert_error(client.get(path, params=params), status)
        assert word in message
    # The search page answers the same request with a page, not a 500.
    r = client.get("/", params=params)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")


def test_query_time_is_bounded_by_the_setting(web_index: tuple[Path, list[Cable]]) -> None:
    """A query stopped by the time limit is 503 with Retry-After, in the API and on the page;
    the cable page still shows the cable, saying the terms could not be marked in time."""
    config = Config(index_dir=web_index[0], query_time_limit=0.0)
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        r = c.get("/api/search", params={"q": "embass*"})
        assert "time limit" in assert_error(r, 503)
        assert int(r.headers["retry-after"]) > 0
        r = c.get("/", params={"q": "embass*"})
        assert r.status_code == 503 and "time limit" in r.text
        assert int(r.headers["retry-after"]) > 0
        r = c.get(f"/cable/{XSS_ID}", params={"q": "zanz*"})
        assert r.status_code == 200 and "zanzibar visitor" in r.text
        assert "could not be listed within the time limit" in r.text


def test_a_page_past_the_last_says_so(client: TestClient) -> None:
    r = client.get("/", params={"q": "zanzibar", "page": 40})
    assert r.status_code == 200
    assert "There is no page 40" in r.text and 'href="/?q=zanzibar"' in r.text
    assert client.get("/api/search", params={"q": "zanzibar", "page": 40}).json()["hits"] == []


def test_page_size_is_bounded_by_the_setting(client: TestClient) -> None:
    assert client.get("/api/search", params={"limit": 50}).status_code == 200
    assert "50" in assert_error(client.get("/api/search", params={"limit": 51}), 422)


# ------------------------------------------------------------------------------------ cables


def test_cable_json(client: TestClient) -> None:
    r = client.get(f"/api/cables/{XSS_ID}")
    assert r.status_code == 200
    data = r.json()
    assert data["reference_id"] == XSS_ID
    assert SCRIPT in data["body"]  # JSON carries the text as it is
    assert data["cited_by"] == [CITER_ID]
    assert data["references_in_index"] == ["08TUNIS679"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/cables/99NOWHERE1",
        "/api/cables/..%2F..%2Fetc%2Fpasswd",
        "/api/cables/%2E%2E",
        "/api/cables/08TUNIS679.txt",
        "/api/cables/" + "9" * 200,
        "/api/nothing-here",
    ],
)
def test_unknown_cables_and_endpoints_are_404_json(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../etc/passwd",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%5C..%5Capp.py",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/cable/..%2F..",
        "/cable/..%2F..%2Fetc%2Fpasswd",
        "/cable/%2E%2E%2Fapp.py",
        "/cable/99NOWHERE1",
        "/no/such/page",
    ],
)
def test_no_url_reaches_a_file_outside_the_index(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=True)
    assert r.status_code == 404
    assert "root:" not in r.text and "create_app" not in r.text


def test_static_files_are_served(client: TestClient) -> None:
    r = client.get("/static/style.css")
    assert r.status_code == 200 and "text/css" in r.headers["content-type"]


def test_lowercase_reference_id_redirects_to_the_canonical_page(client: TestClient) -> None:
    r = client.get("/cable/08tunis679?q=yacht", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "/cable/08TUNIS679?q=yacht"


# --------------------------------------------------------------------------------- escaping


def test_cable_page_shows_html_in_the_cable_as_text(client: TestClient) -> None:
    for suffix in ("", "?q=zanzibar", "?q=alert+script"):
        r = client.get(f"/cable/{XSS_ID}{suffix}")
        assert r.status_code == 200
        html = r.text
        assert SCRIPT not in html
        assert "<b>MARKUP</b>" not in html
        assert "<img src=x" not in html
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            or "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)&lt;/<mark>script</mark>&gt;" in html
        )
        assert "1 &lt; 2 and 3 &gt; 2" in html
    html = client.get(f"/cable/{XSS_ID}?q=zanzibar").text
    assert "<mark>zanzibar</mark>" in html.lower()
    # Highlighting keeps the cable's layout: its lines stay lines.
    assert "TAGS: " in html and "\nSUBJECT: <mark>ZANZIBAR</mark> &lt;b&gt;MARKUP" in html
    assert "VZCZCXYZ0000\nFM AMEMBASSY TESTVILLE &lt;img" in html


def test_snippets_are_escaped(client: TestClient) -> None:
    data = client.get("/api/search", params={"q": "zanzibar visitor"}).json()
    hit = next(h for h in data["hits"] if h["reference_id"] == XSS_ID)
    snippet = hit["snippet"]
    assert "<script" not in snippet and "<mark>" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    page = client.get("/", params={"q": "zanzibar visitor"}).text
    assert SCRIPT not in page and "<b>MARKUP</b>" not in page
    assert "ZANZIBAR &lt;b&gt;MARKUP&lt;/b&gt; &amp; OTHER TRICKS" in page


def test_error_messages_are_escaped(client: TestClient) -> None:
    r = client.get("/cable/" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert r.status_code == 404
    assert SCRIPT not in r.text
    r = client.get("/", params={"q": '"<script>alert(1)</script>'})
    assert r.status_code == 400 and SCRIPT not in r.text


# ------------------------------------------------------------------------------------ pages


def test_search_page_has_results_facets_timeline_and_shareable_links(client: TestClient) -> None:
    r = client.get("/", params={"q": "brazil"})
    assert r.status_code == 200
    html = r.text
    assert 'class="hit"' in html
    assert 'data-facet="tag"' in html and 'data-facet="origin"' in html
    assert 'data-facet="classification"' in html and 'data-facet="year"' in html
    assert 'class="timeline' in html
    assert "/?q=brazil&amp;tag=PREL" in html  # a facet link keeps the query
    r = client.get("/", params=[("q", "brazil"), ("tag", "PREL"), ("year", "2009")])
    assert 'aria-label="Remove filter Tag: PREL"' in r.text
    assert 'href="/?q=brazil&amp;year=2009"' in r.text  # removing the tag chip keeps the rest
    assert "Server-Timing" in r.headers and "search;dur=" in r.headers["Server-Timing"]


def test_timeline_bars_narrow_the_date_range(client: TestClient) -> None:
    html = client.get("/", params={"q": "zanzibar"}).text
    assert 'href="/?q=zanzibar&amp;from=2010-02&amp;to=2010-02"' in html
    r = client.get("/", params={"q": "zanzibar", "from": "2010-02", "to": "2010-02"})
    assert "Show all dates" in r.text


def test_did_you_mean(client: TestClient) -> None:
    data = client.get("/api/search", params={"q": "tunsia"}).json()
    assert data["suggestion"] == "tunisia"
    html = client.get("/", params={"q": "tunsia"}).text
    assert '<a href="/?q=tunisia" id="suggestion">tunisia</a>' in html


def test_cable_page_links_references_citations_tags_and_paragraphs(client: TestClient) -> None:
    html = client.get(f"/cable/{XSS_ID}").text
    assert 'href="/cable/08TUNIS679"' in html
    assert "99NOWHERE1" in html and "not in the index" in html
    assert 'href="/cable/99NOWHERE1"' not in html
    assert f'href="/cable/{CITER_ID}"' in html  # cited by
    assert 'href="/?tag=ZZTEST"' in html
    assert 'id="par1"' in html and 'id="par2"' in html
    for label in ("Reference ID", "Created", "Released", "Classification", "Origin"):
        assert f">{label}</th>" in html


def test_browse_page_lists_every_dimension_with_counts(client: TestClient, cables: dict[str, Cable]) -> None:
    r = client.get("/browse")
    assert r.status_code == 200
    html = r.text
    for section in ("by-created", "by-released", "by-origin", "by-tag", "by-classification"):
        assert f'id="{section}"' in html
    assert "Embassy Testville" in html
    assert 'href="/?tag=ZZTEST&amp;sort=-created"' in html


def test_stats_and_openapi(client: TestClient, cables: dict[str, Cable]) -> None:
    r = client.get("/api/stats")
    assert r.status_code == 200 and isinstance(r.json(), dict)
    spec = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/cables/{ref_id}", "/api/facets", "/api/stats"):
        assert path in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "tag", "origin", "classification", "year", "from", "to", "sort", "page", "limit"} <= names
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "<code>/api/search</code>" in docs.text


def test_responses_carry_timing_and_security_headers(client: TestClient) -> None:
    for path in ("/?q=brazil", "/api/search?q=brazil", f"/cable/{XSS_ID}", "/api/cables/99NOWHERE1"):
        r = client.get(path)
        assert re.search(r"total;dur=[\d.]+", r.headers["server-timing"]), path
        assert r.headers["x-response-time"].endswith("ms")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------------------------ serve


def test_an_empty_index_says_how_to_fill_it(tmp_path: Path) -> None:
    with TestClient(create_app(Config(index_dir=tmp_path / "index"))) as c:
        r = c.get("/")
        assert r.status_code == 200 and "holds no cables yet" in r.text
        assert c.get("/api/search").json()["total"] == 0
        # a query finds nothing, and "did you mean" has no words to offer (it failed here once)
        r = c.get("/api/search", params={"q": "qadhafi"})
        assert r.status_code == 200 and r.json()["total"] == 0
        assert c.get("/", params={"q": "qadhafi"}).status_code == 200
        assert c.get("/browse").status_code == 200
        assert c.get("/api/stats").status_code == 200


def test_serve_says_so_when_the_port_is_taken(tmp_path: Path) -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        result = CliRunner().invoke(main, ["--index", str(tmp_path / "ix"), "serve", "--port", str(port)])
    finally:
        sock.close()
    assert result.exit_code == 1
    assert "already in use" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_folders_without_watch(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--index", str(tmp_path / "ix"), "serve", str(tmp_path)])
    assert result.exit_code == 2
    assert "--watch" in result.output


# ------------------------------------------------------------------------- serve --watch


def test_new_cables_appear_while_the_app_runs_with_the_daemon(tmp_path: Path) -> None:
    """create_app(config, daemon): the daemon runs with the app (one process, one writer); a
    cable dropped into the watched folder becomes searchable and viewable without a restart."""
    from cablesearch.daemon.service import Daemon

    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "04MADRID4063.txt").write_bytes((DATA / "telegram" / "04MADRID4063.txt").read_bytes())
    config = Config(
        index_dir=tmp_path / "index",
        watch_dirs=(watched,),
        settle_seconds=0.05,
        batch_seconds=0.05,
        rescan_seconds=0.0,
    )
    app = create_app(config, daemon=Daemon(config, [watched]))
    with TestClient(app, raise_server_exceptions=False) as c:

        def total() -> int:
            return int(c.get("/api/search").json()["total"])

        _wait_for(lambda: total() == 1, "the first cable to be indexed")
        (watched / "08TUNIS679.txt").write_bytes((DATA / "telegram" / "08TUNIS679.txt").read_bytes())
        _wait_for(lambda: total() == 2, "the new cable to be indexed")
        assert c.get("/cable/08TUNIS679").status_code == 200
        assert c.get("/api/search", params={"q": "yacht"}).json()["hits"][0]["reference_id"] == "08TUNIS679"


def _wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------------- issue 15/16, web parts


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH"])
@pytest.mark.parametrize("path", ["/api/search", "/api/stats", f"/api/cables/{XSS_ID}"])
def test_other_methods_on_api_endpoints_are_405(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path)
    assert "GET" in assert_error(r, 405)
    assert r.headers["allow"] == "GET"
    assert_error(client.request(method, "/api/nothing-here"), 404)


def test_openapi_says_the_date_format(client: TestClient) -> None:
    params = {
        p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["parameters"]
    }
    for name in ("from", "to"):
        assert "YYYY-MM-DD" in params[name]["description"]
        assert params[name]["schema"]["pattern"].startswith("^[0-9]{4}")
    assert "503" in client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["responses"]


def test_a_missing_cable_page_links_to_the_search(client: TestClient) -> None:
    r = client.get("/cable/99NOWHERE1")
    assert r.status_code == 404
    assert "There is no cable 99NOWHERE1 in the index" in r.text
    assert 'href="/?q=99NOWHERE1"' in r.text
    assert "cablesearch search" not in r.text


def test_browsing_is_labelled_newest_first(client: TestClient) -> None:
    def current_sort(html: str) -> str:
        m = re.search(r'<a href="[^"]*" aria-current="true" class="current">([^<]+)</a>', html)
        assert m, html
        return m.group(1)

    browse = client.get("/").text
    assert current_sort(browse) == "Newest first" and ">Relevance</a>" not in browse
    assert current_sort(client.get("/", params={"q": "zanzibar"}).text) == "Relevance"
    assert current_sort(client.get("/", params={"sort": "created"}).text) == "Oldest first"


def test_the_search_box_placeholder_has_no_keyboard_hint(client: TestClient) -> None:
    html = client.get(f"/cable/{XSS_ID}").text
    placeholder = re.search(r'id="top-q"[^>]*placeholder="([^"]*)"', html)
    assert placeholder and "press" not in placeholder.group(1)


def test_cable_page_reads_in_paragraphs_with_marks(client: TestClient) -> None:
    html = client.get(f"/cable/{CITER_ID}").text
    assert 'id="p1"' in html and 'href="#p1"' in html and 'data-anchor="p1"' in html
    assert 'id="par1"' in html  # links made before the paragraphs were split still land
    assert '<span class="pmark pmark-c" title="Confidential">C</span>' in html
    assert 'id="original"' in html and 'id="raw-body"' in html  # the text as it came
    assert f'href="/cable/{CITER_ID}/print"' in html


def test_cable_page_lays_out_the_header_fields(web_index: tuple[Path, list[Cable]]) -> None:
    cable = next(c for c in web_index[1] if c.reference_id == "08TUNIS679")
    config = Config(index_dir=web_index[0])
    with TestClient(create_app(config)) as c:
        html = c.get("/cable/08TUNIS679").text
    for label in ("From", "To", "Info", "References", "Signed"):
        if label == "Info" and not cable.info:
            continue
        assert f"<dt>{label}</dt>" in html
    assert cable.to[0] in html and cable.signers[0] in html
    assert 'id="raw-header"' in html


def test_print_view_is_one_cable_without_navigation(client: TestClient) -> None:
    r = client.get(f"/cable/{XSS_ID}/print", params={"q": "zanzibar"})
    assert r.status_code == 200
    html = r.text
    assert 'class="topbar"' not in html and 'class="cable-side"' not in html
    assert 'id="p1"' in html and 'id="p2"' in html and "<mark>" in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    r = client.get(f"/cable/{XSS_ID.lower()}/print", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == f"/cable/{XSS_ID}/print"


class SlowHighlighter:
    """A real search service whose highlighting waits until the test lets it go: one slow
    request (like a fuzzy query highlighted over a long cable)."""

    def __init__(self, service: Any, started: threading.Event, release: threading.Event):
        self.service, self.started, self.release = service, started, release

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)

    def highlight_text(self, text: str, query: str, reference_id: str | None = None) -> str:
        self.started.set()
        assert self.release.wait(30)
        return str(self.service.highlight_text(text, query, reference_id))


def test_a_slow_request_does_not_stall_the_others(web_index: tuple[Path, list[Cable]]) -> None:
    from cablesearch.search.service import SearchService

    config = Config(index_dir=web_index[0])
    started, release = threading.Event(), threading.Event()

    def open_service() -> Any:
        return SlowHighlighter(SearchService(CableIndex.open(web_index[0]), config), started, release)

    app = create_app(config, service_factory=open_service)
    with TestClient(app) as c, ThreadPoolExecutor(1) as pool:
        slow = pool.submit(c.get, f"/cable/{XSS_ID}", params={"q": "zanzibar~2"})
        assert started.wait(30)
        r = c.get("/api/search", params={"q": "oil"})  # answered while the slow one waits
        assert r.status_code == 200 and not slow.done()
        assert c.get(f"/api/cables/{CITER_ID}").status_code == 200
        release.set()
        assert slow.result(30).status_code == 200


def test_a_request_waits_for_a_free_service_only_so_long(web_index: tuple[Path, list[Cable]]) -> None:
    import asyncio

    from cablesearch.search.service import SearchService
    from cablesearch.web.services import ServerBusy, ServicePool

    config = Config(index_dir=web_index[0])
    pool = ServicePool(lambda: SearchService(CableIndex.open(web_index[0]), config), size=1, wait_limit=0.2)
    release = threading.Event()

    async def scenario() -> None:
        slow = asyncio.ensure_future(pool.run(lambda svc: release.wait(30)))
        await asyncio.sleep(0)
        with pytest.raises(ServerBusy, match="busy"):
            await pool.run(lambda svc: svc.stats())
        release.set()
        assert await slow is True
        assert (await pool.run(lambda svc: svc.stats()))["cables"] > 0

    try:
        asyncio.run(scenario())
    finally:
        pool.close()


def test_cable_page_marks_only_the_branch_that_matched_this_cable(
    client: TestClient, cables: dict[str, Cable]
) -> None:
    """`(a AND nothere) OR b` on a cable with both words: only b matched this cable, so only b
    is marked on its page (the page passes the cable's ID to the highlighter)."""
    cable = next(c for c in cables.values() if len(c.body) > 2000)
    words = sorted({w for w in re.findall(r"\b[a-z]{7,}\b", cable.body)})
    first, second = words[0], words[-1]
    q = f"({first} AND qqqnowhere) OR {second}"
    page = client.get(f"/cable/{cable.reference_id}", params={"q": q}).text
    assert re.search(rf"<mark>{second}", page, re.I), page[:2000]
    assert not re.search(rf"<mark>{first}\b", page, re.I)


def test_did_you_mean_lists_the_variants_with_their_counts(client: TestClient) -> None:
    result = client.get("/api/search", params={"q": "embasy"}).json()
    assert result["suggestions"] and result["suggestions"][0][0] == "embassy"
    page = client.get("/", params={"q": "embasy"}).text
    text, count = result["suggestions"][0]
    assert f'id="suggestion">{text}</a> ({count})' in page
