"""The indexing daemon: watch folders and keep the index current, whatever happens.

``Daemon`` is the lifecycle and the wiring: the lock, start/stop, signals, the worker thread
and its supervision. The parts: ``events`` (watchdog's observer records hints; ``Watcher``
restarts it when one of its threads dies), ``settle`` (hints become ready paths), ``schedule``
(scans, hand-offs, batches, replies; ``backoff``: the pauses after a failure), ``rescans``
(what asks for a rescan), ``worker`` (the indexer process; ``messages`` are what it and the
daemon say), ``status`` (``daemon.json``), ``client`` (finding a running daemon and handing
work to it). How they came to be so is in docs/daemon.md.

Events are hints, the folders are the truth: whatever the daemon misses (killed, queue
overflow, a dead watcher) the next scan finds, and the Syncer skips unchanged files by size,
mtime and hash, so a scan of an up-to-date tree parses nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cablesearch.config import Config
from cablesearch.errors import CablesearchError, DaemonError

from . import client as daemon_files
from .events import HEALTH_INTERVAL, Handler, Hints, OverflowSpy, Watcher, inotify_limit_message
from .rescans import DEGRADED_RESCAN, Rescans
from .schedule import Scheduler
from .settle import Scope, Settler
from .status import StatusBoard
from .worker import Backend, IndexService, SyncService, make_backend

__all__ = ["Daemon", "inotify_limit_message"]

log = logging.getLogger(__name__)

MAX_BATCH = 5000  # paths per commit: bounds commit time and what a kill -9 can lose
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # the worker loop's, after each failure


class Daemon:
    """Keeps the index in ``config.index_dir`` current with the files under ``roots``.

    ``run()`` runs in the foreground until SIGTERM/SIGINT (finishes the batch in hand, commits,
    returns); ``start()``/``stop()`` run it in the background of another program (``serve
    --watch``). ``poll=True`` uses watchdog's polling observer (network file systems).
    ``isolate=False`` (or a ``service``) indexes on the worker thread instead of a child
    process. ``index``: an open CableIndex to use when indexing in-thread.
    """

    def __init__(
        self,
        config: Config,
        roots: Iterable[Path | str] | None = None,
        index: Any = None,
        *,
        poll: bool = False,
        isolate: bool = True,
        service: IndexService | None = None,
        max_batch: int = MAX_BATCH,
    ):
        self.config = config
        given = list(roots) if roots is not None else list(config.watch_dirs)
        if not given:
            raise DaemonError(
                "no folder to watch: name one (`cablesearch watch DIR`) or set watch_dirs in config.toml"
            )
        # Absolute but not resolved: the manifest keys files the same way (sync.py).
        self.roots = [Path(os.path.abspath(os.path.expanduser(str(r)))) for r in given]
        self.index_dir = Path(os.path.abspath(os.path.expanduser(str(config.index_dir))))
        self.poll = poll
        self.isolate = isolate and service is None and index is None
        self._service = service
        self._index = index
        self.scope = Scope(self.roots, self.index_dir)
        self.board = StatusBoard()
        self.hints = Hints()
        self.settler = Settler(self.scope, config.settle_seconds, not poll, self._error)
        self.scheduler = Scheduler(
            config, self.settler, self.board, self.index_dir, self.scope.roots, max_batch, self._refresh
        )
        self.scheduler.queue_length = lambda: self.queue_length
        self.scheduler.changed = lambda: self._write_status(force=True)
        self._stop = threading.Event()
        handler = Handler(self.hints, self.scope.wants, self.scope.inside)
        overflow = threading.Event()
        self.watcher = Watcher(self.roots, handler, OverflowSpy(overflow, self.hints.wake), poll)
        self.rescans = Rescans(config, self.scheduler, self.watcher, overflow, self._error)
        self._lock = daemon_files.DaemonLock(self.index_dir)
        self._thread: threading.Thread | None = None
        self._started = threading.Event()  # the worker thread has made the indexer (or failed)
        self._go = threading.Event()  # ... and may begin: the observer runs
        self._start_error: BaseException | None = None
        self._failure: str | None = None
        self._foreground = False  # run(), not start(): the failure is raised, not logged

    # ---- public ------------------------------------------------------------------------

    def wants(self, path: str) -> bool:
        """Whether a path is one the daemon indexes (not ignored, not inside the index)."""
        return self.scope.wants(path)

    def under_roots(self, path: str) -> bool:
        return self.scope.inside(path)

    def start(self) -> None:
        """Start watching in the background: lock, indexer, observer, then the catch-up scan.
        The indexer is made (and later closed) on the worker thread that talks to it."""
        for root in self.roots:
            if not root.is_dir():
                raise DaemonError(
                    f"cannot watch {root}: no such folder; create it or fix watch_dirs in config.toml"
                )
        self._lock.acquire()
        try:
            self._write_status(force=True)
            self._thread = threading.Thread(target=self._work, name="cablesearch-daemon", daemon=True)
            self._thread.start()
            self._started.wait()
            if self._start_error is not None:
                raise self._start_error
            self.watcher.start()
            self.board.state = "catching up"
            self._go.set()
        except BaseException:
            self._stop.set()
            self._go.set()
            self.hints.wake.set()
            self._join()
            self._teardown()
            raise
        log.info(
            "watching %s with %s; index %s", ", ".join(self.scope.roots), self.watcher.kind, self.index_dir
        )

    def stop(self, timeout: float | None = None) -> None:
        """Stop: no new events; the batch in hand is finished and committed; then shut down."""
        self.watcher.stop()
        self._stop.set()
        self.hints.wake.set()
        self._join(timeout)
        self._teardown()

    def run(self) -> None:
        """Run in the foreground until SIGTERM or SIGINT; raises DaemonError if it had to stop
        (a damaged index). SIGHUP asks for a rescan. A second SIGINT/SIGTERM aborts at once."""
        self._foreground = True
        self.start()
        previous = _handle_signals(self)
        try:
            while not self._stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self._failure is not None:
            raise DaemonError(self._failure)
        log.info("stopped")

    def signalled(self, signum: int) -> None:
        """SIGTERM/SIGINT in the foreground: finish the batch in hand, then stop."""
        log.info(
            "%s: finishing the current batch, then stopping (again to abort)", signal.Signals(signum).name
        )
        self._stop.set()
        self.hints.wake.set()

    def request_rescan(self) -> None:
        """Ask for a reconciling scan of all watched folders (thread- and signal-safe)."""
        self.rescans.ask()
        self.hints.wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_length(self) -> int:
        """Paths seen but not yet committed (events, settling, ready, in the batch in hand)."""
        job = self.scheduler.inflight
        n = len(self.hints) + len(self.settler)
        if job is not None and job.kind in ("batch", "catch-up", "rescan"):
            n += job.size
        return n

    @property
    def idle(self) -> bool:
        """True when caught up and nothing is waiting, settling or being written."""
        s = self.scheduler
        return (
            not s.catching_up
            and s.inflight is None
            and s.scan_wanted is None
            and not s.gone_dirs
            and self.queue_length == 0
            and not daemon_files.pending_requests(self.index_dir)
        )

    def settling(self, path: str) -> bool:
        """Whether ``path`` has been seen changing and is waiting to settle."""
        return path in self.settler.pending

    @property
    def commits(self) -> int:
        """How many batches have been committed since start."""
        return self.board.commits

    def status(self) -> dict[str, Any]:
        """The status as written to ``daemon.json``."""
        job = self.scheduler.inflight
        observer = self.watcher.kind
        if self.watcher.down:
            observer += f" (down: {self.watcher.down}; restarted; rescanning every {DEGRADED_RESCAN:.0f} s)"
        return self.board.snapshot() | {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "roots": self.scope.roots,
            "index_dir": str(self.index_dir),
            "observer": observer,
            "indexer": "process" if self.isolate else "thread",
            "queue": self.queue_length,
            "inbox": len(daemon_files.pending_requests(self.index_dir)),
            "in_batch": job.size if job is not None else 0,
            "events": self.hints.events,
        }

    # ---- setup / teardown -------------------------------------------------------------

    def _make_backend(self) -> Backend:
        service = self._service
        if service is None and not self.isolate:
            service = SyncService(self.config, self._index)
        backend = make_backend(self.config, service, self.scheduler.progress)
        self.board.doc_count = backend.doc_count
        return backend

    def _join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _teardown(self) -> None:
        self.watcher.stop()
        if self._lock.held:
            self.board.state = "failed" if self._failure else "stopped"
            self._write_status(force=True)
            self._lock.release()

    # ---- the worker thread ------------------------------------------------------------

    def _work(self) -> None:
        """The worker thread: make the indexer, run the loop (restarting it after an
        unexpected error, with a rescan), close the indexer."""
        try:
            self.scheduler.backend = self._make_backend()
        except BaseException as exc:
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        self._go.wait()
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self._loop()
                    break
                except Exception as exc:
                    failures += 1
                    delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
                    what = str(exc) if isinstance(exc, CablesearchError) else f"{type(exc).__name__}: {exc}"
                    message = f"the daemon's worker failed ({what}); restarting it in {delay:.0f} s"
                    if isinstance(exc, CablesearchError):
                        log.error("%s", message)  # a known trouble (e.g. the indexer cannot start)
                    else:
                        log.exception("%s", message)  # a bug: with where it happened
                    self._error("", message)
                    self.scheduler.abandon()
                    if self._stop.wait(delay):
                        break
        finally:
            left = self.queue_length
            if left:
                log.info("%d changed paths left for the next start's catch-up", left)
            backend, self.scheduler.backend = self.scheduler.backend, None
            if backend is not None:
                try:
                    backend.close()
                except Exception:
                    log.exception("closing the indexer failed")
            if self._failure is not None:
                # it had to stop (a damaged index): let go of the index at once, so that the
                # rebuild it asks for can run while the program embedding it (serve) goes on
                self.watcher.stop()
                self._teardown()

    def _loop(self) -> None:
        s = self.scheduler
        while True:
            now = time.monotonic()
            self._refresh(now)
            self.rescans.check(now, self._stop.is_set())
            if s.backend is None:
                s.backend = self._make_backend()
            if s.inflight is not None:
                s.wait_for_reply(0.02 if self.settler.pending else 0.2)
            if s.fatal is not None:
                self._failure = f"the daemon stopped: {s.fatal}"
                if not self._foreground:  # run() raises it: one line at the edge
                    log.error("%s", self._failure)
                self._stop.set()
            now = time.monotonic()
            self._refresh(now)
            if s.inflight is None:
                if self._stop.is_set():
                    break
                s.submit_next(time.monotonic())
            self._write_status()
            if s.inflight is None:
                self.hints.wake.wait(0.0 if self._stop.is_set() else s.sleep_time(HEALTH_INTERVAL))
                self.hints.wake.clear()

    def _refresh(self, now: float) -> None:
        """Take in the observer's hints and settle what is due."""
        self.scheduler.take_hints(*self.hints.take(), now)
        self.scheduler.stopping = self._stop.is_set()

    # ---- status ---------------------------------------------------------------------

    def _error(self, path: str, message: str) -> None:
        self.board.error(path, message)

    def _write_status(self, force: bool = False) -> None:
        if self.board.due(force):
            self.board.write(self.index_dir, self.status())


def _handle_signals(daemon: Daemon) -> dict[int, Any]:
    """Install run()'s signal handlers; returns the previous ones. A second SIGTERM/SIGINT
    aborts at once (exit 130); SIGHUP asks for a rescan."""
    count = [0]

    def on_signal(signum: int, _frame: Any) -> None:
        count[0] += 1
        if count[0] > 1:
            log.warning("second signal: aborting without finishing the batch")
            os._exit(130)
        daemon.signalled(signum)

    previous: dict[int, Any] = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda _s, _f: daemon.request_rescan())
    return previous
