"""``cablesearch check``: read every file of the index and its manifest, say what is damaged and
which cables it affects.

Checked: the manifest opens (SQLite's own ``integrity_check``); the table of contents opens;
every segment's files are there with the sizes their commit recorded, and every posting list,
stored record, column and field length of each segment reads (:mod:`cablesearch.engine.verify`)
and every file has the CRC-32 recorded in the manifest at its commit;
the manifest and the index agree on which cables are indexed; each segment's side file
(``*.npp``) matches its CRCs (a damaged one is damage, though answers stay right; a missing one,
e.g. of an index written before side files, is a note). Affected cables are named by
reference ID: those of a damaged segment (read from the segment when its IDs still read), and
those the manifest says are indexed but no sound segment holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from cablesearch.engine import sidefile, storage, verify
from cablesearch.errors import IndexDamaged, IndexError_
from cablesearch.index.manifest import MANIFEST_NAME, IndexState, Manifest, read_state
from cablesearch.index.store import CableIndex


@dataclass
class CheckReport:
    index_dir: Path
    problems: list[str] = field(default_factory=list)
    affected: set[str] = field(default_factory=set)  # reference IDs of cables damaged or lost
    cables: int = 0  # live cables in the sound segments
    segments: int = 0
    unknown_lost: int = 0  # cables of damaged segments whose IDs cannot be read
    notes: list[str] = field(default_factory=list)  # not damage, but worth saying

    @property
    def damaged(self) -> bool:
        return bool(self.problems)


def check_index(index_dir: Path | str) -> CheckReport:
    """Verify the index at ``index_dir`` (see the module docstring); never raises for damage."""
    index_dir = Path(index_dir)
    report = CheckReport(index_dir)
    manifest_ids = _manifest_ids(index_dir, report)
    ix = _open(index_dir, report)
    index_ids: set[str] = set()
    if ix is not None:
        try:
            _check_segments(ix, report, index_ids)
        except Exception as exc:  # whatever reading a damaged file raises is reported, not raised
            report.problems.append(f"the table of contents cannot be read ({type(exc).__name__}: {exc})")
    if manifest_ids is not None:
        lost = {rid for rid in manifest_ids if rid not in index_ids}
        if lost and not report.problems:
            report.problems.append(f"{len(lost)} cable(s) listed in {MANIFEST_NAME} are not in the index")
        report.affected |= lost
        extra = index_ids - set(manifest_ids)
        if extra:
            report.problems.append(f"{len(extra)} cable(s) in the index are not listed in {MANIFEST_NAME}")
    return report


def _manifest_ids(index_dir: Path, report: CheckReport) -> list[str] | None:
    path = index_dir / MANIFEST_NAME
    if not path.exists():
        report.notes.append(
            f"no {MANIFEST_NAME}: the next `cablesearch index` reads every file again, and "
            "`cablesearch index --rebuild` needs the sources named (PATH...)"
        )
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = db.execute("PRAGMA integrity_check").fetchone()
        finally:
            db.close()
        if result is None or result[0] != "ok":
            raise sqlite3.DatabaseError(str(result[0] if result else "no answer"))
        with Manifest(index_dir) as m:
            return [rid for rid, _path in m.indexed_ids()]
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"{MANIFEST_NAME} is damaged ({exc})")
        return None


def _open(index_dir: Path, report: CheckReport) -> object | None:
    """The Whoosh index, opened without the checks at open (they are redone here in detail)."""
    if not storage.exists(index_dir):
        if (index_dir / MANIFEST_NAME).exists():
            report.problems.append("the table of contents (_MAIN_*.toc) is missing")
            return None
        raise IndexError_(f"no index at {index_dir}; build one with `cablesearch index PATH...`")
    try:
        return storage.open_existing(index_dir)
    except IndexError_ as exc:
        if isinstance(exc, IndexDamaged):
            report.problems.append(exc.what)
            return None
        raise
    except Exception as exc:
        report.problems.append(f"the table of contents cannot be read ({type(exc).__name__}: {exc})")
        return None


def _check_segments(ix: object, report: CheckReport, index_ids: set[str]) -> None:
    try:
        CableIndex.open(report.index_dir, create=False)
    except IndexDamaged as exc:
        report.problems.append(exc.what)  # the cheap check: sizes, generation, counts
    except IndexError_:
        pass
    recorded = _recorded(report.index_dir)
    segments = verify.toc_segments(ix)
    report.segments = len(segments)
    no_side = 0
    for seg in segments:
        check = verify.verify_segment(ix, seg.segment_id)
        check.problems.extend(_checksum_problems(report.index_dir, seg.prefix, recorded))
        missing, side_problem = verify.verify_side(report.index_dir, seg)
        no_side += missing and seg.documents > 0
        if side_problem:  # answers stay right (readers ignore it): damage, but no cable lost
            report.problems.append(f"{side_problem}; `cablesearch index --rebuild` writes it again")
        live = check.ids or []
        if check.problems:
            report.problems.extend(check.problems)
            report.affected.update(live)
            if check.ids is None:
                report.unknown_lost += seg.documents
        else:
            index_ids.update(live)
            report.cables += len(live)
    if no_side:
        report.notes.append(
            f"{no_side} of {len(segments)} segment(s) have no side file (*{sidefile.SUFFIX}, written "
            "by this version): searches read them more slowly the first time; "
            "`cablesearch index --rebuild` writes them (so does the next merge of those segments)"
        )


def _recorded(index_dir: Path) -> IndexState | None:
    try:
        found = read_state(index_dir)
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError):
        return None
    return found[0] if found else None


def _checksum_problems(index_dir: Path, prefix: str, recorded: IndexState | None) -> list[str]:
    """Files of one segment whose CRC-32 differs from the one recorded at their commit (bytes
    changed in place: a flipped field length or column value reads without error)."""
    if recorded is None:
        return []
    out = []
    for name, crc in recorded.checksums.items():
        path = index_dir / name
        if not name.startswith(prefix) or not path.exists():
            continue
        if verify.checksum(path) != crc:
            out.append(f"file {name} does not match the checksum its commit recorded")
    return out
