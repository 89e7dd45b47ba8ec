"""Export of every match: the library generator (iter_lines / write_export), the service's
iter_matches, and `cablesearch search --export` through CliRunner, over a real index."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.config import Config
from cablesearch.errors import QuerySyntaxError
from cablesearch.index.store import CableIndex
from cablesearch.investigate.export import (
    DEFAULT_FIELDS,
    FIELDS,
    ExportError,
    iter_lines,
    parse_fields,
    write_export,
)
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

EXTRA = 250  # more matches than a page may hold (max_page_size is 100)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("export") / "index"
    ix = CableIndex.open(path)
    with ix.writer(timeout=10) as w:
        for c in parse.iter_cables([data_dir / "html"]):
            w.put(c)
        for i in range(EXTRA):
            w.put(
                Cable(
                    reference_id=f"09BULK{i}",
                    subject=f"ZQXBULK NOTE {i}, WITH A COMMA",
                    body=f'Routine "zqxbulk" report number {i}.\nSecond line.',
                    origin="Embassy Nowhere",
                    classification="UNCLASSIFIED",
                    tags=["PREL", "ZZ"],
                )
            )
    return path


@pytest.fixture()
def service(index_dir: Path):  # type: ignore[no-untyped-def]
    with SearchService(CableIndex.open(index_dir, create=False), Config()) as s:
        yield s


def run(index_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--config", "/dev/null", "--index", str(index_dir), *args])


def test_iter_matches_returns_every_match_in_sort_order(service: SearchService) -> None:
    total = service.search(SearchRequest(query="zqxbulk")).total
    assert total == EXTRA
    matches = list(service.iter_matches(SearchRequest(query="zqxbulk", sort="-created", page=3)))
    assert len(matches) == total == len({c.reference_id for c, _ in matches})
    # the same order as paging through the search
    paged = []
    for page in range(1, 4):
        paged += service.search(
            SearchRequest(query="zqxbulk", sort="-created", page=page, page_size=100)
        ).hits
    assert [c.reference_id for c, _ in matches] == [h.reference_id for h in paged]
    by_score = [s for _, s in service.iter_matches(SearchRequest(query="embassy"))]
    assert by_score == sorted(by_score, reverse=True) and by_score[0] > 0


def test_iter_matches_raises_before_the_first_match(service: SearchService) -> None:
    with pytest.raises(QuerySyntaxError):
        next(service.iter_matches(SearchRequest(query="NOT OR embassy")))


def test_csv_export_has_all_matches_and_round_trips(service: SearchService) -> None:
    fields = ("reference_id", "subject", "body", "tags", "score")
    text = "".join(iter_lines(service, SearchRequest(query="zqxbulk"), "csv", fields))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == EXTRA
    assert tuple(rows[0]) == fields
    one = next(r for r in rows if r["reference_id"] == "09BULK7")
    assert one["subject"] == "ZQXBULK NOTE 7, WITH A COMMA"
    assert one["body"] == 'Routine "zqxbulk" report number 7.\nSecond line.'
    assert one["tags"] == "PREL; ZZ" and float(one["score"]) > 0


def test_jsonl_export_matches_the_cable_json(service: SearchService, data_dir: Path) -> None:
    lines = list(iter_lines(service, SearchRequest(query="id:04MADRID4063"), "jsonl", FIELDS[:-1]))
    assert len(lines) == 1 and lines[0].endswith("\n")
    expected = next(parse.iter_cables([data_dir / "html" / "04MADRID4063.html"])).to_json()
    assert json.loads(lines[0]) == expected


def test_no_matches_csv_is_just_the_header(service: SearchService) -> None:
    lines = list(iter_lines(service, SearchRequest(query="zzzqqqxxx"), "csv"))
    assert lines == [",".join(DEFAULT_FIELDS) + "\n"]
    assert list(iter_lines(service, SearchRequest(query="zzzqqqxxx"), "jsonl")) == []


def test_bad_query_raises_before_any_line(service: SearchService) -> None:
    lines = iter_lines(service, SearchRequest(query="NOT OR embassy"), "csv")
    with pytest.raises(QuerySyntaxError):
        next(lines)


def test_parse_fields() -> None:
    assert parse_fields(None) == DEFAULT_FIELDS
    assert parse_fields("") == DEFAULT_FIELDS
    assert parse_fields(" Subject, reference_id,subject ") == ("subject", "reference_id")
    with pytest.raises(ExportError) as err:
        parse_fields("subject,bogus")
    assert str(err.value).startswith("unknown export field 'bogus'; known fields: reference_id,created,")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(FIELDS), min_size=1, unique=True))
def test_any_field_selection_keeps_its_order(fields: list[str]) -> None:
    assert parse_fields(",".join(fields)) == tuple(fields)


def test_write_export_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def failing():  # type: ignore[no-untyped-def]
        yield "a\n"
        raise QuerySyntaxError("boom")

    with pytest.raises(QuerySyntaxError):
        write_export(failing(), target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert write_export(["x\n", "y\n"], target) == 2 and target.read_text() == "x\ny\n"
    with pytest.raises(ExportError, match="does not exist"):
        write_export(["x\n"], tmp_path / "nope" / "out.csv")
    with pytest.raises(ExportError, match="is a folder"):
        write_export(["x\n"], tmp_path)


def test_cli_export_to_stdout(index_dir: Path) -> None:
    r = run(
        index_dir, "search", "zqxbulk", "--export", "csv", "--fields", "reference_id,created", "--limit", "5"
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0] == ["reference_id", "created"] and len(rows) == EXTRA + 1  # --limit does not cut
    r = run(index_dir, "search", "--tag", "ZZ", "--export", "jsonl")
    assert r.exit_code == 0, r.output
    objs = [json.loads(x) for x in r.output.splitlines()]
    assert len(objs) == EXTRA and set(objs[0]) == set(DEFAULT_FIELDS)


def test_cli_export_to_a_file(index_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bulk.jsonl"
    r = run(index_dir, "search", "zqxbulk", "--export", "jsonl", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert f"{EXTRA} cables written to {out}" in r.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == EXTRA


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--export", "csv", "--fields", "reference_id,nope"],
            "Error: unknown export field 'nope'; known fields: ",
        ),
        (["--export", "xml"], "Error: Invalid value for '--export'"),
        (["--fields", "subject"], "Error: --fields and --output go with --export csv|jsonl"),
    ],
)
def test_cli_export_bad_options_are_one_line(index_dir: Path, args: list[str], message: str) -> None:
    r = run(index_dir, "search", "zqxbulk", *args)
    assert r.exit_code != 0
    errors = [x for x in r.output.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(message), r.output
    assert "Traceback" not in r.output


def test_cli_failed_export_leaves_no_file(index_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad.csv"
    r = run(index_dir, "search", "NOT OR embassy", "--export", "csv", "-o", str(out))
    assert r.exit_code == 1 and r.output.startswith("Error: cannot understand the query")
    assert list(tmp_path.iterdir()) == []
