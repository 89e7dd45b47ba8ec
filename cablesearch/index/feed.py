"""Feeding a sync: files (and cables.csv rows) go to the worker pool in batches, or are read
here without one; their results come back in order and are handed to the :class:`SyncRun`.
A cables.csv is streamed row by row; rows read before (same digest) are not parsed again."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from cablesearch.engine.writer import PreparedDoc
from cablesearch.errors import ParseError
from cablesearch.index.plan import Todo
from cablesearch.index.report import SyncProgress
from cablesearch.index.run import SyncRun
from cablesearch.index.work import (
    FileResult,
    row_digest,
    unpack,
    work_files,
    work_files_packed,
    work_rows,
    work_rows_packed,
)
from cablesearch.parse import csvfile

ROW_BATCH = 200
FILE_BATCH = 16
# Batches queued per worker: enough to keep the workers busy while this process commits.
IN_FLIGHT = 16
# While the workers still have files in hand, ``more`` is asked at most this often.
TOP_UP_INTERVAL = 0.01

RowsResult = tuple[list[tuple[PreparedDoc, str]], list[tuple[str, int]]]


class Feed:
    """Runs the work of one sync through ``pool`` (None: in this process) into ``run``."""

    def __init__(
        self,
        run: SyncRun,
        known: dict[str, Any],
        pool: Any,
        procs: int,
        progress: Callable[[SyncProgress], None] | None,
        started: float,
    ):
        self.run = run
        self.known = known
        self.pool = pool
        self.in_flight = IN_FLIGHT * max(procs, 1)
        self.progress = progress
        self.started = started
        self.bytes_done = 0
        self.files_done = 0
        self.bytes_total = 1
        self.files_total = 0

    def tick(self) -> None:
        if self.progress is not None:
            report = self.run.report
            self.progress(
                SyncProgress(
                    self.bytes_done,
                    self.bytes_total,
                    report.added + report.updated,
                    self.files_done,
                    self.files_total,
                    time.monotonic() - self.started,
                )
            )

    def files(self, todo: Todo, more: Callable[[bool], Todo] | None = None) -> None:
        """Read and index ``todo``, then whatever ``more`` gives (see ``Syncer.apply``)."""
        self.bytes_total = sum(size for _, _, size in todo) or 1
        self.files_total = len(todo)
        queue = deque(todo)

        def next_batch() -> list[tuple[str, str | None]]:
            return [queue.popleft()[:2] for _ in range(min(FILE_BATCH, len(queue)))]

        def refill(idle: bool) -> bool:
            """Ask ``more`` for work; True if it gave some."""
            extra = more(idle) if more is not None else []
            queue.extend(extra)
            return bool(extra)

        if self.pool is None:
            while queue or refill(True):
                for result in work_files(next_batch()):
                    self._handle(result)
            return
        pending: deque[Any] = deque()
        asked = 0.0
        while True:
            while queue and len(pending) < self.in_flight:
                pending.append(self.pool.apply_async(work_files_packed, (next_batch(),)))
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
            for result in unpack(pending.popleft().get()):
                self._handle(result)

    def _handle(self, result: FileResult) -> None:
        run = self.run
        kind, path = result[0], result[1]
        self.files_done += 1
        if kind == "error":
            run.report.rejected.append(ParseError(path, result[2]))
            self.bytes_done += _size(path)
            if path in self.known:
                run.remove_file(path)  # it was a cable once; now it is not: drop its cables
        elif kind == "same":
            run.report.unchanged += self.known[path].cables
            run.manifest.touch_file(path, result[2], result[3])
            self.bytes_done += result[2]
        elif kind == "cables":
            _, _, size, mtime, digest, docs, _bad = result
            run.report.files_parsed += 1
            old = run.manifest.entries_of_file(path) if path in self.known else {}
            for prep in docs:
                run.put(path, prep)
            run.finish_file(path, size, mtime, digest, old)
            self.bytes_done += size
            run.maybe_commit()
        elif kind == "csv":
            self._csv(result)
        self.tick()

    def _csv(self, result: FileResult) -> None:
        run = self.run
        _, path, size, mtime, digest = result
        rec = self.known.get(path)
        if rec is not None and rec.complete and rec.hash == digest:
            run.report.unchanged += rec.cables
            run.manifest.touch_file(path, size, mtime)
            self.bytes_done += size
            return
        run.report.files_parsed += 1
        old = run.manifest.entries_of_file(path) if path in self.known else {}
        bad_rows: list[ParseError] = []

        def take(out: RowsResult, nbytes: int) -> None:
            docs, bad = out
            for prep, digest_of_row in docs:
                run.put(path, prep, digest_of_row)
                if run.due():
                    # Commit mid-file: the cables so far become searchable; the file stays
                    # recorded as incomplete until its last row is in.
                    run.manifest.put_file(path, size, mtime, "", complete=False)
                    run.commit()
            bad_rows.extend(ParseError(path, reason, row=n) for reason, n in bad)
            self.bytes_done += nbytes
            self.tick()

        batches = self._row_batches(path, old, bad_rows.append)
        if self.pool is None:
            for chunk, nbytes in batches:
                take(work_rows(path, chunk), nbytes)
        else:
            pending: deque[tuple[Any, int]] = deque()
            for chunk, nbytes in batches:
                pending.append((self.pool.apply_async(work_rows_packed, (path, chunk)), nbytes))
                while len(pending) >= self.in_flight:
                    fut, nb = pending.popleft()
                    take(unpack(fut.get()), nb)
            while pending:
                fut, nb = pending.popleft()
                take(unpack(fut.get()), nb)
        run.report.rejected.extend(bad_rows)
        run.finish_file(path, size, mtime, digest, old)

    def _row_batches(
        self, path: str, old: dict[str, Any], on_error: Callable[[ParseError], None]
    ) -> Iterator[tuple[list[tuple[int, list[str], str]], int]]:
        """Batches of (row number, fields, digest) of the rows to parse, with their size in
        characters. Rows read before (same digest) are kept as they are: after an edit of a big
        cables.csv, or a run interrupted half-way through one, only the other rows are parsed."""
        old_rows = {e.digest: e for e in old.values() if e.digest}
        seen = self.run.done_in_file.setdefault(path, {})
        chunk: list[tuple[int, list[str], str]] = []
        nbytes = 0
        for n, row in csvfile.iter_rows(path, on_error):
            nbytes += sum(len(x) for x in row)
            digest = row_digest(row)
            entry = old_rows.get(digest)
            if entry is not None:
                if entry.reference_id not in seen:
                    seen[entry.reference_id] = entry.released
                    self.run.report.unchanged += 1
                continue
            chunk.append((n, row, digest))
            if len(chunk) >= ROW_BATCH:
                yield chunk, nbytes
                chunk, nbytes = [], 0
        if chunk or nbytes:
            yield chunk, nbytes


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
