#!/usr/bin/env python3
"""Bulk indexing speed: cables per second, peak memory and index size.

Makes a synthetic corpus with ../shared/bench/make_corpus.py under /tmp (once; reused after),
indexes it into a fresh temporary index with `Syncer.sync_paths` (parsing included, the same
path as `cablesearch index`), and prints the rate of each run, the median, the peak RSS of the
indexing process and its workers, the index size, the CPU time (and the rate it would allow on
idle cores, as the machine may be shared), and plain Whoosh's rate on the first 5,000 cables
(the seed schema in one process, as the project started) with the ratio.

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
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer
d = Path(tempfile.mkdtemp(prefix="cablesearch-bench-index-"))
ix = CableIndex.open(d / "index")
t = time.perf_counter()
report = Syncer(ix, Config(procs={procs})).sync_paths([{str(src)!r}])
secs = time.perf_counter() - t
size = sum(f.stat().st_size for f in (d / "index").iterdir())
n = ix.doc_count()
segs = len(ix.segments())
shutil.rmtree(d)
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
self_kb, kids_kb = me.ru_maxrss, kids.ru_maxrss
print(json.dumps({{"cables": n, "seconds": secs, "added": report.added,
                  "rejected": len(report.rejected), "index_bytes": size, "segments": segs,
                  "rss_main_mb": self_kb / 1024, "rss_worker_mb": kids_kb / 1024,
                  "cpu_main": me.ru_utime + me.ru_stime, "cpu_workers": kids.ru_utime + kids.ru_stime}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=str(ROOT)
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


BASELINE = """
import itertools, json, sys, tempfile, time
from whoosh import fields, index
from whoosh.analysis import StemmingAnalyzer
from cablesearch import parse
from cablesearch.engine.schema import pack_cable
def seed_schema():   # the schema the project started from: plain Whoosh fields and analysis
    ana = StemmingAnalyzer()
    return fields.Schema(
        reference_id=fields.ID(stored=True, unique=True, sortable=True),
        subject=fields.TEXT(analyzer=ana, stored=True, phrase=True),
        body=fields.TEXT(analyzer=ana, stored=False, phrase=True),
        tags=fields.KEYWORD(stored=True, lowercase=False, scorable=False),
        origin=fields.ID(stored=True, sortable=True),
        classification=fields.ID(stored=True, sortable=True),
        created=fields.DATETIME(stored=True, sortable=True),
        released=fields.DATETIME(stored=True, sortable=True),
        references=fields.KEYWORD(stored=True, lowercase=False, scorable=False),
        recipients=fields.TEXT(stored=False), signers=fields.TEXT(stored=True),
        record=fields.STORED())
n = int(sys.argv[2])
t = time.perf_counter()
ix = index.create_in(tempfile.mkdtemp(), seed_schema())
w = ix.writer()
count = 0
for c in itertools.islice(parse.iter_cables([sys.argv[1]]), n):
    doc = {"reference_id": c.reference_id, "subject": c.subject, "body": c.body,
           "tags": " ".join(c.tags), "origin": c.origin, "classification": c.classification,
           "references": " ".join(c.references), "recipients": "\\n".join(c.to + c.info),
           "signers": "\\n".join(c.signers), "record": pack_cable(c)}
    doc = {k: v for k, v in doc.items() if v != ""}
    if c.created: doc["created"] = c.created
    if c.released: doc["released"] = c.released
    w.update_document(**doc)
    count += 1
w.commit()
print(json.dumps({"cables": count, "seconds": time.perf_counter() - t}))
"""


def baseline(src: Path, n: int) -> float:
    """Plain Whoosh (the seed schema, StemmingAnalyzer, one process) on the first n cables."""
    out = subprocess.run(
        [sys.executable, "-c", BASELINE, str(src), str(n)],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(ROOT),
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["cables"] / r["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="cables (0: the full 251,287)")
    ap.add_argument("--format", default="csv", choices=["csv", "telegram", "page", "html"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument(
        "--baseline",
        type=int,
        default=5000,
        help="also index this many cables with plain Whoosh, for the ratio (0: skip)",
    )
    args = ap.parse_args()
    src = corpus(args.count, args.format)
    print(f"corpus: {src} ({args.format}); cpus: {os.cpu_count()}; procs: {args.procs}")
    rates = []
    for i in range(args.runs):
        r = one_run(src, args.procs)
        rate = r["cables"] / r["seconds"]
        rates.append(rate)
        print(
            f"run {i + 1}: {r['cables']:,} cables in {r['seconds']:.1f}s = {rate:,.0f} cables/s; "
            f"peak RSS main {r['rss_main_mb']:.0f} MB, largest worker {r['rss_worker_mb']:.0f} MB; "
            f"index {r['index_bytes'] / 1e6:.0f} MB in {r['segments']} segment(s); "
            f"rejected {r['rejected']}"
        )
        # The machine may be shared: also print the rate the CPU time allows on idle cores
        # (the main process is serial; the rest spreads over the cores).
        cpus = os.cpu_count() or 1
        bound = max(r["cpu_main"], (r["cpu_main"] + r["cpu_workers"]) / cpus)
        print(
            f"       CPU: main {r['cpu_main']:.1f}s, workers {r['cpu_workers']:.1f}s -> "
            f"{r['cables'] / bound:,.0f} cables/s if the {cpus} cores were otherwise idle; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )
    med = statistics.median(rates)
    print(f"median: {med:,.0f} cables/s over {len(rates)} run(s) (target >= 500)")
    if args.baseline:
        base = baseline(src, args.baseline)
        print(
            f"plain Whoosh (seed schema, StemmingAnalyzer, 1 process) on {args.baseline:,} "
            f"cables: {base:,.0f} cables/s; ratio {med / base:.1f}x"
        )


if __name__ == "__main__":
    main()
