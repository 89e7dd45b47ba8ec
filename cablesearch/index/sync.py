"""Incremental indexing, the driver: make the index follow a set of files, folders and
cables.csv files.

``Syncer.sync_paths`` is the ``cablesearch index`` command; ``Syncer.apply`` is what the daemon
calls for each batch of events (one commit per call).

Decisions per file (the manifest remembers size, mtime, content hash and the cables each file
gave): same size and mtime -> unchanged, not even read (:mod:`.plan`); otherwise read and
hashed -> same hash -> unchanged (new mtime recorded); otherwise parsed and its cables put
(:mod:`.run` decides which file wins a reference ID). Reading, parsing and analysis run in
``procs`` worker processes (:mod:`cablesearch.workers`, :mod:`.work`, fed by :mod:`.feed`);
this process only decides, writes prepared documents and keeps the manifest. Commits happen
every ``commit_every`` cables or ``commit_seconds``; the manifest transaction is committed
right after each index commit, so an interrupted run leaves a consistent index and manifest.
"""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from cablesearch import parse, workers
from cablesearch.config import Config
from cablesearch.errors import DiskFull
from cablesearch.index.feed import Feed
from cablesearch.index.lock import LockHolder
from cablesearch.index.manifest import Manifest
from cablesearch.index.plan import expand, plan, top_up
from cablesearch.index.report import SyncProgress, SyncReport, counts_line
from cablesearch.index.run import SyncRun, interrupts_held
from cablesearch.index.store import CableIndex

# names other modules import from here
__all__ = [
    "COMMIT_EVERY",
    "SyncProgress",
    "SyncReport",
    "Syncer",
    "counts_line",
    "interrupts_held",
    "make_pool",
]

# Each commit makes one segment, segments of 5,000+ cables are never merged (merge.py), and a
# query looks every term up in every segment: the whole release in commits of 25,000 is 11
# segments (26 at 10,000; cold queries' p50 -20%). A segment's postings are held in memory
# until its commit: ~0.7 GB for 25,000 release cables (peak RSS 0.87-0.94 GB over the whole
# release, against 0.78 GB with commits of 10,000 before their values were shared).
COMMIT_EVERY = 25_000
COMMIT_SECONDS = 120.0
POOL_MIN_FILES = 64

make_pool = workers.make_pool


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (SQLite says so in words, not with ENOSPC)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.OperationalError) and ("full" in str(exc) or "disk I/O" in str(exc))


class Syncer:
    """Keeps an index in step with source files (see the module docstring)."""

    def __init__(
        self,
        index: CableIndex,
        config: Config | None = None,
        *,
        procs: int | None = None,
        commit_every: int = COMMIT_EVERY,
        commit_seconds: float = COMMIT_SECONDS,
        on_wait: Callable[[LockHolder | None], None] | None = None,
        pool: Any = None,
    ):
        self.index = index
        # A worker pool kept by the caller (the daemon's indexer process, which starts it before
        # it ever holds the index lock); without one, each sync starts and ends its own.
        self.pool = pool
        self.config = config or Config()
        self.procs = self.config.procs if procs is None else procs
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.on_wait = on_wait
        self.lock_timeout = self.config.lock_timeout

    def sync_paths(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Index new and changed files under ``paths`` (files, folders, cables.csv), skip
        unchanged ones; with ``prune``, remove the cables of recorded files under ``paths`` that
        are gone."""
        started = time.monotonic()
        report = SyncReport()
        paths = list(paths)
        files = [str(Path(p).absolute()) for p in parse.iter_files(paths, report.rejected.append)]
        files = list(dict.fromkeys(files))
        roots = [str(Path(p).absolute()) for p in paths if Path(p).exists()]
        self._sync(files, None, roots if prune else None, report, progress, started)
        report.seconds = time.monotonic() - started
        return report

    def apply(
        self,
        changed: Iterable[str | Path],
        removed: Iterable[str | Path],
        more: Callable[[bool], Iterable[str | Path]] | None = None,
    ) -> SyncReport:
        """Index ``changed`` files (new or modified; unchanged ones are skipped) and drop the
        cables of ``removed`` files, in one commit. For the daemon.

        ``more``, if given, is asked for further changed paths whenever the work in hand runs
        low (its argument says whether nothing at all is in hand), and they join this same
        commit; the sync ends once it has nothing in hand and ``more`` gives nothing. A burst
        of files that arrive over some seconds becomes one commit and one stream of work for
        the workers, not a series of small batches."""
        started = time.monotonic()
        report = SyncReport()
        files = expand(changed)
        gone: list[str] = []
        if removed:
            with Manifest(self.index.index_dir) as m:
                # a removed folder takes every recorded file under it along
                gone = m.files_under([str(Path(p).absolute()) for p in removed])
        self._sync(files, gone, None, report, None, started, single_commit=True, more=more)
        report.seconds = time.monotonic() - started
        return report

    def _sync(
        self,
        files: list[str],
        removed: list[str] | None,
        prune_roots: list[str] | None,
        report: SyncReport,
        progress: Callable[[SyncProgress], None] | None,
        started: float,
        single_commit: bool = False,
        more: Callable[[bool], Iterable[str | Path]] | None = None,
    ) -> None:
        manifest = Manifest(self.index.index_dir)
        try:
            stats: list[tuple[str, os.stat_result | None]] = []
            for path in files:
                try:
                    stats.append((path, os.stat(path)))
                except OSError:
                    stats.append((path, None))
            # A first plan decides whether worker processes are worth starting (they start
            # before the lock is taken, so they never inherit it); the plan is made again from
            # the manifest as it is once the lock is held (another writer may just have run).
            todo, gone, _known = plan(manifest, stats, removed, prune_roots, SyncReport())
            if not todo and not gone:
                plan(manifest, stats, removed, prune_roots, report)
                return
            pool, own_pool = self.pool, False
            if (
                pool is None
                and self.procs > 1
                and (len(todo) >= POOL_MIN_FILES or any(size >= (1 << 20) for _, _, size in todo))
            ):
                pool, own_pool = make_pool(self.procs), True
            # No garbage collection while the work and its commit are in hand: they make
            # millions of objects that live until the commit (the postings), and a collection
            # triggered by the flush's own allocations would walk them all on the critical path.
            gc_was = gc.isenabled()
            gc.disable()
            try:
                args = (stats, removed, prune_roots, report, progress, started, single_commit, more)
                try:
                    self._write(manifest, pool, *args)
                except (OSError, sqlite3.OperationalError) as exc:
                    if not disk_full(exc):
                        raise
                    raise DiskFull(
                        f"no space left on the disk of the index at {self.index.index_dir} "
                        f"({exc}); the index keeps what was committed before "
                        f"({report.commits} commit(s) of this run); free some space and run "
                        "the same command again"
                    ) from None
            finally:
                if gc_was:
                    gc.enable()
                if own_pool:
                    pool.terminate()
                    pool.join()
        finally:
            manifest.close()

    def _record_state(self, manifest: Manifest) -> Callable[..., bool]:
        """An exit callback recording the committed index's state in the manifest transaction."""

        def record(exc_type: type[BaseException] | None, *_: object) -> bool:
            if exc_type is None:
                manifest.put_state(self.index.state(manifest.recorded_state()))
            return False

        return record

    def _write(
        self,
        manifest: Manifest,
        pool: Any,
        stats: list[tuple[str, os.stat_result | None]],
        removed: list[str] | None,
        prune_roots: list[str] | None,
        report: SyncReport,
        progress: Callable[[SyncProgress], None] | None,
        started: float,
        single_commit: bool,
        more: Callable[[bool], Iterable[str | Path]] | None,
    ) -> None:
        """The sync's writing part, with the index lock held and the manifest kept in step."""
        held = ExitStack()
        with held, self.index.writer(timeout=self.lock_timeout, on_wait=self.on_wait) as writer:
            todo, gone, known = plan(manifest, stats, removed, prune_roots, report)
            if single_commit:
                run = SyncRun(writer, manifest, report, float("inf"), float("inf"))
            else:
                run = SyncRun(writer, manifest, report, self.commit_every, self.commit_seconds)
            try:
                for path in gone:
                    run.remove_file(path)
                extra = None
                if more is not None:
                    extra = top_up(more, manifest, known, report, {p for p, _ in stats})
                Feed(run, known, pool, self.procs, progress, started).files(todo, extra)
                run.do_reloads()
            except BaseException:
                manifest.rollback()
                raise
            # from here Ctrl-C waits: the index commit (leaving the writer block) and the
            # manifest's go together, or an interrupted run leaves them disagreeing
            held.enter_context(interrupts_held())
            held.push(manifest.finish)
            held.push(self._record_state(manifest))  # runs before manifest.finish
        report.commits += 1
