"""Scheduling: what the indexer does next, and what the daemon makes of its replies.

In order: a scan the daemon wants (the catch-up at start, rescans: every ``rescan_seconds``,
on SIGHUP, after an inotify overflow or a restarted watcher), the recorded files of folders
that went away, a hand-off request from ``<index_dir>/inbox/``, then a batch of ready paths
(one ``Apply``, one commit). While the indexer writes a batch it asks for more
(``MoreWanted``) and the paths that became ready since join it (``top_up``), so a burst is one
stream of work and one commit. A failure is retried after a growing pause; a full disk is
waited out; a damaged manifest stops the daemon with the one line that says what to do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cablesearch.config import Config

from . import client, handoff
from .backoff import Backoff
from .messages import (
    DAMAGED,
    Apply,
    BatchResult,
    Done,
    Failed,
    Known,
    KnownFiles,
    More,
    MoreWanted,
    Progress,
    Rejection,
    Reply,
    SyncPaths,
)
from .settle import Settler, Sig
from .status import STATUS_INTERVAL, StatusBoard
from .worker import Backend, BackendDied, ProcessBackend

log = logging.getLogger("cablesearch.daemon.service")

INBOX_INTERVAL = 0.5  # seconds between looks into the hand-off inbox
QUIET_SECONDS = 0.05  # no event for this long and nothing settling: commit what is ready
TOP_UP_SECONDS = 10.0  # a batch takes in newly ready files for this long after it started


@dataclass
class Job:
    """A request in the indexer's hands, with what the daemon needs to settle its reply."""

    request: Apply | SyncPaths | Known
    kind: str  # batch | catch-up | rescan | hand-off | known
    scan: str = ""  # Known: catch-up | rescan | gone
    sigs: dict[str, Sig] = field(default_factory=dict)
    inbox_path: Path | None = None
    refused: list[Rejection] = field(default_factory=list)  # hand-off paths never sent on
    started: float = 0.0
    waited: float = 0.0  # top-up waits granted

    @property
    def size(self) -> int:
        if isinstance(self.request, Apply):
            return len(self.request.changed) + len(self.request.removed)
        return 0

    def take_ready(self, ready: dict[str, Sig], room: int) -> list[str]:
        """Move up to ``room`` paths from ``ready`` into this batch (an ``Apply``) and return
        them. A path already in the batch stays in ``ready``: it changed again while being
        written, and the next batch has it."""
        assert isinstance(self.request, Apply)
        paths: list[str] = []
        for path in ready:
            if len(paths) >= room:
                break
            if path not in self.sigs:
                paths.append(path)
        for path in paths:
            self.sigs[path] = ready.pop(path)
        self.request.changed.extend(paths)
        return paths


class Scheduler:
    """Runs on the daemon's worker thread; ``backend`` is replaced when the indexer dies."""

    def __init__(
        self,
        config: Config,
        settler: Settler,
        board: StatusBoard,
        index_dir: Path,
        roots: list[str],
        max_batch: int,
        refresh: Callable[[float], None],
    ):
        self.config = config
        self.settler = settler
        self.board = board
        self.index_dir = index_dir
        self.roots = roots
        self.max_batch = max_batch
        self.refresh = refresh  # takes in new hints and settles (for top-ups)
        self.backend: Backend | None = None
        self.stopping = False
        self.fatal: str | None = None  # set when the daemon must stop (damaged manifest)
        self.inflight: Job | None = None
        self.scan_wanted: str | None = "catch-up"
        self.catching_up = True
        self.gone_dirs: list[str] = []
        self.backoff = Backoff()
        self.next_rescan = 0.0
        self.next_inbox = 0.0
        self.ready_since = 0.0  # when the ready set last became non-empty
        self.last_hint = 0.0  # when the observer last reported something
        self.queue_length: Callable[[], int] = lambda: 0  # for the log line of each commit
        self.changed: Callable[[], None] = lambda: None  # something worth a status write now
        self.rescan_every = config.rescan_seconds  # 0: no periodic rescans

    def take_hints(
        self, files: dict[str, str], new_dirs: list[str], gone_dirs: list[str], now: float
    ) -> None:
        """What the observer saw: changed files settle, new folders are walked, the recorded
        files of folders that went away are looked up; then settle what is due."""
        if files or new_dirs or gone_dirs:
            self.last_hint = now
        for path, kind in files.items():
            self.settler.hint(path, kind, now)
        if new_dirs:
            self.settler.walk_new_folders(new_dirs, now)
        self.gone_dirs.extend(gone_dirs)
        had_ready = bool(self.settler.ready or self.settler.removed)
        self.settler.settle(now)
        if not had_ready and (self.settler.ready or self.settler.removed):
            self.ready_since = now

    def want_scan(self, kind: str) -> None:
        if self.scan_wanted is None:
            self.scan_wanted = kind

    @property
    def streaming(self) -> bool:
        return bool(self.backend is not None and self.backend.streaming)

    # ---- what next ---------------------------------------------------------------------

    def submit_next(self, now: float) -> None:
        s = self.settler
        if now < self.backoff.retry_at:
            return
        if self.scan_wanted is not None and not s.ready and not s.removed:
            self._submit(Job(Known(list(self.roots)), "known", scan=self.scan_wanted))
            return
        if self.gone_dirs:
            dirs, self.gone_dirs = self.gone_dirs, []
            self._submit(Job(Known(dirs), "known", scan="gone"))
            return
        if now >= self.next_inbox:
            self.next_inbox = now + INBOX_INTERVAL
            requests = client.pending_requests(self.index_dir)
            if requests:
                read = handoff.read_request(requests[0], self.board)
                if read is not None:
                    self._submit(Job(read[0], "hand-off", inbox_path=requests[0], refused=read[1]))
                return
        if (s.ready or s.removed) and self.batch_due(now):
            sigs = s.take_ready(self.max_batch)
            removed, s.removed = s.removed, set()
            kind = (
                "catch-up" if self.catching_up else "rescan" if self.board.state == "rescanning" else "batch"
            )
            self._submit(Job(Apply(sorted(sigs), sorted(removed), self.streaming), kind, sigs=sigs))
            return
        if self.catching_up and not s.pending:
            self.catching_up = False
            self.board.state = "watching"
            self.changed()
        elif self.board.state == "rescanning":
            self.board.state = "watching"

    def batch_due(self, now: float) -> bool:
        """Start a batch now? With the indexer in its child process, at once: the batch takes
        in what becomes ready while it is written (top_up). In-thread, at once when things are
        quiet (an isolated drop is searchable within the settle time plus one commit); during a
        burst, once the oldest ready path has waited ``batch_seconds``, so a burst becomes a few
        large commits, not thousands."""
        if len(self.settler.ready) >= self.max_batch or self.stopping or self.streaming:
            return True
        if now - self.ready_since >= self.config.batch_seconds:
            return True
        quiet = min(QUIET_SECONDS, self.config.batch_seconds)
        return not self.settler.pending and now - self.last_hint >= quiet

    def sleep_time(self, longest: float) -> float:
        """How long the worker may wait for events before something here is due."""
        now = time.monotonic()
        waits = [longest, STATUS_INTERVAL, INBOX_INTERVAL]
        soonest = self.settler.next_check()
        if soonest is not None:
            waits.append(soonest - now)
        if self.settler.ready or self.settler.removed:
            quiet = min(QUIET_SECONDS, self.config.batch_seconds)
            due = min(self.ready_since + self.config.batch_seconds, self.last_hint + quiet)
            waits.append(max(due, self.backoff.retry_at) - now)
        if self.scan_wanted or self.gone_dirs:
            waits.append(self.backoff.retry_at - now)
        return max(0.002, min(waits))

    def _submit(self, job: Job) -> None:
        assert self.backend is not None
        job.started = time.monotonic()
        self.inflight = job
        try:
            self.backend.submit(job.request)
        except BackendDied as exc:
            self.backend_died(str(exc))
            return
        if job.kind != "known":
            self.changed()  # the status shows the batch in hand

    # ---- replies ------------------------------------------------------------------------

    def wait_for_reply(self, timeout: float) -> None:
        assert self.backend is not None and self.inflight is not None
        try:
            reply = self.backend.poll(timeout)
        except BackendDied as exc:
            self.backend_died(str(exc))
            return
        if reply is None:
            return
        if isinstance(reply, MoreWanted):
            self.top_up(self.inflight, reply.idle)
            return
        if isinstance(reply, Progress):
            self.progress(reply)
            return
        job, self.inflight = self.inflight, None
        self.answer(job, reply)

    def progress(self, progress: Progress) -> None:
        """A hand-off's progress, for the waiting `cablesearch index` to show."""
        job = self.inflight
        if job is not None and job.inbox_path is not None:
            handoff.write_progress(job.inbox_path, progress)

    def answer(self, job: Job, reply: Reply) -> None:
        if isinstance(reply, Failed):
            self.failed(job, reply)
            return
        self.backoff.succeeded()
        if isinstance(reply, KnownFiles):
            self.scan_done(job, set(reply.paths))
        elif isinstance(reply, Done) and isinstance(job.request, SyncPaths) and job.inbox_path:
            result = reply.result
            result.rejected = job.refused + result.rejected
            for item in result.rejected:
                self.board.error(item.path, item.reason)
            self.board.count("handoffs")
            self._record(job, len(job.request.paths), 0, result)
            handoff.answer(job.inbox_path, job.request.paths, result, self.board)
        elif isinstance(reply, Done):
            self.batch_done(job, reply.result)

    def top_up(self, job: Job, idle: bool) -> None:
        """The indexer asks for more paths for the batch it is writing: give it those that
        became ready since (up to ``max_batch`` in all, for ``TOP_UP_SECONDS`` after the batch
        started, none once stopping), so a burst is written as one stream, one commit. When it
        has nothing else in hand and files are still settling, it is told to wait for them (at
        most ``batch_seconds`` in all per batch, the longest an isolated drop could wait)."""
        assert self.backend is not None
        now = time.monotonic()
        self.refresh(now)
        paths: list[str] = []
        wait = 0.0
        request = job.request
        if isinstance(request, Apply) and not self.stopping and now - job.started < TOP_UP_SECONDS:
            room = self.max_batch - len(request.changed)
            paths = job.take_ready(self.settler.ready, room)
            budget = self.config.batch_seconds - job.waited
            soonest = self.settler.next_check()
            if not paths and idle and soonest is not None and room > 0 and budget > 0:
                wait = min(budget, max(0.005, soonest - now))
                job.waited += wait
        try:
            self.backend.submit(More(paths, wait))
        except BackendDied as exc:
            self.backend_died(str(exc))

    def backend_died(self, reason: str) -> None:
        """The indexer process is gone: its batch goes back to the queue, a rescan follows
        (the daemon makes a new indexer)."""
        job, self.inflight = self.inflight, None
        self.board.error("", f"{reason}; restarting it and rescanning")
        log.error("%s; restarting it and rescanning", reason)
        if job is not None:
            self._requeue(job)
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:
                log.exception("closing the indexer failed")
        self.want_scan("rescan")

    def abandon(self) -> None:
        """After an unexpected error in the worker loop: the job in hand goes back to the
        queue, an indexer process is restarted (its pipe may hold half a conversation), and
        a rescan follows."""
        job, self.inflight = self.inflight, None
        if job is not None:
            self._requeue(job)
        if isinstance(self.backend, ProcessBackend):
            self.backend_died("the indexer process is restarted with the worker")
        self.want_scan("rescan")

    def _requeue(self, job: Job) -> None:
        if isinstance(job.request, Apply):
            self.settler.requeue(job.request.changed, job.sigs, job.request.removed)
        elif isinstance(job.request, Known):
            if job.scan == "gone":
                self.gone_dirs.extend(job.request.roots)
            else:
                self.want_scan(job.scan)
        # a hand-off stays in the inbox and is tried again

    def failed(self, job: Job, failure: Failed) -> None:
        if failure.kind == DAMAGED:
            self.fatal = failure.message
            self.board.error("", failure.message)
            self._requeue(job)
            return
        text, news = self.backoff.failed(job.kind, failure, time.monotonic())
        if news:
            self.board.error("", text)
            log.error("%s", text)
        else:
            log.debug("%s", text)
        self._requeue(job)

    def scan_done(self, job: Job, known: set[str]) -> None:
        s = self.settler
        if job.scan == "gone":
            for path in known:
                if not os.path.lexists(path):
                    s.gone(path)
            return
        now = time.monotonic()
        self.scan_wanted = None
        if job.scan != "catch-up":
            self.board.state = "rescanning"
            self.board.count("rescans")
        found = s.reconcile(self.roots, known, now)
        if self.rescan_every:
            self.next_rescan = now + self.rescan_every
        log.info(
            "%s: %d files under %s, %d to check, %d gone",
            job.scan,
            len(found),
            ", ".join(self.roots),
            len(s.ready),
            len(s.removed),
        )

    def batch_done(self, job: Job, result: BatchResult) -> None:
        assert isinstance(job.request, Apply)
        changed = set(job.request.changed)
        result.rejected = self.settler.after_batch(changed, result.rejected, job.sigs)
        for item in result.rejected:
            log.warning("skipped %s: %s", item.path, item.reason)
            self.board.error(item.path, item.reason)
        self._record(job, len(changed), len(job.request.removed), result)

    def _record(self, job: Job, files: int, removed: int, result: BatchResult) -> None:
        seconds = time.monotonic() - job.started
        self.board.record_commit(job.kind, files, removed, result, seconds, self.queue_length())
        self.changed()
