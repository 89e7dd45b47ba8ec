#!/usr/bin/env python3
"""Bulk indexing speed: cables per second, peak memory and index size.

Makes a synthetic corpus with ../shared/bench/make_corpus.py under /tmp (once; reused after),
indexes it into a fresh temporary index with `Syncer.sync_paths` (parsing included, the same
path as `cablesearch index`), and prints the rate of each run, the median, the peak RSS of the
indexing process and its workers, and the index size.

  benchmarks/index_bulk.py                          # 20,000 cables as cables.csv, 3 runs
  benchmarks/index_bulk.py --format telegram        # 20,000 telegram files
  benchmarks/index_bulk.py --count 0 --runs 1       # the full default corpus (251,287)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def corpus(count: int, fmt: str) -> Path:
    out = Path(tempfile.gettempdir()) / f"cablesearch-bench-{fmt}-{count or 'full'}"
    marker = out / ".complete"
    if not marker.exists():
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, str(MAKE_CORPUS), str(out), "--format", fmt]
        if count:
            cmd += ["--count", str(count)]
        print(f"making the corpus: {' '.join(cmd)}", file=sys.stderr)
        subprocess.run(cmd, check=True)
        marker.write_text("ok")
    return out


def one_run(src: Path, procs: int) -> dict:
    """Index ``src`` into a fresh index in a child process; return its measurements."""
    code = f"""
import json, resource, sys, time, tempfile, shutil
from pathlib import Path
from cablesearch.config import Config
from cablesearch.indexer import CableIndex
from cablesearch.sync import Syncer
d = Path(tempfile.mkdtemp(prefix="cablesearch-bench-index-"))
ix = CableIndex.open(d / "index")
t = time.perf_counter()
report = Syncer(ix, Config(procs={procs})).sync_paths([{str(src)!r}])
secs = time.perf_counter() - t
size = sum(f.stat().st_size for f in (d / "index").iterdir())
n = ix.doc_count()
segs = len(ix.whoosh_index._segments())
shutil.rmtree(d)
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
self_kb, kids_kb = me.ru_maxrss, kids.ru_maxrss
print(json.dumps({{"cables": n, "seconds": secs, "added": report.added,
                  "rejected": len(report.rejected), "index_bytes": size, "segments": segs,
                  "rss_main_mb": self_kb / 1024, "rss_worker_mb": kids_kb / 1024,
                  "cpu_main": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="cables (0: the full 251,287)")
    ap.add_argument("--format", default="csv", choices=["csv", "telegram", "page", "html"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2)
    args = ap.parse_args()
    src = corpus(args.count, args.format)
    print(f"corpus: {src} ({args.format}); cpus: {os.cpu_count()}; procs: {args.procs}")
    rates = []
    for i in range(args.runs):
        r = one_run(src, args.procs)
        rate = r["cables"] / r["seconds"]
        rates.append(rate)
        print(f"run {i + 1}: {r['cables']:,} cables in {r['seconds']:.1f}s = {rate:,.0f} cables/s; "
              f"peak RSS main {r['rss_main_mb']:.0f} MB, largest worker {r['rss_worker_mb']:.0f} MB; "
              f"index {r['index_bytes'] / 1e6:.0f} MB in {r['segments']} segment(s); "
              f"rejected {r['rejected']}")
        # The machine may be shared: also print the rate the CPU time allows on idle cores
        # (the main process is serial; the rest spreads over the cores).
        cpus = os.cpu_count() or 1
        bound = max(r["cpu_main"], (r["cpu_main"] + r["cpu_workers"]) / cpus)
        print(f"       CPU: main {r['cpu_main']:.1f}s, workers {r['cpu_workers']:.1f}s -> "
              f"{r['cables'] / bound:,.0f} cables/s if the {cpus} cores were otherwise idle; "
              f"load average now {os.getloadavg()[0]:.1f}")
    print(f"median: {statistics.median(rates):,.0f} cables/s over {len(rates)} run(s) "
          f"(target >= 500)")


if __name__ == "__main__":
    main()
