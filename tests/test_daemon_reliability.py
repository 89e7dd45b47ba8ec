"""The daemon under hostile conditions, with the real things: a SIGTERM to the whole process
group of `cablesearch watch`, a folder tree ~1,100 levels deep moved into a watched folder,
FIFOs (handed off, in the tree, in the inbox), a full disk (a small real tmpfs, and ENOSPC at
the batch boundary), a damaged manifest, and a hand-off's progress. Conditions are polled with
a timeout, never slept for."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from watch_support import CableMaker, wait_until

from cablesearch.config import Config
from cablesearch.daemon import client
from cablesearch.daemon.messages import Apply, Known, KnownFiles, Progress, Reply, Request
from cablesearch.daemon.service import Daemon
from cablesearch.daemon.worker import SyncService
from cablesearch.index.store import CableIndex

MAKER = CableMaker()
CLI = [sys.executable, "-c", "from cablesearch.cli import main; main()"]


def _config(tmp: Path, index_dir: Path | None = None, **kw: Any) -> Config:
    base: dict[str, Any] = dict(
        index_dir=index_dir or tmp / "index",
        settle_seconds=0.2,
        batch_seconds=0.3,
        rescan_seconds=0.0,
        lock_timeout=10.0,
        procs=1,
    )
    return Config(**(base | kw))


def _ids(index_dir: Path) -> set[str]:
    ix = CableIndex.open(index_dir, create=False)
    with ix.searcher() as s:
        return {f["reference_id"] for f in s.all_stored_fields()}


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons started by a test, stopped at its end; no thread of theirs may be left."""
    before = set(threading.enumerate())
    started: list[Daemon] = []
    yield started
    for d in started:
        d.stop()
    wait_until(lambda: not (set(threading.enumerate()) - before), 10, message="the daemon's threads to end")


def _start(daemons: list[Daemon], config: Config, root: Path, **kw: Any) -> Daemon:
    d = Daemon(config, [root], isolate=kw.pop("isolate", False), **kw)
    d.start()
    daemons.append(d)
    wait_until(lambda: d.idle, 30, message="the catch-up scan")
    return d


def _errors(d: Daemon) -> list[str]:
    return [f"{e['path']}: {e['message']}" for e in d.status()["recent_errors"]]


# ------------------------------------------------------------------ SIGTERM to the process group


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, pgid) of every process, from /proc."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(name)] = (int(fields[1]), int(fields[2]))
    return table


def _family(pid: int) -> set[int]:
    """``pid``, its descendants, and every process in its process group."""
    table = _processes()
    family = {pid} | {p for p, (_, pgid) in table.items() if pgid == pid}
    grew = True
    while grew:
        more = {p for p, (ppid, _) in table.items() if ppid in family} - family
        family |= more
        grew = bool(more)
    return family


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    table = _processes()
    for pid in pids:
        if pid in table and "zombie" not in _state(pid):
            alive.add(pid)
    return alive


def _state(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line.lower()
    except OSError:
        return "gone"
    return ""


@pytest.mark.slow
def test_sigterm_to_the_process_group_stops_watch_with_no_process_left(tmp_path: Path) -> None:
    """What `timeout`, `kill -TERM -- -PGID` and systemd do: every process of the group gets
    SIGTERM. The daemon stops at once (it was idle) and leaves no indexer, pool worker or
    resource tracker behind. (It used to take 60-65 s and leave three processes under PID 1.)"""
    root = tmp_path / "cables"
    for n in range(5):
        MAKER.write(root, n)
    index_dir = tmp_path / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABLESEARCH_")}
    env |= {"CABLESEARCH_SETTLE_SECONDS": "0.2", "CABLESEARCH_PROCS": "2", "CABLESEARCH_RESCAN_SECONDS": "0"}
    log = tmp_path / "watch.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            ["setsid", *CLI, "--index", str(index_dir), "watch", str(root)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_until(
            lambda: (
                (client.read_status(index_dir) or {}).get("state") == "watching" or proc.poll() is not None
            ),
            60,
            message="the daemon to catch up",
        )
        assert proc.poll() is None, log.read_text()
        family = _family(proc.pid)
        assert len(family) >= 5, family  # daemon, resource tracker, indexer, two pool workers
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
        seconds = time.monotonic() - started
        wait_until(lambda: not _alive(family), 10, message=f"no process of {sorted(family)} to be left")
        print(f"group SIGTERM: watch exited after {seconds:.2f} s, all {len(family)} processes gone")
        text = log.read_text()
        assert text.rstrip().endswith("stopped") and "Traceback" not in text
        assert _ids(index_dir) == {MAKER.ref(n) for n in range(5)}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# ------------------------------------------------------------------------------ a deep tree


def _make_deep(parent: Path, name: str, depth: int, leaf: str) -> None:
    """``parent/name/d/d/.../d`` ``depth`` levels deep with a cable at the bottom, built with
    directory fds (absolute paths that long are refused)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    os.mkdir(name, dir_fd=fd)
    cur = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    for _ in range(depth):
        os.mkdir("d", dir_fd=cur)
        nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=cur)
        os.close(cur)
        cur = nxt
    out = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=cur)
    os.write(out, leaf.encode("utf-8"))
    os.close(out)
    os.close(cur)


def _remove_tree(top: Path) -> None:
    """Remove a tree of any depth without recursion, through directory fds (shutil.rmtree and
    pytest's clean-up would recurse and fail, also in other sessions sharing the tmp root)."""
    if not top.exists():
        return
    stack = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    names: list[str] = [""]
    while stack:
        with os.scandir(stack[-1]) as it:
            entry = next(iter(it), None)
        if entry is None:
            os.close(stack.pop())
            name = names.pop()
            if stack:
                os.rmdir(name, dir_fd=stack[-1])
        elif entry.is_dir(follow_symlinks=False):
            stack.append(os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=stack[-1]))
            names.append(entry.name)
        else:
            os.unlink(entry.name, dir_fd=stack[-1])
    top.rmdir()


@pytest.fixture
def deep_places(tmp_path: Path) -> Iterator[list[Path]]:
    """Where deep trees are made; removed after the test whatever happened."""
    places: list[Path] = []
    yield places
    for place in places:
        _remove_tree(place)


@pytest.mark.slow
def test_a_very_deep_tree_moved_in_does_not_silence_the_daemon(
    tmp_path: Path, daemons: list[Daemon], deep_places: list[Path]
) -> None:
    """watchdog walks a moved-in tree recursively; ~1,100 levels end its thread with
    RecursionError (and its restart, which walks the tree again, fails the same way). The
    daemon names that in its status, keeps retrying, rescans (its own walks have no recursion:
    the cable at the bottom is indexed), and new files keep being indexed without waiting for
    the periodic rescan (off here)."""
    root = tmp_path / "cables"
    root.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()
    deep_places.extend([staging / "deep", root / "deep"])
    d = _start(daemons, _config(tmp_path), root)
    _make_deep(staging, "deep", 1100, MAKER.text(1))
    os.rename(staging / "deep", root / "deep")
    if sys.version_info < (3, 12):
        # watchdog walks the moved-in tree with os.walk, which recursed before Python 3.12
        wait_until(
            lambda: any("file-watching thread" in e for e in _errors(d)), 30, message="the dead watcher named"
        )
        assert "RecursionError" in " ".join(_errors(d))
        assert "down: " in d.status()["observer"]
    # from 3.12 the watcher survives and reports each of the 1,100 folders as new: each is
    # walked once (not depth² folder listings), and the daemon goes on
    wait_until(lambda: MAKER.ref(1) in _ids(d.index_dir), 60, message="the cable at the bottom")
    MAKER.write(root / "later", 2)
    wait_until(lambda: MAKER.ref(2) in _ids(d.index_dir), 60, message="a cable dropped after the deep tree")
    assert d.running


class _OneBadAnswer:
    """The real SyncService, but its first answer to a rescan's Known is malformed (as a bug
    on the index side would make it): the daemon's worker loop fails on it."""

    def __init__(self, config: Config):
        self.real = SyncService(config)
        self.broken = False

    def handle(self, request: Request, more: Any = None, progress: Any = None) -> Reply:
        reply = self.real.handle(request, more, progress)
        if isinstance(request, Known) and not self.broken and _ids_any(self.real):
            self.broken = True
            return KnownFiles(None)  # type: ignore[arg-type]
        return reply

    def doc_count(self) -> int | None:
        return self.real.doc_count()

    def close(self) -> None:
        self.real.close()


def _ids_any(service: SyncService) -> bool:
    return bool(service.doc_count())


def test_a_failing_worker_loop_is_named_and_restarted(tmp_path: Path, daemons: list[Daemon]) -> None:
    root = tmp_path / "cables"
    MAKER.write(root, 60)
    config = _config(tmp_path)
    d = _start(daemons, config, root, service=_OneBadAnswer(config))
    d.request_rescan()
    wait_until(
        lambda: any("the daemon's worker failed (TypeError" in e for e in _errors(d)),
        30,
        message="the failure",
    )
    MAKER.write(root, 61)
    wait_until(lambda: MAKER.ref(61) in _ids(d.index_dir), 60, message="a cable after the restart")
    assert d.running and _ids(d.index_dir) == {MAKER.ref(60), MAKER.ref(61)}


# ------------------------------------------------------------------------------------ FIFOs


@pytest.mark.slow
def test_a_fifo_never_wedges_the_daemon(tmp_path: Path, daemons: list[Daemon]) -> None:
    """A FIFO handed off, a FIFO in a handed-off folder, a FIFO in the watched tree and a FIFO
    in the inbox: each is named in one line, and the daemon goes on indexing."""
    root = tmp_path / "cables"
    root.mkdir()
    d = _start(daemons, _config(tmp_path, procs=2), root, isolate=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "pipe.txt")
    handoff = client.hand_off(d.index_dir, [outside / "pipe.txt"])
    report = handoff.wait(60)
    assert report is not None, "the hand-off of a FIFO was not answered"
    assert report["rejected"] == [f"{outside / 'pipe.txt'}: a FIFO, not a regular file; skipped"]

    folder = tmp_path / "folder"
    MAKER.write(folder, 10)
    os.mkfifo(folder / "fifo.txt")
    report = client.hand_off(d.index_dir, [folder]).wait(60)
    assert report is not None and report["added"] == 1
    assert report["rejected"] == [f"{folder / 'fifo.txt'}: a FIFO, not a regular file; skipped"]

    os.mkfifo(root / "in-tree.txt")
    inbox = d.index_dir / client.INBOX_DIR
    os.mkfifo(inbox / "0-fifo.json")
    MAKER.write(root, 11)
    wait_until(lambda: MAKER.ref(11) in _ids(d.index_dir), 30, message="a cable dropped after the FIFOs")
    wait_until(
        lambda: not (inbox / "0-fifo.json").exists(), 30, message="the FIFO in the inbox to be removed"
    )
    errors = _errors(d)
    assert errors.count(f"{root / 'in-tree.txt'}: a FIFO, not a regular file; skipped") == 1
    assert any("0-fifo.json" in e and "unreadable hand-off request" in e for e in errors)
    assert d.status()["inbox"] == 0 and d.running


# ------------------------------------------------------------------------------ a full disk


class _DiskFullFirst:
    """The real SyncService, except that its first ``failures`` batches fail with ENOSPC as a
    full disk makes them fail (at the batch boundary, before anything is written)."""

    def __init__(self, config: Config, failures: int):
        self.real = SyncService(config)
        self.failures = failures
        self.applied = 0

    def handle(self, request: Request, more: Any = None, progress: Any = None) -> Reply:
        if isinstance(request, Apply) and request.changed:
            self.applied += 1
            if self.applied <= self.failures:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real.handle(request, more, progress)

    def doc_count(self) -> int | None:
        return self.real.doc_count()

    def close(self) -> None:
        self.real.close()


@pytest.mark.slow
def test_enospc_at_the_batch_boundary_is_waited_out(tmp_path: Path, daemons: list[Daemon]) -> None:
    root = tmp_path / "cables"
    root.mkdir()
    config = _config(tmp_path)
    service = _DiskFullFirst(config, failures=2)
    d = _start(daemons, config, root, service=service)
    MAKER.write(root, 20)
    wait_until(lambda: MAKER.ref(20) in _ids(d.index_dir), 60, message="the cable after the disk has room")
    assert service.applied == 3 and d.running
    full = [e for e in _errors(d) if "no space left" in e]
    assert len(full) == 1 and "the committed index is intact; retrying in" in full[0]


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_a_really_full_disk_is_waited_out_and_the_index_stays_intact(
    tmp_path: Path, small_tmpfs: Path, daemons: list[Daemon]
) -> None:
    """The index on a 4 MB tmpfs: filled up, a burst cannot be committed; the daemon says so
    once, keeps the committed index, and indexes the burst once there is room again."""
    root = tmp_path / "cables"
    root.mkdir()
    index_dir = small_tmpfs / "index"
    d = _start(daemons, _config(tmp_path, index_dir), root, isolate=True)
    MAKER.write(root, 30)
    wait_until(lambda: d.status()["doc_count"] == 1, 30, message="the first cable")
    filler = small_tmpfs / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    refs = MAKER.burst(root / "burst", 31, 200)
    wait_until(lambda: any("no space left" in e for e in _errors(d)), 60, message="the full disk to be named")
    assert _ids(index_dir) == {MAKER.ref(30)}  # the committed index is intact
    assert d.running
    filler.unlink()
    wait_until(lambda: _ids(index_dir) == {MAKER.ref(30), *refs}, 120, message="the burst once there is room")
    assert len([e for e in _errors(d) if "no space left" in e]) == 1


# --------------------------------------------------------------------------- a damaged manifest


@pytest.mark.slow
def test_a_damaged_manifest_is_one_line_that_says_to_rebuild(tmp_path: Path) -> None:
    root = tmp_path / "cables"
    MAKER.write(root, 40)
    index_dir = tmp_path / "index"
    d = Daemon(_config(tmp_path), [root], isolate=False)
    d.start()
    wait_until(lambda: d.idle, 30, message="the catch-up")
    d.stop()
    (index_dir / "manifest.sqlite").write_bytes(b"this is not an SQLite database, it was overwritten" * 100)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABLESEARCH_")}
    result = subprocess.run(
        [*CLI, "--index", str(index_dir), "watch", str(root)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cablesearch index --rebuild" in errors[0], result.stderr
    assert "manifest" in errors[0]
    assert len(result.stderr.splitlines()) < 10, result.stderr  # it does not spin


# ------------------------------------------------------------------------ hand-off progress


class _PausingService:
    """The real SyncService; the first progress of a hand-off is held until the test saw it."""

    def __init__(self, config: Config):
        self.real = SyncService(config)
        self.seen = threading.Event()

    def handle(
        self, request: Request, more: Any = None, progress: Callable[[Progress], None] | None = None
    ) -> Reply:
        def held(p: Progress) -> None:
            assert progress is not None
            progress(p)
            self.seen.wait(30)

        return self.real.handle(request, more, held if progress is not None else None)

    def doc_count(self) -> int | None:
        return self.real.doc_count()

    def close(self) -> None:
        self.real.close()


def test_a_hand_off_shows_its_progress(tmp_path: Path, daemons: list[Daemon]) -> None:
    root = tmp_path / "cables"
    root.mkdir()
    config = _config(tmp_path)
    service = _PausingService(config)
    d = _start(daemons, config, root, service=service)
    folder = tmp_path / "folder"
    for n in range(50, 60):
        MAKER.write(folder, n)
    handoff = client.hand_off(d.index_dir, [folder])
    seen: list[dict[str, Any]] = []

    def on_progress(p: dict[str, Any]) -> None:
        seen.append(p)
        service.seen.set()

    report = handoff.wait(60, on_progress=on_progress)
    assert report is not None and report["added"] == 10
    assert seen and seen[0]["files_total"] == 10 and 1 <= seen[0]["files_done"] <= 10
    assert set(seen[0]) >= {"bytes_done", "bytes_total", "cables", "elapsed"}
    assert not handoff.path.with_suffix(client.PROGRESS_SUFFIX).exists()


def test_a_damaged_manifest_in_process_lets_go_of_the_index(tmp_path: Path, daemons: list[Daemon]) -> None:
    """Embedded (serve --watch), the daemon stops on a damaged manifest, says why in its
    status, and releases its lock so that the rebuild can run."""
    root = tmp_path / "cables"
    MAKER.write(root, 41)
    d = _start(daemons, _config(tmp_path), root)
    (d.index_dir / "manifest.sqlite").write_bytes(b"not a database " * 200)
    MAKER.write(root, 42)
    d.request_rescan()
    wait_until(lambda: not d.running, 30, message="the daemon to stop")
    assert client.find_running(d.index_dir) is None
    status = client.read_status(d.index_dir) or {}
    assert status["state"] == "failed"
    assert any("cablesearch index --rebuild" in e["message"] for e in status["recent_errors"])
