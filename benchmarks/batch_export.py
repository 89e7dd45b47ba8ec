"""Batch search and export: how long 1,000 batch queries take, and the peak memory of exports.

Builds (or reuses) an index of a make_corpus.py corpus with the real pipeline (as
``benchmarks/search_bench.py`` does), then

* runs a batch of ``--queries`` queries (terms, phrases, boolean, tag filters; built
  deterministically from a word list) through :func:`cablesearch.investigate.batch.run_batch`
  and prints the total time and the time per query (the target: 1,000 queries over the whole
  release in under a minute);
* exports ALL matches of a narrow query and of an empty query (every cable) as CSV with every
  field, each in a fresh child process writing to /dev/null, and prints each child's peak RSS
  next to that of a child that only opens the index and runs one search, and the RSS after
  10,000 and after 100,000 cables exported: when the export is streamed, exporting every
  cable costs about as much memory as exporting a few hundred, and RSS stays flat.

    python benchmarks/batch_export.py                   # 20,000 cables under /tmp
    python benchmarks/batch_export.py --count 100000    # ~100,000 cables
    python benchmarks/batch_export.py --count 251287    # the full release size
    python benchmarks/batch_export.py --index PATH      # an existing index (only read)
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cablesearch.config import Config  # noqa: E402
from cablesearch.index.store import CableIndex  # noqa: E402
from cablesearch.index.sync import Syncer  # noqa: E402
from cablesearch.investigate.batch import BatchQuery, run_batch  # noqa: E402
from cablesearch.search.service import SearchService  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"

WORDS = [
    "embassy",
    "nuclear",
    "corruption",
    "ambassador",
    "pipeline",
    "taliban",
    "elections",
    "refugees",
    "oil",
    "gas",
    "president",
    "minister",
    "police",
    "army",
    "border",
    "trade",
    "bank",
    "drugs",
    "visa",
    "human",
    "rights",
    "terrorism",
    "iran",
    "iraq",
    "china",
    "russia",
    "libya",
    "israel",
    "pakistan",
    "afghanistan",
    "sanctions",
    "weapons",
    "missile",
    "treaty",
    "parliament",
    "court",
    "journalist",
    "media",
    "prison",
    "torture",
    "election",
    "coup",
    "protest",
    "strike",
    "energy",
    "water",
    "food",
    "aid",
    "loan",
]
TAGS = ("PREL", "PGOV", "PTER", "ECON", "PHUM", "MARR", "PINR", "KNNP", "EFIN", "ENRG")


def queries(n: int) -> list[str]:
    """``n`` distinct, realistic batch queries (same ``n``, same list)."""
    out: list[str] = []
    pairs = itertools.combinations(WORDS, 2)
    for i, (a, b) in enumerate(pairs):
        if len(out) >= n:
            break
        kind = i % 5
        if kind == 0:
            out.append(a)
        elif kind == 1:
            out.append(f"{a} {b}")
        elif kind == 2:
            out.append(f'"{a} {b}"')
        elif kind == 3:
            out.append(f"{a} OR {b}")
        else:
            out.append(f"{a} tag:{TAGS[i % len(TAGS)]}")
    return out


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
        print(f"indexing into {index_dir} (Syncer.sync_paths, procs=2) ...", flush=True)
        t0 = time.perf_counter()
        shutil.rmtree(index_dir, ignore_errors=True)
        report = Syncer(CableIndex.open(index_dir), Config(index_dir=index_dir, procs=2)).sync_paths([csv])
        n = report.added + report.updated
        print(f"  {n:,} cables in {time.perf_counter() - t0:.1f} s", flush=True)
        done.write_text(str(n))
    return index_dir


def bench_batch(index_dir: Path, n: int) -> None:
    qs = [BatchQuery(i + 1, q) for i, q in enumerate(queries(n))]
    with SearchService(CableIndex.open(index_dir, create=False), Config(index_dir=index_dir)) as service:
        t0 = time.perf_counter()
        service.warm()
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = list(run_batch(service, qs, top=3))
        dt = time.perf_counter() - t0
    failed = sum(1 for r in rows if r.error)
    print(
        f"batch: {len(rows):,} queries in {dt:.1f} s ({dt / len(rows) * 1000:.1f} ms a query), "
        f"{failed} failed; searcher warm-up before it {warm:.1f} s"
    )


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.investigate.export import FIELDS, iter_lines
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

index_dir, query, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
marks = {int(m): None for m in sys.argv[4].split(",") if m}
with SearchService(CableIndex.open(index_dir, create=False), Config(index_dir=index_dir)) as s:
    total = s.search(SearchRequest(query=query)).total
    lines = 0
    t0 = time.perf_counter()
    if mode == "export":
        with open("/dev/null", "w", encoding="utf-8") as out:
            for line in iter_lines(s, SearchRequest(query=query), "csv", FIELDS):
                out.write(line)
                lines += 1
                if lines - 1 in marks:  # after this many cables (the header is line 1)
                    marks[lines - 1] = (rss_mb(), peak_mb())
    dt = time.perf_counter() - t0
print(json.dumps({"total": total, "lines": lines, "seconds": dt, "peak": peak_mb(),
                  "marks": {k: v for k, v in marks.items() if v is not None}}))
"""

MARKS = (10_000, 100_000)  # RSS is sampled after this many cables exported


def child_peak(index_dir: Path, query: str, mode: str) -> dict[str, Any]:
    """The child's report: matches, lines written, export seconds, peak RSS MB and, at each of
    ``MARKS`` cables exported, (RSS MB then, peak RSS MB so far)."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(index_dir), query, mode, ",".join(map(str, MARKS))],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_export(index_dir: Path, narrow: str) -> None:
    for label, query, mode in (
        ("open + one search, no export", "", "search"),
        (f"export {narrow!r}", narrow, "export"),
        ("export every cable", "", "export"),
    ):
        r = child_peak(index_dir, query, mode)
        lines, dt = r["lines"], r["seconds"]
        rate = f", {max(lines - 1, 0) / dt:,.0f} cables/s" if mode == "export" and dt else ""
        print(
            f"{label:<34} matches {r['total']:>8,}  lines {lines:>8,}  {dt:6.1f} s{rate}  "
            f"peak RSS {r['peak']:,.0f} MB"
        )
        for mark, (rss, peak) in sorted(r["marks"].items(), key=lambda kv: int(kv[0])):
            print(
                f"{'':<4}after {int(mark):>7,} cables exported: RSS {rss:,.0f} MB, peak so far {peak:,.0f} MB"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="cables in the corpus")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cablesearch-batch-export-bench"))
    ap.add_argument("--index", type=Path, default=None, help="use this index instead")
    ap.add_argument("--queries", type=int, default=1000, help="queries in the batch")
    ap.add_argument("--narrow", default='"human rights"', help="the narrow export query")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    index_dir = args.index or build_index(args.count, args.workdir)
    print(f"index {index_dir}")
    bench_batch(index_dir, args.queries)
    bench_export(index_dir, args.narrow)


if __name__ == "__main__":
    main()
