"""Batch search, export, facets ("any of", all values), tag codes explained and notices on the
web, through FastAPI's test client on a real index (the web tests' 41 cables plus made-up ones),
and the export slots on a real search service."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_api import assert_error, build_web_index

from cablesearch.config import Config
from cablesearch.errors import QuerySyntaxError
from cablesearch.index.store import CableIndex
from cablesearch.investigate.export import iter_lines
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService
from cablesearch.web.app import create_app
from cablesearch.web.export import export_filename
from cablesearch.web.limits import LIMITS
from cablesearch.web.services import ExportSlots, ServerBusy, ServicePool
from cablesearch.web.state import SearchState


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("webinv") / "index"
    build_web_index(path)
    return path


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient]:
    config = Config(index_dir=index_dir, page_size=10, max_page_size=50)
    with TestClient(create_app(config), raise_server_exceptions=False) as c:
        yield c


def total(client: TestClient, **params: object) -> int:
    r = client.get("/api/search", params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


# -- batch: API ----------------------------------------------------------------------------


def test_api_batch_rows_match_the_searches(client: TestClient) -> None:
    r = client.post("/api/batch", json={"queries": ["zanzibar", "tunisia", "", "nosuchwordanywhere"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and body["failed"] == 0
    rows = body["rows"]
    assert [row["line"] for row in rows] == [1, 2, 4]  # the blank item keeps its place
    assert rows[0]["total"] == total(client, q="zanzibar") > 0
    assert rows[1]["total"] == total(client, q="tunisia") > 0
    assert rows[2]["total"] == 0 and rows[2]["first"] is None
    assert rows[0]["first"] <= rows[0]["last"]
    assert rows[0]["origins"][0][0] == "Embassy Testville"


def test_api_batch_bad_query_errs_in_its_row_only(client: TestClient) -> None:
    r = client.post(
        "/api/batch", content=b"zanzibar\n(unclosed AND\ntunisia\n", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert r.json()["failed"] == 1
    assert rows[1]["error"] and "line 2" in rows[1]["error"]
    assert rows[0]["error"] is None and rows[0]["total"] > 0
    assert rows[2]["error"] is None and rows[2]["total"] > 0


def test_api_batch_csv_body_has_names(client: TestClient) -> None:
    text = 'name,query\nisland,zanzibar\n"a, b",tunisia\nbroken,"a,b",c\n'
    r = client.post("/api/batch", content=text.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["name"] for row in rows[:2]] == ["island", "a, b"]
    assert "expected 2 columns" in rows[2]["error"]


def test_api_batch_limits_are_clear_4xx(client: TestClient) -> None:
    many = [f"word{i}" for i in range(LIMITS.max_batch_queries + 1)]
    message = assert_error(client.post("/api/batch", json={"queries": many}), 413)
    assert f"{LIMITS.max_batch_queries:,}" in message
    text = "\n".join(many).encode()
    assert "split" in assert_error(
        client.post("/api/batch", content=text, headers={"content-type": "text/plain"}), 413
    )
    huge = b"x" * (LIMITS.max_batch_bytes + 1)
    assert "kB" in assert_error(
        client.post("/api/batch", content=huge, headers={"content-type": "text/plain"}), 413
    )
    assert "no queries" in assert_error(client.post("/api/batch", json={"queries": ["  "]}), 400)
    assert "JSON" in assert_error(
        client.post("/api/batch", content=b"{nope", headers={"content-type": "application/json"}), 400
    )
    assert "list of strings" in assert_error(client.post("/api/batch", json={"queries": [1, 2]}), 400)
    assert "UTF-8" in assert_error(
        client.post("/api/batch", content=b"\xff\xfe\x00q", headers={"content-type": "text/plain"}), 400
    )


def test_api_batch_takes_post_only(client: TestClient) -> None:
    r = client.get("/api/batch")
    assert "POST" in assert_error(r, 405)
    assert r.headers["allow"] == "POST"
    assert "GET" in assert_error(client.post("/api/search"), 405)


def test_openapi_describes_batch_and_export(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/batch"] and "requestBody" in paths["/api/batch"]["post"]
    params = {p["name"] for p in paths["/api/export"]["get"]["parameters"]}
    assert {"format", "fields", "q", "tag", "origin", "sort"} <= params
    assert "facet_limit" in {p["name"] for p in paths["/api/search"]["get"]["parameters"]}


def test_api_batch_as_a_csv_download_guards_formulas(client: TestClient) -> None:
    r = client.post("/api/batch?format=csv", json={"queries": ["-nosuchword zanzibar", "=1+1", "zanzibar"]})
    assert r.status_code == 200, r.text
    assert re.fullmatch(
        r'attachment; filename="cablesearch-batch-\d{8}\.csv"', r.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:4] == ["line", "name", "query", "total"]
    assert rows[1][2] == "'-nosuchword zanzibar" and rows[2][2] == "'=1+1"
    assert rows[3][2] == "zanzibar" and int(rows[3][3]) == total(client, q="zanzibar")
    assert "json or csv" in assert_error(client.post("/api/batch?format=xml", json={"queries": ["a"]}), 400)
    # the page's download form posts the same list again
    page = client.post("/batch", data={"queries": "zanzibar\ntunisia"})
    form = re.search(
        r'<form class="batch-download" action="([^"]+)".*?<textarea name="queries" hidden>(.*?)</textarea>',
        page.text,
        re.S,
    )
    assert form and form.group(2) == "zanzibar\ntunisia"
    again = client.post(form.group(1), data={"queries": form.group(2), "filename": ""})
    assert again.status_code == 200 and len(list(csv.reader(io.StringIO(again.text)))) == 3


# -- batch: page ---------------------------------------------------------------------------


def test_batch_page_form_and_table(client: TestClient) -> None:
    form = client.get("/batch")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    r = client.post("/batch", data={"queries": "zanzibar\n# skipped\n(broken AND\n"})
    assert r.status_code == 200, r.text
    assert 'href="/?q=zanzibar"' in r.text
    n = total(client, q="zanzibar")
    assert f'<a href="/?q=zanzibar">{n}</a>' in r.text
    error_row = re.search(r'<tr class="row-error">(.*?)</tr>', r.text, re.S)
    assert error_row and "line 3" in error_row.group(1) and "(broken AND" in error_row.group(1)
    assert "1 could not run" in r.text
    assert "zanzibar\n# skipped" in r.text  # the list stays in the box for editing


def test_batch_page_takes_an_uploaded_csv_file(client: TestClient) -> None:
    data = b"name,query\nIsland <b>,zanzibar\n"
    r = client.post("/batch", files={"file": ("queries.csv", data, "text/csv")}, data={"queries": ""})
    assert r.status_code == 200, r.text
    assert "Island &lt;b&gt;" in r.text and "<code>queries.csv</code>" in r.text
    assert "Island <b>" not in r.text


def test_batch_page_refuses_too_many_queries_with_the_text_kept(client: TestClient) -> None:
    text = "\n".join(f"w{i}" for i in range(LIMITS.max_batch_queries + 5))
    r = client.post("/batch", data={"queries": text})
    assert r.status_code == 413
    assert "Cannot run this batch" in r.text and "split it" in r.text
    assert "w1004" in r.text
    empty = client.post("/batch", data={"queries": "\n# only a comment\n"})
    assert empty.status_code == 400 and "No queries given" in empty.text


# -- export ---------------------------------------------------------------------------------


def test_export_csv_streams_every_match_with_a_file_name(client: TestClient) -> None:
    r = client.get("/api/export", params={"q": "zanzibar", "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="cablesearch-zanzibar-\d{8}\.csv"', r.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "reference_id"
    assert len(rows) - 1 == total(client, q="zanzibar")


def test_export_jsonl_with_fields_and_filters(client: TestClient) -> None:
    r = client.get("/api/export", params={"format": "jsonl", "fields": "reference_id,tags", "tag": "PREL"})
    assert r.status_code == 200, r.text
    records = [json.loads(line) for line in r.text.splitlines()]
    assert len(records) == total(client, tag="PREL") > 1
    assert all(set(rec) == {"reference_id", "tags"} and "PREL" in rec["tags"] for rec in records)


def test_export_errors_come_before_the_stream(client: TestClient) -> None:
    assert "known fields" in assert_error(client.get("/api/export", params={"fields": "subject,nope"}), 400)
    assert "csv, jsonl" in assert_error(client.get("/api/export", params={"format": "xlsx"}), 400)
    assert_error(client.get("/api/export", params={"q": "(broken AND"}), 400)
    assert_error(client.get("/api/export", params={"from": "2008-13"}), 422)
    # a refused export gave its slot back: the next one runs
    assert client.get("/api/export", params={"q": "zanzibar"}).status_code == 200


def test_export_filename_is_safe() -> None:
    st = SearchState(q='"arms sale" / ../x', tags=("PREL",))
    assert export_filename(st, "csv", date(2010, 11, 28)) == "cablesearch-arms-sale-x-prel-20101128.csv"
    assert export_filename(SearchState(), "jsonl", date(2010, 11, 28)) == "cablesearch-all-20101128.jsonl"


def test_csv_cells_are_guarded_against_formulas(tmp_path: Path) -> None:
    evil = Cable(
        reference_id="10EVIL1",
        created=datetime(2010, 1, 2, 3, 4),
        classification="UNCLASSIFIED",
        origin="@Embassy Evil",
        tags=["-PREL", "PGOV"],
        subject='=HYPERLINK("http://evil.example","click")',
        body="1. (U) plus +1 text.",
        format="telegram",
        source="<test>",
    )
    index = CableIndex.open(tmp_path / "index", create=True)
    with index.writer(timeout=30.0) as writer:
        writer.put(evil)
    config = Config(index_dir=tmp_path / "index")
    with TestClient(create_app(config)) as c:
        r = c.get("/api/export", params={"fields": "reference_id,origin,tags,subject,score"})
        row = list(csv.reader(io.StringIO(r.text)))[1]
        assert row[:4] == [
            "10EVIL1",
            "'@Embassy Evil",
            "'-PREL; PGOV",
            '\'=HYPERLINK("http://evil.example","click")',
        ]
        assert not row[4].startswith("'")  # numbers stay numbers
        jl = json.loads(c.get("/api/export", params={"format": "jsonl", "fields": "subject"}).text)
        assert jl["subject"].startswith("=HYPERLINK")  # JSON keeps the text as it is
    with SearchService(CableIndex.open(tmp_path / "index"), config) as svc:
        lines = list(iter_lines(svc, SearchRequest(), "csv", ["subject"]))
        assert lines[1].startswith("\"'=HYPERLINK")


# -- export slots: a long export never takes a search service ------------------------------


def test_export_slots_refuse_a_second_export_and_let_searches_run(index_dir: Path) -> None:
    config = Config(index_dir=index_dir)

    def open_service() -> SearchService:
        return SearchService(CableIndex.open(index_dir), config)

    async def scenario() -> None:
        slots = ExportSlots(open_service, slots=1, chunk_chars=1)  # one line per chunk
        pool = ServicePool(open_service, size=1, wait_limit=5.0)
        request = SearchRequest(query="zanzibar")
        first = await slots.open(lambda svc: iter_lines(svc, request, "csv"))  # type: ignore[arg-type]
        head = await first.__anext__()
        assert head.startswith("reference_id,")
        assert slots.busy == 1
        with pytest.raises(ServerBusy, match="already being downloaded"):
            await slots.open(lambda svc: iter_lines(svc, request, "csv"))  # type: ignore[arg-type]
        # the search pool is untouched by the open export
        found = await pool.run(lambda svc: svc.search(request).total)
        assert found > 0
        rest = [chunk async for chunk in first]
        assert len(rest) == found  # one row per chunk, all of them
        assert slots.busy == 0
        # a bad query raises at open and gives the slot back
        with pytest.raises(QuerySyntaxError, match="unbalanced"):
            await slots.open(lambda svc: iter_lines(svc, SearchRequest(query="(broken AND"), "csv"))  # type: ignore[arg-type]
        assert slots.busy == 0
        # a download dropped half way (the client went away) gives the slot back
        second = await slots.open(lambda svc: iter_lines(svc, request, "csv"))  # type: ignore[arg-type]
        await second.__anext__()
        del second
        gc.collect()
        deadline = time.monotonic() + 10.0
        while slots.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert slots.busy == 0
        closed = await slots.open(lambda svc: iter_lines(svc, request, "csv"))  # type: ignore[arg-type]
        await closed.aclose()
        assert slots.busy == 0
        third = await slots.open(lambda svc: iter_lines(svc, request, "jsonl"))  # type: ignore[arg-type]
        records = [json.loads(line) async for chunk in third for line in chunk.splitlines()]
        assert len(records) == found and records[0]["reference_id"]
        pool.close()
        slots.close()

    asyncio.run(scenario())


# -- the search page: notice, downloads, facets, tag codes ---------------------------------


def test_search_page_shows_the_stop_word_notice(client: TestClient) -> None:
    api = client.get("/api/search", params={"q": "the"}).json()
    assert api["notice"]
    page = client.get("/", params={"q": "the"})
    assert 'id="notice"' in page.text and api["notice"].split("'")[0][:20] in page.text


def test_results_page_links_downloads_for_the_current_search(client: TestClient) -> None:
    page = client.get("/", params={"q": "zanzibar", "tag": "ZZTEST", "page": 1, "limit": 5})
    links = re.findall(r'href="(/api/export\?[^"]+)"', page.text)
    assert len(links) == 2
    csv_link = links[0].replace("&amp;", "&")
    assert "format=csv" in csv_link and "tag=ZZTEST" in csv_link and "limit" not in csv_link
    r = client.get(csv_link)
    assert r.status_code == 200
    assert len(r.text.splitlines()) - 1 == total(client, q="zanzibar", tag="ZZTEST")


def test_facets_say_any_of_and_keep_chosen_values(client: TestClient) -> None:
    plain = client.get("/", params={"q": "zanzibar"}).text
    assert "any of" not in plain
    chosen = client.get("/", params={"q": "zanzibar", "tag": ["ZZTEST", "PREL"], "facet_limit": 1}).text
    tags = chosen.split('id="facet-tag"', 1)[1].split("</details>", 1)[0]
    assert "any of" in tags
    # both chosen values are listed (to be removed) though the counts list only the top one
    assert tags.count('aria-current="true"') == 2
    assert ">ZZTEST<" in tags and ">PREL<" in tags
    assert "any of" not in chosen.split('id="facet-origin"', 1)[1].split("</details>", 1)[0]


def test_facet_limit_shows_every_value(client: TestClient) -> None:
    top = client.get("/api/search", params={"facet_limit": 2}).json()["facets"]
    assert all(len(v) <= 2 for v in top.values())
    everything = client.get("/api/search", params={"facet_limit": 1000}).json()["facets"]
    assert len(everything["tag"]) > 20
    assert_error(client.get("/api/search", params={"facet_limit": 0}), 422)
    assert_error(client.get("/api/search", params={"facet_limit": LIMITS.max_facet_limit + 1}), 422)
    page = client.get("/").text
    more = re.search(r'<a class="facet-more" href="([^"]+)">Show all tag values', page)
    assert more
    full = client.get(more.group(1).replace("&amp;", "&").split("#")[0]).text
    tag_box = full.split('id="facet-tag"', 1)[1].split("</details>", 1)[0]
    assert tag_box.count("<li ") == len(everything["tag"])
    assert 'class="facet-filter"' in tag_box  # a long list gets a filter box
    assert "Show the top values only" in tag_box


def test_tag_codes_are_explained(client: TestClient) -> None:
    page = client.get("/", params={"q": "zanzibar"}).text
    assert "External Political Relations" in page  # PREL in the tag facet
    assert 'title="PREL: External Political Relations.' in page
    cable = client.get("/cable/10TESTVILLE2").text
    assert '<span class="tag-desc">External Political Relations</span>' in cable
    tunisia = client.get("/cable/08TUNIS679").text
    assert '<span class="tag-desc">Tunisia</span>' in tunisia  # country codes named
    chip = client.get("/", params={"tag": "PREL"}).text
    assert 'title="PREL: External Political Relations. Remove this filter"' in chip
