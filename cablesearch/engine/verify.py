"""Verifying the files of an index: cheap checks at open, and a full read for ``cablesearch check``.

Contract (used by :mod:`cablesearch.index.check` and :mod:`cablesearch.index.store`):

- ``segment_files(index_dir, ix) -> dict[name, size]``: the files of the latest commit's
  segments as they are on disk now (recorded in the manifest at every commit; segment files never
  change once written, so a size that differs later means a truncated or replaced file).
- ``SegmentTOC`` / ``toc_segments(ix)``: (segment id, file name prefix, documents) per segment.
- ``verify_segment(ix, segment_id) -> SegmentCheck``: reads every file of one segment: every
  posting list is decoded (positions included), every stored record unpickled, every column
  and field length read. ``problems`` is empty for a sound segment; ``ids`` are the reference IDs
  of its live (not deleted) documents when they can still be read (from the reference-ID column, else the stored fields).
- ``verify_side(index_dir, seg) -> (missing, problem)``: the segment's side file read whole and
  checked against its CRCs (side files are not in ``segment_files``: they check themselves).
- ``verify_segment`` counts any exception while reading a segment as damage (Whoosh raises
  bare ``Exception`` and ``TermNotFound`` on a damaged term table too).
- ``DAMAGE_ERRORS``: the exception types that reading a damaged file raises (a truncated file
  gives ``struct.error``/``EOFError``/``ValueError``, flipped bytes ``zlib.error`` or
  ``UnpicklingError`` or a wrong ``KeyError``/``IndexError``, a missing one ``OSError``).
"""

from __future__ import annotations

import pickle
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh.index import FileIndex
from whoosh.reading import SegmentReader

from cablesearch.engine import schema as schema_mod
from cablesearch.engine import sidefile

DAMAGE_ERRORS: tuple[type[BaseException], ...] = (
    struct.error,
    zlib.error,
    EOFError,
    pickle.UnpicklingError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    OverflowError,
    MemoryError,
    OSError,
    AssertionError,
)


@dataclass(frozen=True)
class SegmentTOC:
    segment_id: str
    prefix: str  # file names of the segment start with this
    documents: int  # deleted ones included


def toc_segments(ix: FileIndex) -> list[SegmentTOC]:
    """The segments of the latest commit as its table of contents lists them."""
    return [SegmentTOC(s.segment_id(), s.make_filename("."), s.doc_count_all()) for s in ix._segments()]


def segment_files(index_dir: Path, ix: FileIndex) -> dict[str, int]:
    """Name -> size of every file of the latest commit's segments (a compound segment is its
    ``.seg`` file). Side files are left out: they check themselves (:func:`verify_side`), and one
    missing only makes cold queries slower."""
    prefixes = tuple(s.prefix for s in toc_segments(ix))
    out: dict[str, int] = {}
    if not prefixes:
        return out
    for entry in Path(index_dir).iterdir():
        if entry.name.startswith(prefixes) and not sidefile.is_side_file(entry.name):
            try:
                out[entry.name] = entry.stat().st_size
            except FileNotFoundError:
                continue
    return out


def verify_side(index_dir: Path, seg: SegmentTOC) -> tuple[bool, str | None]:
    """(missing, problem) of a segment's side file (:mod:`.sidefile`): every byte of it is
    checked against its CRCs. A missing one is no damage (cold queries read the W3 blocks);
    a damaged one is ignored by readers, so answers stay right, but it is reported."""
    path = sidefile.side_path(index_dir, seg.segment_id)
    try:
        side = sidefile.read_side(path, seg.segment_id, seg.documents)
    except FileNotFoundError:
        return True, None
    except (OSError, sidefile.SideFileDamaged) as exc:
        return False, f"segment {seg.segment_id}: side file damaged ({exc})"[:300]
    try:
        side.verify()
    except sidefile.SideFileDamaged as exc:
        return False, f"segment {seg.segment_id}: side file damaged ({exc})"[:300]
    finally:
        side.close()
    return False, None


def checksum(path: Path) -> int:
    """CRC-32 of a file (read in 1 MB blocks)."""
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return crc


@dataclass
class SegmentCheck:
    segment_id: str
    documents: int
    problems: list[str] = field(default_factory=list)
    ids: list[str] | None = None

    def fail(self, what: str, exc: BaseException) -> None:
        self.problems.append(f"segment {self.segment_id}: {what} ({type(exc).__name__}: {exc})"[:300])


def verify_segment(ix: FileIndex, segment_id: str) -> SegmentCheck:
    """Read every file of one segment of the latest commit (see the module docstring)."""
    segment = next(s for s in ix._segments() if s.segment_id() == segment_id)
    check = SegmentCheck(segment_id, segment.doc_count_all())
    try:
        reader = SegmentReader(ix.storage, ix.schema, segment)
    except Exception as exc:
        check.fail("cannot be opened", exc)
        return check
    try:
        ids = _read_ids(reader, check)
        if ids is not None:
            check.ids = [rid for d, rid in enumerate(ids) if not segment.is_deleted(d)]
        _read_postings(reader, check)
        _read_stored(reader, check)
        _read_columns(reader, ix.schema, check)
    finally:
        try:
            reader.close()
        except Exception:
            pass
    return check


def _read_ids(reader: Any, check: SegmentCheck) -> list[str] | None:
    """The segment's reference IDs from its stored fields, else from its reference-ID column
    (which must agree with them)."""
    stored: list[str] | None
    try:
        stored = [
            str(reader.stored_fields(d).get("reference_id") or "") for d in range(reader.doc_count_all())
        ]
    except Exception:
        stored = None
    column: list[str] | None
    try:
        column = [str(v) for v in reader.column_reader("reference_id")]
    except Exception as exc:
        check.fail("reference-ID column unreadable", exc)
        column = None
    if stored is not None and column is not None and column != stored:
        check.problems.append(
            f"segment {check.segment_id}: reference-ID column disagrees with the stored fields"
        )
    # a truncated file can read as empty values without an error: take the source without them
    for ids in (stored, column):
        if ids is not None and all(ids):
            return ids
    return None


def _read_postings(reader: Any, check: SegmentCheck) -> None:
    try:
        for fieldname, text in reader.all_terms():
            fmt = reader.schema[fieldname].format
            positions = fmt.supports("positions")
            m = reader.postings(fieldname, text)
            while m.is_active():
                if positions:
                    m.value_as("positions")
                else:
                    m.weight()
                m.next()
    except Exception as exc:
        check.fail("term table or posting lists unreadable", exc)


def _read_stored(reader: Any, check: SegmentCheck) -> None:
    try:
        for docnum in range(reader.doc_count_all()):
            record = reader.stored_fields(docnum).get("record")
            if record:
                schema_mod.unpack_cable(record)
    except Exception as exc:
        check.fail("stored records unreadable", exc)


def _read_columns(reader: Any, schema: Any, check: SegmentCheck) -> None:
    for name in schema.names():
        if schema[name].column_type is None or not reader.has_column(name):
            continue
        try:
            list(reader.column_reader(name, translate=False))
        except Exception as exc:
            check.fail(f"column {name} unreadable", exc)
    try:
        for name in schema.scorable_names():
            for docnum in range(reader.doc_count_all()):
                reader.doc_field_length(docnum, name)
    except Exception as exc:
        check.fail("field lengths unreadable", exc)
