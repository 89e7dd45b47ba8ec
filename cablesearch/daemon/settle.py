"""Settling: which changed paths are complete and may be indexed.

A file is ready once it was closed after writing (inotify's ``closed``), moved into place, or
its size and mtime have stayed the same for ``settle_seconds`` (with no ``modified`` since the
last ``closed``); one last written long ago is ready at once. Only regular files are ever
handed on: a FIFO, socket or device is named once ("not a regular file") and skipped, so the
indexer can never block opening one. Walks (a new folder, the catch-up and rescans) use an
explicit stack, never recursion, so no folder depth can break them.
"""

from __future__ import annotations

import os
import stat as stat_module
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cablesearch.parse import is_skipped

from .events import CLOSED, MODIFIED, MOVED_IN
from .messages import Rejection

OPEN_GRACE = 30.0  # a file modified but never closed is indexed after this long quiet

Sig = tuple[int, int]  # (size, mtime_ns)


class Scope:
    """Which paths the daemon indexes: under its roots, not ignored, not inside the index."""

    def __init__(self, roots: list[Path], index_dir: Path):
        self.roots = [str(r) for r in roots]
        self.index_dir = str(index_dir)
        self._index_prefix = self.index_dir + os.sep

    def wants(self, path: str) -> bool:
        """Whether a path is one the daemon indexes (not ignored, not inside the index)."""
        if path.startswith(self._index_prefix) or path == self.index_dir:
            return False
        for root in self.roots:
            if path.startswith(root + os.sep):
                rel = path[len(root) + 1 :]
                return not any(is_skipped(part) for part in rel.split(os.sep))
        return not is_skipped(os.path.basename(path))

    def inside(self, path: str) -> bool:
        return any(path == r or path.startswith(r + os.sep) for r in self.roots)


def special_kind(mode: int) -> str:
    """What a non-regular file is, for the one line that names it."""
    for test, name in (
        (stat_module.S_ISFIFO, "a FIFO"),
        (stat_module.S_ISSOCK, "a socket"),
        (stat_module.S_ISCHR, "a character device"),
        (stat_module.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


@dataclass
class Pending:
    sig: Sig | None = None  # (size, mtime_ns) at the last look
    stable_since: float = 0.0
    next_check: float = 0.0
    awaiting_close: bool = False  # modified after the last closed (inotify only)
    complete: bool = False  # closed after writing, or moved into place


WALK_MEMORY = 2.0  # seconds a walked folder is not walked again for a "new folder" event


class Settler:
    """Paths on their way from event to batch: pending (settling), ready, removed; plus the
    rejected files (skipped until they change) and the special files (named once)."""

    def __init__(self, scope: Scope, settle_seconds: float, inotify: bool, error: Callable[[str, str], None]):
        self.scope = scope
        self.settle_seconds = settle_seconds
        self.inotify = inotify
        self.error = error
        self.pending: dict[str, Pending] = {}
        self.ready: dict[str, Sig] = {}
        self.removed: set[str] = set()
        self.rejected: dict[str, Sig] = {}
        self.special: set[str] = set()
        # folders a walk went through lately -> when: a moved-in tree reports each of its
        # folders as new, and walking each again would cost depth² folder listings
        self.walked: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.pending) + len(self.ready) + len(self.removed)

    def next_check(self) -> float | None:
        return min((e.next_check for e in self.pending.values()), default=None)

    def hint(self, path: str, kind: str, now: float) -> None:
        entry = self.pending.get(path)
        if entry is None:
            entry = self.pending[path] = Pending()
        entry.stable_since = now
        entry.next_check = now
        if kind in (CLOSED, MOVED_IN):
            entry.complete, entry.awaiting_close = True, False
        elif kind == MODIFIED:
            entry.complete, entry.awaiting_close = False, self.inotify
        else:  # created, gone: look again, settle from scratch
            entry.complete = False

    def _special(self, path: str, mode: int) -> None:
        if path not in self.special:
            self.special.add(path)
            self.error(path, f"{special_kind(mode)}, not a regular file; skipped")

    def walk_new_folders(self, folders: list[str], now: float) -> None:
        """Walk folders the observer reports as new, each once: a folder below another one of
        the same report, or gone through by a walk in the last ``WALK_MEMORY`` seconds, is not
        walked again (a file written into it in between has its own event, and the rescans
        reconcile what events miss)."""
        if len(self.walked) > 10_000:
            self.walked = {k: t for k, t in self.walked.items() if now - t < WALK_MEMORY}
        tops: list[str] = []
        for folder in sorted(folders):
            if tops and folder.startswith(tops[-1].rstrip(os.sep) + os.sep):
                continue
            tops.append(folder)
        for folder in tops:
            if now - self.walked.get(folder, -WALK_MEMORY) < WALK_MEMORY:
                continue
            self.walk_into(folder, now)

    def walk_into(self, top: str, now: float, found: set[str] | None = None) -> None:
        """Queue every wanted file below ``top``: old enough ones as ready, others to settle."""
        wall = time.time()
        stack = [top]
        while stack:
            folder = stack.pop()
            self.walked[folder] = now
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                continue
            for e in entries:
                if is_skipped(e.name) or not self.scope.wants(e.path):
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                        continue
                    st = e.stat()
                except OSError:
                    continue
                if not stat_module.S_ISREG(st.st_mode):
                    if not stat_module.S_ISDIR(st.st_mode):  # a symlink to a folder: not followed
                        self._special(e.path, st.st_mode)
                    continue
                if found is not None:
                    found.add(e.path)
                self._queue_found(e.path, st, now, wall)

    def _queue_found(self, path: str, st: os.stat_result, now: float, wall: float) -> None:
        sig = (st.st_size, st.st_mtime_ns)
        if self.rejected.get(path) == sig or path in self.pending:
            return
        if self.written_long_ago(st, wall):
            self.ready[path] = sig
            self.removed.discard(path)
        else:
            self.pending[path] = Pending(sig=sig, stable_since=now, next_check=now)

    def written_long_ago(self, st: os.stat_result, wall: float) -> bool:
        """A non-empty file last written ``settle_seconds`` or more before ``wall`` (time.time()):
        complete without waiting, when no write of it was seen."""
        return st.st_size > 0 and wall * 1e9 - st.st_mtime_ns >= self.settle_seconds * 1e9

    def settle(self, now: float) -> None:
        """Look at the pending paths that are due; move the settled ones to ``ready``."""
        wall = time.time()
        for path, entry in list(self.pending.items()):
            if entry.next_check > now:
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                del self.pending[path]
                self.ready.pop(path, None)
                self.rejected.pop(path, None)
                self.removed.add(path)
                continue
            except OSError as exc:
                del self.pending[path]
                self.error(path, f"cannot read: {exc.strerror or exc}")
                continue
            if not stat_module.S_ISREG(st.st_mode):
                del self.pending[path]
                if not stat_module.S_ISDIR(st.st_mode):
                    self._special(path, st.st_mode)
                continue
            self._look(path, entry, st, now, wall)

    def _look(self, path: str, entry: Pending, st: os.stat_result, now: float, wall: float) -> None:
        settle = self.settle_seconds
        sig = (st.st_size, st.st_mtime_ns)
        quiet = settle if (sig[0] > 0 and not entry.awaiting_close) else OPEN_GRACE
        # Settled: closed after writing or moved within the tree; unchanged for the settle
        # time; or, with no write seen, last written settle_seconds ago or more (a file moved
        # in from outside the tree: inotify reports it "created", not "closed"; the catch-up
        # scan takes such files at once by the same rule).
        if (
            entry.complete
            or (entry.sig == sig and now - entry.stable_since >= quiet)
            or (entry.sig is None and not entry.awaiting_close and self.written_long_ago(st, wall))
        ):
            del self.pending[path]
            self.removed.discard(path)
            self.special.discard(path)
            if self.rejected.get(path) != sig:
                self.ready[path] = sig
            return
        if entry.sig != sig:
            entry.sig = sig
            entry.stable_since = now
        entry.next_check = entry.stable_since + quiet

    def reconcile(self, roots: list[str], known: set[str], now: float) -> set[str]:
        """A scan: queue what changed under ``roots``; recorded files (``known``, from the
        manifest) that are gone are removed; rejections of files gone are forgotten. Returns
        the files found."""
        found: set[str] = set()
        for root in roots:
            self.walk_into(root, now, found)
        for path in known - found:
            if path not in self.pending and self.scope.inside(path) and not os.path.lexists(path):
                self.removed.add(path)
        for path in list(self.rejected):
            if path not in found:
                del self.rejected[path]
        return found

    def after_batch(
        self, changed: set[str], rejected: list[Rejection], sigs: dict[str, Sig]
    ) -> list[Rejection]:
        """Remember the batch's rejected files (skipped until they change; a file deleted after
        it settled is "rejected" as missing, but its removal is queued: not one of them) and
        forget earlier rejections of the files it indexed. Returns the real rejections."""
        real = [r for r in rejected if not (r.path in changed and not os.path.lexists(r.path))]
        for item in real:
            if item.path in sigs:
                self.rejected[item.path] = sigs[item.path]
        for path in changed - {r.path for r in real}:
            self.rejected.pop(path, None)
        return real

    def take_ready(self, limit: int) -> dict[str, Sig]:
        sigs: dict[str, Sig] = {}
        for path in list(self.ready)[:limit]:
            sigs[path] = self.ready.pop(path)
        return sigs

    def requeue(self, changed: list[str], sigs: dict[str, Sig], removed: list[str]) -> None:
        for path in changed:
            self.ready.setdefault(path, sigs.get(path, (0, 0)))
        self.removed.update(removed)

    def gone(self, path: str) -> None:
        """A recorded file that no longer exists: its cables go."""
        self.pending.pop(path, None)
        self.ready.pop(path, None)
        self.removed.add(path)
