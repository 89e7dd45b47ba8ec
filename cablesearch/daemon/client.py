"""Finding the running indexing daemon and handing work to it.

The daemon (``daemon.service.Daemon``) keeps three things in the index folder:

- ``daemon.lock`` — an advisory ``flock`` held for as long as the daemon lives. The kernel drops
  it when the process dies, even by ``kill -9``, so "can I take the lock?" is the liveness check
  (immune to stale pid files and reused pids).
- ``daemon.json`` — its status (pid, watched folders, queue length, last commit, counts, recent
  errors), rewritten atomically after each batch and every few seconds.
- ``inbox/`` — a spool folder: ``cablesearch index`` writes one small JSON request there instead
  of fighting the daemon for the index lock; the daemon indexes those paths through its own
  writer and leaves ``<request>.done`` with the report beside it.
"""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cablesearch.errors import DaemonError
from cablesearch.index.lock import Flock, is_held

STATUS_FILE = "daemon.json"
LOCK_FILE = "daemon.lock"
INBOX_DIR = "inbox"
REQUEST_SUFFIX = ".json"
DONE_SUFFIX = ".done"
PROGRESS_SUFFIX = ".progress"
READ_LIMIT = 16 << 20  # no status, request or report is near this big


@dataclass
class DaemonInfo:
    """What ``find_running`` knows about a live daemon (from its status file)."""

    pid: int
    roots: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def queue(self) -> int:
        """Paths seen but not yet committed, as of the last status write."""
        return int(self.status.get("queue", 0))


@dataclass
class HandOff:
    """A request left in the daemon's inbox; ``wait()`` for the daemon's report."""

    request_id: str
    pid: int
    path: Path
    count: int

    @property
    def done_path(self) -> Path:
        return self.path.with_suffix(DONE_SUFFIX)

    def wait(
        self,
        timeout: float,
        poll: float = 0.1,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any] | None:
        """The daemon's report for this request, or None if it is not done within ``timeout``.
        ``on_progress`` gets each new ``progress()`` the daemon writes meanwhile."""
        deadline = time.monotonic() + timeout
        shown: dict[str, Any] | None = None
        while True:
            report = self.result()
            if report is not None:
                return report
            if on_progress is not None:
                progress = self.progress()
                if progress is not None and progress != shown:
                    shown = progress
                    on_progress(progress)
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll)

    def progress(self) -> dict[str, Any] | None:
        """How far the daemon has got with this request (the fields of ``SyncProgress``:
        bytes_done, bytes_total, cables, files_done, files_total, elapsed), or None."""
        try:
            data = json.loads(read_regular(self.path.with_suffix(PROGRESS_SUFFIX)))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def result(self) -> dict[str, Any] | None:
        """The daemon's report if the request is done (and then removes it), else None."""
        try:
            data = json.loads(read_regular(self.done_path))
        except (OSError, ValueError):
            return None
        try:
            self.done_path.unlink()
        except FileNotFoundError:
            pass
        return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: leave no partial file behind
        raise


def read_regular(path: Path, limit: int = READ_LIMIT) -> str:
    """The text of ``path`` if it is a regular file: opened without blocking and checked
    before reading, so a FIFO (or device) put in its place cannot hang the reader.
    Raises OSError (ValueError for a special file) otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


def read_status(index_dir: Path) -> dict[str, Any] | None:
    """The last status the daemon wrote for this index (running or not), or None."""
    try:
        data = json.loads(read_regular(Path(index_dir) / STATUS_FILE))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class DaemonLock:
    """The daemon's lifetime lock on ``<index_dir>/daemon.lock`` (one daemon per index)."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / LOCK_FILE
        self._lock = Flock(self.path)

    def acquire(self) -> None:
        """Take the lock or raise DaemonError naming the daemon that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            taken = self._lock.try_acquire()
        except OSError as exc:
            raise DaemonError(f"cannot lock {self.path}: {exc.strerror}") from None
        if not taken:
            status = read_status(self.path.parent) or {}
            pid = status.get("pid", "?")
            raise DaemonError(
                f"another indexing daemon (pid {pid}) already keeps the index "
                f"{self.path.parent} current; stop it first, or use `cablesearch status`"
            )
        self._lock.write(f"{os.getpid()}\n")

    def release(self) -> None:
        self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.held


def find_running(index_dir: Path) -> DaemonInfo | None:
    """The daemon keeping ``index_dir`` current, or None when none is alive.

    Liveness is the daemon's ``flock`` on ``daemon.lock`` — released by the kernel when the
    process dies in any way — so a status file left by a killed daemon does not count.
    """
    if not is_held(Path(index_dir) / LOCK_FILE):
        return None
    status = read_status(index_dir) or {}
    pid = status.get("pid")
    if not isinstance(pid, int):
        try:
            pid = int((Path(index_dir) / LOCK_FILE).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
    return DaemonInfo(pid=pid, roots=list(status.get("roots", [])), status=status)


def hand_off(index_dir: Path, paths: Iterable[Path | str], prune: bool = False) -> HandOff:
    """Give ``paths`` (files, folders, cables.csv) to the running daemon for indexing.

    Writes one request into ``<index_dir>/inbox/``; the daemon picks it up within a second,
    indexes through its own writer (with ``prune`` as ``cablesearch index --prune``) and
    writes a ``.done`` report that ``HandOff.wait()`` returns. Raises DaemonError when no
    daemon runs for this index. A request left when the daemon stops is done at its next start.
    """
    info = find_running(index_dir)
    if info is None:
        raise DaemonError(
            f"no indexing daemon is running for {index_dir}; "
            "start one with `cablesearch watch`, or index directly"
        )
    absolute = [str(Path(p).expanduser().absolute()) for p in paths]
    inbox = Path(index_dir) / INBOX_DIR
    inbox.mkdir(parents=True, exist_ok=True)
    request_id = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path = inbox / f"{request_id}{REQUEST_SUFFIX}"
    write_json_atomic(
        path,
        {"paths": absolute, "prune": bool(prune), "requested_by": os.getpid(), "requested_at": time.time()},
    )
    return HandOff(request_id=request_id, pid=info.pid, path=path, count=len(absolute))


def pending_requests(index_dir: Path) -> list[Path]:
    """Hand-off requests waiting in the inbox, oldest first."""
    inbox = Path(index_dir) / INBOX_DIR
    try:
        names = [
            e.name
            for e in os.scandir(inbox)
            if e.name.endswith(REQUEST_SUFFIX) and not e.name.startswith(".")
        ]
    except FileNotFoundError:
        return []
    return [inbox / n for n in sorted(names)]
