"""The daemon's status: counts, the last commit, recent errors, and ``daemon.json``.

``StatusBoard`` is written by the worker thread and read by anyone (``Daemon.status()``, the
web app); a lock keeps reads whole. ``cablesearch status`` renders the file it writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from . import client
from .messages import BatchResult

log = logging.getLogger("cablesearch.daemon.service")  # one logger for the daemon's lines

RECENT_ERRORS = 20
RECENT_CONFLICTS = 20  # IDs whose files give different texts, the latest kept
STATUS_INTERVAL = 2.0  # seconds between status writes while idle
TOTALS = (
    "added",
    "updated",
    "unchanged",
    "removed",
    "rejected",
    "conflicts",
    "copies",
    "batches",
    "handoffs",
    "rescans",
)


class StatusBoard:
    """What the daemon has done since it started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = "starting"
        self.started_at = time.time()
        self.last_commit: dict[str, Any] | None = None
        self.totals = dict.fromkeys(TOTALS, 0)
        self.doc_count: int | None = None
        self.errors: deque[dict[str, Any]] = deque(maxlen=RECENT_ERRORS)
        self.conflicts: deque[dict[str, Any]] = deque(maxlen=RECENT_CONFLICTS)
        self.commits = 0
        self._next_write = 0.0
        self._write_failed = False

    def error(self, path: str, message: str) -> None:
        with self.lock:
            self.errors.append({"at": time.time(), "path": path, "message": message})

    def count(self, key: str) -> None:
        with self.lock:
            self.totals[key] += 1

    def record_commit(
        self, kind: str, files: int, removed: int, result: BatchResult, seconds: float, queued: int
    ) -> None:
        """Count a commit, and log its one line."""
        rejected = len(result.rejected)
        log.info(
            "%s: %d files, %d removed paths -> %d added, %d updated, %d removed, "
            "%d rejected, %d unchanged in %.2f s; %s cables; %d queued",
            kind,
            files,
            removed,
            result.added,
            result.updated,
            result.removed,
            rejected,
            result.unchanged,
            seconds,
            result.doc_count if result.doc_count is not None else "?",
            queued,
        )
        with self.lock:
            for key in ("added", "updated", "unchanged", "removed"):
                self.totals[key] += getattr(result, key)
            self.totals["rejected"] += rejected
            self.totals["conflicts"] += result.conflict_count
            self.totals["copies"] += result.copy_count
            self.conflicts.extend({"at": time.time(), **c} for c in result.conflicts)
            self.totals["batches"] += 1
            if result.doc_count is not None:
                self.doc_count = result.doc_count
            self.last_commit = {
                "at": time.time(),
                "kind": kind,
                "files": files,
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "removed": result.removed,
                "rejected": rejected,
                "seconds": round(seconds, 3),
            }
            self.commits += 1

    def snapshot(self) -> dict[str, Any]:
        """The part of the status this board keeps (the daemon adds the rest)."""
        with self.lock:
            return {
                "state": self.state,
                "started_at": self.started_at,
                "updated_at": time.time(),
                "last_commit": self.last_commit,
                "totals": dict(self.totals),
                "doc_count": self.doc_count,
                "recent_errors": list(self.errors),
                # the latest IDs given by several files with different texts (Conflict.to_dict)
                "recent_conflicts": list(self.conflicts),
            }

    def due(self, force: bool) -> bool:
        """Whether to write the status file now (always when forced, else every few seconds)."""
        now = time.monotonic()
        if not force and now < self._next_write:
            return False
        self._next_write = now + STATUS_INTERVAL
        return True

    def write(self, index_dir: Path, data: dict[str, Any]) -> None:
        """Write ``daemon.json``; a failure (a full disk) is logged once, not every time."""
        try:
            client.write_json_atomic(index_dir / client.STATUS_FILE, data)
        except OSError as exc:
            if not self._write_failed:
                log.warning("cannot write the status file: %s", exc)
            self._write_failed = True
            return
        if self._write_failed:
            log.info("the status file is written again")
            self._write_failed = False
