"""The indexer: the side of the daemon that parses, analyses and commits.

``SyncService`` serves one request (``messages``) with a ``CableIndex`` and its ``Syncer``.
``ProcessBackend`` runs it in a spawned child process with a kept pool of parsing workers (the
CPU-heavy part, away from the observer's thread and, under ``serve --watch``, the web server);
``InlineBackend`` runs it on the daemon's worker thread (tests, ``isolate=False``).

Signals: the indexer ignores SIGINT/SIGTERM (the daemon decides when it stops, after the batch
in hand); its pool workers live in their own process group, so a signal to the daemon's group
(Ctrl-C, ``kill -TERM -- -PGID``, ``timeout``) never kills one holding the pool's queue lock,
and they get SIGKILL from the kernel when the indexer dies, so none is ever left behind.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import multiprocessing
import os
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from cablesearch.config import Config
from cablesearch.errors import CablesearchError, DaemonError
from cablesearch.index.sync import SyncProgress

from .messages import (
    DAMAGED,
    DISK_FULL,
    Apply,
    BatchResult,
    Done,
    Failed,
    Hello,
    Known,
    KnownFiles,
    More,
    MoreWanted,
    Progress,
    Quit,
    Reply,
    Request,
    SyncPaths,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # the indexer process must open the index within this
QUIT_TIMEOUT = 30.0  # after Quit, how long the indexer may take to close before it is killed
PROGRESS_INTERVAL = 0.5  # seconds between Progress messages of a hand-off

MoreFn = Callable[[bool], list[str]]
ProgressFn = Callable[[Progress], None]


class IndexService(Protocol):
    """What the daemon asks of the index side; ``SyncService`` is the real one."""

    def handle(
        self, request: Request, more: MoreFn | None = None, progress: ProgressFn | None = None
    ) -> Reply: ...

    def doc_count(self) -> int | None: ...

    def close(self) -> None: ...


class SyncService:
    """The real index side: one ``CableIndex`` and its ``Syncer`` (cablesearch.index.sync).

    ``keep_pool``: start the parsing workers once, now, and keep them for every request (the
    indexer process does; a pool started per batch costs its start-up each time, and one
    started later would inherit the index lock)."""

    def __init__(self, config: Config, index: Any = None, keep_pool: bool = False):
        from cablesearch.index.store import CableIndex
        from cablesearch.index.sync import Syncer, make_pool

        self.config = config
        self.index = index if index is not None else CableIndex.open(Path(config.index_dir), create=True)
        self.pool = make_pool(config.procs) if keep_pool and config.procs > 1 else None
        self.syncer = Syncer(self.index, config, pool=self.pool)
        self._alerts_service: Any = None  # a search service kept for the saved searches

    def handle(
        self, request: Request, more: MoreFn | None = None, progress: ProgressFn | None = None
    ) -> Reply:
        """Serve one request; exceptions become ``Failed`` (see ``failure``)."""
        started = time.monotonic()
        try:
            if isinstance(request, Apply):
                report = self.syncer.apply(
                    {Path(p) for p in request.changed},
                    {Path(p) for p in request.removed},
                    more=more if request.stream else None,
                )
            elif isinstance(request, SyncPaths):
                report = self.syncer.sync_paths(
                    [Path(p) for p in request.paths], prune=request.prune, progress=_progress_fn(progress)
                )
            elif isinstance(request, Known):
                from cablesearch.index.manifest import Manifest

                with Manifest(self.index.index_dir) as manifest:
                    return KnownFiles(manifest.files_under(request.roots))
            else:
                raise DaemonError(f"unexpected request {type(request).__name__} to the indexer")
        except DaemonGone:
            raise
        except Exception as exc:
            return failure(exc, self.index.index_dir)
        if report.changed:
            self._evaluate_alerts()
        return Done(BatchResult.from_report(report, self.doc_count(), time.monotonic() - started))

    def _evaluate_alerts(self) -> None:
        """After a commit: the saved searches evaluated on what it added or changed (never
        raises; a failure is logged and the next commit evaluates again)."""
        from cablesearch.alerts import AlertStore, after_commit
        from cablesearch.search import SearchService

        if not AlertStore.exists(self.index.index_dir):
            return
        if self._alerts_service is None:
            self._alerts_service = SearchService(self.index, self.config)
        after_commit(self.index, self.config, log=log.warning, service=self._alerts_service)

    def doc_count(self) -> int | None:
        try:
            return int(self.index.doc_count())
        except Exception:
            return None

    def close(self) -> None:
        if self._alerts_service is not None:
            self._alerts_service.close()
            self._alerts_service = None
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        close = getattr(self.index, "close", None)
        if callable(close):
            close()


def _progress_fn(progress: ProgressFn | None) -> Callable[[SyncProgress], None] | None:
    """A Syncer progress callback sending at most one ``Progress`` per PROGRESS_INTERVAL."""
    if progress is None:
        return None
    last = [0.0]

    def on_progress(p: SyncProgress) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL and p.files_done < p.files_total:
            return
        last[0] = now
        progress(Progress(p.bytes_done, p.bytes_total, p.cables, p.files_done, p.files_total, p.elapsed))

    return on_progress


LOW_SPACE = 1 << 20  # bytes free on the index's disk below which a failure counts as "disk full"


def failure(exc: BaseException, index_dir: Path | str | None = None) -> Failed:
    """The ``Failed`` reply for an exception: a full disk and a damaged manifest are named
    (the daemon waits for space, or stops and says to rebuild); anything else is retried.
    A full disk does not always say ENOSPC (SQLite says "disk I/O error"), so with
    ``index_dir`` the free space there is looked at too."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for err in chain:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return Failed(f"no space left on the index's disk ({err.strerror or err})", DISK_FULL)
        if isinstance(err, sqlite3.OperationalError) and "full" in str(err):
            return Failed(f"no space left on the index's disk ({err})", DISK_FULL)
        if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
            return Failed(
                f"the index's manifest (manifest.sqlite) is damaged ({err}); "
                "rebuild the index with `cablesearch index --rebuild`",
                DAMAGED,
            )
    free = _free_bytes(index_dir)
    if free is not None and free < LOW_SPACE:
        return Failed(
            f"no space left on the index's disk ({free // 1024} KB free; {type(exc).__name__}: {exc})",
            DISK_FULL,
        )
    if isinstance(exc, CablesearchError):
        return Failed(str(exc))
    where = traceback.format_exception(exc, limit=-3)
    return Failed(f"{type(exc).__name__}: {exc} ({[line.strip() for line in where[-3:-1]]})")


def _free_bytes(index_dir: Path | str | None) -> int | None:
    if index_dir is None:
        return None
    try:
        st = os.statvfs(index_dir)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


class DaemonGone(Exception):
    """The daemon's end of the pipe closed while the indexer waited for it."""


class BackendDied(Exception):
    """The indexer process ended or its pipe broke."""


def _parent_death_signal(sig: int) -> None:
    """Linux: have the kernel send ``sig`` to this process when its parent thread ends."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _in_pool_worker() -> None:
    """Runs in each forked pool worker of the indexer (os.register_at_fork)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # Pool.terminate() must be able to stop it
    try:
        os.setpgid(0, 0)  # out of the daemon's group: a group signal is the daemon's to handle
    except OSError:
        pass
    _parent_death_signal(signal.SIGKILL)


def child_main(conn: Connection, config: Config) -> None:
    """The indexer process: serve requests from the daemon until it says quit or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.register_at_fork(after_in_child=_in_pool_worker)
    try:
        service = SyncService(config, keep_pool=True)
    except Exception as exc:
        conn.send(failure(exc, config.index_dir))
        return
    conn.send(Hello(os.getpid(), service.doc_count()))
    held: list[Request] = []  # a request that came while More was awaited

    def more(idle: bool) -> list[str]:
        """Ask the daemon for paths that became ready since the batch started. ``idle``: this
        side has nothing else in hand, so it waits for files the daemon expects to be ready
        within a moment (it says how long), rather than ending the batch without them."""
        while not held:
            try:
                conn.send(MoreWanted(idle))
                message = conn.recv()
            except (EOFError, OSError) as exc:
                raise DaemonGone(str(exc)) from None
            if not isinstance(message, More):
                held.append(message)  # not an answer (Quit): served after this batch
                break
            if message.changed or not message.wait:
                return list(message.changed)
            time.sleep(message.wait)
        return []

    def progress(p: Progress) -> None:
        try:
            conn.send(p)
        except (BrokenPipeError, OSError):
            raise DaemonGone("the daemon went away") from None

    try:
        _serve(conn, service, held, more, progress)
    finally:
        service.close()


def _serve(
    conn: Connection, service: SyncService, held: list[Request], more: MoreFn, progress: ProgressFn
) -> None:
    while True:
        try:
            request = held.pop() if held else conn.recv()
        except (EOFError, OSError):
            return  # the daemon is gone (even kill -9): nothing more to do
        if isinstance(request, Quit):
            return
        try:
            reply = service.handle(request, more, progress)
        except DaemonGone:
            return  # mid-batch: nothing is committed, the next start's catch-up redoes it
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class ProcessBackend:
    """The indexer in a spawned child process; one request in flight at a time."""

    def __init__(self, config: Config):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=child_main, args=(child, config), name="cablesearch-indexer", daemon=False
        )
        self.process.start()
        child.close()
        reply = self.poll(START_TIMEOUT)
        if not isinstance(reply, Hello):
            self.close()
            if reply is None:
                raise DaemonError(f"the indexer process did not start within {START_TIMEOUT:.0f} s")
            raise DaemonError(
                f"the indexer process could not open the index: {getattr(reply, 'message', reply)}"
            )
        self.doc_count = reply.doc_count

    streaming = True  # a batch takes in what becomes ready while it is written

    def submit(self, request: Request) -> None:
        try:
            self._conn.send(request)
        except (BrokenPipeError, OSError) as exc:
            raise BackendDied(f"the indexer process ended ({exc})") from None

    def poll(self, timeout: float) -> Reply | None:
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise BackendDied(f"the indexer process ended ({exc or 'EOF'})") from None
        if not self.process.is_alive():
            raise BackendDied(f"the indexer process ended (exit code {self.process.exitcode})")
        return None

    def close(self) -> None:
        try:
            self._conn.send(Quit())
        except (BrokenPipeError, OSError):
            pass
        self.process.join(QUIT_TIMEOUT)
        if self.process.is_alive():
            self.process.kill()  # it ignores SIGTERM by design
            self.process.join(5)
        self._conn.close()


class InlineBackend:
    """The index side on the daemon's worker thread (tests, or ``isolate=False``); progress
    goes straight to ``on_progress``."""

    streaming = False

    def __init__(self, service: IndexService, index_dir: Path, on_progress: ProgressFn | None = None):
        self.service = service
        self.index_dir = index_dir
        self.on_progress = on_progress
        self._request: Request | None = None
        self.doc_count = service.doc_count()

    def submit(self, request: Request) -> None:
        self._request = request

    def poll(self, timeout: float) -> Reply | None:
        if self._request is None:
            return None
        request, self._request = self._request, None
        try:
            return self.service.handle(request, None, self.on_progress)
        except Exception as exc:
            return failure(exc, self.index_dir)

    def close(self) -> None:
        self.service.close()


Backend = ProcessBackend | InlineBackend


def make_backend(config: Config, service: IndexService | None, on_progress: ProgressFn) -> Backend:
    """The indexer: ``service`` on the calling thread, or (None) the indexer process."""
    if service is not None:
        return InlineBackend(service, Path(config.index_dir), on_progress)
    return ProcessBackend(config)
