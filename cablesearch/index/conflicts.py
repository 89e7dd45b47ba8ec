"""Reference IDs that several files give, as users are told about them (issue 14).

The index keeps one cable per reference ID (the rule of :mod:`.run`: the latest ``released``
wins, then the path that sorts last). Every other file giving the ID is still recorded in the
manifest, and this module describes such an ID as a :class:`Conflict`:

- ``kind == "copies"``: every file gives the same text (subject and body, whitespace aside;
  ``engine.writer.text_digest``) -- the cables.csv row and the HTML page of one cable, a file
  copied under another name. Nothing is lost; they are listed only on request.
- ``kind == "conflict"``: the texts differ (or are not known: an entry recorded by a version
  without text digests), so what the index shows is one of several versions. These are always
  named: by ``index``, in the daemon's status and by ``cablesearch conflicts``.

The same file read again (changed or not) is never a conflict: entries are per (file, ID).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cablesearch.index.manifest import MANIFEST_NAME, Entry, Manifest

COPIES = "copies"
CONFLICT = "conflict"


@dataclass(frozen=True)
class Conflict:
    """One reference ID given by several files; ``files`` has the indexed one first."""

    reference_id: str
    kind: str  # COPIES or CONFLICT
    files: tuple[Entry, ...]
    reason: str  # why the first file is the one indexed

    @property
    def kept(self) -> str:
        return self.files[0].path if self.files and self.files[0].indexed else ""

    def line(self) -> str:
        """``09STATE1: 2 files give this ID with different texts: A (kept: released later), B``."""
        what = "the same text" if self.kind == COPIES else "different texts"
        if self.kind == CONFLICT and any(not e.text for e in self.files):
            what = "texts not compared (recorded by an older version; re-index to compare)"
        kept_text = self.files[0].text if self.kept else ""
        names = []
        for e in self.files:
            if e.indexed:
                names.append(f"{e.path} (kept: {self.reason})")
            elif self.kind == CONFLICT and kept_text and e.text == kept_text:
                names.append(f"{e.path} (same text as the kept one)")
            else:
                names.append(e.path)
        return f"{self.reference_id}: {len(self.files)} files give this ID, {what}: " + ", ".join(names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "kind": self.kind,
            "indexed": self.kept or None,
            "reason": self.reason,
            "files": [
                {"path": e.path, "released": e.released or None, "indexed": e.indexed} for e in self.files
            ],
            "message": self.line(),
        }


def describe(entries: list[Entry]) -> Conflict | None:
    """The conflict that ``entries`` (all of one reference ID) make, or None for one file."""
    if len(entries) < 2:
        return None
    by_rank = sorted(entries, key=lambda e: e.rank, reverse=True)
    ordered = sorted(by_rank, key=lambda e: not e.indexed)  # stable: the indexed one first
    first = ordered[0]
    texts = {e.text for e in entries}
    kind = COPIES if len(texts) == 1 and "" not in texts else CONFLICT
    if not first.indexed:
        reason = ""
    elif all(first.released > e.released for e in ordered[1:]):
        reason = "released later"
    else:
        reason = (
            "same release date; the last by path" if first.released else "no release date; the last by path"
        )
    return Conflict(first.reference_id, kind, tuple(ordered), reason)


def conflicts_of(manifest: Manifest, ids: Iterable[str]) -> list[Conflict]:
    """The conflicts among ``ids`` (IDs given by one file only are left out), sorted by ID."""
    out = []
    for rid in sorted(set(ids)):
        found = describe(manifest.entries_of_id(rid))
        if found is not None:
            out.append(found)
    return out


def all_conflicts(manifest: Manifest) -> list[Conflict]:
    """Every reference ID that several files give (copies and conflicts), sorted by ID."""
    return conflicts_of(manifest, manifest.ids_in_several_files())


def read_conflicts(index_dir: Path | str, copies: bool = False) -> list[Conflict]:
    """The IDs of the index in ``index_dir`` that several files give: the conflicts, and with
    ``copies`` the copies too. Raises :class:`cablesearch.errors.IndexNotFound` when there is no index there."""
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST_NAME).is_file():
        from cablesearch.index.store import CableIndex

        CableIndex.open(index_dir, create=False)  # raises IndexNotFound when there is none
        return []  # an index without a manifest records no files
    with Manifest(index_dir) as manifest:
        found = all_conflicts(manifest)
    return found if copies else [c for c in found if c.kind == CONFLICT]
