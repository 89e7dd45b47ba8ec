"""Saved searches and alerts on the web and the API, through FastAPI's test client on a real
index (the API tests' cables); new cables are committed straight through the index writer, as
a daemon that died before evaluating its alerts would leave them, so every page must catch up."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from test_alerts import run
from test_web_api import assert_error, build_web_index

from cablesearch.alerts import AlertStore
from cablesearch.alerts.store import REQUEST_FIELDS
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.web.app import create_app

SITE = "http://testserver"
SAME_SITE = {"Origin": SITE}
NEW_ID = "10TESTVILLE7"


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("alerts-web") / "index"
    build_web_index(index_dir)
    return index_dir


@pytest.fixture
def index_dir(built_index: Path, tmp_path: Path) -> Path:
    """A fresh copy of the index for each test (alerts change the index folder)."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target)
    return target


@pytest.fixture
def client(index_dir: Path) -> Any:
    config = Config(index_dir=index_dir, page_size=10, max_page_size=50)
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        yield c


def commit_cable(
    index_dir: Path, reference_id: str = NEW_ID, subject: str = "ZANZIBAR SPICE EXPORTS", **fields: Any
) -> None:
    """A new cable committed without evaluating any alert (``fields``: more Cable fields)."""
    cable = Cable(
        reference_id=reference_id,
        created=datetime(2010, 3, 1, 9, 30),
        released=datetime(2011, 2, 1, 9, 0),
        classification="UNCLASSIFIED",
        origin="Embassy Testville",
        tags=["ECON", "ZZTEST"],
        subject=subject,
        references=[],
        header="VZCZCXYZ0007",
        body=f"UNCLAS TESTVILLE 000007\n\nSUBJECT: {subject}\n\n1. (U) Zanzibar cloves sold well this year.\n",
        format="telegram",
        source="<test>",
        **fields,
    )
    with CableIndex.open(index_dir, create=False).writer(timeout=30.0) as writer:
        writer.put(cable)


def save(client: TestClient, name: str, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    data = {"name": name, **fields}
    return client.post(
        "/alerts", data=data, headers=SAME_SITE if headers is None else headers, follow_redirects=False
    )


def nav_badge(html: str) -> str | None:
    m = re.search(r'id="nav-alerts"[^>]*>Alerts(?: <span class="nav-badge"[^>]*>([^<]+)</span>)?</a>', html)
    assert m, "no Alerts link in the navigation"
    return m.group(1)


# ------------------------------------------------------------------------------------ pages


def test_the_results_page_offers_to_save_the_search_with_its_filters(client: TestClient) -> None:
    r = client.get("/", params=[("q", "zanzibar"), ("tag", "ZZTEST"), ("year", "2010")])
    form = re.search(r'<form action="/alerts" method="post">(.*?)</form>', r.text, re.S)
    assert form, "no save form on the results page"
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))
    assert hidden == {"q": "zanzibar", "tag": "ZZTEST", "year": "2010"}


def test_save_list_then_new_cables_show_as_unseen_until_viewed(client: TestClient, index_dir: Path) -> None:
    r = save(client, "isle", q="zanzibar", tag=["ZZTEST", "ECON"])
    assert r.status_code == 303 and r.headers["location"] == "/alerts?saved=isle"
    page = client.get(r.headers["location"]).text
    assert "Saved <strong>isle</strong>" in page
    row = re.search(r'<tr id="alert-isle".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'href="/?q=zanzibar&amp;tag=ZZTEST&amp;tag=ECON"' in row  # the search, with its filters
    assert 'href="/alerts/isle.atom"' in row
    assert nav_badge(page) is None  # what matched when saved is never reported

    commit_cable(index_dir)  # no evaluation after this commit: the pages must catch up
    page = client.get("/alerts").text
    row = re.search(r'<tr id="alert-isle".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'class="has-new"' in row and '<a href="/alerts/isle" class="nav-badge">1</a>' in row
    assert nav_badge(client.get("/browse").text) == "1"  # every page, without evaluating

    page = client.get("/alerts/isle").text
    new = re.search(r'<ol class="hits" id="new-matches">(.*?)</ol>', page, re.S)
    assert new and f'href="/cable/{NEW_ID}?q=zanzibar"' in new.group(1)
    assert "ZANZIBAR SPICE EXPORTS" in new.group(1)
    assert nav_badge(page) is None  # viewing marked them seen

    again = client.get("/alerts/isle").text  # seen now: listed with the earlier ones
    assert 'id="new-matches"' not in again and "No new match" in again
    older = re.search(r'<ol class="hits" id="older-matches">(.*?)</ol>', again, re.S)
    assert older and NEW_ID in older.group(1)


def test_a_cable_outside_the_filters_is_no_match(client: TestClient, index_dir: Path) -> None:
    assert save(client, "other-tag", q="zanzibar", tag="PREL").status_code == 303
    commit_cable(index_dir)  # tags ECON, ZZTEST
    alert = client.get("/api/alerts/other-tag").json()["alert"]
    assert alert["tags"] == ["PREL"] and alert["matches"] == 0


def test_save_errors_are_shown_by_the_form_on_the_results_page(client: TestClient) -> None:
    assert save(client, "isle", q="zanzibar").status_code == 303
    r = save(client, "isle", q="cloves")
    assert r.status_code == 409
    assert 'id="save-error"' in r.text and "delete it on the Alerts page first" in r.text
    assert '<a href="/" aria-current="page">Search</a>' in r.text  # the results page, not /alerts
    assert '<details class="save-search" id="save-search" open>' in r.text
    assert 'value="isle"' in r.text and "<q>cloves</q>" in r.text  # the results of that search
    r = save(client, "no spaces/please", q="zanzibar")
    assert r.status_code == 400 and "is not usable" in r.text and 'id="save-error"' in r.text
    r = save(client, "", q="zanzibar")
    assert r.status_code == 422 and "give the saved search a name" in r.text
    r = save(client, "bad-date", q="zanzibar", **{"from": "2008-13"})
    assert r.status_code == 422 and "has no month 13" in r.text
    assert [a["name"] for a in client.get("/api/alerts").json()["alerts"]] == ["isle"]


def test_changes_from_another_site_are_refused(client: TestClient) -> None:
    r = save(client, "evil", headers={"Origin": "http://evil.example"}, q="zanzibar")
    assert r.status_code == 403 and "evil.example" in r.text
    r = save(client, "evil", headers={"Referer": "http://evil.example/page"}, q="zanzibar")
    assert r.status_code == 403
    r = save(client, "evil", headers={"Sec-Fetch-Site": "cross-site"}, q="zanzibar")
    assert r.status_code == 403
    r = save(client, "ours", headers={"Referer": f"{SITE}/?q=zanzibar"}, q="zanzibar")
    assert r.status_code == 303
    r = client.post("/alerts/ours/delete", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.request("DELETE", "/api/alerts/ours", headers={"Origin": "null"})
    assert_error(r, 403)
    assert [a["name"] for a in client.get("/api/alerts").json()["alerts"]] == ["ours"]


def test_delete_from_the_page(client: TestClient) -> None:
    assert save(client, "gone", q="zanzibar").status_code == 303
    r = client.post("/alerts/gone/delete", headers=SAME_SITE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/alerts?deleted=gone"
    page = client.get(r.headers["location"]).text
    assert "Deleted the alert <strong>gone</strong>" in page and "No search is saved yet" in page
    assert client.get("/alerts/gone").status_code == 404
    assert client.post("/alerts/gone/delete", headers=SAME_SITE).status_code == 404


def test_unknown_alerts_are_404_pages(client: TestClient) -> None:
    r = client.get("/alerts/nope")
    assert r.status_code == 404 and "no alert is saved yet" in r.text
    save(client, "isle", q="zanzibar")
    r = client.get("/alerts/nope")
    assert r.status_code == 404 and "known alerts: isle" in r.text
    r = client.get("/alerts/" + "x" * 300 + ".atom")
    assert r.status_code == 404 and len(r.text) < 10_000


def test_reading_the_alerts_page_makes_no_store(client: TestClient, index_dir: Path) -> None:
    page = client.get("/alerts")
    assert page.status_code == 200 and "No search is saved yet" in page.text
    assert client.get("/api/alerts").json() == {"alerts": [], "errors": []}
    assert not AlertStore.exists(index_dir)


# ------------------------------------------------------------------------------------- feed


PERSON = "ROE, JANE"
BY_ROE = {"classified_by": "Ambassador Jane Roe, reasons 1.4 (b) and (d)"}
ODD_SUBJECT = {"warnings": ["subject: the telegram's SUBJECT line and the header disagree"]}


def test_person_and_warning_filters_are_kept_by_the_form_the_api_and_every_view(
    client: TestClient, index_dir: Path
) -> None:
    """A search saved from the results page and one posted to the API, both with a person and
    a parse-warning filter: only later cables passing both are reported (CLI, feed, page),
    and every place that shows the saved search names both filters."""
    params = [("q", "zanzibar"), ("person", PERSON), ("warning", "subject"), ("sort", "created")]
    page = client.get("/", params=params).text
    form = re.search(r'<form action="/alerts" method="post">(.*?)</form>', page, re.S)
    assert form, "no save form on the results page"
    hidden = re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group(1))
    assert hidden == [("q", "zanzibar"), ("person", PERSON), ("warning", "subject")]  # no sort
    assert save(client, "web", **{k: [v] for k, v in hidden}).status_code == 303
    body = {"name": "api", "q": "zanzibar", "persons": [PERSON], "warning": "subject"}
    r = client.post("/api/alerts", json=body)
    assert r.status_code == 201, r.text
    for alert in (r.json(), client.get("/api/alerts/web").json()["alert"]):
        assert alert["persons"] == [PERSON] and alert["warnings"] == ["subject"]
        assert f"--person {shlex.quote(PERSON)}" in alert["describe"]
        assert "--warning subject" in alert["describe"]

    commit_cable(index_dir, "10TESTVILLE8", "ZANZIBAR ONE", **BY_ROE, **ODD_SUBJECT)  # both: a match
    commit_cable(index_dir, "10TESTVILLE9", "ZANZIBAR TWO", **BY_ROE)  # no parse warning
    commit_cable(index_dir, "10TESTVILLE10", "ZANZIBAR THREE", **ODD_SUBJECT)  # nobody named Roe
    code, out, err = run(["--index", str(index_dir), "alerts", "show", "api", "--json"])
    assert code == 0, err
    assert [m["reference_id"] for m in json.loads(out)] == ["10TESTVILLE8"]
    for name in ("web", "api"):
        feed = feedparser.parse(client.get(f"/alerts/{name}.atom").content)
        assert [e.link for e in feed.entries] == [f"{SITE}/cable/10TESTVILLE8"]
        page = client.get(f"/alerts/{name}").text
        for label, value in (("Person", PERSON), ("Parse warnings", "subject")):
            assert f'<span class="chip-label">{label}</span> {value}</span>' in page
        assert "person=ROE%2C+JANE&amp;warning=subject" in page  # the link to run it now
    assert {a["name"]: a["matches"] for a in client.get("/api/alerts").json()["alerts"]} == {
        "api": 1,
        "web": 1,
    }
    listed = client.get("/alerts").text
    assert listed.count("person=ROE%2C+JANE&amp;warning=subject") == 2


def test_the_feed_is_atom_with_links_to_the_cables(client: TestClient, index_dir: Path) -> None:
    assert save(client, "isle", q="zanzibar").status_code == 303
    commit_cable(index_dir)
    commit_cable(index_dir, "10TESTVILLE8", "MORE ZANZIBAR NEWS")
    r = client.get("/alerts/isle.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert "isle" in feed.feed.title
    assert feed.feed.links[0].href == f"{SITE}/alerts/isle.atom"
    links = {e.link for e in feed.entries}
    assert links == {f"{SITE}/cable/{NEW_ID}", f"{SITE}/cable/10TESTVILLE8"}
    assert {e.title for e in feed.entries} == {"ZANZIBAR SPICE EXPORTS", "MORE ZANZIBAR NEWS"}
    # reading the feed marks nothing seen
    assert client.get("/api/alerts/isle").json()["alert"]["unseen"] == 2
    assert client.get("/alerts/nope.atom").status_code == 404


def test_an_alert_named_like_a_feed_keeps_its_page(client: TestClient) -> None:
    assert save(client, "news.atom", q="zanzibar").status_code == 303
    page = client.get("/alerts/news.atom")
    assert page.status_code == 200 and "<h1>Alert news.atom</h1>" in page.text
    assert 'href="/alerts/news.atom.atom"' in page.text
    feed = client.get("/alerts/news.atom.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "news.atom" in feedparser.parse(feed.content).feed.title


# -------------------------------------------------------------------------------------- API


def test_api_round_trip(client: TestClient, index_dir: Path) -> None:
    r = client.post("/api/alerts", json={"name": "isle", "q": "zanzibar", "tag": ["ZZTEST"], "from": "2009"})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/alerts/isle"
    alert = r.json()
    assert alert["query"] == "zanzibar" and alert["tags"] == ["ZZTEST"] and alert["date_from"] == "2009"
    assert alert["unseen"] == 0 and alert["links"]["feed"] == "/alerts/isle.atom"

    # what GET answers can be posted back under another name
    copy = {k: alert[k] for k in REQUEST_FIELDS}
    assert client.post("/api/alerts", json={"name": "copy", **copy}).status_code == 201

    commit_cable(index_dir)
    listed = client.get("/api/alerts").json()
    assert [(a["name"], a["unseen"], a["matches"]) for a in listed["alerts"]] == [
        ("copy", 1, 1),
        ("isle", 1, 1),
    ]

    one = client.get("/api/alerts/isle", params={"unseen_only": "true"}).json()
    assert [m["reference_id"] for m in one["matches"]] == [NEW_ID]
    assert one["matches"][0]["subject"] == "ZANZIBAR SPICE EXPORTS" and one["matches"][0]["seen"] is False
    assert client.get("/api/alerts/isle").json()["alert"]["unseen"] == 1  # reading marks nothing

    marked = client.post("/api/alerts/isle/seen").json()
    assert marked["marked"] == 1 and [m["reference_id"] for m in marked["matches"]] == [NEW_ID]
    assert client.get("/api/alerts/isle", params={"unseen_only": "true"}).json()["matches"] == []
    assert [m["seen"] for m in client.get("/api/alerts/isle").json()["matches"]] == [True]
    assert client.post("/api/alerts/isle/seen").json()["marked"] == 0

    assert client.delete("/api/alerts/isle").json() == {"deleted": "isle"}
    assert_error(client.get("/api/alerts/isle"), 404)
    assert_error(client.delete("/api/alerts/isle"), 404)
    assert [a["name"] for a in client.get("/api/alerts").json()["alerts"]] == ["copy"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "bad name!", "q": "x"}, 400, "is not usable"),
        ({"q": "zanzibar"}, 422, "give the saved search a name"),
        ({"name": "a", "query": "(zanzibar AND"}, 400, ""),
        ({"name": "a", "q": "x", "sort": "created"}, 400, "unknown field 'sort'"),
        ({"name": "a", "q": "x", "to": "2009-02-30"}, 422, "not a day of that month"),
        ({"name": "a", "q": "x", "year": ["nineteen"]}, 422, "is not a year"),
        ({"name": "a", "q": "x", "year": [1492]}, 422, "between 1900 and 2100"),
        ({"name": "a", "q": ["x"]}, 422, "give one string"),
        (["a", "x"], 400, "send a JSON object"),
    ],
)
def test_api_save_errors(client: TestClient, body: Any, status: int, words: str) -> None:
    message = assert_error(client.post("/api/alerts", json=body), status)
    assert words in message
    assert client.get("/api/alerts").json()["alerts"] == []


def test_api_duplicate_name_is_409_and_bad_json_400(client: TestClient) -> None:
    assert client.post("/api/alerts", json={"name": "isle", "q": "zanzibar"}).status_code == 201
    assert "exists already" in assert_error(client.post("/api/alerts", json={"name": "isle", "q": "x"}), 409)
    r = client.post("/api/alerts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_error(r, 400)


def test_api_methods_are_known_to_the_405_router_and_the_openapi_document(client: TestClient) -> None:
    r = client.put("/api/alerts/isle")
    assert_error(r, 405)
    assert r.headers["allow"] == "DELETE, GET"
    r = client.get("/api/alerts/isle/seen")
    assert_error(r, 405)
    assert r.headers["allow"] == "POST"
    r = client.delete("/api/alerts")
    assert_error(r, 405)
    assert r.headers["allow"] == "GET, POST"
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/alerts"]) == {"get", "post"}
    assert set(paths["/api/alerts/{name}"]) == {"get", "delete"}
    assert set(paths["/api/alerts/{name}/seen"]) == {"post"}
    assert "unseen_only" in {p["name"] for p in paths["/api/alerts/{name}"]["get"]["parameters"]}
    assert "/alerts" not in paths  # the pages are not API
    assert (
        "POST" in client.get("/api/docs").text and "/api/alerts/{name}/seen" in client.get("/api/docs").text
    )
