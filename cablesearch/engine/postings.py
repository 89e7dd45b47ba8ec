"""Reading an index's on-disk data into NumPy arrays: posting lists, positions, field lengths,
date columns and deletions (the read side's only knowledge of Whoosh's file formats).

A Whoosh index is a list of immutable segments; a reader numbers all documents of all its
segments globally (segment offset + local number), deleted ones included. Every function here
returns arrays in those global numbers, with deleted documents still present: callers mask
them with :func:`live_mask`.

Postings of common terms are read from the segment's side file (:mod:`.sidefile`: NumPy arrays
on a memory map) when it has one; others, and positions, straight from Whoosh's W3 blocks (up
to 128 postings each) rather than posting by posting through a matcher; segments of another codec go through the public
matcher API, so any readable index still works, only slower.
"""

from __future__ import annotations

import io
import logging
import marshal
import pickle
import struct
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain, repeat
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length

from cablesearch.engine import sidefile

log = logging.getLogger(__name__)

MISSING = np.iinfo(np.int64).max  # a date column's value where the document has no date
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


@dataclass
class Postings:
    """One term's postings over the whole index: sorted global doc numbers and term weights
    (frequencies for text fields). ``values`` (raw per-posting values: encoded positions) are
    read only when asked for (phrases); ``scores`` is the snapshot's BM25F of the term, kept
    with it so that both leave the cache together. ``partial`` postings hold at least the
    documents they were read for (whole blocks around them), not all."""

    docs: np.ndarray  # int64, sorted
    weights: np.ndarray  # float32
    # raw per-posting values (encoded positions), or PositionValues when some segments' came
    # from side files
    values: list[Any] | PositionValues | None = None
    scores: np.ndarray | None = None  # float32, set by the snapshot
    _values_nbytes: int = -1  # measured once
    partial: bool = False  # only the blocks around some documents were read (never cached)

    @property
    def df(self) -> int:
        return int(self.docs.size)

    @property
    def nbytes(self) -> int:
        """Memory held, roughly: the arrays, and each raw value (a bytes object) with its list
        slot."""
        total = self.docs.nbytes + self.weights.nbytes + 120
        if self.scores is not None:
            total += self.scores.nbytes
        if isinstance(self.values, PositionValues):
            total += self.values.nbytes
        elif self.values:
            if self._values_nbytes < 0:
                self._values_nbytes = sum(map(len, self.values)) + 41 * len(self.values)
            total += self._values_nbytes
        return total


EMPTY_POSTINGS = Postings(np.zeros(0, np.int64), np.zeros(0, np.float32))


def leaves(reader: IndexReader) -> list[tuple[Any, int]]:
    """(segment reader, first doc number) for every segment of a reader."""
    return list(reader.leaf_readers())


def segment_count(reader: IndexReader) -> int:
    """Segments holding at least one document (deleted ones included)."""
    return sum(1 for leaf, _ in leaves(reader) if leaf.doc_count_all())


def _w3_blocks(m: W3LeafMatcher, offset: int, with_values: bool, out: _Parts) -> None:
    """Block by block through Whoosh's matcher (the fallback of :func:`_w3_extent`)."""
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


_FRAMED = b"\x80\x05\x95"  # a protocol-5 pickle that starts with one frame: its length is known
_INFO_MAX = 256  # a block's info pickle is a 6-tuple of numbers: never longer than this


def _w3_extent(
    buf: bytes, offset: int, with_values: bool, out: _Parts, within: list[int] | None = None
) -> bool:
    """Decode one term's W3 posting blocks from ``buf`` (the term's whole extent, read in one
    go) into ``out``; False when the bytes are not as expected (the caller then reads through
    Whoosh's matcher). Per block: the length (negative for the last), the info pickle
    ``(count, max id, max weight, compression, min length, max length)`` and the data pickle
    ``(id deltas, weights, values)``, zlib-compressed at the block's level. Doc ids of all
    blocks become one NumPy array in one pass (each block's first id is absolute, the rest
    deltas), without building Python tuples per posting. With ``within`` (sorted local doc
    numbers), only the blocks whose doc range holds one of them are decoded (the info's max id
    bounds each block), and reading stops after the last of them."""
    if buf[:4] != WHOOSH3_HEADER_MAGIC:
        return False
    loads = pickle.loads
    decompress = zlib.decompress
    ids_parts: list[tuple[int, ...]] = []
    w_parts: list[Any] = []
    v_parts: list[Any] = []
    counts: list[int] = []
    pos = 4
    size_total = len(buf)
    first = 0  # the lowest doc number the next block can hold
    while True:
        if pos + 4 > size_total:
            return False
        size = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
        start = pos + 4
        end = start + abs(size)
        if buf[start : start + 3] == _FRAMED:
            info_end = start + 11 + int.from_bytes(buf[start + 3 : start + 11], "little")
            info = loads(buf[start:info_end])
        else:  # an older protocol: let the unpickler find the end of the info pickle
            f = io.BytesIO(buf[start : min(end, start + _INFO_MAX)])
            info = pickle.load(f)
            info_end = start + f.tell()
        n = info[0]
        if within is not None:
            i = bisect_left(within, first)
            if i == len(within):
                break  # no candidate left
            first = info[1] + 1
            if within[i] >= first:  # none in this block
                if size < 0:
                    break
                pos = end
                continue
        data = buf[info_end:end]
        if info[3]:
            data = decompress(data)
        ids, weights, values = loads(data)
        if len(ids) != n:
            return False
        counts.append(n)
        ids_parts.append(ids)
        w_parts.append(
            repeat(1.0, n)
            if weights is None
            else repeat(weights, n)
            if isinstance(weights, float)
            else weights
        )
        if with_values:
            v_parts.append(values)
        if size < 0:
            break
        pos = end
    if not counts:
        return True
    total = sum(counts)
    flat = np.fromiter(chain.from_iterable(ids_parts), np.int64, count=total)
    csum = np.cumsum(flat)
    ends = np.cumsum(counts)
    before = np.concatenate(([0], csum[ends[:-1] - 1]))  # the sum up to each block's start
    out.docs.append(csum - np.repeat(before, counts) + offset)
    out.weights.append(np.fromiter(chain.from_iterable(w_parts), np.float32, count=total))
    if with_values:
        out.values.extend(chain.from_iterable(v_parts))
    return True


@dataclass
class _Parts:
    docs: list[np.ndarray]
    weights: list[np.ndarray]
    values: list[Any]
    # postings whose positions are in a side file: (first posting, postings, len(values) then)
    side: list[tuple[int, int, int, sidefile.SidePositions]] = field(default_factory=list)


class PositionValues:
    """The positions of a term's postings when some segments' came from side files: runs of
    postings with side-file positions, the others' raw W3 values in ``raw`` (in order)."""

    def __init__(self, raw: list[Any], side: list[tuple[int, int, int, sidefile.SidePositions]], n: int):
        self.raw = raw
        self.side = side
        self.n = n

    def __len__(self) -> int:
        return self.n

    @property
    def nbytes(self) -> int:
        return sum(map(len, self.raw)) + 41 * len(self.raw) + sum(s.nbytes for *_, s in self.side)

    def decode(self, docs: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(doc, position) of every occurrence in the postings ``idx`` (sorted; docs ``docs``)."""
        ds: list[np.ndarray] = []
        ps: list[np.ndarray] = []
        at = 0  # the first posting not handled yet
        raw_before = 0  # W3 postings before ``at``
        for start, count, _vals, where in [*self.side, (self.n, 0, 0, None)]:
            lo, hi = np.searchsorted(idx, [at, start])
            if hi > lo:  # W3 postings
                sel = idx[lo:hi] - at + raw_before
                d, p = decode_positions(docs[lo:hi], [self.raw[i] for i in sel.tolist()])
                ds.append(d)
                ps.append(p)
            raw_before += start - at
            if where is None:
                break
            lo2, hi2 = np.searchsorted(idx, [start, start + count])
            if hi2 > lo2:
                d, p = where.decode(docs[lo2:hi2], idx[lo2:hi2] - start)
                ds.append(d)
                ps.append(p)
            at = start + count
        if not ds:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(ds), np.concatenate(ps)


def positions_at(
    values: list[Any] | PositionValues, docs: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(doc, position) of every occurrence in the postings ``idx`` (sorted indices into a
    term's postings, whose docs are ``docs``), from the postings' ``values``."""
    if isinstance(values, PositionValues):
        return values.decode(docs, idx)
    return decode_positions(docs, [values[i] for i in idx.tolist()])


def _leaf_postings(
    leaf: Any,
    offset: int,
    fieldname: str,
    btext: bytes,
    with_values: bool,
    out: _Parts,
    within: list[int] | None = None,
) -> None:
    """Append one segment's postings of a term to ``out`` (nothing when it has none); with
    ``within`` (sorted local doc numbers) at least those of its postings (whole W3 blocks).
    Without positions, a common term comes from the segment's side file when it has a sound
    one (all of its postings: no decoding to save by reading fewer), positions too when the
    side file has them."""
    if _from_side(leaf, offset, fieldname, btext, out, with_values):
        return
    terms = getattr(leaf, "_terms", None)
    fmt = leaf.schema[fieldname].format
    try:
        if terms is None:  # not a W3 segment: go through the public API
            m = leaf.postings(fieldname, btext)
        else:
            info = terms.term_info(fieldname, btext)
            fixed = fmt.fixed_value_size()
            if not info.is_inlined() and (not with_values or fixed is None or fixed < 0):
                start, length = info.extent()
                length = length[0] if isinstance(length, tuple) else length  # W3 unpacks a tuple
                mark = len(out.docs), len(out.values)
                if _w3_extent(terms._postfile.get(start, length), offset, with_values, out, within):
                    return
                del out.docs[mark[0] :], out.weights[mark[0] :], out.values[mark[1] :]
            m = terms.matcher(fieldname, btext, fmt)
    except (TermNotFound, KeyError):
        return
    if isinstance(m, W3LeafMatcher):
        _w3_blocks(m, offset, with_values, out)
        return
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


def _from_side(leaf: Any, offset: int, fieldname: str, btext: bytes, out: _Parts, positions: bool) -> bool:
    """Append a term's postings of one segment from its side file; False when the segment has
    no sound side file or the file does not hold the term (then read the W3 blocks). A term
    whose bytes fail their CRC marks the side file damaged: this and later reads of the
    snapshot take the W3 path."""
    side = sidefile.open_side(leaf)
    if side is None:
        return False
    try:
        got = side.postings(fieldname, btext, positions)
    except sidefile.SideFileDamaged as exc:
        log.warning("%s; reading the segment's own posting lists instead", exc)
        side.damaged = True
        return False
    if got is None:
        return False
    if got[2] is not None:
        start = sum(d.size for d in out.docs)
        out.side.append((start, got[0].size, len(out.values), got[2]))
    out.docs.append(got[0] + offset if offset else got[0])
    out.weights.append(got[1])
    return True


def doc_frequency(reader: IndexReader, fieldname: str, btext: bytes) -> int:
    """What ``reader.doc_frequency(fieldname, btext)`` gives (postings in all segments, deleted
    documents included): a common term's count per segment from its side file's directory
    (no hash-table reads), the W3 term table for the others."""
    total = 0
    for leaf, _offset in leaves(reader):
        side = sidefile.open_side(leaf)
        df = side.doc_frequency(fieldname, btext) if side is not None else None
        total += df if df is not None else int(leaf.doc_frequency(fieldname, btext))
    return total


def read_postings(
    reader: IndexReader,
    fieldname: str,
    btext: bytes,
    with_values: bool = False,
    within: np.ndarray | None = None,
) -> Postings:
    """All postings of one term, deleted documents included (mask them with ``live_mask``).
    ``with_values`` also keeps each posting's raw value (encoded positions, for phrases).
    ``within`` (sorted global doc numbers): only the postings of those documents are needed;
    the result holds at least those (whole blocks around them; segments without any of them
    are not read at all): an AND of a rare and a common word reads little of the common one."""
    out = _Parts([], [], [])
    for leaf, offset in leaves(reader):
        local: list[int] | None = None
        if within is not None:
            lo, hi = np.searchsorted(within, [offset, offset + leaf.doc_count_all()])
            if lo == hi:
                continue
            local = (within[lo:hi] - offset).tolist()
        _leaf_postings(leaf, offset, fieldname, btext, with_values, out, local)
    values: list[Any] | PositionValues | None = out.values if with_values else None
    if out.side:
        values = PositionValues(out.values, out.side, sum(d.size for d in out.docs))
    if not out.docs:
        return Postings(EMPTY_POSTINGS.docs, EMPTY_POSTINGS.weights, values)
    docs = out.docs[0] if len(out.docs) == 1 else np.concatenate(out.docs)
    weights = out.weights[0] if len(out.weights) == 1 else np.concatenate(out.weights)
    return Postings(docs, weights, values)


_KEY_LENGTHS = struct.Struct("!ii")  # a term table record: key length, value length


def segment_terms(leaf: Any, fieldname: str, prefix: bytes = b"") -> list[bytes]:
    """The terms of ``fieldname`` in one segment that start with ``prefix``, in order. From a
    W3 term table (ordered: two bytes of field number, then the term) the records of the range
    are read in one go and only their keys taken, without decoding term infos; other readers go
    through ``expand_prefix`` (same answer, slower)."""
    if fieldname not in leaf.schema:
        return []
    terms = getattr(leaf, "_terms", None)
    tindex = getattr(terms, "_tindex", None)
    fieldmap = getattr(terms, "_fieldmap", None)
    if not isinstance(tindex, OrderedHashReader) or not isinstance(fieldmap, dict):
        return list(leaf.expand_prefix(fieldname, prefix))
    if fieldname not in fieldmap:
        return []
    key = struct.pack("!H", fieldmap[fieldname]) + prefix
    start = tindex.closest_key_pos(key)
    if start is None:
        return []
    upper = _successor(key)
    end = (tindex.closest_key_pos(upper) if upper is not None else None) or tindex.endofdata
    buf = tindex.dbfile.get(start, end - start)
    out: list[bytes] = []
    unpack = _KEY_LENGTHS.unpack_from
    pos, size = 0, len(buf)
    while pos < size:
        keylen, datalen = unpack(buf, pos)
        out.append(buf[pos + 10 : pos + 8 + keylen])
        pos += 8 + keylen + datalen
    return out


def segment_words(leaf: Any, fields: tuple[str, ...]) -> list[str] | None:
    """The sorted words of letters (3+ ASCII letters) of ``fields`` in one segment, from its
    side file's word list; None when it has none for those fields (read the term tables with
    :func:`segment_terms`). A damaged list marks the side file damaged (None)."""
    side = sidefile.open_side(leaf)
    if side is None:
        return None
    try:
        return side.words(fields)
    except sidefile.SideFileDamaged as exc:
        log.warning("%s; reading the segment's term table instead", exc)
        side.damaged = True
        return None


def _successor(key: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``key`` (None: none)."""
    stripped = key.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


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
            col = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)  # W3's _lenfield
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


def decode_counts(values: list[bytes | None]) -> np.ndarray:
    """The number of positions of each posting (int64), from its raw ``Positions`` value."""
    return np.fromiter((len(x) for x in _decode_many(values)), dtype=np.int64, count=len(values))


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
