"""Opening and creating the Whoosh index in a folder, and reading it while other processes commit.

A commit by another process replaces the table of contents, and a merge deletes old segment
files, while this process may be reading them: :func:`while_files_change` runs an opening step
again when it finds a file vanished (:class:`Vanished`), and :func:`open_searcher` opens every
column file of every segment at once (an open file stays readable after it is deleted).
Segments written by plain Whoosh (a compound ``.seg`` file holding the segment's files) are
read like cablesearch's own (separate files).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from cablesearch.engine import schema as schema_mod
from cablesearch.errors import IndexError_

T = TypeVar("T")

OPEN_ATTEMPTS = 20

_SCHEMA: Schema | None = None


def default_schema() -> Schema:
    """The schema of this version of cablesearch (built once per process)."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = schema_mod.build_schema()
    return _SCHEMA


class Vanished(Exception):
    """A file of the index disappeared while it was being opened (a commit replaced it)."""


def while_files_change(index_dir: Path, verb: str, fn: Callable[[], T]) -> T:
    """``fn()``, again (up to OPEN_ATTEMPTS times) while it raises :class:`Vanished`; then an
    ``IndexError_`` saying the index kept changing."""
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            return fn()
        except Vanished:
            if attempt == OPEN_ATTEMPTS:
                raise IndexError_(
                    f"cannot {verb} the index at {index_dir}: its files kept changing while "
                    f"being read ({OPEN_ATTEMPTS} tries); try again"
                ) from None
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def exists(index_dir: Path) -> bool:
    """Whether ``index_dir`` holds a Whoosh index (a table of contents; one that cannot be read
    counts too: opening it then says what is wrong)."""
    try:
        return bool(whoosh_index.exists_in(str(index_dir)))
    except FileNotFoundError:
        raise
    except Exception:
        return any(Path(index_dir).glob("_MAIN_*.toc"))


def open_existing(index_dir: Path) -> FileIndex:
    """Open the index in ``index_dir`` (FileNotFoundError if a file of it is missing)."""
    ix = whoosh_index.open_dir(str(index_dir))
    check_schema(index_dir, ix.schema)
    return ix


def create(index_dir: Path) -> FileIndex:
    """Create an empty index with this version's schema (the caller holds the write lock)."""
    if exists(index_dir):
        return open_existing(index_dir)
    return FileStorage(str(index_dir)).create_index(schema_mod.build_schema())


def check_schema(index_dir: Path, found: Schema) -> None:
    """Refuse an index built with another schema (older code): its fields or analysis differ.
    A field of ``schema.LATER_FIELDS`` may be missing (an index written before it existed), and
    a field may keep a form older indexes have (``schema.same_field``)."""
    expected = default_schema()
    names = [n for n in expected.names() if n in found or n not in schema_mod.LATER_FIELDS]
    same = sorted(found.names()) == sorted(names) and all(
        schema_mod.same_field(n, found[n], expected[n]) for n in names
    )
    if not same:
        raise IndexError_(
            f"the index at {index_dir} was built by another version of cablesearch (its fields "
            "or text analysis differ); delete the folder and run `cablesearch index` again"
        )


def generation(ix: FileIndex) -> int:
    """The number of the last commit (by any process)."""
    return int(ix.latest_generation())


@dataclass(frozen=True)
class SegmentInfo:
    """One segment of the latest commit: its documents (deleted ones included) and deletions."""

    doc_count_all: int
    deleted: int


def segments(ix: FileIndex) -> list[SegmentInfo]:
    """The segments of the latest commit, in order."""
    return [SegmentInfo(s.doc_count_all(), s.doc_count_all() - s.doc_count()) for s in ix._segments()]


def open_searcher(ix: FileIndex, index_dir: Path, **kwargs: Any) -> Searcher:
    """A searcher on the latest commit with every column file already open (see the module
    docstring); a newer commit is read when files vanish meanwhile."""

    def attempt() -> Searcher:
        s = ix.searcher(**kwargs)  # Whoosh reads the latest TOC for each new reader
        try:
            _open_column_files(s.reader(), ix.schema)
        except FileNotFoundError:
            s.close()
            raise Vanished() from None
        return s

    return while_files_change(index_dir, "read", attempt)


def _open_column_files(reader: Any, schema: Schema) -> None:
    """Open every column file of every segment of ``reader`` now. Each segment's files are
    listed in its own storage: the index folder, or the compound ``.seg`` file of a segment
    written by plain Whoosh."""
    listings: dict[int, list[str]] = {}
    for leaf, _offset in reader.leaf_readers():
        perdoc = getattr(leaf, "_perdoc", None)
        if not isinstance(perdoc, whoosh3.W3PerDocReader):
            continue
        storage = perdoc._storage
        names = listings.get(id(storage))
        if names is None:
            names = listings[id(storage)] = list(storage.list())
        prefix = perdoc._segment.make_filename(".")
        if (
            perdoc._segment.doc_count_all()
            and prefix + "_stored.col" not in names
            and "_stored" not in perdoc._readers
        ):
            # every segment stores fields: this one was deleted by a merge since the TOC was read
            raise FileNotFoundError(prefix + "_stored.col")
        for name in names:
            if not (name.startswith(prefix) and name.endswith(".col")):
                continue
            field = name[len(prefix) : -len(".col")]
            if field in perdoc._readers:
                continue
            column = _column_type(field, schema)
            if column is not None:
                perdoc._readers[field] = perdoc.column_reader(field, column)


def _column_type(field: str, schema: Schema) -> Any:
    """The column type of a column file named for ``field`` (None: not one we read)."""
    if field == "_stored":
        return whoosh3.STORED_COLUMN
    if field.startswith("_") and field.endswith("_len"):
        return whoosh3.LENGTHS_COLUMN
    if field in schema and schema[field].column_type is not None:
        return schema[field].column_type
    return None


def per_segment(cache: dict[str, T], reader: Any, build: Callable[[Any], T]) -> list[tuple[int, T]]:
    """(document number offset, ``build(segment reader)``) for each segment of ``reader``, built
    once per segment and kept in ``cache`` by segment id (a segment never changes; deletions are
    kept apart); the entries of segments no longer in ``reader`` are dropped. The reader of an
    empty index has no segment."""
    out: list[tuple[int, T]] = []
    seen: set[str] = set()
    for leaf, offset in reader.leaf_readers():
        segment = leaf.segment()
        if segment is None:
            continue
        seg_id = segment.segment_id()
        seen.add(seg_id)
        value = cache.get(seg_id)
        if value is None:
            value = cache[seg_id] = build(leaf)
        out.append((offset, value))
    for gone in set(cache) - seen:
        del cache[gone]
    return out


def term_docnums(reader: Any, fieldname: str, text: str) -> list[int]:
    """Document numbers (deleted ones too) holding ``text`` in ``fieldname``."""
    try:
        plist = reader.postings(fieldname, text)
    except TermNotFound:
        return []
    return list(plist.all_ids())
