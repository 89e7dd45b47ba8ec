"""When the daemon rescans besides its catch-up at start: on request (SIGHUP, `rescan`),
after lost events (an inotify queue overflow), every ``rescan_seconds``, and, while the
watcher is unsteady (one of its threads died and it was restarted), every
``DEGRADED_RESCAN`` seconds. Runs on the daemon's worker thread; ``ask`` and the overflow
flag may be set from any thread or a signal handler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cablesearch.config import Config

from .events import Watcher
from .schedule import Scheduler

log = logging.getLogger("cablesearch.daemon.service")

DEGRADED_RESCAN = 30.0  # while the watcher is down, rescan this often


class Rescans:
    """Turns the reasons for a rescan into ``scheduler.want_scan("rescan")`` and keeps the
    scheduler's period (``rescan_every``) shortened while the watcher is unsteady."""

    def __init__(
        self,
        config: Config,
        scheduler: Scheduler,
        watcher: Watcher,
        overflow: threading.Event,
        error: Callable[[str, str], None],
    ):
        self.config = config
        self.scheduler = scheduler
        self.watcher = watcher
        self.overflow = overflow  # set by the observer's OverflowSpy
        self.asked = threading.Event()
        self.error = error

    def ask(self) -> None:
        """Ask for a reconciling scan of all watched folders (thread- and signal-safe)."""
        self.asked.set()

    def check(self, now: float, stopping: bool) -> None:
        """Supervise the watcher, then take in what asks for a rescan."""
        if not stopping:
            self._check_watcher(now)
        s = self.scheduler
        if self.overflow.is_set():
            self.overflow.clear()
            self.error("", "events were lost (inotify queue overflowed); rescanning")
            s.want_scan("rescan")
        if self.asked.is_set():
            self.asked.clear()
            s.want_scan("rescan")
        if s.rescan_every and s.next_rescan and now >= s.next_rescan:
            s.want_scan("rescan")

    def _check_watcher(self, now: float) -> None:
        """A watcher whose thread died is named in the status and restarted, with a rescan
        for what it missed, and rescans every DEGRADED_RESCAN seconds while it is unsteady."""
        trouble = self.watcher.supervise(now)
        if trouble is None:
            if self.watcher.down is None:
                self.scheduler.rescan_every = self.config.rescan_seconds
            return
        if self.watcher.restarts <= 2:
            log.error("%s; restarting it and rescanning", trouble)
            self.error("", f"{trouble}; restarted, and rescanning every {DEGRADED_RESCAN:.0f} s meanwhile")
        every = self.config.rescan_seconds
        self.scheduler.rescan_every = min(every, DEGRADED_RESCAN) if every else DEGRADED_RESCAN
        self.scheduler.want_scan("rescan")
