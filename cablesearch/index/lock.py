"""File locks: one ``flock`` helper (:class:`Flock`), the index's write lock built on it
(:class:`WriteLock`), and :func:`is_held` for probing another process's lock.

The write lock is Whoosh's own ``WRITELOCK`` file (plain Whoosh writers conflict with ours
too); the holder writes its pid and process start time into the file. A writer that finds the
lock held waits (calling ``on_wait(holder)`` once) until ``timeout``, then raises
:class:`~cablesearch.errors.IndexLocked`. The kernel drops an ``flock`` when its holder dies,
but children that inherited the descriptor keep it; so when the recorded holder is gone while
the lock is still held, the lock is stale: its file is replaced. A short-lived guard lock makes
"take the lock and record the pid" and "judge the lock stale and replace it" atomic with
respect to each other.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cablesearch.errors import IndexLocked

log = logging.getLogger(__name__)

LOCK_NAME = "WRITELOCK"
GUARD_NAME = "WRITELOCK.guard"
_POLL = 0.1


class Flock:
    """An exclusive ``flock`` on one file (created when missing), held through ``fd``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free; False if another descriptor holds it."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        self.fd = fd
        return True

    def acquire_blocking(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd = fd

    def write(self, text: str) -> None:
        """Replace the lock file's content (the lock is held)."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode("utf-8"), 0)

    def release(self) -> None:
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None

    @property
    def held(self) -> bool:
        return self.fd is not None


def is_held(path: Path) -> bool:
    """Whether some process holds an ``flock`` on ``path`` (False when the file is missing)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops our probe lock too
    return False


@dataclass
class LockHolder:
    pid: int
    started: float | None  # the process's start time (clock ticks since boot), to spot pid reuse
    since: float  # when the lock was taken (epoch seconds)
    command: str


def _proc_stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc_start(pid: int) -> float | None:
    fields = _proc_stat(pid)
    try:
        return float(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def _alive(holder: LockHolder) -> bool:
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if holder.started is not None:
        start = _proc_start(holder.pid)
        if start is not None and start != holder.started:
            return False  # the pid was reused by another process
        if start is not None:
            fields = _proc_stat(holder.pid)
            if fields is None or fields[0] == b"Z":
                return False
    return True


def read_lock_holder(index_dir: Path) -> LockHolder | None:
    """Who recorded themselves as holding the index lock (may be stale); None if nobody."""
    try:
        data = json.loads((Path(index_dir) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "pid" not in data:
        return None
    return LockHolder(
        int(data["pid"]), data.get("started"), float(data.get("since", 0)), str(data.get("command", ""))
    )


def current_holder(index_dir: Path) -> LockHolder | None:
    """The process recorded as holding the write lock, if the lock is held."""
    probe = Flock(Path(index_dir) / LOCK_NAME)
    if probe.try_acquire():
        probe.release()
        return None
    return read_lock_holder(index_dir)


class WriteLock:
    """The index's write lock with holder records and stale-lock recovery."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._lock = Flock(self.index_dir / LOCK_NAME)
        self._guard = Flock(self.index_dir / GUARD_NAME)

    def _try_once(self) -> bool:
        self._guard.acquire_blocking()
        try:
            if not self._lock.try_acquire():
                holder = read_lock_holder(self.index_dir)
                if holder is None or _alive(holder):
                    return False
                # The recorded holder is dead but the flock is still held (a child process
                # inherited it): the lock is stale. Replace the file and take the new one.
                log.warning("recovered the index lock left by pid %d, which is no longer running", holder.pid)
                try:
                    os.unlink(self.index_dir / LOCK_NAME)
                except FileNotFoundError:
                    pass
                if not self._lock.try_acquire():
                    return False
            record = {
                "pid": os.getpid(),
                "started": _proc_start(os.getpid()),
                "since": time.time(),
                "command": _command_line(),
            }
            self._lock.write(json.dumps(record))
            return True
        finally:
            self._guard.release()

    def acquire(self, timeout: float, on_wait: Callable[[LockHolder | None], None] | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; raise IndexLocked after that."""
        deadline = time.monotonic() + max(timeout, 0.0)
        waited = False
        while True:
            if self._try_once():
                return
            holder = read_lock_holder(self.index_dir)
            if not waited:
                waited = True
                if on_wait is not None:
                    on_wait(holder)
            if time.monotonic() >= deadline:
                who = f"pid {holder.pid}" if holder else "another process"
                if holder and holder.command:
                    who += f" ({holder.command})"
                raise IndexLocked(
                    f"the index at {self.index_dir} is locked by {who}; gave up after waiting "
                    f"{timeout:g}s. Wait for that writer to finish (or stop it), or raise "
                    "lock_timeout (CABLESEARCH_LOCK_TIMEOUT)"
                )
            time.sleep(_POLL)

    def release(self) -> None:
        """Clear the holder record and release the lock."""
        if self._lock.fd is not None:
            try:
                os.ftruncate(self._lock.fd, 0)
            except OSError:
                pass
            self._lock.release()


def _command_line() -> str:
    """This process's command line, short and on one line (for lock messages)."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            parts = [p.decode("utf-8", "replace") for p in f.read().split(b"\0") if p]
    except OSError:
        return ""
    if not parts:
        return ""
    if len(parts) > 2 and parts[1] == "-c":
        parts = parts[:2] + ["..."]
    text = " ".join([os.path.basename(parts[0])] + parts[1:])
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."
