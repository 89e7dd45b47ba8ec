"""The indexing daemon: watch folders and keep the index current, whatever happens.

Three parts, each on its own thread or process so none waits for another:

1. **Observer** (watchdog's thread: inotify, or polling with ``poll=True``). Its handler only
   records "this path changed / was closed / went away / this folder appeared" into a
   thread-safe ``_Hints`` table — no stat, no parsing — so the kernel's event queue is drained
   fast and does not overflow during a burst.
2. **Worker thread** (``Daemon._loop``). Turns hints into settled paths: a file is ready once it
   was closed after writing (inotify's ``closed``), moved into place, or its size and mtime have
   stayed the same for ``settle_seconds`` (with no ``modified`` since the last ``closed``).
   Ready paths are batched — one ``Syncer.apply(changed, removed)`` call, one commit. A batch
   starts as soon as a path is ready; while the indexer writes it, the indexer asks for the
   paths that became ready since and they join it (``_top_up``), so a burst is one stream of
   work and one commit (up to ``max_batch`` paths or ``TOP_UP_SECONDS``).
   It also reconciles: a full scan at start (catch-up), every ``rescan_seconds``, on SIGHUP, and
   whenever watchdog logs "Inotify queue overflowed"; it serves hand-off requests that
   ``cablesearch index`` leaves in ``<index_dir>/inbox/`` and writes ``daemon.json``.
3. **Indexer process** (``_child_main``, started with multiprocessing "spawn"). Owns the
   ``CableIndex`` writer, the ``Syncer`` and a kept pool of parsing workers: parsing, analysis
   and commits — the CPU-heavy part — run there. Python threads share one interpreter lock,
   so in-thread indexing would starve the observer (events lost) and, under ``serve
   --watch``, the web server's searches. The child ignores SIGINT/SIGTERM; the daemon finishes
   its batch and then closes it.

Events are hints, the folders are the truth: whatever the daemon misses (killed, queue
overflow, inotify limit) the next scan finds, and the Syncer skips unchanged files by size,
mtime and hash, so a scan of an up-to-date tree parses nothing.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import stat as stat_module
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver

from cablesearch.config import Config
from cablesearch.daemon import client as daemon_files
from cablesearch.errors import CablesearchError, DaemonError
from cablesearch.parse import is_skipped

log = logging.getLogger(__name__)

EVENT_FILTER = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

MAX_BATCH = 5000  # paths per commit: bounds commit time and what a kill -9 can lose
OPEN_GRACE = 30.0  # a file modified but never closed is indexed after this long quiet
STATUS_INTERVAL = 2.0  # seconds between status writes while idle
INBOX_INTERVAL = 0.5  # seconds between looks into the hand-off inbox
RECENT_ERRORS = 20
QUIET_SECONDS = 0.05  # no event for this long and nothing settling: commit what is ready
TOP_UP_SECONDS = 10.0  # a batch takes in newly ready files for this long after it started

CREATED, MODIFIED, CLOSED, MOVED_IN, GONE = "created", "modified", "closed", "moved_in", "gone"


def inotify_limit_message(exc: OSError, roots: Iterable[Path]) -> str:
    """The message for an inotify watch/instance limit hit (ENOSPC / EMFILE), with the fix."""
    where = ", ".join(str(r) for r in roots)
    if exc.errno == errno.EMFILE:
        name, value = "fs.inotify.max_user_instances", "512"
        what = "inotify instance limit"
    else:
        name, value = "fs.inotify.max_user_watches", "524288"
        what = "inotify watch limit (one watch per folder)"
    try:
        current = Path("/proc/sys/" + name.replace(".", "/")).read_text().strip()
    except OSError:
        current = "?"
    return (
        f"cannot watch {where}: the system's {what} is too low ({name} = {current}). "
        f"Raise it with `sudo sysctl {name}={value}` (to keep it, add `{name}={value}` to "
        f"/etc/sysctl.d/90-cablesearch.conf), or run `cablesearch watch --poll`"
    )


# --------------------------------------------------------------------------------------------
# Observer side: record hints only.


class _Hints:
    """What the observer saw since the worker last looked. Thread-safe, O(1) per event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, str] = {}
        self._dirs_new: list[str] = []
        self._dirs_gone: list[str] = []
        self.wake = threading.Event()
        self.events = 0

    def file(self, path: str, kind: str) -> None:
        with self._lock:
            self._files.pop(path, None)  # re-insert: keeps the dict in event order
            self._files[path] = kind
            self.events += 1
        self.wake.set()

    def dir_new(self, path: str) -> None:
        with self._lock:
            self._dirs_new.append(path)
            self.events += 1
        self.wake.set()

    def dir_gone(self, path: str) -> None:
        with self._lock:
            self._dirs_gone.append(path)
            self.events += 1
        self.wake.set()

    def take(self) -> tuple[dict[str, str], list[str], list[str]]:
        with self._lock:
            files, self._files = self._files, {}
            new, self._dirs_new = self._dirs_new, []
            gone, self._dirs_gone = self._dirs_gone, []
        return files, new, gone

    def __len__(self) -> int:
        with self._lock:
            return len(self._files) + len(self._dirs_new) + len(self._dirs_gone)


class _Handler(FileSystemEventHandler):
    """watchdog handler: maps each event to hints. Runs on the observer's thread."""

    def __init__(self, hints: _Hints, daemon: Daemon):
        self.hints = hints
        self.daemon = daemon

    def dispatch(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        kind = event.event_type
        wanted = self.daemon.wants
        if event.is_directory:
            if kind == "created":
                if wanted(src):
                    self.hints.dir_new(src)
            elif kind == "deleted":
                self.hints.dir_gone(src)
            elif kind == "moved":
                self.hints.dir_gone(src)
                if dest and wanted(dest) and self.daemon.under_roots(dest):
                    self.hints.dir_new(dest)
            return
        if kind == "moved":
            if wanted(src):
                self.hints.file(src, GONE)
            if dest and wanted(dest) and self.daemon.under_roots(dest):
                self.hints.file(dest, MOVED_IN)
            return
        if not wanted(src):
            return
        if kind == "created":
            self.hints.file(src, CREATED)
        elif kind == "modified":
            self.hints.file(src, MODIFIED)
        elif kind == "closed":
            self.hints.file(src, CLOSED)
        elif kind == "deleted":
            self.hints.file(src, GONE)


class _OverflowSpy(logging.Handler):
    """Attached to the ``watchdog`` logger: its overflow warning is the only sign of lost events."""

    def __init__(self, flag: threading.Event, wake: threading.Event):
        super().__init__(logging.WARNING)
        self.flag = flag
        self.wake = wake

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            return
        if "overflow" in message.lower():
            self.flag.set()
            self.wake.set()


# --------------------------------------------------------------------------------------------
# Indexing side: a service doing the index work, run in a child process or in-thread.


class IndexService(Protocol):
    """What the daemon asks of the index side; ``SyncService`` is the real one."""

    def handle(self, op: str, args: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


def _count(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return 0


def report_to_dict(report: Any) -> dict[str, Any]:
    """A SyncReport as plain JSON-ready data (counts plus the rejected files and reasons)."""
    rejected = []
    for err in getattr(report, "rejected", None) or []:
        rejected.append({"path": str(getattr(err, "source", "")), "reason": str(getattr(err, "reason", err))})
    return {
        key: _count(getattr(report, key, 0))
        for key in ("added", "updated", "unchanged", "removed", "duplicates", "files_parsed", "files_skipped")
    } | {"rejected": rejected}


class SyncService:
    """The real index side: one ``CableIndex`` and its ``Syncer`` (cablesearch.index.sync).

    ``keep_pool``: start the parsing workers once, now, and keep them for every request (the
    indexer process does; a pool started per batch costs its start-up each time, and one
    started later would inherit the index lock)."""

    def __init__(self, config: Config, index: Any = None, keep_pool: bool = False):
        from cablesearch.index.store import CableIndex
        from cablesearch.index.sync import Syncer, make_pool

        self.index = index if index is not None else CableIndex.open(Path(config.index_dir), create=True)
        self.pool = make_pool(config.procs) if keep_pool and config.procs > 1 else None
        self.syncer = Syncer(self.index, config, pool=self.pool)

    def handle(self, op: str, args: dict[str, Any], more: Callable[[bool], list[str]] | None = None) -> Any:
        """Serve one request; ``more`` (for "apply") gives further changed paths that join
        the batch while it is written (see ``Syncer.apply``)."""
        started = time.monotonic()
        if op == "apply":
            report = self.syncer.apply(
                {Path(p) for p in args["changed"]}, {Path(p) for p in args["removed"]}, more=more
            )
            result = report_to_dict(report)
        elif op == "sync_paths":
            report = self.syncer.sync_paths([Path(p) for p in args["paths"]], prune=bool(args.get("prune")))
            result = report_to_dict(report)
        elif op == "known":
            from cablesearch.index.manifest import Manifest

            with Manifest(self.index.index_dir) as manifest:
                return manifest.files_under([str(r) for r in args["roots"]])
        elif op == "count":
            return {"doc_count": self.index.doc_count()}
        else:
            raise DaemonError(f"unknown request {op!r} to the indexer")
        result["doc_count"] = self.index.doc_count()
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        close = getattr(self.index, "close", None)
        if callable(close):
            close()


class _DaemonGone(Exception):
    """The daemon's end of the pipe closed while the indexer waited for it."""


def _child_main(conn: Connection, config: Config) -> None:
    """The indexer process: serve requests from the daemon until it says quit or goes away."""
    # Ctrl-C in a terminal and systemd's SIGTERM reach the whole process group: the daemon
    # decides when to stop, after the batch in hand is committed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # ...but the Syncer's forked worker pool must stay killable: Pool.terminate() sends SIGTERM
    # and then joins; an inherited SIG_IGN would make that join wait forever.
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    service: SyncService | None = None
    try:
        service = SyncService(config, keep_pool=True)
        conn.send(("ok", {"pid": os.getpid(), "doc_count": service.index.doc_count()}))
    except Exception as exc:
        conn.send(("error", _describe(exc)))
        return
    held: list[tuple[str, Any]] = []  # a request that came while "more" was awaited

    def more(idle: bool) -> list[str]:
        """Ask the daemon for paths that became ready since the batch started. ``idle``: this
        side has nothing else in hand, so it waits for files the daemon expects to be ready
        within a moment (it says how long), rather than ending the batch without them."""
        while not held:
            try:
                conn.send(("more?", {"idle": idle}))
                message = conn.recv()
            except (EOFError, OSError) as exc:
                raise _DaemonGone(str(exc)) from None
            if message[0] != "more":
                held.append(message)  # not an answer ("quit"): served after this batch
                break
            if message[1]["changed"] or not message[1].get("wait"):
                return list(message[1]["changed"])
            time.sleep(message[1]["wait"])
        return []

    try:
        while True:
            try:
                op, args = held.pop() if held else conn.recv()
            except (EOFError, OSError):
                break  # the daemon is gone (even kill -9): nothing more to do
            if op == "quit":
                break
            try:
                reply: tuple[str, Any] = (
                    "ok",
                    service.handle(op, args, more if args.get("stream") else None),
                )
            except _DaemonGone:
                break  # mid-batch: nothing is committed, the next start's catch-up redoes it
            except Exception as exc:
                reply = ("error", _describe(exc))
            try:
                conn.send(reply)
            except (BrokenPipeError, OSError):
                break
    finally:
        service.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CablesearchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} ({traceback.format_exc(limit=-3).strip().splitlines()[-3:]})"


class _BackendDied(Exception):
    pass


class _ProcessBackend:
    """The indexer in a spawned child process; one request in flight at a time."""

    def __init__(self, config: Config):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_child_main, args=(child, config), name="cablesearch-indexer", daemon=False
        )
        self.process.start()
        child.close()
        reply = self.poll(120.0)
        if reply is None:
            self.close()
            raise DaemonError("the indexer process did not start within 120 s")
        if reply[0] != "ok":
            self.close()
            raise DaemonError(f"the indexer process could not open the index: {reply[1]}")
        self.hello: dict[str, Any] = reply[1]

    def submit(self, op: str, args: dict[str, Any]) -> None:
        try:
            self._conn.send((op, args))
        except (BrokenPipeError, OSError) as exc:
            raise _BackendDied(str(exc)) from None

    def poll(self, timeout: float) -> tuple[str, Any] | None:
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError) as exc:
            raise _BackendDied(f"the indexer process ended ({exc or 'EOF'})") from None
        if not self.process.is_alive():
            raise _BackendDied(f"the indexer process ended (exit code {self.process.exitcode})")
        return None

    def close(self) -> None:
        try:
            self._conn.send(("quit", {}))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(60)
        if self.process.is_alive():
            self.process.kill()  # it ignores SIGTERM by design
            self.process.join(5)
        self._conn.close()


class _InlineBackend:
    """The index side on the worker thread (tests, or ``isolate=False``)."""

    def __init__(self, service: IndexService):
        self.service = service
        self._request: tuple[str, dict[str, Any]] | None = None

    def submit(self, op: str, args: dict[str, Any]) -> None:
        self._request = (op, args)

    def poll(self, timeout: float) -> tuple[str, Any] | None:
        if self._request is None:
            return None
        op, args = self._request
        self._request = None
        try:
            return ("ok", self.service.handle(op, args))
        except Exception as exc:
            return ("error", _describe(exc))

    def close(self) -> None:
        self.service.close()


# --------------------------------------------------------------------------------------------
# The worker: settle, batch, reconcile, report.


@dataclass
class _Pending:
    sig: tuple[int, int] | None = None  # (size, mtime_ns) at the last look
    stable_since: float = 0.0
    next_check: float = 0.0
    awaiting_close: bool = False  # modified after the last closed (inotify only)
    complete: bool = False  # closed after writing, or moved into place


@dataclass
class _Request:
    op: str
    args: dict[str, Any]
    kind: str  # batch | catch-up | rescan | known | hand-off
    sigs: dict[str, tuple[int, int]] | None = None
    started: float = 0.0
    extra: Any = None
    waited: float = 0.0  # top-up waits granted (_top_up)


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
        self.max_batch = max_batch
        self._root_strs = [str(r) for r in self.roots]
        self._index_prefix = str(self.index_dir) + os.sep

        self._hints = _Hints()
        self._overflow = threading.Event()
        self._rescan_flag = threading.Event()
        self._stop = threading.Event()
        self._spy = _OverflowSpy(self._overflow, self._hints.wake)
        self._lock = daemon_files.DaemonLock(self.index_dir)
        self._observer: BaseObserver | None = None
        self._backend: _ProcessBackend | _InlineBackend | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

        # worker-thread state
        self._pending: dict[str, _Pending] = {}
        self._ready: dict[str, tuple[int, int]] = {}
        self._removed: set[str] = set()
        self._gone_dirs: list[str] = []
        self._rejected: dict[str, tuple[int, int]] = {}
        self._inflight: _Request | None = None
        self._scan_wanted: str | None = "catch-up"
        self._scan_rounds = 0
        self._catching_up = True
        self._last_commit_end = 0.0
        self._ready_since = 0.0  # when the ready set last became non-empty
        self._had_ready = False
        self._last_hint = 0.0  # when the observer last reported something
        self._retry_at = 0.0
        self._failures = 0
        self._next_rescan = 0.0
        self._next_inbox = 0.0
        self._next_status = 0.0

        self._status_lock = threading.Lock()
        self._state = "starting"
        self._started_at = time.time()
        self._last_commit: dict[str, Any] | None = None
        self._totals = {
            "added": 0,
            "updated": 0,
            "unchanged": 0,
            "removed": 0,
            "rejected": 0,
            "batches": 0,
            "handoffs": 0,
            "rescans": 0,
        }
        self._doc_count: int | None = None
        self._errors: deque[dict[str, Any]] = deque(maxlen=RECENT_ERRORS)
        self._commit_seq = 0

    # ---- public ------------------------------------------------------------------------

    def wants(self, path: str) -> bool:
        """Whether a path is one the daemon indexes (not ignored, not inside the index)."""
        if path.startswith(self._index_prefix) or path == str(self.index_dir):
            return False
        for root in self._root_strs:
            if path.startswith(root + os.sep):
                rel = path[len(root) + 1 :]
                return not any(is_skipped(part) for part in rel.split(os.sep))
        return not is_skipped(os.path.basename(path))

    def under_roots(self, path: str) -> bool:
        return any(path == r or path.startswith(r + os.sep) for r in self._root_strs)

    def start(self) -> None:
        """Start watching in the background: lock, indexer, observer, then the catch-up scan."""
        for root in self.roots:
            if not root.is_dir():
                raise DaemonError(
                    f"cannot watch {root}: no such folder; create it or fix watch_dirs in config.toml"
                )
        self._lock.acquire()
        try:
            self._write_status(force=True)
            self._backend = self._make_backend()
            self._observer = self._make_observer()
            logging.getLogger("watchdog").addHandler(self._spy)
            self._state = "catching up"
            self._thread = threading.Thread(target=self._loop, name="cablesearch-daemon", daemon=True)
            self._thread.start()
        except BaseException:
            self._teardown()
            raise
        log.info(
            "watching %s with %s; index %s",
            ", ".join(self._root_strs),
            "polling" if self.poll else "inotify",
            self.index_dir,
        )

    def stop(self, timeout: float | None = None) -> None:
        """Stop: no new events; the batch in hand is finished and committed; then shut down."""
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join()
            except Exception:
                log.exception("stopping the observer failed")
            self._observer = None
        self._stop.set()
        self._hints.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._teardown()

    def run(self) -> None:
        """Run in the foreground until SIGTERM or SIGINT; raises DaemonError if the worker dies.

        SIGHUP asks for a rescan. A second SIGINT/SIGTERM while stopping aborts at once.
        """
        self.start()
        stopping = {"count": 0}

        def on_signal(signum: int, _frame: Any) -> None:
            stopping["count"] += 1
            if stopping["count"] > 1:
                log.warning("second signal: aborting without finishing the batch")
                os._exit(130)
            log.info(
                "%s: finishing the current batch, then stopping (again to abort)", signal.Signals(signum).name
            )
            self._stop.set()
            self._hints.wake.set()

        def on_hup(_signum: int, _frame: Any) -> None:
            self.request_rescan()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)
        try:
            while not self._stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self._failure is not None:
            raise DaemonError(f"the daemon stopped after an error: {self._failure}")
        log.info("stopped")

    def request_rescan(self) -> None:
        """Ask for a reconciling scan of all watched folders (thread- and signal-safe)."""
        self._rescan_flag.set()
        self._hints.wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queue_length(self) -> int:
        """Paths seen but not yet committed (events, settling, ready, in the batch in hand)."""
        inflight = self._inflight
        n = len(self._hints) + len(self._pending) + len(self._ready) + len(self._removed)
        if inflight is not None and inflight.kind in ("batch", "catch-up", "rescan"):
            n += len(inflight.args.get("changed", ())) + len(inflight.args.get("removed", ()))
        return n

    @property
    def idle(self) -> bool:
        """True when caught up and nothing is waiting, settling or being written."""
        return (
            not self._catching_up
            and self._inflight is None
            and self._scan_wanted is None
            and not self._gone_dirs
            and self.queue_length == 0
            and not daemon_files.pending_requests(self.index_dir)
        )

    @property
    def commits(self) -> int:
        """How many batches have been committed since start."""
        return self._commit_seq

    def status(self) -> dict[str, Any]:
        """The status as written to ``daemon.json``."""
        with self._status_lock:
            return {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "state": self._state,
                "roots": self._root_strs,
                "index_dir": str(self.index_dir),
                "observer": "polling" if self.poll else "inotify",
                "indexer": "process" if self.isolate else "thread",
                "started_at": self._started_at,
                "updated_at": time.time(),
                "queue": self.queue_length,
                "inbox": len(daemon_files.pending_requests(self.index_dir)),
                "in_batch": (
                    len(self._inflight.args.get("changed", ())) + len(self._inflight.args.get("removed", ()))
                    if self._inflight
                    else 0
                ),
                "last_commit": self._last_commit,
                "totals": dict(self._totals),
                "doc_count": self._doc_count,
                "events": self._hints.events,
                "recent_errors": list(self._errors),
            }

    # ---- setup / teardown -------------------------------------------------------------

    def _make_backend(self) -> _ProcessBackend | _InlineBackend:
        backend: _ProcessBackend | _InlineBackend
        if self._service is not None:
            backend = _InlineBackend(self._service)
        elif not self.isolate:
            backend = _InlineBackend(SyncService(self.config, self._index))
        else:
            backend = _ProcessBackend(self.config)
            self._doc_count = backend.hello.get("doc_count")
            return backend
        try:
            self._doc_count = backend.service.handle("count", {}).get("doc_count")
        except Exception:
            self._doc_count = None
        return backend

    def _make_observer(self) -> BaseObserver:
        observer: BaseObserver
        try:
            if self.poll:
                from watchdog.observers.polling import PollingObserver

                observer = PollingObserver(timeout=1.0)
            else:
                from watchdog.observers import Observer

                observer = Observer()
            handler = _Handler(self._hints, self)
            for root in self.roots:
                observer.schedule(
                    handler, str(root), recursive=True, event_filter=None if self.poll else EVENT_FILTER
                )
            observer.start()
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE):
                raise DaemonError(inotify_limit_message(exc, self.roots)) from None
            raise DaemonError(f"cannot watch {', '.join(self._root_strs)}: {exc.strerror or exc}") from None
        return observer

    def _teardown(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._spy)
        if self._observer is not None:
            self._observer.stop()
            try:
                self._observer.join()
            except RuntimeError:
                pass  # never started
            self._observer = None
        if self._backend is not None:
            try:
                self._backend.close()
            except Exception:
                log.exception("closing the indexer failed")
            self._backend = None
        if self._lock.held:
            self._state = "failed" if self._failure else "stopped"
            self._write_status(force=True)
            self._lock.release()

    # ---- the worker loop --------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                now = time.monotonic()
                self._take_hints(now)
                if self._overflow.is_set():
                    self._overflow.clear()
                    self._error("", "events were lost (inotify queue overflowed); rescanning")
                    self._want_scan("rescan")
                if self._rescan_flag.is_set():
                    self._rescan_flag.clear()
                    self._want_scan("rescan")
                if self.config.rescan_seconds and self._next_rescan and now >= self._next_rescan:
                    self._want_scan("rescan")
                if self._inflight is not None:
                    self._wait_for_reply(0.02 if self._pending else 0.2)
                now = time.monotonic()
                self._settle(now)
                if self._ready or self._removed:
                    if not self._had_ready:
                        self._had_ready, self._ready_since = True, now
                else:
                    self._had_ready = False
                if self._inflight is None:
                    if self._stop.is_set():
                        break
                    self._submit_next(time.monotonic())
                self._write_status()
                if self._inflight is None:
                    self._hints.wake.wait(self._sleep_time())
                    self._hints.wake.clear()
        except BaseException as exc:
            self._failure = exc
            log.exception("the daemon's worker failed")
            self._error("", f"daemon failed: {exc}")
        finally:
            left = self.queue_length
            if left:
                log.info("%d changed paths left for the next start's catch-up", left)
            self._write_status(force=True)

    def _sleep_time(self) -> float:
        if self._stop.is_set():
            return 0.0
        now = time.monotonic()
        waits = [STATUS_INTERVAL, INBOX_INTERVAL]
        if self._pending:
            waits.append(min(e.next_check for e in self._pending.values()) - now)
        if self._ready or self._removed:
            quiet = min(QUIET_SECONDS, self.config.batch_seconds)
            due = min(self._ready_since + self.config.batch_seconds, self._last_hint + quiet)
            waits.append(max(due, self._retry_at) - now)
        if self._scan_wanted or self._gone_dirs:
            waits.append(self._retry_at - now)
        return max(0.002, min(waits))

    def _want_scan(self, kind: str) -> None:
        if self._scan_wanted is None:
            self._scan_wanted = kind

    # ---- hints -> pending ------------------------------------------------------------

    def _take_hints(self, now: float) -> None:
        files, new_dirs, gone_dirs = self._hints.take()
        if files or new_dirs or gone_dirs:
            self._last_hint = now
        inotify = not self.poll
        for path, kind in files.items():
            entry = self._pending.get(path)
            if entry is None:
                entry = self._pending[path] = _Pending()
            entry.stable_since = now
            entry.next_check = now
            if kind in (CLOSED, MOVED_IN):
                entry.complete, entry.awaiting_close = True, False
            elif kind == MODIFIED:
                entry.complete, entry.awaiting_close = False, inotify
            else:  # created, gone: look again, settle from scratch
                entry.complete = False
        for path in new_dirs:
            self._walk_into(path, now)
        self._gone_dirs.extend(gone_dirs)

    def _walk_into(self, top: str, now: float, found: set[str] | None = None) -> None:
        """Queue every wanted file below ``top``: old enough ones as ready, others to settle."""
        wall = time.time()
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for e in entries:
                if is_skipped(e.name):
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        if self.wants(e.path):
                            stack.append(e.path)
                        continue
                    if not e.is_file():
                        continue
                    st = e.stat()
                except OSError:
                    continue
                if not self.wants(e.path):
                    continue
                if found is not None:
                    found.add(e.path)
                sig = (st.st_size, st.st_mtime_ns)
                if self._rejected.get(e.path) == sig:
                    continue
                if e.path in self._pending:
                    continue
                if self._written_long_ago(st, wall):
                    self._ready[e.path] = sig
                    self._removed.discard(e.path)
                else:
                    self._pending[e.path] = _Pending(sig=sig, stable_since=now, next_check=now)

    def _written_long_ago(self, st: os.stat_result, wall: float) -> bool:
        """A non-empty file last written ``settle_seconds`` or more before ``wall`` (time.time()):
        complete without waiting, when no write of it was seen."""
        return st.st_size > 0 and wall * 1e9 - st.st_mtime_ns >= self.config.settle_seconds * 1e9

    # ---- settling ---------------------------------------------------------------------

    def _settle(self, now: float) -> None:
        settle = self.config.settle_seconds
        wall = time.time()
        for path, entry in list(self._pending.items()):
            if entry.next_check > now:
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                del self._pending[path]
                self._ready.pop(path, None)
                self._rejected.pop(path, None)
                self._removed.add(path)
                continue
            except OSError as exc:
                del self._pending[path]
                self._error(path, f"cannot read: {exc.strerror or exc}")
                continue
            if not stat_module.S_ISREG(st.st_mode):
                del self._pending[path]
                continue
            sig = (st.st_size, st.st_mtime_ns)
            # Settled: closed after writing or moved within the tree; unchanged for the settle
            # time; or, with no write seen, last written settle_seconds ago or more (a file
            # moved in from outside the tree: inotify reports it "created", not "closed"; the
            # catch-up scan takes such files at once by the same rule).
            if (
                entry.complete
                or (
                    entry.sig == sig
                    and now - entry.stable_since
                    >= (settle if (sig[0] > 0 and not entry.awaiting_close) else OPEN_GRACE)
                )
                or (entry.sig is None and not entry.awaiting_close and self._written_long_ago(st, wall))
            ):
                del self._pending[path]
                self._removed.discard(path)
                if self._rejected.get(path) != sig:
                    self._ready[path] = sig
                continue
            if entry.sig != sig:
                entry.sig = sig
                entry.stable_since = now
            wait = settle if (sig[0] > 0 and not entry.awaiting_close) else OPEN_GRACE
            entry.next_check = entry.stable_since + wait

    # ---- requests to the indexer ------------------------------------------------------

    def _submit_next(self, now: float) -> None:
        assert self._backend is not None
        if now < self._retry_at:
            return
        if self._scan_wanted is not None and not self._ready and not self._removed:
            kind = self._scan_wanted
            self._submit(_Request("known", {"roots": self._root_strs}, kind="known", extra=kind))
            return
        if self._gone_dirs:
            dirs, self._gone_dirs = self._gone_dirs, []
            self._submit(_Request("known", {"roots": dirs}, kind="known", extra="gone"))
            return
        if now >= self._next_inbox:
            self._next_inbox = now + INBOX_INTERVAL
            requests = daemon_files.pending_requests(self.index_dir)
            if requests:
                self._submit_handoff(requests[0])
                return
        if (self._ready or self._removed) and self._batch_due(now):
            sigs: dict[str, tuple[int, int]] = {}
            for path in list(self._ready)[: self.max_batch]:
                sigs[path] = self._ready.pop(path)
            removed, self._removed = self._removed, set()
            self._had_ready = False
            kind = "catch-up" if self._catching_up else "rescan" if self._state == "rescanning" else "batch"
            self._submit(
                _Request(
                    "apply",
                    {"changed": sorted(sigs), "removed": sorted(removed), "stream": self._streaming},
                    kind=kind,
                    sigs=sigs,
                )
            )
            return
        if self._catching_up and not self._pending:
            self._catching_up = False
            self._state = "watching"
            self._write_status(force=True)
        elif self._state == "rescanning":
            self._state = "watching"

    @property
    def _streaming(self) -> bool:
        """Whether batches grow while written: the indexer process asks for the files that
        become ready meanwhile (_top_up); in-thread indexing cannot."""
        return isinstance(self._backend, _ProcessBackend)

    def _batch_due(self, now: float) -> bool:
        """Start a batch now? With the indexer in its child process, at once: the batch takes
        in what becomes ready while it is written (_top_up). In-thread, at once when things are
        quiet (an isolated drop is searchable within the settle time plus one commit); during a
        burst, once the oldest ready path has waited ``batch_seconds``, so a burst becomes a few
        large commits, not thousands."""
        if len(self._ready) >= self.max_batch or self._stop.is_set():
            return True
        if self._streaming:
            return True  # the indexer takes in what becomes ready while it writes (_top_up)
        if now - self._ready_since >= self.config.batch_seconds:
            return True
        quiet = min(QUIET_SECONDS, self.config.batch_seconds)
        return not self._pending and now - self._last_hint >= quiet

    def _submit_handoff(self, request_path: Path) -> None:
        import json

        try:
            data = json.loads(request_path.read_text(encoding="utf-8"))
            paths = [str(p) for p in data["paths"]]
            prune = bool(data.get("prune", False))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._error(str(request_path), f"unreadable hand-off request ({exc}); removed")
            request_path.unlink(missing_ok=True)
            return
        self._submit(
            _Request("sync_paths", {"paths": paths, "prune": prune}, kind="hand-off", extra=request_path)
        )

    def _submit(self, request: _Request) -> None:
        assert self._backend is not None
        request.started = time.monotonic()
        self._inflight = request
        try:
            self._backend.submit(request.op, request.args)
        except _BackendDied as exc:
            self._backend_died(str(exc))
            return
        if request.op != "known":
            self._write_status(force=True)  # status shows the batch in hand

    def _wait_for_reply(self, timeout: float) -> None:
        assert self._backend is not None and self._inflight is not None
        try:
            reply = self._backend.poll(timeout)
        except _BackendDied as exc:
            self._backend_died(str(exc))
            return
        if reply is None:
            return
        if reply[0] == "more?":
            self._top_up(self._inflight, bool(reply[1].get("idle")))
            return
        request, self._inflight = self._inflight, None
        status, payload = reply
        if status == "ok":
            self._failures = 0
            self._done(request, payload)
        else:
            self._failed(request, str(payload))

    def _top_up(self, request: _Request, idle: bool) -> None:
        """The indexer asks for more paths for the batch it is writing: give it those that
        became ready since (up to ``max_batch`` in all, for ``TOP_UP_SECONDS`` after the batch
        started, none once stopping), so a burst is written as one stream, one commit. When it
        has nothing else in hand and files are still settling, it is told to wait for them (at
        most ``batch_seconds`` in all per batch, the longest an isolated drop could wait)."""
        assert self._backend is not None
        now = time.monotonic()
        self._take_hints(now)
        self._settle(now)
        paths: list[str] = []
        wait = 0.0
        if request.op == "apply" and not self._stop.is_set() and now - request.started < TOP_UP_SECONDS:
            changed: list[str] = request.args["changed"]
            sigs = request.sigs if request.sigs is not None else {}
            room = self.max_batch - len(changed)
            for path in self._ready:
                if len(paths) >= room:
                    break
                if path not in sigs:  # changed again while in this batch: the next one has it
                    paths.append(path)
            for path in paths:
                sigs[path] = self._ready.pop(path)
            changed.extend(paths)
            budget = self.config.batch_seconds - request.waited
            if not paths and idle and self._pending and room > 0 and budget > 0:
                soonest = min(entry.next_check for entry in self._pending.values())
                wait = min(budget, max(0.005, soonest - now))
                request.waited += wait
        try:
            self._backend.submit("more", {"changed": paths, "wait": wait})
        except _BackendDied as exc:
            self._backend_died(str(exc))

    def _backend_died(self, reason: str) -> None:
        request, self._inflight = self._inflight, None
        self._error("", f"{reason}; restarting it and rescanning")
        if request is not None:
            self._requeue(request)
        if self._backend is not None:
            try:
                self._backend.close()
            except Exception:
                pass
        self._backend = self._make_backend()
        self._want_scan("rescan")

    def _requeue(self, request: _Request) -> None:
        if request.op == "apply":
            for path in request.args["changed"]:
                self._ready.setdefault(path, (request.sigs or {}).get(path, (0, 0)))
            self._removed.update(request.args["removed"])

    def _failed(self, request: _Request, message: str) -> None:
        self._failures += 1
        delay = min(30.0, 0.5 * 2**self._failures)
        self._retry_at = time.monotonic() + delay
        self._error("", f"{request.kind} failed: {message}; retrying in {delay:.0f} s")
        log.error("%s failed: %s; retrying in %.0f s", request.kind, message, delay)
        if request.op == "apply":
            self._requeue(request)
        elif request.op == "known":
            if request.extra == "gone":
                self._gone_dirs.extend(request.args["roots"])
            else:
                self._want_scan(request.extra)
        # a failed hand-off stays in the inbox and is tried again

    def _done(self, request: _Request, payload: Any) -> None:
        if request.op == "known":
            self._scan_done(request, set(payload))
        elif request.op == "apply":
            self._batch_done(request, payload)
        elif request.op == "sync_paths":
            self._handoff_done(request, payload)

    def _scan_done(self, request: _Request, known: set[str]) -> None:
        now = time.monotonic()
        if request.extra == "gone":
            for path in known:
                if not os.path.lexists(path):
                    self._pending.pop(path, None)
                    self._ready.pop(path, None)
                    self._removed.add(path)
            return
        kind = request.extra
        self._scan_wanted = None
        self._scan_rounds += 1
        if kind != "catch-up":
            self._state = "rescanning"
            self._totals["rescans"] += 1
        found: set[str] = set()
        for root in self._root_strs:
            self._walk_into(root, now, found)
        for path in known - found:
            if path not in self._pending and self.under_roots(path) and not os.path.lexists(path):
                self._removed.add(path)
        for path in list(self._rejected):
            if path not in found:
                del self._rejected[path]
        if self.config.rescan_seconds:
            self._next_rescan = now + self.config.rescan_seconds
        log.info(
            "%s: %d files under %s, %d to check, %d gone",
            kind,
            len(found),
            ", ".join(self._root_strs),
            len(self._ready),
            len(self._removed),
        )

    def _batch_done(self, request: _Request, result: dict[str, Any]) -> None:
        sigs = request.sigs or {}
        changed = set(request.args["changed"])
        # A file deleted after it settled is "rejected" as missing: its removal is queued.
        result["rejected"] = [
            item
            for item in result.get("rejected", [])
            if not (item["path"] in changed and not os.path.lexists(item["path"]))
        ]
        rejected_now = {item["path"] for item in result["rejected"]}
        for item in result["rejected"]:
            path = item["path"]
            if path in sigs:
                self._rejected[path] = sigs[path]  # reported once: skipped until it changes
            log.warning("skipped %s: %s", path, item["reason"])
            self._error(path, item["reason"])
        for path in changed - rejected_now:
            self._rejected.pop(path, None)
        self._record_commit(request, result)

    def _handoff_done(self, request: _Request, result: dict[str, Any]) -> None:
        request_path: Path = request.extra
        for item in result.get("rejected", []):
            self._error(item["path"], item["reason"])
        self._totals["handoffs"] += 1
        self._record_commit(request, result)
        done = request_path.with_suffix(daemon_files.DONE_SUFFIX)
        try:
            # rejected as SyncReport.to_json() gives them: "path: reason" lines
            rejected = [f"{item['path']}: {item['reason']}" for item in result.get("rejected", [])]
            daemon_files.write_json_atomic(
                done, result | {"pid": os.getpid(), "paths": request.args["paths"], "rejected": rejected}
            )
            request_path.unlink(missing_ok=True)
        except OSError as exc:
            self._error(str(request_path), f"cannot answer the hand-off: {exc}")

    def _record_commit(self, request: _Request, result: dict[str, Any]) -> None:
        seconds = time.monotonic() - request.started
        files = len(request.args.get("changed", request.args.get("paths", ())))
        rejected = len(result.get("rejected", []))
        with self._status_lock:
            for key in ("added", "updated", "unchanged", "removed"):
                self._totals[key] += int(result.get(key, 0))
            self._totals["rejected"] += rejected
            self._totals["batches"] += 1
            if result.get("doc_count") is not None:
                self._doc_count = int(result["doc_count"])
            self._last_commit = {
                "at": time.time(),
                "kind": request.kind,
                "files": files,
                "added": result.get("added", 0),
                "updated": result.get("updated", 0),
                "unchanged": result.get("unchanged", 0),
                "removed": result.get("removed", 0),
                "rejected": rejected,
                "seconds": round(seconds, 3),
            }
            self._commit_seq += 1
        self._last_commit_end = time.monotonic()
        log.info(
            "%s: %d files, %d removed paths -> %d added, %d updated, %d removed, "
            "%d rejected, %d unchanged in %.2f s; %s cables; %d queued",
            request.kind,
            files,
            len(request.args.get("removed", ())),
            result.get("added", 0),
            result.get("updated", 0),
            result.get("removed", 0),
            rejected,
            result.get("unchanged", 0),
            seconds,
            self._doc_count if self._doc_count is not None else "?",
            self.queue_length,
        )
        self._write_status(force=True)

    # ---- status ---------------------------------------------------------------------

    def _error(self, path: str, message: str) -> None:
        with self._status_lock:
            self._errors.append({"at": time.time(), "path": path, "message": message})

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_status:
            return
        self._next_status = now + STATUS_INTERVAL
        try:
            daemon_files.write_json_atomic(self.index_dir / daemon_files.STATUS_FILE, self.status())
        except OSError as exc:
            log.warning("cannot write the status file: %s", exc)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)
