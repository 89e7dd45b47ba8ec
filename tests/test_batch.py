"""Batch search: reading query files, summary rows over a real index, and `cablesearch batch`."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.investigate.batch import (
    CSV_COLUMNS,
    BatchError,
    BatchQuery,
    format_table,
    parse_batch,
    read_batch_file,
    run_batch,
    summarize,
)
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("batch") / "index"
    ix = CableIndex.open(path)
    with ix.writer(timeout=10) as w:
        for c in parse.iter_cables([data_dir / "html"]):
            w.put(c)
    return path


@pytest.fixture()
def service(index_dir: Path):  # type: ignore[no-untyped-def]
    with SearchService(CableIndex.open(index_dir, create=False), Config()) as s:
        yield s


def run(index_dir: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--config", "/dev/null", "--index", str(index_dir), *args], input=stdin)


# -- reading ---------------------------------------------------------------------------------


def test_plain_lines_skip_blanks_and_comments() -> None:
    qs = parse_batch("# my list\n\nembassy\n  libya, oil  \n#x\n")
    assert [(q.line, q.query, q.name, q.error) for q in qs] == [
        (3, "embassy", "", None),
        (4, "libya, oil", "", None),
    ]


def test_csv_with_header_and_bad_rows() -> None:
    qs = parse_batch('name,query\nLibya,libya\n"Rights","""human rights"" AND tag:PHUM"\nbad,a,b\nempty,\n')
    assert [(q.line, q.name, q.query) for q in qs[:2]] == [
        (2, "Libya", "libya"),
        (3, "Rights", '"human rights" AND tag:PHUM'),
    ]
    assert (
        qs[2].error
        == "line 4: expected 2 columns name,query, found 3; put a query holding commas in double quotes"
    )
    assert qs[3].error == "line 5: the query is empty"


def test_csv_by_file_name_needs_no_header(tmp_path: Path) -> None:
    f = tmp_path / "q.csv"
    f.write_text("Spain,tag:SP\n", encoding="utf-8")
    assert [(q.name, q.query) for q in read_batch_file(f)] == [("Spain", "tag:SP")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\xff\xfe\x00bad", "not UTF-8 text"),
        (b"# only a comment\n\n", "no queries in it"),
    ],
)
def test_bad_batch_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    f = tmp_path / "q.txt"
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(BatchError, match=message):
        read_batch_file(f)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30),
        max_size=20,
    )
)
def test_every_query_line_is_kept_in_order(lines: list[str]) -> None:
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and lines[0].replace(" ", "").lower() == "name,query":
        return
    qs = parse_batch("\n".join(lines))
    assert [q.query for q in qs] == [ln.strip() for ln in lines]
    assert all(q.error is None for q in qs)


# -- summaries -------------------------------------------------------------------------------


def test_summary_row_matches_a_search(service: SearchService) -> None:
    row = summarize(service, BatchQuery(1, "embassy"), top=2)
    result = service.search(SearchRequest(query="embassy", page_size=100, facet_limit=2))
    assert row.error is None and row.total == result.total > 2
    dates = [h.created for h in result.hits if h.created]
    assert row.first == min(dates) and row.last == max(dates)
    assert row.origins == result.facets["origin"] and row.tags == result.facets["tag"]
    data = row.to_json()
    assert data["first"] == row.first.strftime("%Y-%m-%d") and data["tags"] == [list(t) for t in row.tags]


class PlainSearcher:
    """Only ``search``: the rows come from two searches, as for any searcher."""

    def __init__(self, service: SearchService):
        self.service = service

    def search(self, request: SearchRequest):  # type: ignore[no-untyped-def]
        return self.service.search(request)


@pytest.mark.parametrize(
    "query",
    ["embassy", "id:04MADRID4063", "zzzqqqxxx", "tag:PREL OR tag:MARR", "NOT OR x", '"human rights"', "*:*"],
)
def test_rows_from_one_evaluation_equal_rows_from_searches(service: SearchService, query: str) -> None:
    for top in (1, 3):
        fast = summarize(service, BatchQuery(7, query), top=top)
        slow = summarize(PlainSearcher(service), BatchQuery(7, query), top=top)  # type: ignore[arg-type]
        assert fast == slow


def test_no_match_and_bad_query_rows(service: SearchService) -> None:
    rows = list(
        run_batch(
            service, [BatchQuery(1, "zzzqqqxxx"), BatchQuery(2, "NOT OR x"), BatchQuery(3, "id:04MADRID4063")]
        )
    )
    assert (rows[0].total, rows[0].first, rows[0].error) == (0, None, None)
    assert rows[1].error is not None and rows[1].error.startswith(
        "line 2: cannot understand the query 'NOT OR x'"
    )
    assert rows[2].total == 1 and rows[2].first == rows[2].last == datetime(2004, 10, 19, 15, 3)


def test_table_shows_errors_in_their_row(service: SearchService) -> None:
    rows = list(run_batch(service, [BatchQuery(1, "embassy"), BatchQuery(2, "NOT OR x")]))
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["query", "total", "first", "last", "top", "origins", "top", "tags"]
    assert lines[1].startswith("embassy ") and "PREL" in lines[1]
    assert lines[2].startswith("NOT OR x ") and "error: line 2: cannot understand" in lines[2]


# -- CLI -------------------------------------------------------------------------------------


def test_cli_batch_table_csv_json(index_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "q.txt"
    f.write_text("embassy\nid:04MADRID4063\n", encoding="utf-8")
    r = run(index_dir, "batch", str(f))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[2].startswith("id:04MADRID4063  1 ")
    r = run(index_dir, "batch", str(f), "--csv")
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert tuple(rows[0]) == CSV_COLUMNS and rows[1]["total"] == "1" and rows[1]["first"] == "2004-10-19"
    data = json.loads(run(index_dir, "batch", str(f), "--json", "--top", "1").output)
    assert [r["query"] for r in data["rows"]] == ["embassy", "id:04MADRID4063"]
    assert len(data["rows"][0]["origins"]) == 1


def test_cli_batch_csv_cells_open_as_text_in_a_spreadsheet(index_dir: Path, tmp_path: Path) -> None:
    """A query such as `-iran` or `=HYPERLINK(...)` must not become a formula when the batch CSV
    is opened in a spreadsheet: such cells get a leading quote, as exports do."""
    f = tmp_path / "q.csv"
    f.write_text("name,query\n=cmd,embassy\nnot,-embassy\n", encoding="utf-8")
    r = run(index_dir, "batch", str(f), "--csv")
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert rows[0]["name"] == "'=cmd" and rows[1]["query"] == "'-embassy"
    assert rows[0]["total"].isdigit()


def test_cli_bad_line_keeps_the_rest_and_exits_1(index_dir: Path) -> None:
    r = run(index_dir, "batch", "-", "--json", stdin="name,query\nok,embassy\nbad,a,b\nalso ok,tag:PREL\n")
    assert r.exit_code == 1
    rows = json.loads(r.output.splitlines()[0])["rows"]
    assert [x["error"] is None for x in rows] == [True, False, True]
    assert rows[2]["total"] > 0
    assert r.output.splitlines()[-1] == "1 of 3 queries failed; see the error column"


def test_cli_missing_file_is_one_error_line(index_dir: Path, tmp_path: Path) -> None:
    r = run(index_dir, "batch", str(tmp_path / "nope.txt"))
    assert r.exit_code == 1
    assert r.output.startswith(f"Error: {tmp_path / 'nope.txt'}: no such file")
    assert "Traceback" not in r.output
