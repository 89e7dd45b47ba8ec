"""File events: watchdog's observer, its handler, and the watch on the watcher itself.

The handler runs on watchdog's threads and only records hints ("this path changed / was closed
/ went away / this folder appeared") into a thread-safe ``Hints`` table: no stat, no parsing,
so the kernel's queue is drained fast. ``Watcher`` owns the observer: it starts it, notices
when one of its threads has died (watchdog walks a new folder tree recursively, and a tree
~1,000 levels deep ends its thread with RecursionError), names the cause, and restarts it.
Everything here that knows watchdog's internals is marked so.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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

from cablesearch.errors import DaemonError

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

HEALTH_INTERVAL = 1.0  # seconds between looks at the observer's threads
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # after the 1st, 2nd... death in a row
STEADY_SECONDS = 60.0  # up this long after a restart: healthy again

CREATED, MODIFIED, CLOSED, MOVED_IN, GONE = "created", "modified", "closed", "moved_in", "gone"

# watchdog (inotify) re-adds the watches of a folder renamed within the tree when it missed the
# rename's first half; inotify hands back the same watch, and watchdog warns (several KB, with
# its whole watch table) that it replaces the callback by the same one. Harmless: silenced.
_REWATCH = r"Callback with id '\d+' already exists for watch"


def silence_rewatch_warning() -> None:
    warnings.filterwarnings("ignore", message=_REWATCH, category=RuntimeWarning)


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


class Hints:
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


class Handler(FileSystemEventHandler):
    """watchdog handler: maps each event to hints. Runs on the observer's thread.
    ``wanted(path)``: a path the daemon indexes; ``inside(path)``: under a watched folder."""

    def __init__(self, hints: Hints, wanted: Callable[[str], bool], inside: Callable[[str], bool]):
        self.hints = hints
        self.wanted = wanted
        self.inside = inside

    def dispatch(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        kind = event.event_type
        wanted = self.wanted
        moved_in = bool(dest) and wanted(dest) and self.inside(dest)
        if event.is_directory:
            if kind == "created" and wanted(src):
                self.hints.dir_new(src)
            elif kind == "deleted":
                self.hints.dir_gone(src)
            elif kind == "moved":
                self.hints.dir_gone(src)
                if moved_in:
                    self.hints.dir_new(dest)
            return
        if kind == "moved":
            if wanted(src):
                self.hints.file(src, GONE)
            if moved_in:
                self.hints.file(dest, MOVED_IN)
            return
        if not wanted(src):
            return
        hint = {"created": CREATED, "modified": MODIFIED, "closed": CLOSED, "deleted": GONE}.get(kind)
        if hint is not None:
            self.hints.file(src, hint)


class OverflowSpy(logging.Handler):
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


# --- deaths of watchdog's threads ------------------------------------------------------------

_deaths: weakref.WeakKeyDictionary[threading.Thread, str] = weakref.WeakKeyDictionary()
_hook_lock = threading.Lock()
_hook_installed = False


def _install_death_hook() -> None:
    """Chain ``threading.excepthook``: an exception that ends one of watchdog's threads is
    recorded (the Watcher reports it in one line) instead of printed as a traceback."""
    global _hook_installed
    with _hook_lock:
        if _hook_installed:
            return
        previous = threading.excepthook

        def hook(args: Any) -> None:
            thread = args.thread
            if thread is not None and type(thread).__module__.startswith("watchdog"):
                _deaths[thread] = f"{args.exc_type.__name__}: {args.exc_value}"
                return
            previous(args)

        threading.excepthook = hook
        _hook_installed = True


class Watcher:
    """The observer over ``roots`` (inotify, or polling), restartable when it breaks."""

    def __init__(self, roots: list[Path], handler: Handler, spy: OverflowSpy, poll: bool):
        self.roots = roots
        self.handler = handler
        self.spy = spy
        self.poll = poll
        self.observer: BaseObserver | None = None
        self.down: str | None = None  # why the observer died, until it has stayed up a while
        self.restarts = 0  # restarts in the current episode of trouble
        self._since = 0.0
        self._next_look = 0.0

    @property
    def kind(self) -> str:
        return "polling" if self.poll else "inotify"

    def start(self) -> None:
        """Start observing; DaemonError with the fix when the inotify limits are too low."""
        silence_rewatch_warning()
        _install_death_hook()
        observer: BaseObserver
        try:
            if self.poll:
                from watchdog.observers.polling import PollingObserver

                observer = PollingObserver(timeout=1.0)
            else:
                from watchdog.observers import Observer

                observer = Observer()  # opens the inotify instance
            self.observer = observer
            for root in self.roots:
                observer.schedule(
                    self.handler, str(root), recursive=True, event_filter=None if self.poll else EVENT_FILTER
                )
            observer.start()
        except OSError as exc:
            self.stop()
            if exc.errno in (errno.ENOSPC, errno.EMFILE):
                raise DaemonError(inotify_limit_message(exc, self.roots)) from None
            where = ", ".join(str(r) for r in self.roots)
            raise DaemonError(f"cannot watch {where}: {exc.strerror or exc}") from None
        except Exception as exc:
            # watchdog sets up its watches on the caller's thread, walking the tree recursively:
            # a very deep tree raises RecursionError here. Not fatal: supervise() retries, and
            # the daemon rescans meanwhile.
            self.stop()
            self.down = f"the file watcher could not start: {type(exc).__name__}: {exc}"
            return
        logging.getLogger("watchdog").addHandler(self.spy)

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self.spy)
        observer, self.observer = self.observer, None
        if observer is None:
            return
        try:
            observer.stop()
            observer.join()
        except RuntimeError:
            pass  # never started
        except Exception:
            log.exception("stopping the observer failed")

    def _threads(self) -> list[threading.Thread]:
        observer = self.observer
        if observer is None:
            return []
        threads: list[threading.Thread] = [observer, *observer.emitters]
        # watchdog internals: the inotify observer reads events on a thread of its own
        reader = getattr(observer, "_inotify_fd", None)
        if isinstance(reader, threading.Thread):
            threads.append(reader)
        return threads

    def trouble(self) -> str | None:
        """Why the running observer no longer delivers events (one of its threads ended), or
        None while it is healthy."""
        for thread in self._threads():
            if thread.ident is not None and not thread.is_alive():
                cause = _deaths.get(thread)
                name = re.sub(r"\W+", " ", type(thread).__name__).strip()
                return f"the file-watching thread ({name}) died" + (f": {cause}" if cause else "")
        return None

    def restart(self) -> None:
        """Stop the broken observer and start a fresh one (which may fail the same way)."""
        self.stop()
        self.start()

    def supervise(self, now: float) -> str | None:
        """Look at the observer's threads (at most every HEALTH_INTERVAL); when one has died,
        restart the observer — after a growing pause when it dies again at once — and return
        why (the caller reports it and rescans). ``down`` keeps the reason until the observer
        has stayed up for STEADY_SECONDS."""
        if now < self._next_look:
            return None
        self._next_look = now + HEALTH_INTERVAL
        trouble = (
            self.trouble() if self.observer is not None else self.down or "the file watcher is not running"
        )
        if trouble is None:
            if self.down and now - self._since > STEADY_SECONDS:
                self.down, self.restarts = None, 0
            return None
        self.restarts += 1
        delay = RESTART_DELAYS[min(self.restarts - 1, len(RESTART_DELAYS) - 1)]
        self.down, self._since = trouble, now
        self._next_look = now + max(HEALTH_INTERVAL, delay)
        try:
            self.restart()
        except DaemonError as exc:
            trouble += f" (restarting it failed: {exc})"
        if self.observer is None and self.down != trouble:
            trouble += f" ({self.down})"
        return trouble
