"""`cablesearch watch` / `status` / `index` hand-off as real processes: SIGTERM finishes the batch
and exits 0; kill -9 in the middle of a burst, then a restart, loses nothing (stale locks
included); status output; the one-writer hand-off. Conditions are polled, never slept for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from watch_support import CableMaker, wait_until

from cablesearch.daemon.client import find_running, read_status
from cablesearch.index.store import CableIndex

MAKER = CableMaker()
CLI = [sys.executable, "-c", "from cablesearch.cli import main; main()"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABLESEARCH_")}
    env.update(
        CABLESEARCH_SETTLE_SECONDS="0.2",
        CABLESEARCH_BATCH_SECONDS="0.3",
        CABLESEARCH_RESCAN_SECONDS="0",
        CABLESEARCH_PROCS="2",
    )
    return env


class Proc:
    """A `cablesearch watch` process in its own process group (so kill -9 can take the daemon
    and its indexer child together, the worst case)."""

    def __init__(self, tmp: Path, index_dir: Path, root: Path, n: int):
        self.log = tmp / f"watch-{n}.log"
        self.index_dir = index_dir
        with open(self.log, "wb") as log:
            self.popen = subprocess.Popen(
                CLI + ["--index", str(index_dir), "watch", str(root)],
                cwd=tmp,
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )

    def status(self) -> dict[str, Any]:
        return read_status(self.index_dir) or {}

    def wait_ready(self) -> None:
        wait_until(
            lambda: (
                (
                    self.status().get("pid") == self.popen.pid
                    and self.status().get("state") == "watching"
                    and self.status().get("queue") == 0
                )
                or self.popen.poll() is not None
            ),
            60,
            message="the daemon to start and catch up",
        )
        assert self.popen.poll() is None, self.stderr()

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path / "cables"
    root.mkdir()
    procs: list[Proc] = []

    def start() -> Proc:
        p = Proc(tmp_path, tmp_path / "index", root, len(procs))
        procs.append(p)
        p.wait_ready()
        return p

    yield {"root": root, "index": tmp_path / "index", "tmp": tmp_path, "start": start}
    for p in procs:
        p.stop()


def run_cli(tmp: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + list(args), cwd=tmp, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def index_ids(index_dir: Path) -> list[str]:
    ix = CableIndex.open(index_dir, create=False)
    with ix.searcher() as s:
        return [f["reference_id"] for f in s.all_stored_fields()]


def test_status_when_no_daemon_ever_ran(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--index", str(tmp_path / "index"), "status")
    assert result.returncode == 3
    assert result.stdout.startswith("daemon: not running (no daemon has run for the index")


def test_watch_a_missing_folder_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--index", str(tmp_path / "index"), "watch", str(tmp_path / "no"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot watch {tmp_path / 'no'}: no such folder; create it or fix watch_dirs in config.toml"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_watch_logs_batches_status_and_sigterm_exits_0(cli_env: dict[str, Any]) -> None:
    root, index_dir, tmp = cli_env["root"], cli_env["index"], cli_env["tmp"]
    for n in range(3):
        MAKER.write(root, n)
    daemon = cli_env["start"]()
    assert sorted(index_ids(index_dir)) == sorted(MAKER.ref(n) for n in range(3))
    (root / "junk.txt").write_text("not a cable at all\n", encoding="utf-8")
    MAKER.write(root / "more", 3)
    wait_until(
        lambda: daemon.status().get("doc_count") == 4 and daemon.status()["totals"]["rejected"] == 1, 20
    )

    result = run_cli(tmp, "--index", str(index_dir), "status")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith(f"daemon: running (pid {daemon.popen.pid}, inotify, since ")
    assert f"watching: {root}" in out
    assert "queue: 0 paths waiting" in out
    assert "last commit: " in out and "counts: 4 cables in the index" in out
    assert f"{root / 'junk.txt'}: not a cable" in out
    data = json.loads(run_cli(tmp, "--index", str(index_dir), "status", "--json").stdout)
    assert data["running"] is True and data["pid"] == daemon.popen.pid
    assert data["status"]["roots"] == [str(root)]

    daemon.popen.send_signal(signal.SIGTERM)
    assert daemon.popen.wait(60) == 0
    log = daemon.stderr()
    assert "catch-up: 3 files under" in log
    assert "batch: " in log and "-> 1 added" in log
    assert f"warning: skipped {root / 'junk.txt'}: not a cable" in log
    assert log.rstrip().endswith("stopped")
    assert "Traceback" not in log
    assert find_running(index_dir) is None
    result = run_cli(tmp, "--index", str(index_dir), "status")
    assert result.returncode == 3
    assert f"daemon: not running (last pid {daemon.popen.pid} stopped;" in result.stdout


@pytest.mark.slow
def test_sigterm_during_a_burst_commits_the_batch_in_hand(cli_env: dict[str, Any]) -> None:
    root, index_dir = cli_env["root"], cli_env["index"]
    daemon = cli_env["start"]()
    refs = MAKER.burst(root / "burst", 2000, 800)
    wait_until(
        lambda: daemon.status().get("in_batch", 0) > 0, 60, message="a batch to be in the indexer's hands"
    )
    daemon.popen.send_signal(signal.SIGTERM)
    assert daemon.popen.wait(120) == 0
    status = daemon.status()
    assert status["state"] == "stopped"
    ids = index_ids(index_dir)
    assert len(ids) == len(set(ids)) == status["doc_count"] > 0  # the batch was committed
    # what was left is caught up by the next start
    again = cli_env["start"]()
    wait_until(lambda: again.status().get("doc_count") == 800, 120)
    assert sorted(index_ids(index_dir)) == sorted(refs)


@pytest.mark.slow
def test_kill9_in_the_middle_of_a_burst_then_restart_loses_nothing(cli_env: dict[str, Any]) -> None:
    root, index_dir, tmp = cli_env["root"], cli_env["index"], cli_env["tmp"]
    daemon = cli_env["start"]()
    refs: list[str] = []
    writer = threading.Thread(target=lambda: refs.extend(MAKER.burst(root / "burst", 5000, 1500)))
    writer.start()
    try:
        # kill the daemon and its indexer while a batch is being written (lock held)
        wait_until(lambda: daemon.status().get("in_batch", 0) > 0, 90, message="a batch in flight")
        daemon.kill9()
    finally:
        writer.join()
    assert find_running(index_dir) is None
    result = run_cli(tmp, "--index", str(index_dir), "status")
    assert result.returncode == 3 and "did not stop cleanly" in result.stdout
    before = len(index_ids(index_dir))
    assert before < 1500

    # files changed while no daemon runs are caught up as well
    MAKER.write(root, 9999)
    again = cli_env["start"]()
    wait_until(
        lambda: again.status().get("doc_count") == 1501 and again.status()["queue"] == 0,
        120,
        message="the restarted daemon to catch up",
    )
    ids = index_ids(index_dir)
    assert len(ids) == len(set(ids)) == 1501
    assert set(ids) == set(refs) | {MAKER.ref(9999)}
    assert "Traceback" not in again.stderr()


@pytest.mark.slow
def test_index_command_hands_off_to_the_running_daemon(cli_env: dict[str, Any]) -> None:
    index_dir, tmp = cli_env["index"], cli_env["tmp"]
    daemon = cli_env["start"]()
    elsewhere = tmp / "elsewhere"
    for n in range(100, 105):
        MAKER.write(elsewhere, n)
    result = run_cli(tmp, "--index", str(index_dir), "index", str(elsewhere))
    assert result.returncode == 0, result.stderr
    assert f"daemon (pid {daemon.popen.pid})" in result.stderr
    assert "handed 1 path(s)" in result.stderr
    assert result.stdout.strip().startswith("5 added")
    assert set(index_ids(index_dir)) == {MAKER.ref(n) for n in range(100, 105)}
    assert daemon.status()["totals"]["handoffs"] == 1
    # the daemon's report names a rejected file with its reason, and counts a cable whose ID
    # is indexed from another file
    more = tmp / "more"
    more.mkdir()
    (more / "empty.txt").write_bytes(b"")
    MAKER.write(more, 100, name="older-release.txt", released="2010-11-28 18:00")
    again = run_cli(tmp, "--index", str(index_dir), "index", str(more))
    assert again.returncode == 1
    assert f"rejected: {more / 'empty.txt'}: " in again.stderr and "{" not in again.stderr
    assert again.stdout.strip().endswith("1 rejected, 1 duplicate of cables indexed from other files")
    # a second daemon on the same index is refused
    second = run_cli(tmp, "--index", str(index_dir), "watch", str(cli_env["root"]), timeout=60)
    assert second.returncode == 1
    assert f"another indexing daemon (pid {daemon.popen.pid}) already keeps" in second.stderr
    # ... and so is `serve --watch`, before it says it serves anything
    server = run_cli(
        tmp, "--index", str(index_dir), "serve", "--port", "0", "--watch", str(cli_env["root"]), timeout=60
    )
    assert server.returncode == 1
    assert f"another indexing daemon (pid {daemon.popen.pid}) already keeps" in server.stderr
    assert "serving" not in server.stdout and "Traceback" not in server.stderr


@pytest.mark.slow
def test_index_hand_off_shows_the_daemons_progress_on_a_terminal(cli_env: dict[str, Any]) -> None:
    """On a terminal, `index` draws the daemon's progress on the hand-off (count, rate, ETA)
    as it draws its own sync's, then prints the report."""
    import pty

    index_dir, tmp = cli_env["index"], cli_env["tmp"]
    cli_env["start"]()
    folder = tmp / "many"
    MAKER.burst(folder, 7000, 400, per_dir=400)
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = subprocess.run(
            CLI + ["--index", str(index_dir), "index", str(folder)],
            cwd=tmp,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=120,
        )
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert result.returncode == 0, shown
    assert result.stdout.strip().startswith("400 added"), result.stdout
    assert "handed 1 path(s)" in shown
    assert "cables" in shown and "/s  ETA " in shown, shown
