"""Threads, people, parse warnings and unknown filter values on the web, through FastAPI's test
client, on a real index: the web tests' cables (tests/data plus the made-up Testville ones),
two made-up people sharing the surname SMITH, and a chain of cables each citing the one
before, longer than the library's thread cap."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from test_web_api import CITER_ID, XSS_ID, assert_error, build_web_index

from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.people import cable_people
from cablesearch.web.app import create_app

CHAIN = [f"09CHAIN{i}" for i in range(1, 56)]  # 55 cables: more steps than a thread may walk
SMITH_JOHN = "SMITH, JOHN A."
SMITH_MARY = "SMITH, MARY B."


def extra_cables() -> list[Cable]:
    people = [
        Cable(
            reference_id="07SMITHVILLE1",
            created=datetime(2007, 5, 1, 9, 0),
            classification="CONFIDENTIAL",
            origin="Embassy Smithville",
            tags=["PREL"],
            subject="JOHN SMITH ON CLOVES",
            classified_by="Ambassador John A. Smith, reasons 1.4 (b) and (d)",
            signers=["SMITH"],
            body="1. (C) Cloves, said the ambassador.\n\nSMITH",
            format="telegram",
            source="<test>",
        ),
        Cable(
            reference_id="07SMITHVILLE2",
            created=datetime(2007, 6, 1, 9, 0),
            classification="UNCLASSIFIED",
            origin="Consulate Smithtown",
            tags=["PREL"],
            subject="MARY SMITH ON NUTMEG",
            classified_by="Consul Mary B. Smith",
            body="1. (U) Nutmeg, said the consul.",
            format="telegram",
            source="<test>",
        ),
    ]
    chain = [
        Cable(
            reference_id=rid,
            created=datetime(2009, 1, 1 + i % 28, 8, 0),
            classification="UNCLASSIFIED",
            origin="Embassy Chainville",
            tags=["ZZCHAIN"],
            subject=f"LINK {i + 1} OF THE CHAIN",
            references=[CHAIN[i - 1]] if i else [],
            body=f"1. (U) Link {i + 1}.",
            format="telegram",
            source="<test>",
        )
        for i, rid in enumerate(CHAIN)
    ]
    return people + chain


@pytest.fixture(scope="module")
def graph_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Cable]]:
    index_dir = tmp_path_factory.mktemp("graph") / "index"
    cables = build_web_index(index_dir)
    extra = extra_cables()
    with CableIndex.open(index_dir).writer(timeout=30.0) as writer:
        for cable in extra:
            writer.put(cable)
    return index_dir, {c.reference_id: c for c in cables + extra}


@pytest.fixture(scope="module")
def client(graph_index: tuple[Path, dict[str, Cable]]) -> TestClient:
    config = Config(index_dir=graph_index[0], page_size=10, max_page_size=50)
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        yield c


def rows(html: str) -> list[str]:
    """The reference IDs of the thread table's rows, in order."""
    return re.findall(r'<tr class="[^"]*" id="t-([0-9A-Z]+)"', html)


# ------------------------------------------------------------------------------------ threads


def test_thread_api_is_the_cli_object(client: TestClient) -> None:
    r = client.get(f"/api/cables/{XSS_ID.lower()}/thread", params={"depth": 1})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["reference_id"] == XSS_ID and data["depth"] == 1
    ids = [c["reference_id"] for c in data["cables"]]
    assert set(ids) == {XSS_ID, CITER_ID, "08TUNIS679", "99NOWHERE1"}
    assert data["missing"] == ["99NOWHERE1"]
    assert ids[-1] == "99NOWHERE1"  # undated, missing: last
    created = [c["created"] for c in data["cables"] if c["created"]]
    assert created == sorted(created)
    start = next(c for c in data["cables"] if c["reference_id"] == XSS_ID)
    assert start["depth"] == 0 and start["cited_by"] == [CITER_ID]
    assert set(start["cites"]) == {"08TUNIS679", "99NOWHERE1"}

    whole = client.get(f"/api/cables/{XSS_ID}/thread").json()
    assert whole["depth"] is None and whole["total"] > data["total"] and whole["cut"] is None


@pytest.mark.parametrize(
    "url, status",
    [
        ("/api/cables/99UNKNOWN7/thread", 404),
        ("/api/cables/not-an-id/thread", 404),
        (f"/api/cables/{XSS_ID}/thread?depth=-1", 422),
        (f"/api/cables/{XSS_ID}/thread?depth=two", 422),
    ],
)
def test_thread_api_errors(client: TestClient, url: str, status: int) -> None:
    assert_error(client.get(url), status)


def test_thread_api_takes_get_only(client: TestClient) -> None:
    r = client.post(f"/api/cables/{XSS_ID}/thread")
    assert_error(r, 405)
    assert r.headers["Allow"] == "GET"


def test_thread_page_lists_the_thread_with_missing_ids_unlinked(client: TestClient) -> None:
    r = client.get(f"/cable/{XSS_ID}/thread")
    assert r.status_code == 200
    html = r.text
    api = client.get(f"/api/cables/{XSS_ID}/thread").json()
    assert rows(html) == [c["reference_id"] for c in api["cables"]]
    for missing in api["missing"]:
        assert f'href="/cable/{missing}"' not in html and f'href="#t-{missing}"' not in html
        row = re.search(rf'<tr class="[^"]*thread-missing[^"]*" id="t-{missing}".*?</tr>', html, re.S)
        assert row and "not in the index" in row.group(0)
    assert f'href="/cable/{CITER_ID}"' in html
    start = re.search(rf'<tr class="thread-start" id="t-{XSS_ID}" data-depth="0">.*?</tr>', html, re.S)
    assert start and "this cable" in start.group(0)
    # who cites whom: the start cites 08TUNIS679 (a link within the page) and 99NOWHERE1 (not)
    assert 'href="#t-08TUNIS679"' in start.group(0)
    assert '<span class="ref ref-missing" title="not in the index">99NOWHERE1</span>' in start.group(0)
    assert 'aria-current="true" class="current">All</a>' in html
    assert "&lt;b&gt;MARKUP&lt;/b&gt;" in html and "<b>MARKUP</b>" not in html


def test_thread_page_depth_selector(client: TestClient) -> None:
    r = client.get(f"/cable/{XSS_ID}/thread", params={"depth": 1})
    assert r.status_code == 200
    assert set(rows(r.text)) == {XSS_ID, CITER_ID, "08TUNIS679", "99NOWHERE1"}
    assert f'<a href="/cable/{XSS_ID}/thread?depth=1" aria-current="true" class="current">1</a>' in r.text
    assert "at most 1 step away" in r.text
    r = client.get(f"/cable/{XSS_ID}/thread", params={"depth": 0})
    assert rows(r.text) == [XSS_ID]
    assert 'aria-current="true" class="current">0</a>' in r.text  # a depth not offered is listed
    r = client.get(f"/cable/{XSS_ID.lower()}/thread?depth=2", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == f"/cable/{XSS_ID}/thread?depth=2"
    r = client.get(f"/cable/{XSS_ID}/thread?depth=-3")
    assert r.status_code == 422 and "depth" in r.text
    r = client.get("/cable/99UNKNOWN7/thread")
    assert r.status_code == 404 and "99UNKNOWN7" in r.text


def test_a_thread_cut_short_says_so(client: TestClient) -> None:
    api = client.get(f"/api/cables/{CHAIN[0]}/thread").json()
    assert api["cut"] is not None and api["notice"]
    assert api["total"] < len(CHAIN)
    html = client.get(f"/cable/{CHAIN[0]}/thread").text
    notice = re.search(r'<p class="notice" role="note" id="notice">(.*?)</p>', html, re.S)
    assert notice and api["notice"] in notice.group(1)
    # a part short of the cap is whole: no notice
    html = client.get(f"/cable/{CHAIN[0]}/thread", params={"depth": 5}).text
    assert 'id="notice"' not in html and len(rows(html)) == 6


def test_cable_page_links_its_thread(client: TestClient) -> None:
    html = client.get(f"/cable/{XSS_ID}").text
    size = client.get(f"/api/cables/{XSS_ID}/thread").json()["in_index"]  # the missing ones aside
    link = re.search(r'<a href="([^"]+)" id="thread-link"[^>]*>([^<]+)</a>', html)
    assert link and link.group(1) == f"/cable/{XSS_ID}/thread" and link.group(2) == f"Thread ({size} cables)"
    # a cable that cites nothing and that nothing cites has no thread to show
    lone = "07SMITHVILLE2"
    assert client.get(f"/api/cables/{lone}/thread").json()["total"] == 1
    assert 'id="thread-link"' not in client.get(f"/cable/{lone}").text


# ------------------------------------------------------------------------------------- people


def test_person_page_lists_cables_posts_and_roles(client: TestClient, graph_index: tuple) -> None:
    cables = graph_index[1]
    r = client.get("/person/" + quote("Robert F. Godec"))
    assert r.status_code == 200, r.text
    html = r.text
    assert '<h1 id="person-name">GODEC, ROBERT F.</h1>' in html
    named = [c for c in cables.values() if any(m.name.startswith("GODEC") for m in cable_people(c))]
    listed = re.findall(r'<td><a href="/cable/([0-9A-Z]+)" class="refid">', html)
    assert sorted(listed) == sorted(c.reference_id for c in named)
    dates = [cables[i].created for i in listed]
    assert dates == sorted(dates)
    assert (
        'id="posts"><li><a href="/?origin=Embassy+Tunis&amp;person=GODEC%2C+ROBERT+F.&amp;sort=created">'
        in html
    )
    assert re.search(r'id="roles"><li>signer <span class="count">\d+</span></li><li>classified by', html)
    search = re.search(r'<a href="([^"]+)" id="person-search">', html)
    assert search
    r = client.get("/api/search", params={"person": "GODEC, ROBERT F."})
    assert r.json()["total"] == len(named)


def test_person_api(client: TestClient) -> None:
    data = client.get("/api/people/godec").json()
    assert data["name"] == "GODEC, ROBERT F." and data["total"] == len(data["cables"]) >= 1
    assert set(data) >= {"spellings", "posts", "roles", "cables"}
    r = client.get("/api/people/SMITH")
    message = assert_error(r, 409)
    assert "SMITH" in message
    details = r.json()["error"]["details"]
    assert {d["name"] for d in details} == {SMITH_JOHN, SMITH_MARY}
    for d in details:
        assert client.get(d["url"]).json()["name"] == d["name"]
    assert_error(client.get("/api/people/NOBODYATALL"), 404)
    assert_error(client.get("/api/people/" + "X" * 200), 422)


def test_a_shared_surname_lists_the_candidates(client: TestClient) -> None:
    r = client.get("/person/smith")
    assert r.status_code == 200
    links = re.findall(r'<li><a href="(/person/[^"]+)">([^<]+)</a>', r.text)
    assert {name for _, name in links} == {SMITH_JOHN, SMITH_MARY}
    for link, name in links:
        page = client.get(link)
        assert page.status_code == 200 and f'<h1 id="person-name">{name}</h1>' in page.text
    r = client.get("/person/NOBODYATALL")
    assert r.status_code == 404 and "no person" in r.text


def test_cable_page_links_signers_and_classifier_to_their_person(client: TestClient) -> None:
    html = client.get("/cable/07SMITHVILLE1").text
    signed = re.search(r'<dd class="fact-signed">(.*?)</dd>', html, re.S)
    by = re.search(r'<dd class="fact-classified-by">(.*?)</dd>', html, re.S)
    john = "/person/" + quote(SMITH_JOHN, safe="")
    # the bare signer SMITH is the John A. Smith who classified the cable, not Mary
    assert signed and f'href="{john}"' in signed.group(1) and ">SMITH</a>" in signed.group(1)
    assert by and f'href="{john}"' in by.group(1) and "Ambassador John A. Smith" in by.group(1)
    assert f'href="{john}"' in client.get("/cable/07SMITHVILLE1/print").text


# ----------------------------------------------------------------------- person and warning facets


def test_api_search_has_person_and_warning_facets_and_filters(client: TestClient, graph_index: tuple) -> None:
    data = client.get("/api/search", params={"facet_limit": 1000, "limit": 1}).json()
    persons = dict((v, n) for v, n in data["facets"]["person"])
    assert persons[SMITH_JOHN] == 1 and persons[SMITH_MARY] == 1
    warnings = dict((v, n) for v, n in data["facets"]["warning"])
    assert warnings, "the test cables have parse warnings"
    for kind, n in warnings.items():
        assert client.get("/api/search", params={"warning": kind}).json()["total"] == n
    both = client.get("/api/search", params=[("person", SMITH_JOHN), ("person", SMITH_MARY)]).json()
    assert both["total"] == 2  # any of
    smiths = client.get("/api/facets", params={"person": "smith", "facet_limit": 1000}).json()
    assert smiths["total"] == 2  # a surname: everyone of that surname
    # multi-select: the person facet is counted without its own filter, the others with it
    assert dict((v, n) for v, n in smiths["facets"]["person"]) == persons
    assert dict(smiths["facets"]["origin"]) == {"Embassy Smithville": 1, "Consulate Smithtown": 1}
    assert_error(client.get("/api/search", params={"person": "x" * 101}), 422)


def test_person_and_warning_facets_in_the_sidebar(client: TestClient) -> None:
    html = client.get("/").text
    assert '<details class="facet" id="facet-person" open>' in html
    assert '<details class="facet" id="facet-warning" open>' in html
    assert "<h2>Parse warnings" in html and 'id="warning-note"' in html and "distrust" in html
    link = re.search(r'<a href="(/\?person=[^"]+)" class="facet-link" data-facet="person"', html)
    assert link
    profile = re.search(
        r'data-facet="person".*?</a><a class="facet-profile" href="(/person/[^"]+)"', html, re.S
    )
    assert profile and client.get(profile.group(1)).status_code == 200

    html = client.get("/", params=[("person", SMITH_JOHN), ("person", SMITH_MARY), ("q", "")]).text
    assert 'id="facet-person" open>\n      <summary><h2>Person <span class="any-of"' in html
    chips = re.findall(r'aria-label="Remove filter ([^"]+)"', html)
    assert chips == [f"Person: {SMITH_JOHN}", f"Person: {SMITH_MARY}"]
    assert '<input type="hidden" name="person" value="SMITH, JOHN A.">' in html
    kind = client.get("/api/search").json()["facets"]["warning"][0][0]
    html = client.get("/", params={"warning": kind}).text
    assert re.findall(r'aria-label="Remove filter ([^"]+)"', html) == [f"Parse warnings: {kind}"]


# --------------------------------------------------------------------------- notices and errors


def test_unknown_filter_value_offers_its_suggestions(client: TestClient) -> None:
    r = client.get("/", params=[("q", "cloves"), ("tag", "PRELL"), ("year", "2007")])
    assert r.status_code == 400
    assert "no cable has the tag" in r.text
    fixes = re.findall(r'<a href="([^"]+)" class="filter-fix">([^<]+)</a>', r.text)
    assert fixes and fixes[0][1] == "PREL"
    fixed = client.get(fixes[0][0].replace("&amp;", "&"))
    assert fixed.status_code == 200
    assert re.findall(r'aria-label="Remove filter ([^"]+)"', fixed.text) == ["Tag: PREL", "Year: 2007"]
    assert 'name="q" value="cloves"' in fixed.text
    remove = re.search(r'<a href="([^"]+)" id="filter-fix-remove">', r.text)
    assert remove and "tag=" not in remove.group(1) and "year=2007" in remove.group(1)

    err = client.get("/api/search", params={"tag": "PRELL"})
    assert_error(err, 400)
    (detail,) = err.json()["error"]["details"]
    assert (
        detail["parameter"] == "tag" and detail["value"] == "PRELL" and detail["suggestions"][0][0] == "PREL"
    )


def test_graph_query_notice_is_shown(client: TestClient) -> None:
    r = client.get("/", params={"q": "thread:99NOSUCH1"})
    assert r.status_code == 200
    notice = re.search(r'<p class="notice" role="note" id="notice">(.*?)</p>', r.text, re.S)
    assert notice and "99NOSUCH1" in notice.group(1)
    data = client.get("/api/search", params={"q": "cites:99NOSUCH1"}).json()
    assert data["total"] == 0 and "99NOSUCH1" in data["notice"]
    r = client.get("/", params={"q": f"cites:{XSS_ID}"})
    assert f'href="/cable/{CITER_ID}' in r.text


def test_syntax_help_names_the_graph_and_person_queries(client: TestClient) -> None:
    html = client.get("/").text
    help_ = re.search(r'<details class="syntax">.*?</details>', html, re.S)
    assert help_
    for word in ("cites:", "citedby:", "thread:08TUNIS679~2", "person:"):
        assert word in help_.group(0)


def test_search_counts_match_the_person_facet(client: TestClient, graph_index: tuple) -> None:
    cables = graph_index[1]
    data = client.get("/api/facets", params={"facet_limit": 1000}).json()
    counted = dict((v, n) for v, n in data["facets"]["person"])
    surnames = Counter(v.partition(",")[0] for v in counted)
    for name, n in counted.items():
        if surnames[name.partition(",")[0]] == 1:
            assert client.get("/api/people/" + quote(name, safe="")).json()["total"] == n
    assert sum(1 for c in cables.values() if cable_people(c)) >= max(counted.values())
