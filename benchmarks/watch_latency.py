#!/usr/bin/env python3
"""The indexing daemon's speed: time from a file being closed to it being searchable, and the
throughput of a burst, on an index of 20,000 cables.

This machine's speed varies by 10% and more from one run to the next (a VM on shared cores), so
the throughput figures are measured ``--rounds`` times (default 3) and compared as medians.

1. Makes ``--count + --drops + (2 x --rounds + 1) x --burst`` telegram cables with
   ../shared/bench/make_corpus.py under /tmp (once; reused), or from tests/data when ../shared is
   absent; reads the first ``--count`` once, so the bulk run reads them from the page cache as
   the daemon reads the burst's just-written files.
2. Indexes ``--count`` of them with the real pipeline (``Syncer.sync_paths``, procs=2: the
   `cablesearch index` path) ``--rounds`` times, each into an empty index, and prints the median
   bulk rate — the figure the bursts are compared with.
3. Starts `cablesearch watch` on the folder as a separate process (default settings:
   settle 0.25 s, batch 0.5 s) and times its catch-up over the unchanged tree.
4. Drops ``--drops`` files one by one (write + close in the watched folder, the next one once the
   previous is searchable): close -> found by a reference-ID search on a fresh searcher, polled
   every 2 ms. Prints median, p95, max (target p95 <= 1 s).
5. ``--rounds`` rounds of two bursts of ``--burst`` files each, timed from the first file's
   arrival to all searchable; prints cables/s and the ratio to the median bulk rate, then the
   median of the rounds (target: no slower than bulk indexing):
   a. moved in: files already written to a staging folder on the same file system are renamed
      into the watched folder one after the other (how a folder is dropped or a download lands);
      the daemon's work is then the work bulk indexing does, so this is the like-for-like figure;
   b. written in place: the files are created and written in the watched folder as fast as this
      process can. Creating a file costs this machine's kernel 0.1-0.7 ms of CPU (it varies over
      a session), taken from the same 2 cores; the writer's CPU time is printed beside it.
6. Stops the daemon and times `cablesearch index` on another ``--burst`` new files into the same
   index, from start to exit: the same job done by hand, the other bulk figure to compare with.

  benchmarks/watch_latency.py                     # 20,000 + 100 drops + 5,000 burst
  benchmarks/watch_latency.py --count 2000 --drops 30 --burst 1000   # quick look
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
CLI = [sys.executable, "-c", "from cablesearch.cli import main; main()"]


def make_files(total: int) -> list[Path]:
    """``total`` distinct cable files (make_corpus telegrams, else tests/data rewrites)."""
    out = Path(tempfile.gettempdir()) / f"cablesearch-watchbench-{total}"
    marker = out / ".complete"
    if not marker.exists():
        shutil.rmtree(out, ignore_errors=True)
        if MAKE_CORPUS.exists():
            cmd = [sys.executable, str(MAKE_CORPUS), str(out), "--count", str(total), "--format", "telegram"]
            print(f"making the corpus: {' '.join(cmd)}", file=sys.stderr)
            subprocess.run(cmd, check=True)
        else:
            sys.path.insert(0, str(ROOT / "tests"))
            from watch_support import CableMaker

            print("../shared is absent: cables from tests/data with rewritten IDs", file=sys.stderr)
            CableMaker().burst(out, 0, total)
        marker.write_text("ok")
    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) < total:
        sys.exit(f"{out} holds {len(files)} files, fewer than {total}; delete it and re-run")
    return files[:total]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


class Probe:
    """Answers "is this reference ID searchable yet?" the way a search would: a fresh searcher
    on the latest commit, opened only when the index generation changed."""

    def __init__(self, index_dir: Path):
        from cablesearch.index.store import CableIndex

        self.ix = CableIndex.open(index_dir, create=False)
        self.gen = -1
        self.searcher = None

    def has(self, ref: str) -> bool:
        gen = self.ix.generation
        if gen != self.gen or self.searcher is None:
            if self.searcher is not None:
                self.searcher.close()
            self.searcher = self.ix.searcher()
            self.gen = gen
        return self.searcher.document_number(reference_id=ref) is not None

    def count(self) -> int:
        self.has("")
        return int(self.searcher.doc_count())


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by a process and, separately, its descendants
    (with the children they waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        # utime + stime, and cutime + cstime: the CPU of its children that ended (pool workers)
        own[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    below, todo = 0.0, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        below += own.get(p, 0.0)
        todo.extend(children.get(p, []))
    return {"daemon": own.get(pid, 0.0), "indexer": below}


def ref_of(path: Path) -> str:
    from cablesearch.parse import parse_file

    return next(iter(parse_file(path))).reference_id


def daemon_env(procs: int) -> dict[str, str]:
    """The environment of a benchmark's daemon: none of the caller's CABLESEARCH_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABLESEARCH_")}
    env["CABLESEARCH_PROCS"] = str(procs)
    return env


def status_reader(index_dir: Path) -> Callable[[], dict]:
    """A function reading the daemon's status file ({} while it is missing or half-written)."""
    status_file = index_dir / "daemon.json"

    def status() -> dict:
        try:
            return json.loads(status_file.read_text())
        except (OSError, ValueError):
            return {}

    return status


def start_daemon(index_dir: Path, watched: Path, work: Path, procs: int, log: IO[bytes]) -> subprocess.Popen:
    """`cablesearch watch` on ``watched`` as a separate process (its stderr to ``log``)."""
    return subprocess.Popen(
        CLI + ["--index", str(index_dir), "watch", str(watched)],
        cwd=work,
        env=daemon_env(procs),
        stderr=log,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_watching(
    proc: subprocess.Popen, status: Callable[[], dict], work: Path, pause: float = 0.01
) -> None:
    """Until the daemon says it watches with nothing queued (exits if the daemon died)."""
    while not (
        status().get("pid") == proc.pid and status().get("state") == "watching" and status().get("queue") == 0
    ):
        if proc.poll() is not None:
            sys.exit(f"the daemon exited: {(work / 'watch.log').read_text()[-2000:]}")
        time.sleep(pause)


def run_burst(
    mode: str,
    slug: str,
    burst: list[Path],
    work: Path,
    watched: Path,
    probe: Probe,
    proc: subprocess.Popen,
    status: Callable[[], dict],
    bulk_rate: float,
) -> float:
    """One burst of files, moved in or written in place; prints and gives its rate."""
    new_refs = {ref_of(p) for p in burst}
    new_refs = {r for r in new_refs if not probe.has(r)}  # make_corpus repeats a few IDs
    target = probe.count() + len(new_refs)
    datas = [(src.name, src.read_bytes()) for src in burst]
    stage = work / "staging" / slug
    if mode == "moved in":
        for i, (name, data) in enumerate(datas):
            folder = stage / f"{i // 500:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    commits0 = status().get("totals", {}).get("batches", 0)
    time.sleep(1.0)  # a pause between phases: the staging writes are not timed
    cpu0 = cpu_seconds(proc.pid)
    writer0 = time.process_time()
    t = time.perf_counter()
    for i, (name, data) in enumerate(datas):
        folder = watched / f"burst-{slug}" / f"{i // 500:03d}"
        if i % 500 == 0:
            folder.mkdir(parents=True)
        if mode == "moved in":
            os.rename(stage / f"{i // 500:03d}" / name, folder / name)
        else:
            with open(folder / name, "wb") as f:
                f.write(data)
    written = time.perf_counter() - t
    writer_cpu = time.process_time() - writer0
    while probe.count() < target:
        if proc.poll() is not None or time.perf_counter() - t > 1800:
            sys.exit("the burst did not complete")
        time.sleep(0.02)
    burst_s = time.perf_counter() - t
    cpu1 = cpu_seconds(proc.pid)
    rate = len(burst) / burst_s
    while (status().get("doc_count") or 0) < target:  # its status follows the commit
        time.sleep(0.01)
    commits = status().get("totals", {}).get("batches", 0) - commits0
    print(
        f"burst of {len(burst):,} files {mode} (in {written:.2f} s, {writer_cpu:.2f} s of "
        f"this process's CPU): all searchable {burst_s:.1f} s after the first arrived = "
        f"{rate:,.0f} cables/s = {rate / bulk_rate:.2f}x the median bulk rate; "
        f"{commits} commit(s)"
    )
    print(
        f"  CPU during the burst: daemon process (events, settling) "
        f"{cpu1['daemon'] - cpu0['daemon']:.1f} s, indexer process and its workers "
        f"{cpu1['indexer'] - cpu0['indexer']:.1f} s"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="cables in the index at the start")
    ap.add_argument("--drops", type=int, default=100, help="files dropped one by one")
    ap.add_argument("--burst", type=int, default=5000, help="files in the burst")
    ap.add_argument("--rounds", type=int, default=3, help="bulk runs and burst rounds, compared as medians")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument(
        "--keep", action="store_true", help="keep the work folder (index, watch.log with one line per batch)"
    )
    args = ap.parse_args()
    if args.rounds < 1 or args.burst < 1 or args.count < 1:
        ap.error("--rounds, --burst and --count must be 1 or more")

    files = make_files(args.count + args.drops + (2 * args.rounds + 1) * args.burst)
    work = Path(tempfile.mkdtemp(prefix="cablesearch-watchbench-"))
    watched, index_dir = work / "cables", work / "index"
    watched.mkdir()
    print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}; work dir {work}")
    proc = None
    try:
        # 1. the starting index, through the real pipeline
        for i, src in enumerate(files[: args.count]):
            dest = watched / "base" / f"{i // 1000:03d}" / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dest) if src.stat().st_dev == watched.stat().st_dev else shutil.copy(src, dest)
        from cablesearch.config import Config
        from cablesearch.index.store import CableIndex
        from cablesearch.index.sync import Syncer

        for src in files[: args.count]:
            src.read_bytes()  # in the page cache, as the burst's files (just written) will be
        bulk_rates = []
        for k in range(args.rounds):
            # the last run's index is the one the daemon goes on with
            target_dir = index_dir if k == args.rounds - 1 else work / f"bulk-{k}"
            gc.collect()
            t = time.perf_counter()
            report = Syncer(
                CableIndex.open(target_dir), Config(index_dir=target_dir, procs=args.procs)
            ).sync_paths([watched])
            bulk_s = time.perf_counter() - t
            bulk_rates.append(report.added / bulk_s)
            print(
                f"bulk index {k + 1}/{args.rounds} (Syncer.sync_paths, procs={args.procs}): "
                f"{report.added:,} cables in {bulk_s:.1f} s = {bulk_rates[-1]:,.0f} cables/s "
                f"({len(report.rejected)} rejected)"
            )
            if target_dir != index_dir:
                shutil.rmtree(target_dir)
        bulk_rate = statistics.median(bulk_rates)
        print(
            f"bulk rate: median {bulk_rate:,.0f} cables/s of {args.rounds} "
            f"(range {min(bulk_rates):,.0f}-{max(bulk_rates):,.0f})"
        )

        # 2. the daemon, as a separate process
        log = open(work / "watch.log", "wb")  # noqa: SIM115 - closed when the daemon is stopped
        t = time.perf_counter()
        proc = start_daemon(index_dir, watched, work, args.procs, log)
        status = status_reader(index_dir)
        wait_watching(proc, status, work)
        print(
            f"daemon start + catch-up over {args.count:,} unchanged files: "
            f"{time.perf_counter() - t:.2f} s (nothing re-parsed: "
            f"{status()['totals']['added'] + status()['totals']['updated']} indexed)"
        )

        probe = Probe(index_dir)
        # 3. one by one
        drops = files[args.count : args.count + args.drops]
        refs = [ref_of(p) for p in drops]
        latencies = []
        (watched / "drops").mkdir()
        for src, ref in zip(drops, refs, strict=True):
            data = src.read_bytes()
            with open(watched / "drops" / src.name, "wb") as f:
                f.write(data)
            closed = time.perf_counter()
            while not probe.has(ref):
                if time.perf_counter() - closed > 30:
                    sys.exit(f"{ref} not searchable after 30 s")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - closed)
        ms = [x * 1000 for x in latencies]
        print(
            f"close -> searchable over {len(ms)} files dropped one by one: median "
            f"{statistics.median(ms):.0f} ms, p95 {pct(ms, 95):.0f} ms, max {max(ms):.0f} ms "
            f"(target p95 <= 1000 ms)"
        )

        # 4. bursts: moved in, then written in place, --rounds times
        rates: dict[str, list[float]] = {"moved in": [], "written in place": []}
        start = args.count + args.drops
        for k in range(args.rounds):
            for mode in ("moved in", "written in place"):
                burst = files[start : start + args.burst]
                start += args.burst
                rates[mode].append(
                    run_burst(
                        mode, f"{mode.split()[0]}-{k}", burst, work, watched, probe, proc, status, bulk_rate
                    )
                )
        for mode, got in rates.items():
            ratios = ", ".join(f"{r / bulk_rate:.2f}" for r in got)
            print(
                f"burst of {args.burst:,} files {mode}: median {statistics.median(got):,.0f} "
                f"cables/s of {args.rounds} rounds = {statistics.median(got) / bulk_rate:.2f}x "
                f"the median bulk rate (rounds: {ratios}; target >= 1.0)"
            )
        print(f"index now {probe.count():,} cables; load average {os.getloadavg()[0]:.1f}")

        # 5. the same amount without the daemon: `cablesearch index` run by hand on a folder of
        #    another --burst new files, into the same index (the daemon stopped first)
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        print(f"daemon stopped with exit code {proc.returncode} after SIGTERM")
        manual = work / "manual"
        for i, src in enumerate(files[start : start + args.burst]):
            folder = manual / f"{i // 500:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, folder / src.name)
        t = time.perf_counter()
        done = subprocess.run(
            CLI + ["--index", str(index_dir), "index", str(manual)],
            env=daemon_env(args.procs),
            cwd=work,
            capture_output=True,
            text=True,
        )
        manual_s = time.perf_counter() - t
        if done.returncode != 0:
            sys.exit(f"cablesearch index failed: {done.stderr}")
        manual_rate = args.burst / manual_s
        print(
            f"`cablesearch index` of another {args.burst:,} new files into that index, by hand: "
            f"{manual_s:.1f} s from start to exit = {manual_rate:,.0f} cables/s; the daemon's "
            f"bursts were {statistics.median(rates['moved in']) / manual_rate:.2f}x (moved in) "
            f"and {statistics.median(rates['written in place']) / manual_rate:.2f}x (written "
            f"in place) that, by their medians"
        )
        print(f"  its summary: {(done.stdout + done.stderr).strip().splitlines()[-1]}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
            print(f"daemon stopped with exit code {proc.returncode} after SIGTERM")
        if args.keep:
            print(f"kept {work} (the daemon's log: {work / 'watch.log'})")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
