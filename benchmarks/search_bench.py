"""Search speed: SearchService vs straightforward Whoosh, on the same index, in the same run.

Builds (or reuses) an index of a make_corpus.py corpus with the real pipeline
(``Syncer.sync_paths``, as ``cablesearch index`` runs it), then runs a fixed set of realistic queries (single
terms, phrases, boolean, filtered, broad terms matching about half the corpus, wildcards,
date ranges, browsing) several times. Each search asks for what a results page shows: the
exact total, all four facets (tag, origin, classification, year) over all matches, and 10
highlighted hits. Prints the median and p95 per query class and overall, and the speed-up over
the straightforward Whoosh way (``searcher.search(q, limit=10, groupedby=four facets)`` plus
Whoosh's default highlighter on the shown hits), measured on the same index.

    python benchmarks/search_bench.py                      # 20,000 cables under /tmp
    python benchmarks/search_bench.py --count 251287       # the full default corpus
    python benchmarks/search_bench.py --rounds 5 --baseline-rounds 1

First-round (cold-cache) figures are printed separately: the service caches posting arrays
per term, as an engine keeps hot posting lists in memory; results themselves are not cached.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cablesearch.config import Config  # noqa: E402
from cablesearch.index.store import CableIndex  # noqa: E402
from cablesearch.index.sync import Syncer  # noqa: E402
from cablesearch.results import SearchRequest  # noqa: E402
from cablesearch.search.service import SearchService  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"

# (class, query, filters)
QUERIES: list[tuple[str, str, dict]] = [
    ("term", "embassy", {}),
    ("term", "nuclear", {}),
    ("term", "corruption", {}),
    ("term", "ambassador", {}),
    ("term", "pipeline", {}),
    ("term", "taliban", {}),
    ("term", "elections", {}),
    ("term", "refugees", {}),
    ("broad", "government", {}),
    ("broad", "president", {}),
    ("broad", "minister", {}),
    ("broad", "said", {}),
    ("broad", "government OR minister", {}),
    ("phrase", '"human rights"', {}),
    ("phrase", '"prime minister"', {}),
    ("phrase", '"foreign minister"', {}),
    ("phrase", '"security council"', {}),
    ("phrase", '"nuclear program"~3', {}),
    ("boolean", "oil AND gas", {}),
    ("boolean", "iran AND nuclear AND sanctions", {}),
    ("boolean", "election NOT president", {}),
    ("boolean", "(china OR russia) AND trade", {}),
    ("boolean", "terrorism -afghanistan", {}),
    ("boolean", "embassy AND (visa OR consular)", {}),
    ("filtered", "oil", {"tags": ("EPET",)}),
    ("filtered", "government", {"classifications": ("SECRET",)}),
    ("filtered", "minister", {"date_from": "2008", "date_to": "2009-06"}),
    ("filtered", "president", {"tags": ("PREL", "PGOV")}),
    ("filtered", "election", {"years": (2009,)}),
    ("wildcard", "embass*", {}),
    ("wildcard", "terror*", {}),
    ("fields", "tag:PTER", {}),
    ("fields", "created:[2008 to 2009-06] AND nuclear", {}),
    ("fields", "subject:iran", {}),
    ("browse", "", {"tags": ("PREL",)}),
    ("browse", "", {"classifications": ("CONFIDENTIAL",), "date_from": "2009"}),
]


def build_index(count: int, workdir: Path) -> Path:
    """The index of a ``count``-cable corpus under ``workdir`` (built once, then reused)."""
    corpus = workdir / f"corpus-{count}"
    index_dir = workdir / f"index-{count}"
    csv = corpus / "cables.csv"
    if not csv.exists():
        print(f"making a {count:,}-cable corpus in {corpus} ...", flush=True)
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), str(corpus), "--count", str(count), "--format", "csv"],
            check=True,
        )
    done = index_dir / ".complete"
    if not done.exists():
        # the real pipeline, as `cablesearch index` runs it (worker processes, a commit every
        # 10,000 cables): the segments searched are the ones users get
        print(f"indexing into {index_dir} (Syncer.sync_paths, procs=2) ...", flush=True)
        t0 = time.perf_counter()
        shutil.rmtree(index_dir, ignore_errors=True)
        report = Syncer(CableIndex.open(index_dir), Config(index_dir=index_dir, procs=2)).sync_paths([csv])
        n = report.added + report.updated
        dt = time.perf_counter() - t0
        print(f"  {n:,} cables in {dt:.1f} s ({n / dt:,.0f} cables/s)", flush=True)
        done.write_text(str(n))
    return index_dir


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def request_for(query: str, filters: dict) -> SearchRequest:
    return SearchRequest(query=query, page_size=10, **filters)


def run_service(
    service: SearchService, rounds: int
) -> tuple[dict[str, list[float]], list[float], dict[str, int]]:
    """Times per query (ms) for rounds 2.. and the first (cold) round separately."""
    times: dict[str, list[float]] = {q: [] for _, q, _ in QUERIES}
    cold: list[float] = []
    totals: dict[str, int] = {}
    for r in range(rounds):
        for _cls, q, f in QUERIES:
            key = q + repr(f)
            t0 = time.perf_counter()
            result = service.search(request_for(q, f))
            ms = (time.perf_counter() - t0) * 1000
            assert len(result.hits) == min(10, result.total)
            totals[key] = result.total
            if r == 0:
                cold.append(ms)
            else:
                times.setdefault(key, []).append(ms)
    return {k: v for k, v in times.items() if v}, cold, totals


def run_baseline(index: CableIndex, rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """The straightforward Whoosh way: groupedby four facets, default highlighter."""
    from whoosh import highlight, sorting
    from whoosh import query as wq

    from cablesearch.engine.schema import unpack_cable
    from cablesearch.search import query as qmod

    times: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    ix = index.whoosh_index if hasattr(index, "whoosh_index") else index
    with ix.searcher() as s:
        facets = {
            "tag": sorting.FieldFacet("tags", allow_overlap=True),
            "origin": sorting.FieldFacet("origin"),
            "classification": sorting.FieldFacet("classification"),
            "year": sorting.FieldFacet("year") if "year" in s.schema else sorting.FieldFacet("created"),
        }
        for _ in range(rounds):
            for _cls, qtext, f in QUERIES:
                key = qtext + repr(f)
                t0 = time.perf_counter()
                q = qmod.parse_query(qtext, s.schema) or wq.Every()
                parts = [q]
                if f.get("tags"):
                    parts.append(wq.Or([wq.Term("tags", t) for t in f["tags"]]))
                if f.get("classifications"):
                    parts.append(wq.Or([wq.Term("classification", c) for c in f["classifications"]]))
                if f.get("years"):
                    parts.append(wq.Or([wq.Term("year", y) for y in f["years"]]))
                if f.get("date_from") or f.get("date_to"):
                    lo = qmod.parse_date(f["date_from"]) if f.get("date_from") else None
                    hi = qmod.parse_date(f["date_to"], end=True) if f.get("date_to") else None
                    parts.append(wq.DateRange("created", lo, hi))
                full = wq.And(parts) if len(parts) > 1 else q
                res = s.search(full, limit=10, groupedby=facets)
                counts = {
                    name: sorted(((k, len(v)) for k, v in res.groups(name).items()), key=lambda kv: -kv[1])[
                        :20
                    ]
                    for name in facets
                }
                res.fragmenter = highlight.ContextFragmenter()
                res.formatter = highlight.HtmlFormatter(tagname="mark")
                # with groupedby, Whoosh 2.7.5 keeps every match in top_n: highlight the first 10
                for hit in res[:10]:
                    body = unpack_cable(hit["record"]).body
                    hit.highlights("body", text=body)
                _ = len(res), counts
                ms = (time.perf_counter() - t0) * 1000
                totals[key] = len(res)
                times.setdefault(key, []).append(ms)
    return times, totals


def summarize(label: str, times: dict[str, list[float]]) -> tuple[float, float]:
    per_class: dict[str, list[float]] = {}
    all_ms: list[float] = []
    for cls, q, f in QUERIES:
        ms = times.get(q + repr(f), [])
        per_class.setdefault(cls, []).extend(ms)
        all_ms.extend(ms)
    med, p95 = statistics.median(all_ms), percentile(all_ms, 95)
    print(
        f"\n{label}: {len(all_ms)} searches, median {med:.1f} ms, p95 {p95:.1f} ms, max {max(all_ms):.1f} ms"
    )
    for cls, ms in per_class.items():
        print(
            f"  {cls:<9} median {statistics.median(ms):7.1f} ms   p95 "
            f"{percentile(ms, 95):7.1f} ms   ({len(ms)} searches)"
        )
    return med, p95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20000, help="cables in the corpus")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cablesearch-search-bench"))
    ap.add_argument("--index", type=Path, default=None, help="use this index instead")
    ap.add_argument("--rounds", type=int, default=6, help="service rounds (first = cold)")
    ap.add_argument(
        "--baseline-rounds", type=int, default=1, help="rounds of the straightforward Whoosh way (0: skip)"
    )
    ap.add_argument("--verbose", action="store_true", help="per-query medians")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    index_dir = args.index or build_index(args.count, args.workdir)
    index = CableIndex.open(index_dir, create=False)
    print(
        f"index {index_dir}: {index.doc_count():,} cables; {len(QUERIES)} queries, "
        f"{args.rounds} rounds (round 1 reported separately as cold)"
    )

    service = SearchService(index, Config(query_time_limit=30.0))
    t0 = time.perf_counter()
    service.stats()
    print(
        f"opening the searcher and building the per-searcher arrays: "
        f"{(time.perf_counter() - t0) * 1000:.0f} ms"
    )
    times, cold, totals = run_service(service, args.rounds)
    print(
        f"\ncold first round: median {statistics.median(cold):.1f} ms, p95 "
        f"{percentile(cold, 95):.1f} ms, max {max(cold):.1f} ms"
    )
    med, p95 = summarize("SearchService (warm rounds)", times)
    if args.verbose:
        for cls, q, f in QUERIES:
            key = q + repr(f)
            print(
                f"    {cls:<9} {statistics.median(times[key]):7.1f} ms  "
                f"{totals[key]:>7,} hits  {q or '<browse>'} {f or ''}"
            )
    service.close()

    if args.baseline_rounds:
        btimes, btotals = run_baseline(index, args.baseline_rounds)
        bmed, bp95 = summarize("Straightforward Whoosh (groupedby + default highlighter)", btimes)
        mismatched = [k for k in totals if btotals.get(k) != totals[k]]
        print(
            f"\nspeed-up: median {bmed / med:.0f}x, p95 {bp95 / p95:.0f}x "
            f"(totals agree on {len(totals) - len(mismatched)}/{len(totals)} queries)"
        )
        for k in mismatched:
            print(f"  total differs: {k}: service {totals[k]}, whoosh {btotals.get(k)}")
    print(
        f"\ntarget (set for 20,000 cables; this index: {index.doc_count():,}): median <= 20 ms, "
        f"p95 <= 60 ms -> {'met' if med <= 20 and p95 <= 60 else 'NOT met'} "
        f"(median {med:.1f}, p95 {p95:.1f})"
    )


if __name__ == "__main__":
    main()
