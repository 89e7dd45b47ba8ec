"""The indexing daemon with the real watchdog observer (inotify, and polling) on tmp_path.

Each test runs a ``watch.Daemon`` in this process with the real Syncer and Whoosh index (the
indexer on the daemon's worker thread, ``isolate=False``; the event-kind tests run a second time
with the indexer in its child process and a kept worker pool, as `cablesearch watch` runs it,
where a batch takes in the files that become ready while it is written) and waits for
conditions on the index with a timeout — never a fixed sleep. A "barrier"
file proves that earlier events were handled before asserting that something did NOT happen.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from watch_support import CableMaker, wait_until

from cablesearch.config import Config
from cablesearch.daemon.client import find_running, read_status
from cablesearch.daemon.service import Daemon, inotify_limit_message
from cablesearch.engine.schema import unpack_cable
from cablesearch.errors import DaemonError
from cablesearch.index.manifest import Manifest
from cablesearch.index.store import CableIndex
from cablesearch.parse import is_skipped

MAKER = CableMaker()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Every test must leave no thread behind (observer, emitters, worker)."""
    before = set(threading.enumerate())
    yield
    wait_until(lambda: not (set(threading.enumerate()) - before), 10, message="the daemon's threads to end")


class Env:
    """A watched folder, an index folder, and daemons started on them (stopped at the end)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.root = tmp_path / "cables"
        self.root.mkdir()
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        self.index_dir = tmp_path / "index"
        self.daemons: list[Daemon] = []
        self._barrier = 0
        self.isolate = False  # the indexer on the worker thread unless a test says otherwise
        self.procs = 1

    def config(self, **kw: Any) -> Config:
        base: dict[str, Any] = dict(
            index_dir=self.index_dir,
            settle_seconds=0.2,
            batch_seconds=0.3,
            rescan_seconds=0.0,
            lock_timeout=10.0,
            procs=self.procs,
        )
        base.update(kw)
        return Config(**base)

    def start(self, isolate: bool | None = None, poll: bool = False, **kw: Any) -> Daemon:
        d = Daemon(
            self.config(**kw), [self.root], isolate=self.isolate if isolate is None else isolate, poll=poll
        )
        d.start()
        self.daemons.append(d)
        wait_until(lambda: d.idle, 30, message="the catch-up scan")
        return d

    def stop(self) -> None:
        for d in self.daemons:
            d.stop()
        self.daemons.clear()

    def cables(self) -> dict[str, Any]:
        """reference ID -> Cable, as the index holds them now."""
        # the library reads a newer commit when the daemon's commit replaces files meanwhile
        ix = CableIndex.open(self.index_dir, create=False)
        with ix.searcher() as s:
            return {f["reference_id"]: unpack_cable(f["record"]) for f in s.all_stored_fields()}

    def ids(self) -> set[str]:
        return set(self.cables())

    def sources(self) -> set[str]:
        with Manifest(self.index_dir) as m:
            return set(m.files())

    def barrier(self, d: Daemon, idle: bool = True) -> None:
        """Move a fresh cable in and wait until it is indexed (and the daemon idle): every
        event before it has been handled by then. Moved in, it gets no `closed` event, so it
        is indexed only after settle_seconds of quiet."""
        self._barrier += 1
        n = 90000 + self._barrier
        src = MAKER.write(self.outside / "staging", n)
        (self.root / "barrier").mkdir(exist_ok=True)
        src.rename(self.root / "barrier" / src.name)
        ref = MAKER.ref(n)
        wait_until(lambda: ref in self.ids() and (d.idle or not idle), 20, message=f"barrier {ref}")

    def body(self, ref: str) -> str:
        cable = self.cables().get(ref)
        return cable.body if cable is not None else ""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.stop()


@pytest.fixture(params=["in-thread", pytest.param("child-process", marks=pytest.mark.slow)])
def each_env(request: pytest.FixtureRequest, env: Env) -> Env:
    """``env`` twice: the indexer on the worker thread, then in its child process with two
    kept pool workers (`cablesearch watch`'s set-up; slower, so only in the full suite)."""
    if request.param == "child-process":
        env.isolate, env.procs = True, 2
    return env


def test_ignored_names() -> None:
    for name in (
        ".hidden.txt",
        "cable.txt.part",
        "x.crdownload",
        "x.tmp",
        "x.txt~",
        ".#x.txt",
        "x.txt.swp",
        ".x.txt.swp",
        "#x.txt#",
        "4913",
    ):
        assert is_skipped(name), name
    for name in ("08TRIPOLI505.txt", "cables.csv", "a.html", "part.txt", "tmp"):
        assert not is_skipped(name), name


def test_catch_up_after_downtime_indexes_adds_changes_and_removals(env: Env) -> None:
    keep, change, delete = (MAKER.write(env.root, n) for n in (1, 2, 3))
    d = env.start()
    wait_until(lambda: env.ids() == {MAKER.ref(1), MAKER.ref(2), MAKER.ref(3)}, 20)
    env.stop()
    # while no daemon runs: one added, one changed, one deleted, one untouched
    MAKER.write(env.root / "new", 4)
    change.write_text(MAKER.text(2, marker="zeppelinword"), encoding="utf-8")
    delete.unlink()
    d = env.start()
    assert env.ids() == {MAKER.ref(1), MAKER.ref(2), MAKER.ref(4)}
    assert "zeppelinword" in env.cables()[MAKER.ref(2)].body
    totals = d.status()["totals"]
    assert (totals["added"], totals["updated"], totals["removed"]) == (1, 1, 1)
    # the untouched file was skipped by size and mtime, not parsed again
    last = d.status()["last_commit"]
    assert last["kind"] == "catch-up"
    assert str(keep) not in {e["path"] for e in d.status()["recent_errors"]}
    assert totals["unchanged"] == 1


def test_file_written_in_chunks_is_indexed_once_when_complete(each_env: Env) -> None:
    env = each_env
    d = env.start()
    text = MAKER.text(5, marker="lastchunkword")
    path = env.root / f"{MAKER.ref(5)}.txt"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[: len(text) // 3])
        f.flush()
        wait_until(lambda: d.settling(str(path)), 10, message="the daemon to see the write")
        # Another file, moved in (no `closed` event: it settles by size+mtime); once it is
        # indexed, settle_seconds have passed since the first chunk — still not indexed.
        env.barrier(d, idle=False)
        assert MAKER.ref(5) not in env.ids()
        f.write(text[len(text) // 3 : 2 * len(text) // 3])
        f.flush()
        env.barrier(d, idle=False)
        assert MAKER.ref(5) not in env.ids()
        f.write(text[2 * len(text) // 3 :])
    wait_until(lambda: MAKER.ref(5) in env.ids(), 10)
    assert "lastchunkword" in env.cables()[MAKER.ref(5)].body
    env.barrier(d)
    assert d.status()["totals"]["updated"] == 0  # indexed once, never half-written


def test_modified_file_is_reindexed(each_env: Env) -> None:
    env = each_env
    path = MAKER.write(env.root, 6, marker="firstversion")
    d = env.start()
    assert "firstversion" in env.cables()[MAKER.ref(6)].body
    path.write_text(MAKER.text(6, marker="secondversion"), encoding="utf-8")
    wait_until(lambda: "secondversion" in env.body(MAKER.ref(6)), 10)
    assert env.ids() == {MAKER.ref(6)}
    wait_until(lambda: d.status()["totals"]["updated"] == 1 and d.idle, 5)


def test_rename_and_move_within_the_tree(each_env: Env) -> None:
    env = each_env
    path = MAKER.write(env.root, 7)
    d = env.start()
    renamed = env.root / "renamed.txt"
    path.rename(renamed)
    wait_until(lambda: str(renamed) in env.sources() and str(path) not in env.sources(), 10)
    (env.root / "deep" / "er").mkdir(parents=True)
    moved = env.root / "deep" / "er" / "moved.txt"
    renamed.rename(moved)
    wait_until(lambda: env.sources() == {str(moved)}, 10)
    assert env.ids() == {MAKER.ref(7)}
    env.barrier(d)


def test_temp_file_renamed_into_place(each_env: Env) -> None:
    env = each_env
    d = env.start()
    tmp = env.root / "incoming.txt.part"
    tmp.write_text(MAKER.text(8), encoding="utf-8")
    env.barrier(d)
    assert MAKER.ref(8) not in env.ids()  # a partial download is ignored
    tmp.rename(env.root / "incoming.txt")
    wait_until(lambda: MAKER.ref(8) in env.ids(), 10)


def test_moved_in_from_outside_and_moved_out(each_env: Env) -> None:
    env = each_env
    d = env.start()
    src = MAKER.write(env.outside, 9)
    dest = env.root / src.name
    src.rename(dest)
    wait_until(lambda: MAKER.ref(9) in env.ids(), 10)
    dest.rename(env.outside / "back.txt")
    wait_until(lambda: MAKER.ref(9) not in env.ids(), 10)
    # the manifest commit follows the index commit by a moment: wait for it too
    wait_until(lambda: str(dest) not in env.sources(), 10)
    env.barrier(d)


def test_old_file_moved_in_needs_no_settling(env: Env) -> None:
    """A file moved in from outside reads as "created" (no `closed`); when it was last
    written long ago it is complete: indexed at once, not after settle_seconds."""
    env.start(settle_seconds=30.0)
    src = MAKER.write(env.outside, 11)
    an_hour_ago = src.stat().st_mtime - 3600
    os.utime(src, (an_hour_ago, an_hour_ago))
    src.rename(env.root / src.name)
    wait_until(lambda: MAKER.ref(11) in env.ids(), 10, message="indexed well within 30 s")


def test_deleted_file_is_removed(each_env: Env) -> None:
    env = each_env
    path = MAKER.write(env.root, 10)
    env.start()
    assert MAKER.ref(10) in env.ids()
    path.unlink()
    wait_until(lambda: MAKER.ref(10) not in env.ids(), 10)


def test_folder_created_with_files_written_at_once(each_env: Env) -> None:
    env = each_env
    env.start()
    sub = env.root / "a" / "b"
    sub.mkdir(parents=True)  # files written before the new folder's watch exists
    refs = {MAKER.ref(n) for n in range(20, 40)}
    for n in range(20, 40):
        MAKER.write(sub, n)
    wait_until(lambda: refs <= env.ids(), 15)


def test_folder_moved_in_and_out_and_deleted(each_env: Env) -> None:
    env = each_env
    d = env.start()
    folder = env.outside / "batch"
    for n in range(40, 55):
        MAKER.write(folder / "inner", n)
    refs = {MAKER.ref(n) for n in range(40, 55)}
    shutil.move(str(folder), str(env.root / "batch"))
    wait_until(lambda: refs <= env.ids(), 15, message="a folder moved in")
    shutil.move(str(env.root / "batch"), str(env.outside / "gone"))
    wait_until(lambda: not (refs & env.ids()), 15, message="a folder moved out")
    shutil.move(str(env.outside / "gone"), str(env.root / "again"))
    wait_until(lambda: refs <= env.ids(), 15, message="the folder moved back in")
    (env.root / "again").rename(env.root / "renamed")  # a folder renamed inside the tree

    def renamed() -> bool:
        # the old folder's files are dropped (one commit), the new one's indexed once they
        # settle (the next): wait for both, not for "no file outside /renamed/", which also
        # holds in between, when the folder's files are recorded nowhere
        sources = env.sources()
        moved = [s for s in sources if "/renamed/" in s]
        return len(moved) == len(refs) and not any("/again/" in s for s in sources) and refs <= env.ids()

    wait_until(renamed, 15, message="a folder renamed inside the tree")
    shutil.rmtree(env.root / "renamed")
    wait_until(lambda: not (refs & env.ids()), 15, message="a folder deleted with its files")
    env.barrier(d)


def test_swap_files_dotfiles_and_partial_downloads_are_ignored(each_env: Env) -> None:
    env = each_env
    d = env.start()
    names = [
        ".hidden.txt",
        "x.txt.part",
        "x.crdownload",
        "x.tmp",
        "x.txt~",
        ".#x.txt",
        "x.txt.swp",
        ".x.txt.swp",
    ]
    for i, name in enumerate(names):
        MAKER.write(env.root, 60 + i, name=name)
    MAKER.write(env.root / ".git", 70)  # inside a hidden folder
    env.barrier(d)
    assert not ({MAKER.ref(60 + i) for i in range(len(names))} | {MAKER.ref(70)}) & env.ids()
    assert d.status()["recent_errors"] == []


def test_a_file_that_is_no_cable_is_reported_once(each_env: Env) -> None:
    env = each_env
    d = env.start()
    junk = env.root / "notes.txt"
    junk.write_text("shopping list: eggs, milk\n", encoding="utf-8")
    wait_until(lambda: any(e["path"] == str(junk) for e in d.status()["recent_errors"]), 10)
    d.request_rescan()
    wait_until(lambda: d.status()["totals"]["rescans"] == 1 and d.idle, 10)
    env.barrier(d)
    errors = [e for e in d.status()["recent_errors"] if e["path"] == str(junk)]
    assert len(errors) == 1
    junk.write_text("shopping list: eggs, milk, bread\n", encoding="utf-8")  # changed: again
    wait_until(lambda: len([e for e in d.status()["recent_errors"] if e["path"] == str(junk)]) == 2, 10)
    junk.write_text(MAKER.text(75), encoding="utf-8")  # now a cable
    wait_until(lambda: MAKER.ref(75) in env.ids(), 10)


@pytest.mark.slow
def test_burst_of_2000_files_becomes_a_few_commits(env: Env) -> None:
    d = env.start(isolate=True, procs=2)  # the real set-up: indexing in a child process
    before = d.commits
    refs = MAKER.burst(env.root / "burst", 1000, 2000, per_dir=400)
    wait_until(lambda: d.status()["doc_count"] == 2000 and d.idle, 90, message="2,000 files to be indexed")
    assert set(refs) <= env.ids()
    assert len(env.ids()) == 2000
    # Files that become ready while a batch is written join it (the indexer asks for them), so
    # the burst is a stream and a commit or two, not a batch per batch_seconds.
    assert d.commits - before <= 5, d.commits - before
    assert d.status()["totals"]["rejected"] == 0


@pytest.mark.slow
def test_files_arriving_while_a_batch_is_written_join_it(env: Env) -> None:
    """While the indexer writes a batch, files that become ready join it: one commit."""
    d = env.start(isolate=True, procs=2)
    before = d.commits
    refs = MAKER.burst(env.root / "first", 3000, 1000, per_dir=500)
    wait_until(lambda: d.status()["in_batch"] > 0, 30, message="a batch in hand")
    refs += [MAKER.ref(n) for n in range(4000, 4050)]
    for n in range(4000, 4050):  # 50 more while ~1,000 are being written
        MAKER.write(env.root / "second", n)
    wait_until(lambda: d.status()["doc_count"] == 1050 and d.idle, 60, message="1,050 files to be indexed")
    assert set(refs) == env.ids()
    assert d.commits - before == 1


@pytest.mark.slow
def test_batch_waits_for_files_still_settling(env: Env) -> None:
    """Files moved in from outside get no `closed` event and settle first; a batch started by
    a file that is ready at once waits for them (at most batch_seconds) instead of ending
    without them: one commit, not two. (batch_seconds, the most it waits, is raised from the
    tests' 0.3 s so that a loaded machine cannot make the settling outlast it.)"""
    d = env.start(isolate=True, procs=2, batch_seconds=3.0)
    before = d.commits
    staged = [MAKER.write(env.outside / "staging", n) for n in range(2000, 2300)]
    for src in staged:
        src.rename(env.root / src.name)
    MAKER.write(env.root / "written", 2300)  # closed after writing: ready at once
    wait_until(lambda: d.status()["doc_count"] == 301 and d.idle, 60, message="301 files to be indexed")
    assert {MAKER.ref(n) for n in range(2000, 2301)} == env.ids()
    assert d.commits - before == 1


def test_same_reference_id_in_two_files_latest_release_wins(each_env: Env) -> None:
    env = each_env
    d = env.start()
    ref = MAKER.ref(80)
    old = MAKER.write(env.root, 80, name="old.txt", released="2010-11-28 18:00", marker="oldrelease")
    wait_until(lambda: ref in env.ids(), 10)
    new = MAKER.write(env.root, 80, name="new.txt", released="2011-02-01 09:30", marker="newrelease")
    wait_until(lambda: "newrelease" in env.body(ref), 10)
    with CableIndex.open(env.index_dir).searcher() as s:  # one document for the ID
        assert [f["reference_id"] for f in s.all_stored_fields()].count(ref) == 1
    new.unlink()  # the newer file goes: the older text comes back
    wait_until(lambda: "oldrelease" in env.body(ref), 10)
    new = MAKER.write(env.root, 80, name="new.txt", released="2011-02-01 09:30", marker="newrelease")
    wait_until(lambda: "newrelease" in env.cables()[ref].body, 10)
    old.unlink()  # the older file goes: the newer stays
    env.barrier(d)
    assert "newrelease" in env.cables()[ref].body
    new.unlink()
    wait_until(lambda: ref not in env.ids(), 10)


@pytest.mark.slow
def test_polling_observer(env: Env) -> None:
    d = env.start(poll=True)
    path = MAKER.write(env.root / "sub", 85)
    wait_until(lambda: MAKER.ref(85) in env.ids(), 15)
    path.write_text(MAKER.text(85, marker="polledchange"), encoding="utf-8")
    wait_until(lambda: "polledchange" in env.cables()[MAKER.ref(85)].body, 15)
    path.unlink()
    wait_until(lambda: MAKER.ref(85) not in env.ids(), 15)
    assert d.status()["observer"] == "polling"


def test_overflow_warning_triggers_a_rescan(env: Env) -> None:
    d = env.start()
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    wait_until(lambda: d.status()["totals"]["rescans"] == 1 and d.idle, 10)
    assert any("overflowed" in e["message"] for e in d.status()["recent_errors"])


def test_status_file_and_find_running(env: Env) -> None:
    assert find_running(env.index_dir) is None
    d = env.start()
    MAKER.write(env.root, 90)
    wait_until(lambda: MAKER.ref(90) in env.ids(), 10)
    wait_until(lambda: (read_status(env.index_dir) or {}).get("doc_count") == 1, 10)
    info = find_running(env.index_dir)
    assert info is not None and info.pid == os.getpid()
    assert info.roots == [str(env.root)]
    status = read_status(env.index_dir)
    assert status is not None
    assert status["state"] == "watching" and status["queue"] == 0
    assert status["last_commit"]["added"] == 1
    d.stop()
    assert find_running(env.index_dir) is None
    assert (read_status(env.index_dir) or {})["state"] == "stopped"


def test_one_daemon_per_index(env: Env) -> None:
    env.start()
    second = Daemon(env.config(), [env.root], isolate=False)
    with pytest.raises(DaemonError, match=r"already keeps the index .* current"):
        second.start()


def test_missing_folder_is_a_clear_error(env: Env) -> None:
    with pytest.raises(DaemonError, match="no such folder"):
        Daemon(env.config(), [env.tmp / "nope"], isolate=False).start()
    assert find_running(env.index_dir) is None


def test_inotify_limit_message_names_the_fix(env: Env) -> None:
    message = inotify_limit_message(OSError(errno.ENOSPC, "inotify watch limit reached"), [env.root])
    assert "sudo sysctl fs.inotify.max_user_watches=" in message and "--poll" in message
    # The real thing: use up this user's inotify instances, then start a daemon.
    libc = ctypes.CDLL(None, use_errno=True)
    fds = []
    try:
        while len(fds) < 10000:
            fd = libc.inotify_init()
            if fd < 0:
                break
            fds.append(fd)
        with pytest.raises(DaemonError, match=r"fs\.inotify\.max_user_instances") as info:
            Daemon(env.config(), [env.root], isolate=False).start()
    finally:
        for fd in fds:
            os.close(fd)
    assert "--poll" in str(info.value)
    assert find_running(env.index_dir) is None
