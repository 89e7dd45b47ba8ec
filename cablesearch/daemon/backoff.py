"""The daemon's pauses after a failed write: how long to wait before trying again, and
whether the failure is worth an error line (a full disk is reported once, then waited out)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .messages import DISK_FULL, Failed

log = logging.getLogger("cablesearch.daemon.service")


@dataclass
class Backoff:
    """Retry pauses: a failed job is tried again after 0.5 s doubling up to 30 s; a full disk
    after 2 s doubling up to 60 s, said once ("the committed index is intact") until a job
    succeeds again."""

    failures: int = 0
    disk_full: bool = False
    retry_at: float = 0.0  # monotonic time before which nothing is submitted

    def failed(self, job_kind: str, failure: Failed, now: float) -> tuple[str, bool]:
        """Count ``failure`` of a ``job_kind`` job; returns the line that says so and whether
        it is news (worth an error line, not only a debug one)."""
        self.failures += 1
        if failure.kind == DISK_FULL:
            delay = min(60.0, 2.0 * 2 ** min(self.failures, 6))
            news = not self.disk_full
            self.disk_full = True
            text = f"{job_kind} failed: {failure.message}; the committed index is intact; retrying in {delay:.0f} s"
        else:
            delay = min(30.0, 0.5 * 2 ** min(self.failures, 6))
            news = True
            text = f"{job_kind} failed: {failure.message}; retrying in {delay:.0f} s"
        self.retry_at = now + delay
        return text, news

    def succeeded(self) -> None:
        """A job went through: the next failure starts from the shortest pause again."""
        if self.failures or self.disk_full:
            if self.disk_full:
                log.info("the index's disk has room again; going on")
            self.failures, self.disk_full = 0, False
