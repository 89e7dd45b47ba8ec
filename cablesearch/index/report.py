"""What a sync did (:class:`SyncReport`), as the ``index`` command prints it and as JSON-ready
data (:meth:`SyncReport.to_dict`, the one conversion the CLI and the daemon use), and the
progress passed to a running sync's callback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cablesearch.errors import ParseError
from cablesearch.index.conflicts import CONFLICT, Conflict

LISTED_CONFLICTS = 100  # conflicts a report lists (all of them: `cablesearch conflicts`)


@dataclass
class SyncReport:
    """What one sync did. Counts are cables; ``rejected`` names each file (or row) that could
    not be read, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # cables read whose reference ID is indexed from another file (a later release of it)
    duplicates: int = 0
    rejected: list[ParseError] = field(default_factory=list)
    # IDs that a file read in this sync shares with another file: with different texts
    # (conflicts, described) and with the same text (copies, only their IDs)
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    copy_ids: set[str] = field(default_factory=set)
    files_seen: int = 0
    files_parsed: int = 0
    files_skipped: int = 0  # unchanged by size and mtime: not read at all
    commits: int = 0
    seconds: float = 0.0

    @property
    def true_conflicts(self) -> list[Conflict]:
        """The shared IDs whose files give different texts (the ones users must hear of)."""
        return [self.conflicts[k] for k in sorted(self.conflicts)]

    @property
    def copies(self) -> int:
        """How many shared IDs have the same text in every file."""
        return len(self.copy_ids)

    def note_conflict(self, conflict: Conflict) -> None:
        """Record what a shared ID is now (a later file of the sync may change it)."""
        rid = conflict.reference_id
        if conflict.kind == CONFLICT:
            self.copy_ids.discard(rid)
            self.conflicts[rid] = conflict
        else:
            self.conflicts.pop(rid, None)
            self.copy_ids.add(rid)

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed

    def summary(self) -> str:
        """The one-line summary the ``index`` command prints."""
        return (
            counts_line(
                self.added, self.updated, self.unchanged, self.removed, len(self.rejected), self.duplicates
            )
            + f" ({self.files_seen} files, {self.seconds:.1f}s)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: every count, the seconds, and ``rejected`` as
        ``{"path", "row", "reason", "message"}`` objects (``row``: the cables.csv row or None;
        ``message``: the one-line ``"path[, row N]: reason"`` shown to users), ``conflicts``: the
        first :data:`LISTED_CONFLICTS` conflicts by ID as :meth:`Conflict.to_dict` objects, with
        ``conflict_count`` and ``copy_count`` (copies are counted, never listed: re-indexing a
        release in several forms makes hundreds of thousands)."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "duplicates": self.duplicates,
            "files_seen": self.files_seen,
            "files_parsed": self.files_parsed,
            "files_skipped": self.files_skipped,
            "commits": self.commits,
            "seconds": round(self.seconds, 3),
            "rejected": [
                {"path": e.source, "row": e.row, "reason": e.reason, "message": str(e)} for e in self.rejected
            ],
            "conflicts": [c.to_dict() for c in self.true_conflicts[:LISTED_CONFLICTS]],
            "conflict_count": len(self.conflicts),
            "copy_count": len(self.copy_ids),
        }


def counts_line(
    added: int, updated: int, unchanged: int, removed: int, rejected: int, duplicates: int
) -> str:
    """ "3 added, 0 updated, ..." — a sync's counts as ``index`` prints them, whether it ran the
    sync itself or handed it to the daemon."""
    dups = (
        f", {duplicates} duplicate{'s' if duplicates != 1 else ''} of cables indexed from other files"
        if duplicates
        else ""
    )
    return (
        f"{added} added, {updated} updated, {unchanged} unchanged, {removed} removed, "
        f"{rejected} rejected{dups}"
    )


@dataclass
class SyncProgress:
    """Passed to the ``progress`` callback: work done so far, in bytes of input and cables."""

    bytes_done: int
    bytes_total: int
    cables: int
    files_done: int
    files_total: int
    elapsed: float
