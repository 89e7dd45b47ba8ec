"""Incremental indexing: make the index follow a set of files, folders and cables.csv files.

``Syncer.sync_paths`` is the ``cablesearch index`` command; ``Syncer.apply`` is what the daemon
calls for each batch of events (one commit per call).

Decisions per file (the manifest remembers size, mtime, content hash and the cables each file
gave): same size and mtime -> unchanged, not even read; otherwise read and hashed -> same hash
-> unchanged (new mtime recorded); otherwise parsed and its cables put. A reference ID present
in several files is indexed from the one with the latest ``released`` date; when that file
loses the cable (changed or removed), the ID is re-read from the best other file still having it.

Bulk speed: reading, parsing and analysis (``indexer.prepare``) run in ``procs`` worker
processes; cables.csv rows are streamed here and parsed there in batches. This process only
decides, writes prepared documents and keeps the manifest. Commits happen every
``commit_every`` cables or ``commit_seconds``; the manifest transaction is committed right after
each index commit, so an interrupted run leaves a consistent index and manifest.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cablesearch import parse
from cablesearch.config import Config
from cablesearch.errors import ParseError
from cablesearch.index.manifest import Manifest
from cablesearch.index.store import CableIndex, CableWriter, LockHolder, PreparedDoc, prepare
from cablesearch.parse import csvfile

ROW_BATCH = 200
FILE_BATCH = 16
COMMIT_EVERY = 10_000
COMMIT_SECONDS = 120.0
POOL_MIN_FILES = 64
# Planning this many files reads the whole manifest at once (~4 us a record); fewer are looked
# up by path (~10 us each): a daemon batch or catch-up round of 5,000 files on an index of the
# whole release must not read its 250,000 records each time.
LOAD_ALL_FILES = 20_000
_MISSING = "no such file or folder"
# Batches queued per worker: enough to keep the workers busy while this process commits.
IN_FLIGHT = 16
# While the workers still have files in hand, ``more`` is asked at most this often.
TOP_UP_INTERVAL = 0.01


@dataclass
class SyncReport:
    """What one sync did. Counts are cables; ``rejected`` names each file (or row) that could
    not be read, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # cables read whose reference ID is indexed from another file (a later release of it)
    duplicates: int = 0
    rejected: list[ParseError] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    files_skipped: int = 0  # unchanged by size and mtime: not read at all
    commits: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed

    def summary(self) -> str:
        """The one-line summary the ``index`` command prints."""
        return (
            counts_line(
                self.added, self.updated, self.unchanged, self.removed, len(self.rejected), self.duplicates
            )
            + f" ({self.files_seen} files, {self.seconds:.1f}s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "duplicates": self.duplicates,
            "rejected": [str(e) for e in self.rejected],
            "files_seen": self.files_seen,
            "files_parsed": self.files_parsed,
            "files_skipped": self.files_skipped,
            "seconds": round(self.seconds, 3),
        }


def counts_line(
    added: int, updated: int, unchanged: int, removed: int, rejected: int, duplicates: int
) -> str:
    """ "3 added, 0 updated, ..." — a sync's counts as ``index`` prints them, whether it ran the
    sync itself or handed it to the daemon."""
    dups = (
        f", {duplicates} duplicate{'s' if duplicates != 1 else ''} of cables indexed from other files"
        if duplicates
        else ""
    )
    return (
        f"{added} added, {updated} updated, {unchanged} unchanged, {removed} removed, "
        f"{rejected} rejected{dups}"
    )


@dataclass
class SyncProgress:
    """Passed to the ``progress`` callback: work done so far, in bytes of input and cables."""

    bytes_done: int
    bytes_total: int
    cables: int
    files_done: int
    files_total: int
    elapsed: float


# ---------------------------------------------------------------------------------------------
# Work done in worker processes (module-level, picklable)

# ("cables", path, size, mtime_ns, hash, [PreparedDoc], [(reason, row)]) | ("same", ...) |
# ("csv", path, size, mtime_ns, hash) | ("error", path, reason)
FileResult = tuple[Any, ...]


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(50_000, 50, 50)


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


def _read_file(path: str, known_hash: str | None) -> FileResult:
    try:
        with parse.files.open_regular(path) as f:  # regular files only, never blocking
            st = os.fstat(f.fileno())
            head = f.read(65536)
            if parse.is_csv_head(head, path):
                digest = hashlib.blake2b(head, digest_size=16)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                return ("csv", path, st.st_size, st.st_mtime_ns, digest.hexdigest())
            if st.st_size > parse.MAX_CABLE_BYTES:
                return (
                    "error",
                    path,
                    (f"too large for a cable file ({st.st_size // 1048576} MB) and not a cables.csv"),
                )
            data = parse.files.read_rest(f, head, parse.MAX_CABLE_BYTES, path)
    except ParseError as exc:
        return ("error", path, exc.reason)
    except FileNotFoundError:
        return ("error", path, "no such file or folder")
    except IsADirectoryError:
        return ("error", path, "is a folder, not a file")
    except PermissionError:
        return ("error", path, "permission denied")
    except OSError as exc:
        return ("error", path, f"cannot be read ({exc.strerror or exc})")
    digest_hex = hashlib.blake2b(data, digest_size=16).hexdigest()
    if digest_hex == known_hash:
        return ("same", path, st.st_size, st.st_mtime_ns, digest_hex)
    try:
        cable = parse.parse_text(data, source=path, name=os.path.basename(path))
    except ParseError as exc:
        return ("error", path, exc.reason)
    except Exception as exc:
        return ("error", path, f"parser failure ({type(exc).__name__}: {exc})")
    if not cable.reference_id:
        return ("error", path, "no reference ID found")
    return ("cables", path, st.st_size, st.st_mtime_ns, digest_hex, [prepare(cable)], [])


def work_files(tasks: list[tuple[str, str | None]]) -> list[FileResult]:
    """Read, hash, parse and prepare a batch of (path, known hash) single-cable files."""
    return [_read_file(path, known) for path, known in tasks]


def work_rows(
    source: str, rows: list[tuple[int, list[str], str]]
) -> tuple[list[tuple[PreparedDoc, str]], list[tuple[str, int]]]:
    """Parse and prepare a batch of (row number, fields, digest) cables.csv rows: gives
    (prepared doc, digest) per good row and (reason, row number) per bad one."""
    docs: list[tuple[PreparedDoc, str]] = []
    bad: list[tuple[str, int]] = []
    for n, row, digest in rows:
        try:
            cable = csvfile.cable_from_row(row, source, n)
            if not cable.reference_id:
                raise ParseError(source, "no reference ID found", row=n)
            docs.append((prepare(cable), digest))
        except ParseError as exc:
            bad.append((exc.reason, n))
        except Exception as exc:
            bad.append((f"parser failure ({type(exc).__name__}: {exc})", n))
    return docs, bad


# ---------------------------------------------------------------------------------------------


class _Run:
    """State of one sync: the writer, the manifest transaction, counts and commit rhythm."""

    def __init__(
        self,
        writer: CableWriter,
        manifest: Manifest,
        report: SyncReport,
        commit_every: float,
        commit_seconds: float,
    ):
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.writer = writer
        self.manifest = manifest
        self.report = report
        self.since_commit = 0
        self.last_commit = time.monotonic()
        self.reload: dict[str, set[str]] = {}
        self.manifest_empty = not manifest.has_entries()
        self.done_in_file: dict[str, dict[str, str]] = {}
        self.run_ids: set[str] = set()

    # decisions for one cable / one vanished ID

    def put(self, path: str, prep: PreparedDoc, digest: str = "") -> None:
        rid = prep.reference_id
        released = _iso(prep.released)
        seen = self.done_in_file.setdefault(path, {})
        if rid in seen and seen[rid] >= released:
            return  # the same ID twice in one file: keep its latest release
        seen[rid] = released
        if self.manifest_empty and rid not in self.run_ids:
            entries = []  # a fresh index: nothing to compare with (the bulk fast path)
        else:
            entries = self.manifest.entries_of_id(rid)
        self.run_ids.add(rid)
        others = [e for e in entries if e.path != path]
        currently = next((e for e in entries if e.indexed), None)
        best_other = max(others, key=lambda e: e.rank, default=None)
        if best_other is None or (released, path) >= best_other.rank:
            replaced = self.writer.put(prep)
            if replaced:
                self.report.updated += 1
            else:
                self.report.added += 1
            self.manifest.put_entry(
                path,
                rid,
                released,
                indexed=True,
                digest=digest,
                others_indexed=any(e.indexed for e in others),
            )
            self.since_commit += 1
        else:
            self.report.duplicates += 1
            self.manifest.put_entry(path, rid, released, indexed=False, digest=digest)
            if currently is not None and currently.path == path:
                self.reload.setdefault(best_other.path, set()).add(rid)

    def vanish(self, path: str, rid: str, was_indexed: bool) -> None:
        self.manifest.drop_entry(path, rid)
        if not was_indexed:
            return
        others = self.manifest.entries_of_id(rid)
        if others:
            best = max(others, key=lambda e: e.rank)
            self.reload.setdefault(best.path, set()).add(rid)
        elif self.writer.delete(rid):
            self.report.removed += 1
            self.since_commit += 1

    def finish_file(
        self, path: str, size: int, mtime_ns: int, hash_: str, old: dict[str, Any], complete: bool = True
    ) -> None:
        """Record a parsed file: drop the IDs it no longer has, then its file row."""
        seen = self.done_in_file.pop(path, {})
        if complete:
            for rid, entry in old.items():
                if rid not in seen:
                    self.vanish(path, rid, entry.indexed)
        self.manifest.put_file(
            path,
            size,
            mtime_ns,
            hash_ if complete else "",
            complete=complete,
            cables=len(seen) if complete else None,
        )

    def remove_file(self, path: str) -> None:
        for rid, entry in self.manifest.entries_of_file(path).items():
            self.vanish(path, rid, entry.indexed)
        self.manifest.drop_file(path)

    def do_reloads(self) -> None:
        """Re-read IDs from the files that now win them (another file lost or changed them)."""
        while self.reload:
            path, ids = self.reload.popitem()
            found: set[str] = set()
            try:
                for cable in parse.parse_file(path, on_error=lambda e: None):
                    if cable.reference_id in ids and cable.reference_id not in found:
                        found.add(cable.reference_id)
                        self.writer.put(prepare(cable, self.writer._index.schema))
                        self.manifest.set_indexed(path, cable.reference_id)
                        self.report.updated += 1
                        self.since_commit += 1
            except ParseError:
                pass
            for rid in ids - found:
                # The file no longer has it: forget that entry and look again.
                self.vanish(path, rid, True)

    def due(self) -> bool:
        """Whether enough was written since the last commit to commit again."""
        return self.since_commit >= self.commit_every or bool(
            self.since_commit and time.monotonic() - self.last_commit >= self.commit_seconds
        )

    def maybe_commit(self) -> None:
        if self.due():
            self.commit()

    def commit(self) -> None:
        self.do_reloads()
        with interrupts_held():
            self.writer.commit()
            self.manifest.commit()
        self.report.commits += 1
        self.since_commit = 0
        self.last_commit = time.monotonic()
        gc.collect()


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

    # public API

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
        self._sync(
            files,
            removed=None,
            prune_roots=roots if prune else None,
            report=report,
            progress=progress,
            started=started,
        )
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
        files = self._expand(changed)
        gone: list[str] = []
        if removed:
            with Manifest(self.index.index_dir) as m:
                # a removed folder takes every recorded file under it along
                gone = m.files_under([str(Path(p).absolute()) for p in removed])
        self._sync(
            files,
            removed=gone,
            prune_roots=None,
            report=report,
            progress=None,
            started=started,
            single_commit=True,
            more=more,
        )
        report.seconds = time.monotonic() - started
        return report

    @staticmethod
    def _expand(changed: Iterable[str | Path]) -> list[str]:
        """Absolute paths of the files named, folders replaced by the files inside."""
        files: list[str] = []
        for p in changed:
            if Path(p).is_dir():
                files.extend(str(Path(f).absolute()) for f in parse.iter_files([p]))
            else:
                files.append(str(Path(p).absolute()))
        return list(dict.fromkeys(files))

    # the work

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
            todo, gone, known = self._plan(manifest, stats, removed, prune_roots, SyncReport())
            if not todo and not gone:
                self._plan(manifest, stats, removed, prune_roots, report)
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
                held = ExitStack()
                with held, self.index.writer(timeout=self.lock_timeout, on_wait=self.on_wait) as writer:
                    todo, gone, known = self._plan(manifest, stats, removed, prune_roots, report)
                    if single_commit:
                        run = _Run(writer, manifest, report, float("inf"), float("inf"))
                    else:
                        run = _Run(writer, manifest, report, self.commit_every, self.commit_seconds)
                    try:
                        for path in gone:
                            run.remove_file(path)
                        top_up = None
                        if more is not None:
                            top_up = self._top_up(more, manifest, known, report, {p for p, _ in stats})
                        self._process(run, todo, known, pool, progress, started, top_up)
                        run.do_reloads()
                    except BaseException:
                        manifest.rollback()
                        raise
                    # from here Ctrl-C waits: the index commit (leaving the writer block) and
                    # the manifest's go together, or an interrupted run leaves them disagreeing
                    held.enter_context(interrupts_held())
                    held.push(manifest.finish)
                report.commits += 1
            finally:
                if gc_was:
                    gc.enable()
                if own_pool:
                    pool.terminate()
                    pool.join()
        finally:
            manifest.close()

    @staticmethod
    def _plan(
        manifest: Manifest,
        stats: list[tuple[str, os.stat_result | None]],
        removed: list[str] | None,
        prune_roots: list[str] | None,
        report: SyncReport,
    ) -> tuple[list[tuple[str, str | None, int]], list[str], dict[str, Any]]:
        """Which files to read (path, known hash, size) and which recorded files are gone;
        counts the skipped files into ``report``. ``known``: the manifest's records of those
        files (of all files for a big or pruning run, see LOAD_ALL_FILES)."""
        if prune_roots or len(stats) + len(removed or ()) >= LOAD_ALL_FILES:
            known = manifest.files()
        else:
            known = manifest.files_for([p for p, _ in stats] + list(removed or ()))
        todo: list[tuple[str, str | None, int]] = []
        gone = list(removed or [])
        report.files_seen = len(stats)
        report.files_skipped = report.unchanged = 0
        for path, st in stats:
            rec = known.get(path)
            if st is None:
                if rec is not None:
                    gone.append(path)
                else:
                    report.rejected.append(ParseError(path, _MISSING))
                continue
            item = _to_read(path, rec, st, report)
            if item is not None:
                todo.append(item)
        if prune_roots:
            present = {p for p, _ in stats}
            gone += [
                p for p in manifest.files_under(prune_roots) if p not in present and not os.path.exists(p)
            ]
        gone = [p for p in dict.fromkeys(gone) if p in known]
        return todo, gone, known

    def _top_up(
        self,
        more: Callable[[bool], Iterable[str | Path]],
        manifest: Manifest,
        known: dict[str, Any],
        report: SyncReport,
        seen: set[str],
    ) -> Callable[[bool], list[tuple[str, str | None, int]]]:
        """Wraps ``more`` (see ``apply``): its paths, planned like the first ones (unchanged
        files skipped), as further work; paths already in this sync are left out. Their
        manifest records join ``known``."""

        def take(idle: bool) -> list[tuple[str, str | None, int]]:
            todo: list[tuple[str, str | None, int]] = []
            paths = [p for p in self._expand(more(idle)) if p not in seen]
            known.update(manifest.files_for([p for p in paths if p not in known]))
            for path in paths:
                seen.add(path)
                report.files_seen += 1
                rec = known.get(path)
                try:
                    st = os.stat(path)
                except OSError:
                    todo.append((path, None, 0))  # reading it says what is wrong
                    continue
                item = _to_read(path, rec, st, report)
                if item is not None:
                    todo.append(item)
            return todo

        return take

    def _process(
        self,
        run: _Run,
        todo: list[tuple[str, str | None, int]],
        known: dict[str, Any],
        pool: Any,
        progress: Callable[[SyncProgress], None] | None,
        started: float,
        more: Callable[[bool], list[tuple[str, str | None, int]]] | None = None,
    ) -> None:
        total_bytes = sum(size for _, _, size in todo) or 1
        state = {"bytes": 0, "files": 0}

        def tick() -> None:
            if progress is not None:
                progress(
                    SyncProgress(
                        state["bytes"],
                        total_bytes,
                        run.report.added + run.report.updated,
                        state["files"],
                        len(todo),
                        time.monotonic() - started,
                    )
                )

        def handle(result: FileResult) -> None:
            kind, path = result[0], result[1]
            state["files"] += 1
            if kind == "error":
                run.report.rejected.append(ParseError(path, result[2]))
                state["bytes"] += _size(path)
                if path in known:
                    run.remove_file(path)  # it was a cable once; now it is not: drop its cables
            elif kind == "same":
                run.report.unchanged += known[path].cables
                run.manifest.touch_file(path, result[2], result[3])
                state["bytes"] += result[2]
            elif kind == "cables":
                _, _, size, mtime, digest, docs, _bad = result
                run.report.files_parsed += 1
                old = run.manifest.entries_of_file(path) if path in known else {}
                for prep in docs:
                    run.put(path, prep)
                run.finish_file(path, size, mtime, digest, old)
                state["bytes"] += size
                run.maybe_commit()
            elif kind == "csv":
                self._process_csv(run, result, known, pool, state, tick)
            tick()

        queue = deque(todo)

        def next_batch() -> list[tuple[str, str | None]]:
            n = min(FILE_BATCH, len(queue))
            return [queue.popleft()[:2] for _ in range(n)]

        def refill(idle: bool) -> bool:
            """Ask ``more`` for work; True if it gave some."""
            if more is None:
                return False
            extra = more(idle)
            queue.extend(extra)
            return bool(extra)

        if pool is None:
            while queue or refill(True):
                for result in work_files(next_batch()):
                    handle(result)
            return
        pending: deque[Any] = deque()
        asked = 0.0
        while True:
            while queue and len(pending) < IN_FLIGHT * self.procs:
                pending.append(pool.apply_async(work_files, (next_batch(),)))
            if (
                not queue
                and more is not None
                and (not pending or time.monotonic() - asked >= TOP_UP_INTERVAL)
            ):
                asked = time.monotonic()
                if refill(not pending):
                    continue
            if not pending:
                if queue:
                    continue
                return
            for result in pending.popleft().get():
                handle(result)

    def _process_csv(
        self,
        run: _Run,
        result: FileResult,
        known: dict[str, Any],
        pool: Any,
        state: dict[str, int],
        tick: Callable[[], None],
    ) -> None:
        _, path, size, mtime, digest = result
        rec = known.get(path)
        if rec is not None and rec.complete and rec.hash == digest:
            run.report.unchanged += rec.cables
            run.manifest.touch_file(path, size, mtime)
            state["bytes"] += size
            return
        run.report.files_parsed += 1
        old = run.manifest.entries_of_file(path) if path in known else {}
        # Rows read before (same digest) are kept as they are: after an edit of a big cables.csv,
        # or a run interrupted half-way through one, only the other rows are parsed.
        old_rows = {e.digest: e for e in old.values() if e.digest}
        seen = run.done_in_file.setdefault(path, {})
        bad_rows: list[ParseError] = []

        def take(out: tuple[list[tuple[PreparedDoc, str]], list[tuple[str, int]]], nbytes: int) -> None:
            docs, bad = out
            for prep, row_digest in docs:
                run.put(path, prep, row_digest)
                if run.due():
                    # Commit mid-file: the cables so far become searchable; the file stays
                    # recorded as incomplete until its last row is in.
                    run.manifest.put_file(path, size, mtime, "", complete=False)
                    run.commit()
            for reason, n in bad:
                bad_rows.append(ParseError(path, reason, row=n))
            state["bytes"] += nbytes
            tick()

        def read_error(err: ParseError) -> None:
            bad_rows.append(err)

        def batches() -> Iterator[tuple[list[tuple[int, list[str], str]], int]]:
            chunk: list[tuple[int, list[str], str]] = []
            nbytes = 0
            for n, row in csvfile.iter_rows(path, read_error):
                nbytes += sum(len(x) for x in row)
                row_digest = _row_digest(row)
                entry = old_rows.get(row_digest)
                if entry is not None:
                    if entry.reference_id not in seen:
                        seen[entry.reference_id] = entry.released
                        run.report.unchanged += 1
                    continue
                chunk.append((n, row, row_digest))
                if len(chunk) >= ROW_BATCH:
                    yield chunk, nbytes
                    chunk, nbytes = [], 0
            if chunk or nbytes:
                yield chunk, nbytes

        if pool is None:
            for chunk, nbytes in batches():
                take(work_rows(path, chunk), nbytes)
        else:
            pending: deque[tuple[Any, int]] = deque()
            for chunk, nbytes in batches():
                pending.append((pool.apply_async(work_rows, (path, chunk)), nbytes))
                while len(pending) >= IN_FLIGHT * self.procs:
                    fut, nb = pending.popleft()
                    take(fut.get(), nb)
            while pending:
                fut, nb = pending.popleft()
                take(fut.get(), nb)
        run.report.rejected.extend(bad_rows)
        run.finish_file(path, size, mtime, digest, old)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) that arrives inside the block takes effect when it ends: for steps that
    must not be cut in two, such as an index commit and the manifest commit that records it.
    Only in the main thread (elsewhere signals do not arrive)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)  # Python's handler raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


def _to_read(
    path: str, rec: Any, st: os.stat_result, report: SyncReport
) -> tuple[str, str | None, int] | None:
    """The work item (path, known hash, size) for a file that exists, or None when its record
    has the same size and mtime: unchanged, not even read (counted into ``report``)."""
    if rec is not None and rec.complete and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
        report.files_skipped += 1
        report.unchanged += rec.cables
        return None
    return (path, rec.hash if rec and rec.complete else None, st.st_size)


def _row_digest(row: list[str]) -> str:
    data = "\x1f".join(row).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def make_pool(procs: int) -> Any:
    """Worker processes: forked when this process has one thread (the CLI), else started from a
    fork server (the daemon has observer threads, and forking those is unsafe)."""
    ctx: Any
    if threading.active_count() == 1:
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cablesearch.index.sync"])
    pool = ctx.Pool(procs, initializer=_init_worker)
    _widen_pipes(pool)
    return pool


PIPE_BYTES = 1 << 20


def _widen_pipes(pool: Any) -> None:
    """Give the pool's task and result pipes room for a whole batch's results (Linux: 1 MB,
    the size an unprivileged process may set). With the default 64 KB a worker sending a
    result of a few hundred KB stalls until this process's result thread, which shares the
    interpreter lock with the indexing, has read each piece: measured, 8% of a 5,000-file
    batch's time. Where the pipe cannot be resized the pool works as it is."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setsize is None:
        return
    try:
        size = min(PIPE_BYTES, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
        conns = [pool._outqueue._reader, pool._outqueue._writer, pool._inqueue._reader, pool._inqueue._writer]
    except (OSError, ValueError, AttributeError):
        return
    for conn in conns:
        try:
            fcntl.fcntl(conn.fileno(), setsize, size)
        except (OSError, ValueError):
            pass


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
