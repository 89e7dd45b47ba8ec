#!/usr/bin/env python3
"""What saved searches add to a burst: a sync of --burst cables (default 5,000 telegram files)
into an index of --base cables, with 0 and with --alerts saved searches (default 100),
timed from the start of the sync to the end of the alert evaluation (`after_commit`, the call
`cablesearch index` and the daemon make after each commit). Prints both times, the alerts'
own time, and the ratio (the goal: at most 1.10).

Makes a synthetic corpus with ../shared/bench/make_corpus.py under /tmp (once; reused). The
saved searches are words, phrases, OR-groups, wildcards and tag/origin/date filters taken from
the corpus's own subjects, so they match what a journalist's alerts would.

  benchmarks/alerts_cost.py                          # 5,000-cable burst, 100 alerts
  benchmarks/alerts_cost.py --burst 1000 --base 500  # a small smoke run on a shared machine
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"

from cablesearch.alerts import AlertStore, add_alert, after_commit  # noqa: E402
from cablesearch.config import Config  # noqa: E402
from cablesearch.index.store import CableIndex  # noqa: E402
from cablesearch.index.sync import Syncer  # noqa: E402
from cablesearch.results import SearchRequest  # noqa: E402
from cablesearch.search.service import SearchService  # noqa: E402


def corpus(count: int) -> list[Path]:
    out = Path(tempfile.gettempdir()) / f"cablesearch-alerts-corpus-{count}"
    if not (out / ".done").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), str(out), "--count", str(count), "--format", "telegram"],
            check=True,
        )
        (out / ".done").write_text("ok")
    return sorted(out.rglob("*.txt"))


def saved_searches(files: list[Path], n: int, seed: int = 13) -> list[SearchRequest]:
    """n distinct saved searches made from the subjects and tags of the corpus."""
    rng = random.Random(seed)
    words: list[str] = []
    tags: list[str] = []
    for f in rng.sample(files, min(len(files), 400)):
        text = f.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"^SUBJECT:\s*(.+)$", text, re.M)
        if m:
            words += [w.lower() for w in re.findall(r"[A-Za-z]{5,}", m.group(1))]
        t = re.search(r"^TAGS:\s*(.+)$", text, re.M)
        if t:
            tags += re.findall(r"\b[A-Z]{4}\b", t.group(1))
    words = sorted(set(words))
    tags = sorted(set(tags)) or ["PREL"]
    out: dict[str, SearchRequest] = {}
    while len(out) < n:
        a, b = rng.sample(words, 2)
        kind = len(out) % 5
        if kind == 0:
            r = SearchRequest(query=a)
        elif kind == 1:
            r = SearchRequest(query=f'"{a} {b}"')
        elif kind == 2:
            r = SearchRequest(query=f"{a} OR {b}", tags=(rng.choice(tags),))
        elif kind == 3:
            r = SearchRequest(query=f"{a[:4]}*", date_from="2005")
        else:
            r = SearchRequest(query=f"{a} AND NOT {b}")
        out[repr(r)] = r
    return list(out.values())


def one_run(
    work: Path, base: list[Path], burst: list[Path], alerts: list[SearchRequest]
) -> tuple[float, float]:
    """(seconds of the burst's sync, seconds of the alert evaluation after it)."""
    ix = work / "ix"
    shutil.rmtree(ix, ignore_errors=True)
    config = Config(index_dir=ix)
    index = CableIndex.open(ix)
    Syncer(index, config).sync_paths(base)
    if alerts:
        with SearchService(index, config) as service, AlertStore(ix) as store:
            for i, request in enumerate(alerts):
                add_alert(service, store, f"alert{i:03d}", request)
    t0 = time.perf_counter()
    Syncer(index, config).sync_paths(burst)
    t1 = time.perf_counter()
    result = after_commit(index, config)
    t2 = time.perf_counter()
    if result.errors:
        raise SystemExit("; ".join(result.errors))
    if alerts:
        found = sum(len(v) for v in result.new.values())
        print(
            f"  {len(alerts)} alerts: {found:,} new matches in {len(result.new)} alerts, {result.evaluated:,} evaluations"
        )
    return t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=5000, help="cables in the timed sync")
    ap.add_argument("--base", type=int, default=2000, help="cables indexed before it")
    ap.add_argument("--alerts", type=int, default=100, help="saved searches")
    args = ap.parse_args()
    files = corpus(args.base + args.burst)
    base, burst = files[: args.base], files[args.base : args.base + args.burst]
    # the burst is an even sample of the corpus, not its last months
    rng = random.Random(7)
    rng.shuffle(files)
    base, burst = files[: args.base], files[args.base :]
    alerts = saved_searches(base, args.alerts)
    with tempfile.TemporaryDirectory(prefix="cablesearch-alerts-") as tmp:
        work = Path(tmp)
        plain, _ = one_run(work, base, burst, [])
        synced, evaluated = one_run(work, base, burst, alerts)
    with_alerts = synced + evaluated
    print(f"burst of {len(burst):,} cables onto {len(base):,}:")
    print(f"  without alerts       {plain:8.2f} s")
    print(
        f"  with {len(alerts)} alerts       {with_alerts:8.2f} s  (sync {synced:.2f} s + alerts {evaluated:.2f} s)"
    )
    print(
        f"  ratio                {with_alerts / plain:8.3f}   (alerts alone / that sync: {evaluated / synced:.3f})"
    )


if __name__ == "__main__":
    main()
