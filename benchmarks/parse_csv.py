#!/usr/bin/env python3
"""Benchmark: parse a full-size cables.csv (251,287 rows) and print cables/s and peak memory.

    .venv/bin/python benchmarks/parse_csv.py [DIR] [--procs N] [--count N]

DIR (default /tmp/cablesearch-bench) holds cables.csv; when it is absent it is generated there
first with ../shared/bench/make_corpus.py DIR --format csv (all 251,287 rows unless --count).
The parse goes through the library entry point, ``parse.iter_cables``, as the indexer uses it:
the file is streamed, rows are parsed in ``--procs`` worker processes (default: the CPU count,
at most 2) while this process reads the file, and every cable comes back to this process.

Target (issue 2): at most 2 minutes, peak memory under 300 MB. Peak RSS is read from
``resource.getrusage``: this process, and the largest worker (RUSAGE_CHILDREN); their sum
(main + procs x largest worker) is printed as the total.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cablesearch.errors import ParseError  # noqa: E402
from cablesearch.parse import iter_cables  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
TARGET_SECONDS = 120.0
TARGET_MB = 300.0


def ensure_csv(folder: Path, count: int | None) -> Path:
    """The benchmark's cables.csv, generated first when it is not there yet."""
    path = folder / "cables.csv"
    if path.exists():
        return path
    if not MAKE_CORPUS.exists():
        sys.exit(f"{path} is absent and {MAKE_CORPUS} is not there to make it")
    cmd = [sys.executable, str(MAKE_CORPUS), str(folder), "--format", "csv"]
    if count:
        cmd += ["--count", str(count)]
    print(f"generating {path} ...", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def _mb(ru_maxrss_kb: int) -> float:
    return ru_maxrss_kb / 1024.0  # Linux reports ru_maxrss in KB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", type=Path, default=Path("/tmp/cablesearch-bench"))
    ap.add_argument(
        "--procs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes parsing rows (1: all in this process)",
    )
    ap.add_argument("--count", type=int, default=None, help="rows to generate when cables.csv is absent")
    args = ap.parse_args()

    args.dir.mkdir(parents=True, exist_ok=True)
    path = ensure_csv(args.dir, args.count)
    size_mb = path.stat().st_size / 1048576
    errors: list[ParseError] = []
    cables = words = 0
    started = time.perf_counter()
    for cable in iter_cables([path], on_error=errors.append, procs=args.procs):
        cables += 1
        words += len(cable.subject) > 0  # touch the cable, as a consumer would
    seconds = time.perf_counter() - started

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main, cpu_kids = me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    main_mb = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    child_mb = _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    total_mb = main_mb + (child_mb * args.procs if args.procs > 1 else 0.0)
    print(f"file            {path} ({size_mb:,.0f} MB)")
    print(f"procs           {args.procs}")
    print(f"cables          {cables:,} parsed, {len(errors):,} rows rejected, {words:,} with a subject")
    print(f"time            {seconds:.1f} s")
    print(f"throughput      {cables / seconds:,.0f} cables/s ({size_mb / seconds:.1f} MB/s)")
    print(
        f"CPU time        main {cpu_main:.1f} s, workers {cpu_kids:.1f} s "
        f"({(cpu_main + cpu_kids) / cables * 1e6:.0f} us per cable; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"peak RSS        main {main_mb:.0f} MB, largest worker {child_mb:.0f} MB, total {total_mb:.0f} MB")
    ok_time, ok_mem = seconds <= TARGET_SECONDS, total_mb < TARGET_MB
    print(
        f"target          time <= {TARGET_SECONDS:.0f} s: {'met' if ok_time else 'MISSED'}; "
        f"peak memory < {TARGET_MB:.0f} MB: {'met' if ok_mem else 'MISSED'}"
    )
    for err in errors[:5]:
        print(f"  rejected: {err}", file=sys.stderr)


if __name__ == "__main__":
    main()
