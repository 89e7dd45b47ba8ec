"""Citation-graph query speed: thread:/citedby:/cites: against word queries, same index, same run.

Builds (or reuses) the index of a make_corpus.py corpus (its REF lines cite earlier cables of
the same post, so it has a citation graph) with ``search_bench.build_index``, then runs, for
several rounds, searches asking what a results page shows (exact total, every facet, 10
highlighted hits): word queries, and graph queries on cables picked from the graph (the most
cited ones, and a spread of ordinary ones), alone and combined with a word or a filter.
Prints the median and p95 per class, the one-off cost of building the graph for a new
snapshot, and the thread sizes.

    python benchmarks/graph_bench.py                  # 20,000 cables under /tmp
    python benchmarks/graph_bench.py --count 251287   # the whole release's size
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_bench import build_index  # noqa: E402

from cablesearch.config import Config  # noqa: E402
from cablesearch.engine.graph import CitationGraph, graph_of  # noqa: E402
from cablesearch.index.store import CableIndex  # noqa: E402
from cablesearch.results import SearchRequest  # noqa: E402
from cablesearch.search.service import SearchService  # noqa: E402

WORDS = ["embassy", "nuclear", "corruption", "government", '"human rights"', "oil AND gas", "embass*"]


def pick_ids(svc: SearchService, count: int, seed: int) -> tuple[list[str], list[str]]:
    """(the most cited cables in the index, ordinary cables that cite something)."""
    with svc.snapshot() as snap:
        g = graph_of(snap)
        cited = [(int(g.in_ptr[d + 1] - g.in_ptr[d]), d) for d in range(g.n) if snap.arrays.live[d]]
        cited.sort(reverse=True)
        top = [d for _, d in cited[:count]]
        citing = [d for d in range(g.n) if g.out_ptr[d + 1] > g.out_ptr[d] and snap.arrays.live[d]]
        some = random.Random(seed).sample(citing, min(count, len(citing)))
        name = lambda d: str(snap.stored(d)["reference_id"])  # noqa: E731
        return [name(d) for d in top], [name(d) for d in some]


def queries(top: list[str], some: list[str]) -> list[tuple[str, SearchRequest]]:
    out = [("word", SearchRequest(query=w)) for w in WORDS]
    for rid in top + some:
        out.append(("thread:", SearchRequest(query=f"thread:{rid}")))
        out.append(("thread:~2", SearchRequest(query=f"thread:{rid}~2")))
        out.append(("citedby:", SearchRequest(query=f"citedby:{rid}")))
        out.append(("cites:", SearchRequest(query=f"cites:{rid}")))
        out.append(("thread: + word/filter", SearchRequest(query=f"thread:{rid} government")))
        out.append(("thread: + word/filter", SearchRequest(query=f"thread:{rid}", tags=("PREL",))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cablesearch-graphbench"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ids", type=int, default=10, help="cables of each kind (most cited, ordinary)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    index_dir = build_index(args.count, args.workdir)
    svc = SearchService(CableIndex.open(index_dir, create=False), Config(index_dir=index_dir))
    svc.warm()
    with svc.snapshot() as snap:
        t0 = time.perf_counter()
        g = CitationGraph.build(snap)
        build_ms = (time.perf_counter() - t0) * 1000
    print(
        f"{g.n:,} documents, {len(g.missing):,} cited IDs missing from the index, {g.edges:,} citations; "
        f"graph built in {build_ms:.0f} ms (once per snapshot)"
    )
    top, some = pick_ids(svc, args.ids, args.seed)
    sizes = [svc.search(SearchRequest(query=f"thread:{rid}")).total for rid in top + some]
    print(f"thread sizes (cables in the index): median {statistics.median(sizes):,.0f}, max {max(sizes):,}")
    work = queries(top, some)
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for cls, req in work:
            t = time.perf_counter()
            svc.search(req)
            times.setdefault(cls, []).append((time.perf_counter() - t) * 1000)
    print(f"{'class':<24}{'searches':>9}{'median ms':>11}{'p95 ms':>9}")
    for cls, ts in times.items():
        ts.sort()
        p95 = ts[min(len(ts) - 1, int(len(ts) * 0.95))]
        print(f"{cls:<24}{len(ts):>9}{statistics.median(ts):>11.2f}{p95:>9.2f}")
    svc.close()


if __name__ == "__main__":
    main()
