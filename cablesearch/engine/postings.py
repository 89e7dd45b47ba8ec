"""Reading an index's on-disk data into NumPy arrays: posting lists, positions, field lengths,
date columns and deletions (the read side's only knowledge of Whoosh's file formats).

A Whoosh index is a list of immutable segments; a reader numbers all documents of all its
segments globally (segment offset + local number), deleted ones included. Every function here
returns arrays in those global numbers, with deleted documents still present: callers mask
them with :func:`live_mask`.

Postings are read straight from Whoosh's W3 blocks (up to 128 postings each) rather than
posting by posting through a matcher; segments of another codec go through the public
matcher API, so any readable index still works, only slower.
"""

from __future__ import annotations

import marshal
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length

MISSING = np.iinfo(np.int64).max  # a date column's value where the document has no date
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


@dataclass
class Postings:
    """One term's postings over the whole index: sorted global doc numbers and term weights
    (frequencies for text fields). ``positions``/``keys`` are filled on demand for phrases."""

    docs: np.ndarray  # int64, sorted
    weights: np.ndarray  # float32
    values: list[Any] | None = None  # raw per-posting values (encoded positions)
    positions: tuple[np.ndarray, np.ndarray] | None = None  # (doc, position) pairs
    keys: np.ndarray | None = None  # sorted doc << 32 | position

    @property
    def df(self) -> int:
        return int(self.docs.size)


EMPTY_POSTINGS = Postings(np.zeros(0, np.int64), np.zeros(0, np.float32))


def leaves(reader: IndexReader) -> list[tuple[Any, int]]:
    """(segment reader, first doc number) for every segment of a reader."""
    return list(reader.leaf_readers())


def segment_count(reader: IndexReader) -> int:
    """Segments holding at least one document (deleted ones included)."""
    return sum(1 for leaf, _ in leaves(reader) if leaf.doc_count_all())


def _w3_blocks(m: W3LeafMatcher, offset: int, with_values: bool, out: _Parts) -> None:
    while True:
        m._read_data()
        ids, weights, _vals = m._data
        n = m._blocklength
        out.docs.append(np.cumsum(np.asarray(ids, dtype=np.int64)) + offset)
        if weights is None:
            out.weights.append(np.ones(n, np.float32))
        elif isinstance(weights, float):
            out.weights.append(np.full(n, weights, np.float32))
        else:
            out.weights.append(np.asarray(weights, dtype=np.float32))
        if with_values:
            m._read_values()
            out.values.extend(m._values)
        if m._lastblock:
            break
        m._goto(m._nextoffset)


@dataclass
class _Parts:
    docs: list[np.ndarray]
    weights: list[np.ndarray]
    values: list[Any]


def read_postings(reader: IndexReader, fieldname: str, btext: bytes, with_values: bool = False) -> Postings:
    """All postings of one term, deleted documents included (mask them with ``live_mask``)."""
    out = _Parts([], [], [])
    for leaf, offset in leaves(reader):
        terms = getattr(leaf, "_terms", None)
        fmt = leaf.schema[fieldname].format
        try:
            if terms is not None:
                m = terms.matcher(fieldname, btext, fmt)
            else:  # not a W3 segment: go through the public API
                m = leaf.postings(fieldname, btext)
        except (TermNotFound, KeyError):
            continue
        if isinstance(m, W3LeafMatcher):
            _w3_blocks(m, offset, with_values, out)
            continue
        ids_l: list[int] = []
        w_l: list[float] = []
        while m.is_active():
            ids_l.append(m.id())
            w_l.append(m.weight())
            if with_values:
                out.values.append(m.value())
            m.next()
        out.docs.append(np.asarray(ids_l, dtype=np.int64) + offset)
        out.weights.append(np.asarray(w_l, dtype=np.float32))
    values = out.values if with_values else None
    if not out.docs:
        return Postings(EMPTY_POSTINGS.docs, EMPTY_POSTINGS.weights, values)
    return Postings(np.concatenate(out.docs), np.concatenate(out.weights), values)


def field_terms(reader: IndexReader, fieldname: str) -> Iterator[bytes]:
    """Every term of a field, in order (empty when the schema has no such field)."""
    if fieldname in reader.schema:
        yield from list(reader.lexicon(fieldname))


def field_lengths(reader: IndexReader, fieldname: str, n: int) -> np.ndarray:
    """Each document's length in ``fieldname`` (float32, 0 when empty), as BM25 sees it: Whoosh
    stores a length in one byte (``length_to_byte``), so long fields are approximate."""
    out = np.zeros(n, np.float32)
    for leaf, offset in leaves(reader):
        perdoc = getattr(leaf, "_perdoc", None)
        count = leaf.doc_count_all()
        col = None
        if perdoc is not None:
            col = perdoc._cached_reader(f"_{fieldname}_L", LENGTHS_COLUMN)
        if col is not None and hasattr(col, "_dbfile"):
            stored = min(col._count, count)
            raw = np.frombuffer(col._dbfile.get(col._basepos, stored), dtype=np.uint8)
            out[offset : offset + stored] = _BYTE_TO_LENGTH[raw]
        else:
            for i in range(count):
                out[offset + i] = leaf.doc_field_length(i, fieldname, 0) or 0
    return out


def average_length(reader: IndexReader, fieldname: str) -> float:
    """The field's mean length over all documents, deleted ones included (as Whoosh's BM25F)."""
    n = reader.doc_count_all()
    return (reader.field_length(fieldname) / n) if n else 1.0


def date_column(reader: IndexReader, fieldname: str, n: int) -> np.ndarray:
    """A DATETIME field's column as int64 µs since datetime.min (MISSING where absent)."""
    out = np.full(n, MISSING, np.int64)
    if fieldname not in reader.schema:
        return out
    fobj = reader.schema[fieldname]
    for leaf, offset in leaves(reader):
        count = leaf.doc_count_all()
        if not leaf.has_column(fieldname):
            continue
        col = leaf._perdoc.column_reader(fieldname, fobj.column_type) if hasattr(leaf, "_perdoc") else None
        if col is not None and hasattr(col, "_dbfile") and hasattr(col, "_typecode"):
            stored = min(col._count, count)
            raw = np.frombuffer(
                col._dbfile.get(col._basepos, stored * col._fixedlen), dtype=">" + col._typecode
            ).astype(np.uint64)
            default = np.uint64(col._default)
            vals = np.where(raw == default, np.uint64(MISSING), raw).astype(np.int64)
            out[offset : offset + stored] = vals
        else:
            creader = leaf.column_reader(fieldname)
            for i in range(count):
                v = creader[i]
                if isinstance(v, datetime):
                    out[offset + i] = datetime_us(v)
    return out


def live_mask(reader: IndexReader) -> np.ndarray:
    """True for each document that is not deleted."""
    live = np.ones(reader.doc_count_all(), bool)
    if not reader.has_deletions():
        return live
    for leaf, offset in leaves(reader):
        if not leaf.has_deletions():
            continue
        if hasattr(leaf, "_perdoc"):
            dead = np.fromiter(leaf._perdoc.deleted_docs(), dtype=np.int64)
        else:
            dead = np.fromiter((i for i in range(leaf.doc_count_all()) if leaf.is_deleted(i)), dtype=np.int64)
        live[dead + offset] = False
    return live


def to_datetime(us: int) -> datetime | None:
    """Inverse of the date columns' encoding."""
    if us == MISSING:
        return None
    return datetime.min + timedelta(microseconds=int(us))


def datetime_us(dt: datetime) -> int:
    """A datetime as the date columns encode it: µs since ``datetime.min``."""
    return (dt - datetime.min) // timedelta(microseconds=1)


def decode_positions(docs: np.ndarray, values: list[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """(doc, position) of every occurrence, from the raw ``Positions`` values of postings."""
    lists = _decode_many(values)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((d for x in lists for d in x), dtype=np.int64, count=int(counts.sum()))
    # values hold position deltas: cumulative sums restarted at each document
    csum = np.cumsum(flat)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if counts.size else counts
    base = np.where(starts > 0, csum[np.maximum(starts - 1, 0)], 0) if flat.size else np.zeros(0, np.int64)
    return np.repeat(docs, counts), csum - np.repeat(base, counts)


def _decode_many(values: list[bytes | None]) -> list[list[int]]:
    """Position deltas of many postings. Pickled values (Whoosh's format) are decoded with one
    ``pickle.loads`` for all of them: each value's pickle body is a self-contained "build a
    list" sequence, so the bodies joined between MARK and TUPLE load as a tuple of lists."""
    bodies = []
    for v in values:
        if not v:
            bodies.append(b"]")
            continue
        d = v[4:]
        if d[:2] != b"\x80\x02":
            return [_decode_one(x) for x in values]
        bodies.append(d[2:-1] if d.endswith(b".") else d[2:])
    if not bodies:
        return []
    try:
        return list(pickle.loads(b"\x80\x02(" + b"".join(bodies) + b"t."))
    except Exception:
        return [_decode_one(x) for x in values]


def _decode_one(value: bytes | None) -> list[int]:
    """Position deltas of one posting (``Positions`` format: a count, then a marshal or pickle
    dump of the deltas, depending on which writer wrote the segment)."""
    if not value:
        return []
    data = value[4:]
    if data[:1] == b"\x80":
        return pickle.loads(data if data.endswith(b".") else data + b".")
    return marshal.loads(data)
