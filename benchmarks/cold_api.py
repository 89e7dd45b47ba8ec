"""The /api/search part of benchmarks/cold_search.py: a fresh `cablesearch serve --workers 2`
on 127.0.0.1, distinct queries asked one after another over HTTP, and the RSS of every server
process afterwards."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cold_queries import ColdQuery
from cold_runners import rss_mb

CLI = [sys.executable, "-c", "from cablesearch.cli import main; main()"]


def free_port() -> int:
    """A port that was free a moment ago (`serve` refuses --port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(index: Path, log_path: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """`cablesearch serve --workers N` on a free port, its output in log_path; it and its URL."""
    port = free_port()
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
                str(port),
                "--workers",
                str(workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"http://127\.0\.0\.1:\d+", log_path.read_text())
        if m:
            return proc, m.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"the server did not start; see {log_path}")


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if "multiprocessing" in cmd and "resource_tracker" in cmd:
        return "resource tracker"
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        return "worker"
    return "main"


def server_rss(pid: int) -> list[tuple[int, str, float, float]]:
    """(pid, role, RSS, of which mapped files) of the server's processes."""
    return [(p, _role(p), rss_mb(p), rss_mb(p, "RssFile")) for p in process_tree(pid)]


def _ask(client: httpx.Client, q: ColdQuery) -> dict[str, Any]:
    params: list[tuple[str, str | int | float | bool | None]] = [("q", q.query)]
    if q.tag:
        params.append(("tag", q.tag))
    t = time.perf_counter()
    r = client.get("/api/search", params=params)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        return {"kind": q.kind, "ms": ms, "total": None, "error": f"{r.status_code}: {r.text[:200]}"}
    return {"kind": q.kind, "ms": ms, "total": r.json()["total"]}


def run(index: Path, queries: list[ColdQuery], timed: int, rss_after: int, work: Path) -> dict[str, Any]:
    """Time the first ``timed`` queries over HTTP; then, if ``rss_after`` is larger, send the next
    ones untimed until that many distinct queries were asked; then read every server's RSS."""
    log_path = work / "serve.log"
    proc, base = start_server(index, log_path, workers=2)
    out: dict[str, Any] = {"engine": "api", "url": base}
    try:
        with httpx.Client(base_url=base, timeout=120.0) as client:
            for _ in range(4):  # both workers up and their searchers open (no query terms read)
                client.get("/api/stats").raise_for_status()
            out["cold"] = [_ask(client, q) for q in queries[:timed]]
            extra = queries[timed:rss_after]
            for q in extra:
                _ask(client, q)
        out["asked_before_rss"] = timed + len(extra)
        out["servers"] = server_rss(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    errors = [r["error"] for r in out.get("cold", []) if "error" in r]
    if errors:
        print(f"{len(errors)} API errors, e.g. {errors[0]}", file=sys.stderr)
    if "Traceback" in log_path.read_text():
        print(f"the server logged tracebacks: see {log_path}", file=sys.stderr)
    return out
