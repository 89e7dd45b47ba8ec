"""Cold per-term read time: W3 posting blocks vs the segments' side files (issue 12).

For a few common words of an index (default: the most frequent body words), each read in a
fresh Python process (nothing cached, as a new query is), this prints the time of
``read_postings`` (doc ids and frequencies) and of the same read with positions followed by
decoding the positions of 1% of the postings (what a phrase does), once on the index as it is
and once on a copy without side files (hard links, the ``.npp`` files left out: every read takes
the W3 path). It also prints the side files' share of the index size.

    .venv/bin/python benchmarks/sidefile_read.py --index /tmp/sf-20k-index [--words a,b] [--runs 3]

Not a test: figures depend on the machine and its load.
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

CHILD = r"""
import json, sys, time
import numpy as np
from cablesearch.index.store import CableIndex
from cablesearch.engine.postings import positions_at, read_postings
index_dir, word, with_positions = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ix = CableIndex.open(index_dir, create=False)
s = ix.searcher()
reader = s.reader()
btext = word.encode("utf-8")
t0 = time.perf_counter()
p = read_postings(reader, "body", btext, with_values=with_positions)
if with_positions and p.df:
    idx = np.arange(0, p.df, 100)
    positions_at(p.values, p.docs[idx], idx)
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({"ms": ms, "df": p.df}))
"""


def _common_words(index_dir: Path, n: int) -> list[str]:
    from cablesearch.engine.snapshot import Snapshot
    from cablesearch.index.store import CableIndex

    ix = CableIndex.open(index_dir, create=False)
    snap = Snapshot(ix.searcher(), "bench")
    try:
        words = [w for w in snap.lexicon("body") if w.isalpha()]
        words.sort(key=lambda w: -snap.doc_frequency("body", w))
        return words[:n:2] + words[n * 3 : n * 3 + 2]  # the most common, and some a bit rarer
    finally:
        snap.close()


def _without_side_files(index_dir: Path, target: Path) -> None:
    target.mkdir()
    for entry in index_dir.iterdir():
        if entry.is_file() and not entry.name.endswith((".npp", ".npp.tmp")):
            try:
                os.link(entry, target / entry.name)
            except OSError:
                shutil.copy2(entry, target / entry.name)


def _cold(index_dir: Path, word: str, positions: bool, runs: int) -> tuple[float, int]:
    times = []
    df = 0
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(index_dir), word, "1" if positions else "0"],
            check=True,
            capture_output=True,
            text=True,
        )
        got = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(got["ms"])
        df = got["df"]
    return statistics.median(times), df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--words", help="comma-separated body words (default: common ones)")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per figure (median)")
    args = ap.parse_args()
    index_dir = args.index.absolute()
    words = args.words.split(",") if args.words else _common_words(index_dir, 8)
    files = [f for f in index_dir.iterdir() if f.is_file() and f.name.startswith("MAIN_")]
    side = sum(f.stat().st_size for f in files if f.name.endswith(".npp"))
    total = sum(f.stat().st_size for f in index_dir.iterdir() if f.is_file())
    print(
        f"side files: {side / 1e6:.1f} MB of {total / 1e6:.1f} MB: the index is {total / (total - side):.3f}x its size without them"
    )
    with tempfile.TemporaryDirectory() as tmp:
        w3_dir = Path(tmp) / "w3"
        _without_side_files(index_dir, w3_dir)
        print(
            f"{'word':<16}{'df':>8}{'W3 ms':>9}{'side ms':>9}{'x':>7}{'W3+pos ms':>11}{'side+pos ms':>13}{'x':>7}"
        )
        for word in words:
            w3, df = _cold(w3_dir, word, False, args.runs)
            sf, _ = _cold(index_dir, word, False, args.runs)
            w3p, _ = _cold(w3_dir, word, True, args.runs)
            sfp, _ = _cold(index_dir, word, True, args.runs)
            print(
                f"{word:<16}{df:>8}{w3:>9.2f}{sf:>9.2f}{w3 / sf:>7.1f}{w3p:>11.2f}{sfp:>13.2f}{w3p / sfp:>7.1f}"
            )


if __name__ == "__main__":
    main()
