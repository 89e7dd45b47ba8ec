#!/usr/bin/env python3
"""Fault injection: kill `cablesearch index` and `cablesearch watch` at random moments, damage
random index files, and count what is lost before and after `cablesearch index --rebuild`.

1. Makes ``--count`` synthetic telegram cables with ../shared/bench/make_corpus.py (seeded).
2. ``--kills`` times: `cablesearch index SRC --commit-every 25` (a real subprocess, its own
   process group) is SIGKILLed after a random delay (0 .. the time a whole run takes); every 5th
   round starts from an empty index. Then the index is opened as `search` would (openable, a
   clean one-line damage report, or anything else = a failure), `cablesearch index SRC` is run to
   the end, and, when it reports damage, `cablesearch index --rebuild`. Cables lost = the
   corpus's IDs missing from the index.
3. The same ``--kills`` times with `cablesearch watch SRC` while files are being copied into SRC
   (the daemon and its indexer process killed together).
4. ``--damages`` times: a copy of a sound index gets one of its files truncated, deleted or
   byte-flipped (segment files, the table of contents, the manifest); `cablesearch search` and
   `stats` must answer or say the damage in one line; `cablesearch check` must find it (exit 1)
   unless the bytes changed were never read; then `index --rebuild` must bring back every cable.

Prints a table of the outcomes. Bounded by ``--max-seconds`` (the rounds left are skipped and
said so). Usage: python benchmarks/fault_injection.py --seed 1 [--kills 50 --damages 50]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
CLI = [str(Path(sys.executable).parent / "cablesearch")]  # the entry point of this environment


def cli(index: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--index", str(index), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def indexed_ids(index: Path) -> set[str] | None:
    from cablesearch.errors import CablesearchError
    from cablesearch.index.store import CableIndex

    try:
        ix = CableIndex.open(index, create=False)
        with ix.searcher() as s:
            return {f["reference_id"] for f in s.all_stored_fields()}
    except CablesearchError:
        return None


def classify(result: subprocess.CompletedProcess[str]) -> str:
    """'ok', 'one-line damage' or 'FAILURE' (a traceback, or more than one line)."""
    if result.returncode == 0:
        return "ok"
    lines = result.stderr.strip().splitlines()
    if len(lines) == 1 and lines[0].startswith("Error:") and "--rebuild" in lines[0]:
        return "one-line damage"
    if len(lines) == 1 and lines[0].startswith("Error:"):
        return "one-line other"
    return "FAILURE"


def recover(index: Path, src: Path, truth: set[str], tally: Counter[str]) -> None:
    """Index to the end; rebuild when that reports damage; count the cables lost."""
    done = cli(index, "index", str(src), "--procs", "1")
    if done.returncode != 0:
        tally[f"index after: {classify(done)}"] += 1
        rebuilt = cli(index, "index", "--rebuild", str(src), "--procs", "1")
        tally[f"rebuild: {classify(rebuilt)}"] += 1
    ids = indexed_ids(index) or set()
    tally["cables lost after recovery"] += len(truth - ids)


def kill_index(
    rng: random.Random, rounds: int, src: Path, work: Path, truth: set[str], full: float
) -> Counter[str]:
    tally: Counter[str] = Counter()
    index = work / "kill-index"
    for i in range(rounds):
        if i % 5 == 0:
            shutil.rmtree(index, ignore_errors=True)
        proc = subprocess.Popen(
            [*CLI, "--index", str(index), "index", str(src), "--commit-every", "25", "--procs", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.0, full))
        _kill(proc)
        tally["kills"] += 1
        tally[f"after kill: {classify(cli(index, 'stats'))}"] += 1
        recover(index, src, truth, tally)
    return tally


def kill_watch(
    rng: random.Random, rounds: int, staging: list[Path], work: Path, truth_of: dict[Path, str], full: float
) -> Counter[str]:
    tally: Counter[str] = Counter()
    index = work / "kill-watch"
    src = work / "watched"
    for i in range(rounds):
        if i % 5 == 0:
            shutil.rmtree(index, ignore_errors=True)
            shutil.rmtree(src, ignore_errors=True)
            src.mkdir()
        proc = subprocess.Popen(
            [
                *CLI,
                "--index",
                str(index),
                "watch",
                str(src),
                "--settle-seconds",
                "0.1",
                "--batch-seconds",
                "0.2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + rng.uniform(0.5, full + 2.0)
        todo = [p for p in staging if not (src / p.name).exists()]
        rng.shuffle(todo)
        while time.monotonic() < deadline and todo:
            for path in todo[:10]:
                shutil.copy(path, src / path.name)
            todo = todo[10:]
            time.sleep(0.05)
        time.sleep(max(0.0, deadline - time.monotonic()))
        _kill(proc)
        tally["kills"] += 1
        tally[f"after kill: {classify(cli(index, 'stats'))}"] += 1
        truth = {truth_of[p] for p in staging if (src / p.name).exists()}
        recover(index, src, truth, tally)
    return tally


def damage(
    rng: random.Random, rounds: int, sound: Path, src: Path, work: Path, truth: set[str]
) -> Counter[str]:
    from cablesearch.index.check import check_index

    tally: Counter[str] = Counter()
    index = work / "damaged"
    for _ in range(rounds):
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(sound, index)
        files = sorted(
            p for p in index.iterdir() if p.name.startswith(("MAIN_", "_MAIN_", "manifest.sqlite"))
        )
        victim = rng.choice(files)
        how = rng.choice(["truncate", "delete", "flip"])
        size = victim.stat().st_size
        if how == "delete":
            victim.unlink()
        elif how == "truncate":
            os.truncate(victim, rng.randrange(0, max(1, size)))
        else:
            data = bytearray(victim.read_bytes())
            for _ in range(rng.randint(1, 8)):
                if data:
                    data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            victim.write_bytes(bytes(data))
        tally["damages"] += 1
        kind = victim.name.split(".", 1)[-1] if victim.name.startswith("MAIN_") else victim.name.split("_")[0]
        for command in (["search", "embassy"], ["stats"]):
            outcome = classify(cli(index, *command))
            tally[f"{command[0]}: {outcome}"] += 1
            if outcome == "FAILURE":
                tally[f"FAILURE on {how} {kind}"] += 1
        try:
            report = check_index(index)
            tally["check: damage found" if report.damaged else "check: sound"] += 1
            if not report.damaged:
                tally[f"  (check sound after {how} {kind})"] += 1
        except Exception as exc:  # counted as a failure of check
            tally[f"check: FAILURE {type(exc).__name__}"] += 1
        rebuilt = cli(index, "index", "--rebuild", str(src), "--procs", "1")
        tally[f"rebuild: {classify(rebuilt)}"] += 1
        tally["cables lost after rebuild"] += len(truth - (indexed_ids(index) or set()))
    return tally


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--damages", type=int, default=50)
    ap.add_argument("--max-seconds", type=float, default=1800)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="fault-injection-"))
    src = work / "src"
    if not src.exists():
        subprocess.run(
            [
                sys.executable,
                str(MAKE_CORPUS),
                str(src),
                "--count",
                str(args.count),
                "--format",
                "telegram",
                "--seed",
                str(args.seed),
            ],
            check=True,
            capture_output=True,
        )
    from cablesearch import parse

    truth_of = {Path(c.source): c.reference_id for c in parse.iter_cables([src])}
    truth = set(truth_of.values())
    staging = sorted(truth_of)
    sound = work / "sound"
    shutil.rmtree(sound, ignore_errors=True)
    started = time.monotonic()
    cli(sound, "index", str(src), "--commit-every", "60", "--procs", "1")
    full = time.monotonic() - started
    print(f"corpus: {len(truth)} cables in {len(staging)} files; a full index run takes {full:.1f}s")
    results: dict[str, Counter[str]] = {}
    began = time.monotonic()
    for name, step in (
        ("kill index", lambda n: kill_index(rng, n, src, work, truth, full)),
        ("kill watch", lambda n: kill_watch(rng, n, staging, work, truth_of, full)),
        ("damage files", lambda n: damage(rng, n, sound, src, work, truth)),
    ):
        rounds = args.damages if name == "damage files" else args.kills
        if time.monotonic() - began > args.max_seconds:
            print(f"{name}: skipped (past --max-seconds)")
            continue
        t0 = time.monotonic()
        results[name] = step(rounds)
        print(f"\n## {name} ({time.monotonic() - t0:.0f}s)")
        for key, value in sorted(results[name].items()):
            print(f"  {key:45s} {value}")
    failures = sum(v for c in results.values() for k, v in c.items() if "FAILURE" in k)
    lost = sum(v for c in results.values() for k, v in c.items() if k.startswith("cables lost"))
    print(f"\ntotal: {failures} failures (tracebacks), {lost} cables lost after recovery/rebuild")


if __name__ == "__main__":
    main()
