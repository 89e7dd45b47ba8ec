"""The measured runs of benchmarks/cold_search.py, each meant to run in a FRESH child process
(so that nothing is cached between runs except the operating system's page cache):

    cold_runners.py index-cablesearch CORPUS INDEX OUT.json
    cold_runners.py index-tantivy     CORPUS INDEX OUT.json
    cold_runners.py search-cablesearch INDEX QUERIES.jsonl OUT.json [--warm]
    cold_runners.py search-tantivy     INDEX QUERIES.jsonl OUT.json [--warm]

Each writes a JSON object to OUT.json: seconds and peak RSS for indexing; for searching, one
record per query ({kind, ms, total}) in the order asked, the same for the warm pass (the same
queries asked again) when --warm is given, and the process's RSS after the queries.

Both indexes are built from the same files through the same parser (``cablesearch.parse``),
with two parsing processes, so the indexing ratio compares the engines, not the parsers.
Tantivy's fields: subject and body (stemmed English, positions, stored), tags, origin and
classification (raw strings, fast, stored), year (fast) and created (date, fast, stored).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cold_queries import ColdQuery, load

FACET_LIMIT = 20


def _kib_to_mb(kib: int) -> float:
    return kib / 1024


def peak_rss_mb() -> dict[str, float]:
    """Peak RSS of this process and of its largest finished child (Linux: ru_maxrss in KiB)."""
    return {
        "self": _kib_to_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "largest_child": _kib_to_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
    }


def rss_mb(pid: int | str = "self", part: str = "VmRSS") -> float:
    """Current RSS of a process, from /proc; ``part="RssFile"``: of which pages of mapped files
    (the index's side files: page cache the kernel can drop, not the process's own memory),
    ``"RssAnon"``: its own memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{part}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- indexing ---------------------------------------------------------------------------------


def index_cablesearch(corpus: Path, index_dir: Path) -> dict[str, Any]:
    """Bulk indexing as `cablesearch index` does it: Syncer.sync_paths, two processes."""
    from cablesearch.config import Config
    from cablesearch.index.store import CableIndex
    from cablesearch.index.sync import Syncer

    t0 = time.perf_counter()
    report = Syncer(CableIndex.open(index_dir), Config(index_dir=index_dir, procs=2)).sync_paths([corpus])
    seconds = time.perf_counter() - t0
    return {"engine": "cablesearch", "cables": report.added + report.updated, "seconds": seconds}


def _parse_one(path: str) -> list[dict[str, Any]]:
    from cablesearch.parse import ParseError, parse_file

    try:
        cables = parse_file(Path(path))
    except ParseError:
        return []
    return [
        {
            "reference_id": c.reference_id,
            "subject": c.subject,
            "body": c.body,
            "tags": c.tags,
            "origin": c.origin,
            "classification": c.classification,
            "created": c.created,
        }
        for c in cables
    ]


def tantivy_schema() -> Any:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("reference_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("subject", stored=True, tokenizer_name="en_stem")
    sb.add_text_field("body", stored=True, tokenizer_name="en_stem")
    for name in ("tags", "origin", "classification"):
        sb.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
    sb.add_unsigned_field("year", fast=True, indexed=True)
    sb.add_date_field("created", stored=True, fast=True, indexed=True)
    return sb.build()


def index_tantivy(corpus: Path, index_dir: Path) -> dict[str, Any]:
    """The same files parsed by the same parser (two processes), added to one Tantivy writer."""
    import tantivy

    from cablesearch.parse import iter_files

    index_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    index = tantivy.Index(tantivy_schema(), path=str(index_dir))
    writer = index.writer(heap_size=256_000_000)
    n = 0
    files = [str(p) for p in iter_files([corpus])]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for cables in pool.imap(_parse_one, files, chunksize=64):
            for c in cables:
                doc = tantivy.Document()
                doc.add_text("reference_id", c["reference_id"])
                doc.add_text("subject", c["subject"])
                doc.add_text("body", c["body"])
                for tag in c["tags"]:
                    doc.add_text("tags", tag)
                doc.add_text("origin", c["origin"])
                doc.add_text("classification", c["classification"])
                if c["created"] is not None:
                    doc.add_unsigned("year", c["created"].year)
                    doc.add_date("created", c["created"])
                writer.add_document(doc)
                n += 1
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - t0
    return {"engine": "tantivy", "cables": n, "seconds": seconds}


# -- searching --------------------------------------------------------------------------------


def search_cablesearch(index_dir: Path, queries: list[ColdQuery], warm: bool) -> dict[str, Any]:
    """Each query through SearchService: total, four facets, 10 highlighted hits, suggestion."""
    from cablesearch.config import Config
    from cablesearch.index.store import CableIndex
    from cablesearch.results import SearchRequest
    from cablesearch.search.service import SearchService

    t0 = time.perf_counter()
    service = SearchService(CableIndex.open(index_dir, create=False), Config(query_time_limit=60.0))
    service.stats()  # opens the searcher: reported as start-up, not in the first query
    startup_ms = (time.perf_counter() - t0) * 1000

    def ask(q: ColdQuery) -> dict[str, Any]:
        request = SearchRequest(query=q.query, tags=(q.tag,) if q.tag else (), page_size=10)
        t = time.perf_counter()
        result = service.search(request)
        ms = (time.perf_counter() - t) * 1000
        return {"kind": q.kind, "ms": ms, "total": result.total, "suggestion": result.suggestion}

    out: dict[str, Any] = {"engine": "cablesearch", "startup_ms": startup_ms}
    out["cold"] = [ask(q) for q in queries]
    out["rss_mb"] = rss_mb()
    if warm:
        out["warm"] = [ask(q) for q in queries]
    service.close()
    return out


def search_tantivy(index_dir: Path, queries: list[ColdQuery], warm: bool) -> dict[str, Any]:
    """Each query through Tantivy: count, tag/origin/classification/year counts over all matches
    (terms aggregations on fast fields), 10 hits with a stored-document fetch and a body snippet.
    A misspelt query is asked as typed (0 hits), then as a fuzzy query (2 edits) in its place:
    Tantivy has no "did you mean"."""
    import tantivy
    from tantivy import Occur, Query

    t0 = time.perf_counter()
    index = tantivy.Index.open(str(index_dir))
    searcher = index.searcher()
    schema = index.schema
    startup_ms = (time.perf_counter() - t0) * 1000
    aggs = {
        name: {"terms": {"field": field, "size": FACET_LIMIT}}
        for name, field in (
            ("tag", "tags"),
            ("origin", "origin"),
            ("classification", "classification"),
            ("year", "year"),
        )
    }

    def ask(q: ColdQuery) -> dict[str, Any]:
        t = time.perf_counter()
        query = index.parse_query(
            q.query, ["subject", "body"], field_boosts={"subject": 2.0}, conjunction_by_default=True
        )
        if q.tag:
            query = Query.boolean_query(
                [(Occur.Must, query), (Occur.Must, Query.term_query(schema, "tags", q.tag))]
            )
        result = searcher.search(query, limit=10, count=True)
        if q.kind == "misspelt" and not result.count:  # type: ignore[attr-defined]
            query = Query.fuzzy_term_query(
                schema, "body", q.query.lower(), distance=2, transposition_cost_one=True
            )
            result = searcher.search(query, limit=10, count=True)
        searcher.aggregate(query, aggs)
        snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
        for _score, address in result.hits:
            snippets.snippet_from_doc(searcher.doc(address)).to_html()
        ms = (time.perf_counter() - t) * 1000
        return {"kind": q.kind, "ms": ms, "total": result.count}  # type: ignore[attr-defined]

    out: dict[str, Any] = {"engine": "tantivy", "startup_ms": startup_ms}
    out["cold"] = [ask(q) for q in queries]
    out["rss_mb"] = rss_mb()
    if warm:
        out["warm"] = [ask(q) for q in queries]
    return out


def main(argv: list[str]) -> None:
    command, *args = argv
    warm = "--warm" in args
    args = [a for a in args if a != "--warm"]
    if command.startswith("index-"):
        corpus, index_dir, out_path = (Path(a) for a in args)
        build = index_cablesearch if command == "index-cablesearch" else index_tantivy
        result = build(corpus, index_dir)
        result["peak_rss_mb"] = peak_rss_mb()
    else:
        index_dir, queries_path, out_path = (Path(a) for a in args)
        ask = search_cablesearch if command == "search-cablesearch" else search_tantivy
        result = ask(index_dir, load(queries_path), warm)
        result["peak_rss_mb"] = peak_rss_mb()
    out_path.write_text(json.dumps(result, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
