"""Citation-graph query speed: thread:/citedby:/cites: against word queries, same index, same run.

Builds (or reuses) the index of a make_corpus.py corpus (its REF lines cite earlier cables of
the same post, so it has a citation graph) with ``search_bench.build_index``, then runs, for
several rounds, searches asking what a results page shows (exact total, every facet, 10
highlighted hits): word queries, and graph queries on cables picked from the graph (the most
cited ones, and a spread of ordinary ones), alone and combined with a word or a filter.
Prints the median and p95 per class, the thread sizes, and the one-off cost of the graph for
a new snapshot: built from scratch (every segment read: the first graph query of a process),
and after a small commit (only the new segment read, the rest assembled from the pieces kept
since the previous snapshot; ``--no-commit`` skips it).

    python benchmarks/graph_bench.py                  # 20,000 cables under /tmp
    python benchmarks/graph_bench.py --count 251287   # the whole release's size
    python benchmarks/graph_bench.py --index PATH     # an existing index (copied first when
                                                      # the small commit is measured)
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_bench import build_index  # noqa: E402

from cablesearch.config import Config  # noqa: E402
from cablesearch.engine.citations import PieceCache  # noqa: E402
from cablesearch.engine.graph import CitationGraph, graph_of, segment_reads  # noqa: E402
from cablesearch.index.store import CableIndex  # noqa: E402
from cablesearch.results import SearchRequest  # noqa: E402
from cablesearch.search.service import SearchService  # noqa: E402

WORDS = ["embassy", "nuclear", "corruption", "government", '"human rights"', "oil AND gas", "embass*"]


def pick_ids(svc: SearchService, count: int, seed: int) -> tuple[list[str], list[str]]:
    """(the most cited cables in the index, ordinary cables that cite something)."""
    with svc.snapshot() as snap:
        g = graph_of(snap)
        live = snap.arrays.live
        cited_by = np.diff(g.in_ptr[: g.n + 1])
        citing = np.flatnonzero((np.diff(g.out_ptr[: g.n + 1]) > 0) & live)
        top = [d for d in np.argsort(-cited_by, kind="stable").tolist() if live[d]][:count]
        some = random.Random(seed).sample(citing.tolist(), min(count, citing.size))
        return [snap.reference_id(d) for d in top], [snap.reference_id(d) for d in some]


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


def graph_builds(svc: SearchService, commit: bool) -> None:
    """Print the graph's one-off cost for a fresh snapshot, then (``commit``) for the snapshot
    after a small commit (10 cables replaced, 5 new ones citing others)."""
    with svc.snapshot() as snap:
        reads = segment_reads()
        t0 = time.perf_counter()
        g = graph_of(snap)  # the process's first graph: every segment read
        full_ms = (time.perf_counter() - t0) * 1000
        read = segment_reads() - reads
        segments = len(snap.segment_spans())
        sample = [
            snap.reference_id(d) for d in np.flatnonzero(snap.arrays.live)[:: max(1, snap.n // 10)][:10]
        ]
    print(
        f"{g.n:,} documents in {segments} segments, {g.missing_count:,} cited IDs missing from the "
        f"index, {g.edges:,} citations; graph of a fresh snapshot built in {full_ms:.0f} ms "
        f"({read} segment(s) read)"
    )
    if not commit:
        return
    cables = [svc.get(rid) for rid in sample]
    with svc.index.writer(timeout=60) as w:
        for c in cables:
            w.put(replace(c, subject=c.subject + " (revised)"))
        for i, c in enumerate(cables[:5]):
            new_id = f"{c.reference_id[:2]}BENCHPOST{i + 1}"
            w.put(replace(c, reference_id=new_id, references=[c.reference_id, *c.references[:2]]))
    reads = segment_reads()
    with svc.snapshot() as snap:
        t0 = time.perf_counter()
        g = graph_of(snap)
        inc_ms = (time.perf_counter() - t0) * 1000
        segments = len(snap.segment_spans())
        t0 = time.perf_counter()
        CitationGraph.build(snap, PieceCache())
        again_ms = (time.perf_counter() - t0) * 1000
    print(
        f"after a small commit (10 cables replaced, 5 added; {segments} segments): graph built in "
        f"{inc_ms:.0f} ms from the kept pieces, {segment_reads() - reads} segment(s) read "
        f"(from scratch: {again_ms:.0f} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cablesearch-graphbench"))
    ap.add_argument("--index", type=Path, default=None, help="use this index (copied if committed to)")
    ap.add_argument("--no-commit", action="store_true", help="skip the build after a small commit")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ids", type=int, default=10, help="cables of each kind (most cited, ordinary)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    index_dir = args.index or build_index(args.count, args.workdir)
    copy = None
    if args.index and not args.no_commit:  # never commit to someone else's index
        copy = Path(tempfile.mkdtemp(prefix="graphbench-", dir=args.workdir.parent))
        t0 = time.perf_counter()
        shutil.copytree(index_dir, copy / "index")
        index_dir = copy / "index"
        print(f"copied the index to {index_dir} in {time.perf_counter() - t0:.0f} s")
    try:
        run(index_dir, args)
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


def run(index_dir: Path, args: argparse.Namespace) -> None:
    svc = SearchService(CableIndex.open(index_dir, create=False), Config(index_dir=index_dir))
    svc.warm()
    graph_builds(svc, not args.no_commit)
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
