"""One sync's state and decisions (:class:`SyncRun`): which file wins a reference ID, what a
changed or vanished file does to the index and the manifest, and the commit rhythm that keeps
the two in step (:func:`interrupts_held`).

A reference ID present in several files is indexed from the one with the latest ``released``
date; when that file loses the cable (changed or removed), the ID is re-read from the best
other file still having it. Each ID that a file read in this sync shares with another file is
described in the report (``report.conflicts``, see :mod:`.conflicts`) once the sync's decisions
for it are made (before each commit).
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cablesearch import parse
from cablesearch.engine.writer import PreparedDoc, prepare
from cablesearch.errors import ParseError
from cablesearch.index.conflicts import conflicts_of
from cablesearch.index.manifest import Manifest
from cablesearch.index.report import SyncReport
from cablesearch.index.store import CableWriter


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M") if value else ""


class SyncRun:
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
        self.shared: set[str] = set()  # IDs a file read now shares with another file

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
        if others:
            self.shared.add(rid)
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
                text=prep.text_digest,
            )
            self.since_commit += 1
        else:
            self.report.duplicates += 1
            self.manifest.put_entry(path, rid, released, indexed=False, digest=digest, text=prep.text_digest)
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
                        self.writer.put(prepare(cable, self.writer.schema))
                        self.manifest.set_indexed(path, cable.reference_id)
                        self.report.updated += 1
                        self.since_commit += 1
            except ParseError:
                pass
            for rid in ids - found:
                # The file no longer has it: forget that entry and look again.
                self.vanish(path, rid, True)
        self.note_conflicts()

    def note_conflicts(self) -> None:
        """Describe the IDs shared by files read since the last call in the report (an ID
        seen again later in the sync is described again, as it then is)."""
        if self.shared:
            found = conflicts_of(self.manifest, self.shared)
            for conflict in found:
                self.report.note_conflict(conflict)
            for rid in self.shared - {c.reference_id for c in found}:  # one file left
                self.report.conflicts.pop(rid, None)
                self.report.copy_ids.discard(rid)
            self.shared.clear()

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
            self.manifest.put_state(
                self.writer.index_state(self.manifest.recorded_state())
            )  # checked at open (store.py)
            self.manifest.commit()
        self.report.commits += 1
        self.since_commit = 0
        self.last_commit = time.monotonic()
        gc.collect()


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
