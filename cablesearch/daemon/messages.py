"""The typed messages between the daemon and its indexer (a child process, or in-thread).

Requests go from the daemon to the indexer, one in flight at a time. While a request runs the
indexer may send ``MoreWanted`` (a streaming ``Apply`` asks for paths that became ready since
it started; the daemon answers ``More``) and ``Progress`` (how far a hand-off has got); then
exactly one final reply: ``Done``, ``KnownFiles`` or ``Failed``. ``Hello`` is the indexer's
first word after it opened the index. All are plain dataclasses, so they pickle over a pipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- daemon -> indexer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Apply:
    """Index ``changed`` files and drop ``removed`` ones, one commit. ``stream``: ask for more
    (``MoreWanted``) while writing, so that a burst becomes one commit."""

    changed: list[str]
    removed: list[str]
    stream: bool = False


@dataclass(frozen=True)
class SyncPaths:
    """A hand-off from `cablesearch index`: files, folders, cables.csv; ``prune`` as --prune."""

    paths: list[str]
    prune: bool = False


@dataclass(frozen=True)
class Known:
    """Which files the manifest records under ``roots`` (answer: ``KnownFiles``)."""

    roots: list[str]


@dataclass(frozen=True)
class More:
    """The answer to ``MoreWanted``: paths that join the batch; with none, ``wait`` seconds
    before asking again (files are about to settle)."""

    changed: list[str]
    wait: float = 0.0


@dataclass(frozen=True)
class Quit:
    """Close the index and exit."""


Request = Apply | SyncPaths | Known | More | Quit

# --- indexer -> daemon -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A file the indexer could not read as a cable; ``line`` is how `index` prints it."""

    path: str
    reason: str
    line: str


@dataclass
class BatchResult:
    """What one ``Apply`` or ``SyncPaths`` did (the counts of ``SyncReport.to_dict()``)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    files_parsed: int = 0
    files_skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    doc_count: int | None = None
    seconds: float = 0.0
    conflict_count: int = 0  # IDs shared with another file that gives a different text
    copy_count: int = 0  # IDs shared with another file that gives the same text
    # the first conflicts, as ``Conflict.to_dict()`` gives them
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_report(cls, report: Any, doc_count: int | None, seconds: float) -> BatchResult:
        """From a ``SyncReport``: its counts and rejections as ``to_dict()`` gives them."""
        data = report.to_dict()
        rejected = [Rejection(str(r["path"]), str(r["reason"]), str(r["message"])) for r in data["rejected"]]
        counts = {k: int(data.get(k, 0)) for k in cls.count_keys()}
        return cls(
            **counts,
            rejected=rejected,
            doc_count=doc_count,
            seconds=round(seconds, 3),
            conflicts=list(data.get("conflicts", [])),
        )

    @staticmethod
    def count_keys() -> tuple[str, ...]:
        return (
            "added",
            "updated",
            "unchanged",
            "removed",
            "duplicates",
            "files_parsed",
            "files_skipped",
            "conflict_count",
            "copy_count",
        )

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.count_keys()}


@dataclass(frozen=True)
class Hello:
    """The indexer is up and has the index open."""

    pid: int
    doc_count: int | None


@dataclass(frozen=True)
class Done:
    result: BatchResult


@dataclass(frozen=True)
class KnownFiles:
    paths: list[str]


# Failed.kind: what the daemon does about it
RETRY = "retry"  # retried after a growing pause
DISK_FULL = "disk-full"  # retried after a pause; the committed index is intact
DAMAGED = "damaged"  # the index needs `cablesearch index --rebuild`: the daemon stops


@dataclass(frozen=True)
class Failed:
    message: str
    kind: str = RETRY


@dataclass(frozen=True)
class MoreWanted:
    """A streaming ``Apply`` asks for more paths; ``idle``: it has nothing else in hand."""

    idle: bool


@dataclass(frozen=True)
class Progress:
    """How far a ``SyncPaths`` has got (as ``cablesearch index`` shows its own progress)."""

    bytes_done: int
    bytes_total: int
    cables: int
    files_done: int
    files_total: int
    elapsed: float


Reply = Hello | Done | KnownFiles | Failed | MoreWanted | Progress
