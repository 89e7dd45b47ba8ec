"""The search, show, similar and stats commands through click's CliRunner, over an index of
tests/data built with the real pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("cli") / "index"
    ix = CableIndex.open(path)
    with ix.writer(timeout=10) as w:
        for c in parse.iter_cables([data_dir / "html"]):
            w.put(c)
        w.put(
            Cable(
                reference_id="10XSS1",
                subject="SCRIPT TEST",
                body="An <script>alert(1)</script> embassy note & more.",
                origin="Embassy Nowhere",
                classification="UNCLASSIFIED",
                tags=["ZZZZ"],
            )
        )
    return path


def run(index_dir: Path, *args: str, color: bool = False):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--config", "/dev/null", "--index", str(index_dir), *args], color=color)


def test_search_json_shape(index_dir: Path) -> None:
    r = run(index_dir, "search", "embassy", "--json", "--limit", "3")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data) >= {"query", "total", "page", "hits", "facets", "suggestion"}
    assert data["query"] == "embassy" and data["page"] == 1 and len(data["hits"]) == 3
    assert data["total"] > 3
    assert set(data["facets"]) >= {"tag", "origin", "classification", "year"}
    assert all(isinstance(v, str) and isinstance(n, int) for v, n in data["facets"]["origin"])
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


def test_search_readable_list(index_dir: Path) -> None:
    r = run(index_dir, "search", "human", "rights", "--limit", "2")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("") and ' cables match "human rights" (page 1 of ' in lines[0]
    assert "  1. " in r.output and "  2. " in r.output and "  3. " not in r.output
    assert "<mark>" not in r.output and "\x1b[" not in r.output  # plain when not a TTY
    assert "\ntag: " in r.output and "\norigin: " in r.output and "\nyear: " in r.output


def test_search_marks_are_styled_on_a_terminal(index_dir: Path) -> None:
    r = run(index_dir, "search", "embassy", "--limit", "1", color=True)
    assert r.exit_code == 0
    assert "\x1b[33m\x1b[1m" in r.output and "<mark>" not in r.output


def test_search_escapes_cable_text_in_json(index_dir: Path) -> None:
    r = run(index_dir, "search", "id:10XSS1", "--json")
    hit = json.loads(r.output)["hits"][0]
    assert "<script>" not in hit["snippet"] and "&lt;script&gt;" in hit["snippet"]


def test_search_filters_sort_and_paging(index_dir: Path) -> None:
    r = run(
        index_dir,
        "search",
        "--tag",
        "PREL",
        "--from",
        "2008",
        "--to",
        "2009-06",
        "--sort",
        "created",
        "--limit",
        "2",
        "--page",
        "2",
        "--json",
    )
    data = json.loads(r.output)
    assert r.exit_code == 0 and data["page"] == 2 and len(data["hits"]) == 2
    dates = [h["created"] for h in data["hits"]]
    assert dates == sorted(dates) and all("2008" <= d[:7] <= "2009-06" for d in dates)
    assert all("PREL" in h["tags"] for h in data["hits"])


def test_search_suggestion(index_dir: Path) -> None:
    r = run(index_dir, "search", "embasy")
    assert r.exit_code == 0
    assert '0 cables match "embasy"' in r.output
    assert re.search(r"Did you mean: embassy \(\d+ cables?\)", r.output), r.output


def test_search_page_past_the_last_is_one_error_line(index_dir: Path) -> None:
    r = run(index_dir, "search", "tag:ZZZZ", "--page", "999")
    assert r.exit_code == 1
    assert r.output == "Error: there is no page 999: 1 cable matches, on 1 page of 10; the last page is 1\n"


def test_search_unknown_tag_names_the_nearest(index_dir: Path) -> None:
    r = run(index_dir, "search", "embassy", "--tag", "zzzzz")
    assert r.exit_code == 1
    assert r.output == "Error: no cable has the tag 'zzzzz'; did you mean ZZZZ (1 cable)?\n"
    assert run(index_dir, "search", "--tag", "zzzz").exit_code == 0  # case-insensitive
    r = run(index_dir, "search", "qqqqqqqqq", "--page", "2")
    assert (
        r.exit_code == 1
        and r.output == "Error: there is no page 2: no cable matches, so page 1 is the only page\n"
    )


def test_search_of_stop_words_only_says_so(index_dir: Path) -> None:
    r = run(index_dir, "search", "the")
    assert r.exit_code == 0
    assert '0 cables match "the"' in r.output
    assert "Note: the query 'the' has only words too common to be indexed" in r.output


def test_search_explain(index_dir: Path) -> None:
    r = run(index_dir, "search", "oil", "--tag", "PREL", "--explain")
    assert r.exit_code == 0
    assert r.output.startswith(
        "query=Or([Term('subject', 'oil', boost=2.0), Term('body', 'oil')]) tags=['PREL'] sort=relevance"
    )


@pytest.mark.parametrize(
    "args, message, code",
    [
        (
            ["search", '"human rights'],
            (
                "Error: unbalanced double quote in '\"human rights'; close the "
                'phrase ("human rights") or remove the quote'
            ),
            1,
        ),
        (
            ["search", "oil AND (gas"],
            ("Error: unbalanced '(' at position 9 in 'oil AND (gas': add the missing ')' or quote the text"),
            1,
        ),
        (["search", "author:smith"], "Error: unknown field 'author' in 'author:smith'; fields are: ", 1),
        (
            ["search", "created:[2008 to 2009-13]"],
            (
                "Error: in 'created:[2008 to 2009-13]': the date "
                "'2009-13' is not a valid date (month must be in "
                "1..12); write YYYY, YYYY-MM or YYYY-MM-DD"
            ),
            1,
        ),
        (
            ["search", "oil", "--from", "last week"],
            ("Error: --from 'last week' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2009-06-26)"),
            1,
        ),
        (
            ["search", "oil", "--sort", "newest"],
            ("Error: unknown sort 'newest'; use one of: relevance, created, -created, released, -released"),
            1,
        ),
        (
            ["search", "oil", "--limit", "1000"],
            ("Error: limit must be a whole number from 1 to 100, not 1000"),
            1,
        ),
        (["search", "oil", "--page", "0"], "Error: page must be a whole number from 1 up, not 0", 1),
        (
            ["search", "oil", "--limit", "ten"],
            ("Error: Invalid value for '--limit': 'ten' is not a valid integer."),
            2,
        ),
        (
            ["search", "NOT OR embassy"],
            ("Error: cannot understand the query 'NOT OR embassy' (list index out of range)"),
            1,
        ),
        (
            ["show", "99NOWHERE1"],
            (
                "Error: no cable '99NOWHERE1' in the index; search for it with: "
                "cablesearch search 'id:99NOWHERE1*'"
            ),
            1,
        ),
        (["similar", "99NOWHERE1"], "Error: no cable '99NOWHERE1' in the index", 1),
        (
            ["similar", "04MADRID4063", "--limit", "0"],
            ("Error: limit must be a whole number from 1 to 100"),
            1,
        ),
    ],
)
def test_bad_input_is_one_error_line(index_dir: Path, args: list[str], message: str, code: int) -> None:
    r = run(index_dir, *args)
    assert r.exit_code == code
    err_lines = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(err_lines) == 1 and err_lines[0].startswith(message)
    assert "Traceback" not in r.output


def test_missing_index_is_an_error(tmp_path: Path) -> None:
    r = run(tmp_path / "nothing-here", "search", "oil")
    assert r.exit_code == 1
    assert r.output.startswith("Error: no index at ")
    assert not (tmp_path / "nothing-here").exists()


def test_show(index_dir: Path, data_dir: Path) -> None:
    r = run(index_dir, "show", "04MADRID4063")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Reference ID:   04MADRID4063\nCreated:        2004-10-19 15:03")
    assert "Origin:         Embassy Madrid" in r.output
    assert "DEPUTY FOREIGN MINISTER REGRETS UNHELPFUL MOD" in r.output
    r = run(index_dir, "show", "04madrid4063", "--json")
    data = json.loads(r.output)
    expected = next(parse.iter_cables([data_dir / "html" / "04MADRID4063.html"])).to_json()
    assert data == expected


def test_similar(index_dir: Path) -> None:
    r = run(index_dir, "similar", "04MADRID4063", "--limit", "3")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("3 cables like 04MADRID4063")
    r = run(index_dir, "similar", "04MADRID4063", "--limit", "3", "--json")
    hits = json.loads(r.output)
    assert len(hits) == 3 and "04MADRID4063" not in {h["reference_id"] for h in hits}


def test_stats(index_dir: Path) -> None:
    r = run(index_dir, "stats")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("cables          42\ncreated         1966-12-28T18:06 … ")
    assert "last update     20" in r.output and " MB, " in r.output
    data = json.loads(run(index_dir, "stats", "--json").output)
    assert data["cables"] == 42 and data["index_bytes"] > 0
    assert data["created_first"] == "1966-12-28T18:06"


def test_commands_have_help_with_an_example() -> None:
    for name in ("search", "show", "similar", "stats"):
        r = CliRunner().invoke(main, [name, "--help"])
        assert r.exit_code == 0 and "Example:" in r.output
