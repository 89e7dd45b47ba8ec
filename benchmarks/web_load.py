"""Load check of the web interface: N concurrent clients for S seconds against `cablesearch
serve` on loopback, over an index of a synthetic corpus made by ../shared/bench/make_corpus.py.

    .venv/bin/python benchmarks/web_load.py                     # 20,000 cables, 20 clients, 30 s
    .venv/bin/python benchmarks/web_load.py --workers 1                 # one server process
    .venv/bin/python benchmarks/web_load.py --count 5000 --clients 10 --seconds 10

Builds (or reuses) the corpus and the index under --workdir (default /tmp/cablesearch-webload),
indexing with the real pipeline (`cablesearch index`), starts `cablesearch serve --port 0` in a
subprocess, warms it with one pass over the query mix, then lets the clients (threads with
httpx) loop over the search page with a realistic mix — terms, phrases, boolean, wildcards,
facet clicks, timeline ranges, later pages, sorts, browsing — until the time is up (each client
also stops after --max-requests). Prints the errors (must be 0), requests/s, and the search
page's server time from the app's Server-Timing header: `total` (from the request's arrival in
the app to the start of the response, so it includes queueing: each server process answers
with a small pool of search services, one request per service at a time — see
cablesearch/web/services.py), `wait` (that queueing), total - wait (the time spent working on the
request) and its `search` part, plus the client-side latency. With N closed-loop clients the
latency including queueing is about N / throughput, whatever the per-request cost.

    .venv/bin/python benchmarks/web_load.py --count 5000 --clients 10 --seconds 10 --slow

With --slow the load runs twice against the same server: first the normal mix alone, then
the same mix while ONE extra client loops over slow requests (fuzzy and leading-wildcard
queries, and a cable page highlighted with a fuzzy query). Before that, each slow request is
timed alone (median of a few runs) so it is visible that it really is slow on this index. It
then prints the p50/p95 of the normal clients' requests in both phases side by side with the
ratio, and how many slow requests ran with their statuses (503 past query_time_limit is fine).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cablesearch.config import load_config

ROOT = Path(__file__).resolve().parent.parent
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
CLI = [sys.executable, "-c", "from cablesearch.cli import main; main()"]

# (kind, query parameters) — what people do on the search page.
MIX: list[tuple[str, list[tuple[str, str]]]] = [
    ("term", [("q", "embassy")]),
    ("term", [("q", "nuclear")]),
    ("term", [("q", "corruption")]),
    ("term", [("q", "pipeline")]),
    ("term", [("q", "taliban")]),
    ("term", [("q", "elections")]),
    ("term", [("q", "refugees")]),
    ("broad", [("q", "government")]),
    ("broad", [("q", "president")]),
    ("broad", [("q", "minister")]),
    ("phrase", [("q", '"human rights"')]),
    ("phrase", [("q", '"prime minister"')]),
    ("phrase", [("q", '"security council"')]),
    ("phrase", [("q", '"nuclear program"~3')]),
    ("boolean", [("q", "oil AND gas")]),
    ("boolean", [("q", "iran AND nuclear AND sanctions")]),
    ("boolean", [("q", "(china OR russia) AND trade")]),
    ("boolean", [("q", "terrorism -afghanistan")]),
    ("wildcard", [("q", "terror*")]),
    ("wildcard", [("q", "embass*")]),
    ("facet", [("q", "oil"), ("tag", "EPET")]),
    ("facet", [("q", "president"), ("tag", "PREL"), ("tag", "PGOV")]),
    ("facet", [("q", "government"), ("classification", "SECRET")]),
    ("facet", [("q", "election"), ("year", "2009")]),
    ("facet", [("q", "minister"), ("origin", "Embassy Paris")]),
    ("timeline", [("q", "minister"), ("from", "2008"), ("to", "2009-06")]),
    ("timeline", [("q", "nuclear"), ("from", "2009-03"), ("to", "2009-03")]),
    ("page", [("q", "embassy"), ("page", "2")]),
    ("page", [("q", "government"), ("page", "5")]),
    ("sort", [("q", "nuclear"), ("sort", "-created")]),
    ("sort", [("q", "oil"), ("sort", "created")]),
    ("fields", [("q", "subject:iran")]),
    ("fields", [("q", "created:[2008 to 2009-06] AND nuclear")]),
    ("browse", [("tag", "PREL")]),
    ("browse", []),
    ("suggest", [("q", "corupption")]),
]


@dataclass
class Sample:
    kind: str
    status: int
    client_ms: float
    server_ms: float | None
    search_ms: float | None
    wait_ms: float | None


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def parse_server_timing(header: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (header or "").split(","):
        m = re.match(r"\s*([\w-]+);dur=([\d.]+)", part)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def prepare(workdir: Path, count: int) -> Path:
    """The corpus and its index under workdir (made once, reused after)."""
    corpus = workdir / f"corpus-{count}"
    index = workdir / f"index-{count}"
    if not (corpus / ".complete").exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"{MAKE_CORPUS} is missing: this benchmark needs ../shared")
        print(f"making {count:,} cables in {corpus} ...", flush=True)
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), str(corpus), "--count", str(count), "--format", "telegram"],
            check=True,
        )
        (corpus / ".complete").write_text("ok\n")
    print(f"indexing {corpus} into {index} (incremental) ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(CLI + ["--index", str(index), "index", str(corpus)], check=True)
    print(f"  index ready in {time.perf_counter() - t0:.1f} s", flush=True)
    return index


def start_server(index: Path, log_path: Path, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """`cablesearch serve --port 0`, its output in log_path; returns it and its base URL."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            CLI
            + [
                "--index",
                str(index),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--workers",
                str(workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"http://127\.0\.0\.1:\d+", log_path.read_text())
        if m:
            return proc, m.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"the server did not start; see {log_path}")


def one_request(client: httpx.Client, kind: str, params: list[tuple[str, str]], results: Results) -> None:
    t0 = time.perf_counter()
    try:
        r = client.get("/", params=params)
        client_ms = (time.perf_counter() - t0) * 1000
        timing = parse_server_timing(r.headers.get("server-timing"))
        sample = Sample(
            kind, r.status_code, client_ms, timing.get("total"), timing.get("search"), timing.get("wait")
        )
        with results.lock:
            results.samples.append(sample)
            if r.status_code != 200:
                results.errors.append(f"{r.status_code} for {params}: {r.text[:200]}")
    except httpx.HTTPError as exc:
        with results.lock:
            results.errors.append(f"{type(exc).__name__} for {params}: {exc}")


# (label, path, query parameters) — slow requests: the cable path gets an indexed ID at run time.
# Leading wildcards expand to most of the vocabulary; fuzzy queries (qadhafi~5, q*~2) were tried
# and are fast on the synthetic corpus (5-30 ms), so they are not here.
SLOW: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("search *?*", "/", [("q", "*?*")]),
    ("search *a*", "/", [("q", "*a*")]),
    ("search *e*", "/", [("q", "*e*")]),
    ("cable *a* OR *e*...", "/cable/{id}", [("q", "*a* OR *e* OR *i* OR *o*")]),
]


@dataclass
class SlowResults:
    times: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int | str, int]] = field(default_factory=dict)

    def add(self, label: str, status: int | str, ms: float) -> None:
        self.times.setdefault(label, []).append(ms)
        counts = self.statuses.setdefault(label, {})
        counts[status] = counts.get(status, 0) + 1


def slow_request(client: httpx.Client, label: str, path: str, params: list, out: SlowResults) -> None:
    t0 = time.perf_counter()
    try:
        status: int | str = client.get(path, params=params).status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    out.add(label, status, (time.perf_counter() - t0) * 1000)


def slow_loop(base: str, requests: list, stop: threading.Event, out: SlowResults) -> None:
    """The one extra client of --slow: slow requests back to back until told to stop."""
    with httpx.Client(base_url=base, timeout=60.0) as client:
        while not stop.is_set():
            for label, path, params in requests:
                if stop.is_set():
                    break
                slow_request(client, label, path, params, out)


def slow_requests(base: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """SLOW with an indexed cable ID (the newest) in the cable path."""
    with httpx.Client(base_url=base, timeout=60.0) as c:
        hits = c.get("/api/search").json().get("hits") or []
    if not hits:
        sys.exit("the index has no cables to open for --slow")
    ref = hits[0]["reference_id"]
    return [(label, path.format(id=ref), params) for label, path, params in SLOW]


def client_loop(base: str, seed: int, deadline: float, max_requests: int, results: Results) -> None:
    rng = random.Random(seed)
    order = list(range(len(MIX)))
    with httpx.Client(base_url=base, timeout=30.0) as client:
        done = 0
        while time.monotonic() < deadline and done < max_requests:
            rng.shuffle(order)
            for i in order:
                if time.monotonic() >= deadline or done >= max_requests:
                    break
                kind, params = MIX[i]
                one_request(client, kind, params, results)
                done += 1


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def run_load(
    base: str, args: argparse.Namespace, slow: list | None = None, slow_out: SlowResults | None = None
) -> tuple[Results, float]:
    """--clients clients over the mix for --seconds; with ``slow``, one more client loops over
    those requests for as long (its figures into ``slow_out``, not into the results)."""
    results = Results()
    start = time.monotonic()
    deadline = start + args.seconds
    threads = [
        threading.Thread(target=client_loop, args=(base, 1000 + i, deadline, args.max_requests, results))
        for i in range(args.clients)
    ]
    stop = threading.Event()
    slow_thread = None
    if slow is not None and slow_out is not None:
        slow_thread = threading.Thread(target=slow_loop, args=(base, slow, stop, slow_out))
        slow_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    stop.set()
    if slow_thread is not None:
        slow_thread.join()
    return results, elapsed


def report(results: Results, elapsed: float) -> None:
    """The normal clients' figures (the output of a run without --slow)."""
    s = results.samples
    ok = [x for x in s if x.status == 200]
    server = [x.server_ms for x in ok if x.server_ms is not None]
    search = [x.search_ms for x in ok if x.search_ms is not None]
    wait = [x.wait_ms for x in ok if x.wait_ms is not None]
    work = [x.server_ms - (x.wait_ms or 0.0) for x in ok if x.server_ms is not None]
    client = [x.client_ms for x in ok]
    print(
        f"\nrequests: {len(s):,} in {elapsed:.1f} s = {len(s) / elapsed:.1f} requests/s; "
        f"errors: {len(results.errors)}"
    )
    for e in results.errors[:10]:
        print("  ", e)
    print(
        f"search page server time (Server-Timing total): p50 {pct(server, 50):.1f} ms, "
        f"p95 {pct(server, 95):.1f} ms, max {max(server, default=float('nan')):.1f} ms "
        f"(target p95 <= 100 ms)"
    )
    print(
        f"server time without the queue (total - wait): p50 {pct(work, 50):.1f} ms, "
        f"p95 {pct(work, 95):.1f} ms"
    )
    print(
        f"  of which the search itself:                 p50 {pct(search, 50):.1f} ms, "
        f"p95 {pct(search, 95):.1f} ms"
    )
    print(
        f"  and waiting for a free search service:      p50 {pct(wait, 50):.1f} ms, "
        f"p95 {pct(wait, 95):.1f} ms"
    )
    print(
        f"client latency (loopback, with queueing):    p50 {pct(client, 50):.1f} ms, "
        f"p95 {pct(client, 95):.1f} ms"
    )
    print("\nserver time by kind (p50 / p95 ms, n):")
    for kind in dict.fromkeys(k for k, _ in MIX):
        vals = [x.server_ms for x in ok if x.kind == kind and x.server_ms is not None]
        print(f"  {kind:9s} {pct(vals, 50):7.1f} / {pct(vals, 95):7.1f}   {len(vals):5d}")


def report_slow(
    base: Results,
    base_elapsed: float,
    loaded: Results,
    loaded_elapsed: float,
    alone: SlowResults,
    slow_out: SlowResults,
    time_limit: str,
) -> None:
    """The normal clients' figures without and with the slow client, side by side."""
    print(f"\n--slow: the slow requests (query_time_limit {time_limit}):")
    print("  request              alone: median ms (n)   under load: n, median ms, statuses")
    for label in alone.times:
        under = slow_out.times.get(label, [])
        statuses = ", ".join(
            f"{k}: {v}" for k, v in sorted(slow_out.statuses.get(label, {}).items(), key=str)
        )
        alone_statuses = "/".join(str(k) for k in alone.statuses[label])
        print(
            f"  {label:20s} {pct(alone.times[label], 50):8.1f} ({len(alone.times[label])}, {alone_statuses})"
            f"   {len(under):4d}, {pct(under, 50):8.1f}, {statuses or '-'}"
        )
    total = sum(len(v) for v in slow_out.times.values())
    print(f"  {total} slow requests ran during phase 2")
    if loaded.errors:
        print(f"phase 2 errors of the normal clients: {len(loaded.errors)}")
        for e in loaded.errors[:10]:
            print("  ", e)

    def figures(r: Results, elapsed: float) -> dict[str, list[float]]:
        ok = [x for x in r.samples if x.status == 200]
        return {
            "rate": [len(r.samples) / elapsed],
            "server": [x.server_ms for x in ok if x.server_ms is not None],
            "work": [x.server_ms - (x.wait_ms or 0.0) for x in ok if x.server_ms is not None],
            "client": [x.client_ms for x in ok],
        }

    a, b = figures(base, base_elapsed), figures(loaded, loaded_elapsed)
    print("\nnormal clients' requests          alone          with the slow client    ratio")
    print(
        f"  requests/s                    {a['rate'][0]:9.1f}          {b['rate'][0]:9.1f}          {b['rate'][0] / a['rate'][0]:5.2f}"
    )
    names = {"server": "server total", "work": "server total - wait", "client": "client latency"}
    for key, name in names.items():
        for p in (50, 95):
            x, y = pct(a[key], p), pct(b[key], p)
            print(
                f"  {name + f' p{p}':28s} {x:9.1f} ms       {y:9.1f} ms       {y / x if x else float('nan'):5.2f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000, help="cables in the corpus (20000)")
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients (20)")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the load runs (30)")
    ap.add_argument(
        "--max-requests", type=int, default=100_000, help="each client stops after this many requests"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes (`serve --workers`; 2, the default setting, is what "
        "`make run` starts on this 2-core machine)",
    )
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="KIND",
        help="leave a kind of search out of the mix (e.g. suggest), to see its share",
    )
    ap.add_argument(
        "--slow",
        action="store_true",
        help="run the load twice: alone, then with one more client looping over slow requests, "
        "and compare the normal clients' p50/p95",
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cablesearch-webload"))
    args = ap.parse_args()

    unknown = set(args.skip) - {k for k, _ in MIX}
    if unknown:
        ap.error(f"no such kind: {', '.join(sorted(unknown))}")
    MIX[:] = [(k, p) for k, p in MIX if k not in args.skip]
    args.workdir.mkdir(parents=True, exist_ok=True)
    index = prepare(args.workdir, args.count)
    log_path = args.workdir / "serve.log"
    proc, base = start_server(index, log_path, args.workers)
    try:
        with httpx.Client(base_url=base, timeout=60.0) as c:
            stats = c.get("/api/stats").json()
            warm = Results()
            for kind, params in MIX:
                one_request(c, kind, params, warm)
        if warm.errors:
            print("warm-up errors:", *warm.errors, sep="\n  ")
        print(
            f"server {base} ({args.workers} worker process{'es' if args.workers > 1 else ''}): "
            f"{stats.get('cables', '?'):,} cables; {args.clients} clients for "
            f"{args.seconds:g} s over {len(MIX)} kinds of search page",
            flush=True,
        )
        results, elapsed = run_load(base, args)
        report(results, elapsed)
        if args.slow:
            slow = slow_requests(base)
            alone = SlowResults()
            with httpx.Client(base_url=base, timeout=60.0) as c:
                for _ in range(3):
                    for label, path, params in slow:
                        slow_request(c, label, path, params, alone)
            print(
                f"\nphase 2: the same load plus one client looping over {len(slow)} slow requests", flush=True
            )
            slow_out = SlowResults()
            loaded, loaded_elapsed = run_load(base, args, slow, slow_out)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    if args.slow:
        report_slow(
            results, elapsed, loaded, loaded_elapsed, alone, slow_out, f"{load_config().query_time_limit:g} s"
        )
    if "Traceback" in log_path.read_text():
        print(f"the server logged tracebacks: see {log_path}")
    if results.errors or (args.slow and loaded.errors):
        sys.exit(1)


if __name__ == "__main__":
    main()
