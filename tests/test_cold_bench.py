"""benchmarks/cold_search.py's parts: the query maker (distinct, seeded, from the corpus's own
text) and the measured runs (cablesearch and, where installed, Tantivy answer the same
questions). Times are recorded, never asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import cold_queries  # noqa: E402
import cold_report  # noqa: E402
import cold_runners  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MAKE_CORPUS.exists():
        pytest.skip("../shared/bench/make_corpus.py is absent (it is there in CI)")
    out = tmp_path_factory.mktemp("cold") / "corpus"
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), str(out), "--count", "300", "--format", "telegram"],
        check=True,
        capture_output=True,
    )
    return out


def words_of(path: Path) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", path.read_text(encoding="utf-8"))}


def test_queries_are_distinct_seeded_and_mixed(corpus: Path) -> None:
    files = cold_queries.corpus_files(corpus)
    queries = cold_queries.QueryMaker(files, seed=5).make(100)
    assert len(queries) == 100
    assert len({(q.query, q.tag) for q in queries}) == 100
    kinds = [q.kind for q in queries]
    assert kinds.count("misspelt") == 5
    assert kinds.count("tagged") == round(95 * cold_queries.TAGGED_SHARE)
    assert {"word", "and", "phrase"} <= set(kinds)
    again = cold_queries.QueryMaker(files, seed=5).make(100)
    assert again == queries
    other = cold_queries.QueryMaker(files, seed=6).make(100)
    assert other != queries


def test_queries_come_from_their_cable(corpus: Path) -> None:
    files = cold_queries.corpus_files(corpus)
    vocabulary = set().union(*(words_of(f) for f in files))
    for q in cold_queries.QueryMaker(files, seed=9).make(80):
        source = Path(q.source)
        text = source.read_text(encoding="utf-8")
        words = re.findall(r"[a-z]+", q.query.replace(" AND ", " ").lower())
        if q.kind == "misspelt":
            assert words[0] not in vocabulary, q
            continue
        assert set(words) <= words_of(source), q
        if q.kind == "and":
            assert " AND " in q.query
        if q.query.startswith('"'):
            assert re.search(r"\b" + r"\W+".join(words) + r"\b", text, re.I), q
        if q.tag:
            assert re.search(rf"^TAGS:.*\b{q.tag}\b", text, re.M), q


def test_queries_round_trip_through_a_file(corpus: Path, tmp_path: Path) -> None:
    queries = cold_queries.make_queries(corpus, 20, seed=1)
    cold_queries.save(queries, tmp_path / "q.jsonl")
    assert cold_queries.load(tmp_path / "q.jsonl") == queries


@pytest.mark.slow
def test_runs_answer_the_same_questions(corpus: Path, tmp_path: Path) -> None:
    queries = cold_queries.make_queries(corpus, 30, seed=3)
    built = cold_runners.index_cablesearch(corpus, tmp_path / "cs")
    assert built["cables"] == 300
    cs = cold_runners.search_cablesearch(tmp_path / "cs", queries, warm=True)
    assert [r["kind"] for r in cs["cold"]] == [q.kind for q in queries]
    assert len(cs["warm"]) == len(queries)
    found = [r["total"] > 0 for r, q in zip(cs["cold"], queries, strict=True) if q.kind != "misspelt"]
    # every query's words are in its cable; a word inside a URL is not a word of its own here
    assert sum(found) >= 0.9 * len(found)
    assert all(r["total"] == 0 for r, q in zip(cs["cold"], queries, strict=True) if q.kind == "misspelt")
    assert cs["rss_mb"] > 0

    pytest.importorskip("tantivy")
    tv_built = cold_runners.index_tantivy(corpus, tmp_path / "tv")
    assert tv_built["cables"] == 300
    tv = cold_runners.search_tantivy(tmp_path / "tv", queries, warm=False)
    same = sum(
        a["total"] == b["total"]
        for a, b, q in zip(cs["cold"], tv["cold"], queries, strict=True)
        if q.kind != "misspelt"
    )
    # the tokenizers differ at the edges (URLs, dotted names): most totals, not all, agree
    assert same >= 0.8 * sum(q.kind != "misspelt" for q in queries)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert cold_report.percentile(values, 50) == 50.0
    assert cold_report.percentile(values, 95) == 95.0
    assert cold_report.percentile(values, 100) == 100.0
    assert cold_report.percentile([7.0], 95) == 7.0


def test_baseline_must_be_a_cablesearch_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cold_search

    with pytest.raises(SystemExit):
        cold_search.parse_args(["--baseline", str(tmp_path), "--work", str(tmp_path)])
    assert "no benchmarks/cold_runners.py there" in capsys.readouterr().err
    args = cold_search.parse_args(["--baseline", str(ROOT), "--rounds", "2", "--work", str(tmp_path)])
    assert args.baseline == ROOT and args.rounds == 2


def test_before_after_report_compares_kinds_and_answers(capsys: pytest.CaptureFixture[str]) -> None:
    before = {"cold": [{"kind": "word", "ms": 20.0, "total": 3}, {"kind": "phrase", "ms": 40.0, "total": 1}]}
    after = {"cold": [{"kind": "word", "ms": 10.0, "total": 3}, {"kind": "phrase", "ms": 40.0, "total": 2}]}
    cold_report.print_before_after(before, after, 1)
    out = capsys.readouterr().out
    assert re.search(r"word\s+p50\s+20\.0 ->\s+10\.0 ms \(0\.50x\)", out)
    assert "same totals and suggestions on 1 of 2 queries" in out
