"""The citation data of each segment, read once and kept across snapshots, and the assembly of
one snapshot's citation graph from it (:class:`~cablesearch.engine.graph.CitationGraph`).

A segment never changes once committed (a later commit only adds deletions, which the
snapshot's ``live`` mask holds), so what it says about citations is read once per segment
and kept by segment (its folder and id) in a :class:`PieceCache`: a :class:`SegmentCitations`
is, for each of the segment's documents, the interned code of its reference ID, and every
(document, cited reference ID) pair as two arrays. Reference IDs become small integers through the cache's
:class:`Interner` (one code per distinct ID, the same in every segment), so assembling a
snapshot's graph from its segments' pieces is NumPy over integer arrays (:func:`assemble`):
after a commit only the new segments are read, and the rest costs milliseconds per 100,000
citations, not a pass of Python over every edge.

Memory: :meth:`PieceCache.prune` drops the pieces of segments no open snapshot has; when the
interner holds many more IDs than the kept pieces use (cables removed over a long run), the
cache starts afresh (the graphs already built keep the interner they were built with).
"""

from __future__ import annotations

import pickle
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo, W3TermsReader
from whoosh.filedb.filetables import OrderedHashReader

from cablesearch.engine.columns import multi_valued
from cablesearch.engine.postings import leaves

REFERENCE_ID = "reference_id"
REFERENCES = "references"
_FRAMED = b"\x80\x05\x95"  # a protocol-5 pickle starting with one frame (its length known)
_KEY_LENGTHS = struct.Struct("!ii")  # a term table record: key length, value length
_POSTINGS_READ_MAX = 64 * 1024 * 1024  # one read for a field's postings up to this size
INTERNER_SLACK = 2  # start afresh when the interner holds this many times the codes kept pieces use


class Interner:
    """Reference IDs as codes ``0, 1, 2, ...`` in order of first sight; ``names[code]`` is the
    ID. Codes are only ever added (readers of an older graph see a prefix)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def code(self, name: str) -> int:
        c = self.codes.get(name)
        if c is None:
            c = self.codes[name] = len(self.names)
            self.names.append(name)
        return c

    def encode(self, names: Iterable[str]) -> np.ndarray:
        return np.fromiter((self.code(s) for s in names), np.int64)

    def find(self, name: str) -> int | None:
        """The code of an ID already seen, else None (never adds)."""
        return self.codes.get(name)


@dataclass(frozen=True)
class SegmentCitations:
    """One segment's citations in codes: ``rid[d]`` the reference ID of local document ``d``
    (-1: none); ``ref_docs`` / ``ref_codes`` every (local document, cited ID) pair, sorted by
    document. Deleted documents are included (the snapshot's live mask leaves them out)."""

    rid: np.ndarray  # int64, one per document of the segment
    ref_docs: np.ndarray  # int32, sorted
    ref_codes: np.ndarray  # int64

    @property
    def size(self) -> int:
        """Codes held (what the interner's bound compares with)."""
        return int(self.rid.size + self.ref_codes.size)


def _segment_terms(leaf: Any, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(values, local docs, value index) of every (document, term) pair of one segment's
    ID/KEYWORD field, in term order. From a W3 segment, the field's records of the term table
    are read in one go, and the postings of all its terms too (a term in one document has its
    posting inlined in its record): ~20x faster than a postings lookup per term. Other segment
    kinds go through :func:`~cablesearch.engine.columns.multi_valued`."""
    n = leaf.doc_count_all()
    if fieldname not in leaf.schema:
        return [], np.zeros(0, np.int64), np.zeros(0, np.int64)
    records = _term_records(leaf, fieldname)
    if records is None:
        mv = multi_valued(leaf, fieldname, n)
        return mv.values, mv.pair_docs.astype(np.int64), mv.pair_values.astype(np.int64)
    terms = leaf._terms
    fmt = leaf.schema[fieldname].format
    infos = [W3TermInfo.from_bytes(data) for _, data in records]
    extents = [_extent(info) for info in infos if not info.is_inlined()]
    lo = min((e[0] for e in extents), default=0)
    hi = max((e[0] + e[1] for e in extents), default=0)
    postings = terms._postfile.get(lo, hi - lo) if hi - lo <= _POSTINGS_READ_MAX else None
    values: list[str] = []
    docs: list[int] = []
    counts: list[int] = []
    for (btext, _), info in zip(records, infos, strict=True):
        if info.is_inlined():
            found = list(info.inlined_postings()[0])
        else:
            start, length = _extent(info)
            buf = postings[start - lo : start - lo + length] if postings is not None else None
            found = _term_docs(terms, info, fmt, buf)
        values.append(btext.decode("utf-8"))
        docs.extend(found)
        counts.append(len(found))
    vidx = np.repeat(np.arange(len(values), dtype=np.int64), counts)
    return values, np.asarray(docs, np.int64), vidx


def _term_records(leaf: Any, fieldname: str) -> list[tuple[bytes, bytes]] | None:
    """(term, term-info bytes) of every term of a field in a W3 segment, read as one range of
    the ordered term table (keys are two bytes of field number, then the term); None for
    other segment kinds."""
    terms = getattr(leaf, "_terms", None)
    tindex = getattr(terms, "_tindex", None)
    fieldmap = getattr(terms, "_fieldmap", None)
    if not isinstance(terms, W3TermsReader) or not isinstance(tindex, OrderedHashReader):
        return None
    if not isinstance(fieldmap, dict):
        return None
    if fieldname not in fieldmap:
        return []
    number = fieldmap[fieldname]
    start = tindex.closest_key_pos(struct.pack("!H", number))
    if start is None:
        return []
    end = (
        tindex.closest_key_pos(struct.pack("!H", number + 1)) if number < 0xFFFF else None
    ) or tindex.endofdata
    buf = tindex.dbfile.get(start, end - start)
    out: list[tuple[bytes, bytes]] = []
    unpack = _KEY_LENGTHS.unpack_from
    pos, size = 0, len(buf)
    while pos < size:
        keylen, datalen = unpack(buf, pos)
        key_end = pos + 8 + keylen
        if buf[pos + 8 : pos + 10] != struct.pack("!H", number):
            break
        out.append((buf[pos + 10 : key_end], buf[key_end : key_end + datalen]))
        pos = key_end + datalen
    return out


def _extent(info: Any) -> tuple[int, int]:
    start, length = info.extent()
    return start, length[0] if isinstance(length, tuple) else length  # W3 unpacks a tuple


def _term_docs(terms: W3TermsReader, info: Any, fmt: Any, buf: bytes | None) -> list[int]:
    """The documents of a term whose postings are not inlined (``buf``: its postings' bytes,
    when read already). A cited ID has a few postings, so the W3 blocks (length, info pickle,
    data pickle of id deltas) are decoded here in plain Python, without the per-term set-up of
    Whoosh's matcher or of NumPy; bytes not as expected go through Whoosh's reader."""
    if buf is None:
        start, length = _extent(info)
        buf = terms._postfile.get(start, length)
    docs = _decode_blocks(buf) if buf[:4] == WHOOSH3_HEADER_MAGIC else None
    if docs is None:
        return list(terms._codec.postings_reader(terms._postfile, info, fmt).all_ids())
    return docs


def _decode_blocks(buf: bytes) -> list[int] | None:
    """Doc ids of W3 posting blocks (each block's first id absolute, the rest deltas); None
    when a block is not a framed protocol-5 pickle pair."""
    docs: list[int] = []
    pos, size_total = 4, len(buf)
    while pos + 4 <= size_total:
        size = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
        start = pos + 4
        end = start + abs(size)
        if buf[start : start + 3] != _FRAMED:
            return None
        info_end = start + 11 + int.from_bytes(buf[start + 3 : start + 11], "little")
        info = pickle.loads(buf[start:info_end])
        data = buf[info_end:end]
        ids = pickle.loads(zlib.decompress(data) if info[3] else data)[0]
        if len(ids) != info[0]:
            return None
        docs.extend(accumulate(ids))
        if size < 0:
            return docs
        pos = end
    return None


def _reference_ids(leaf: Any, interner: Interner) -> np.ndarray:
    """The code of each document's reference ID: from the segment's reference-ID column (one
    read of a small file), else from the field's terms."""
    n = leaf.doc_count_all()
    if leaf.has_column(REFERENCE_ID):
        col = list(leaf.column_reader(REFERENCE_ID))
        if len(col) == n:
            return np.fromiter((interner.code(str(v)) if v else -1 for v in col), np.int64, n)
    values, docs, vidx = _segment_terms(leaf, REFERENCE_ID)
    rid = np.full(n, -1, np.int64)
    rid[docs] = interner.encode(values)[vidx]  # unique field: one value per document
    return rid


def read_segment(leaf: Any, interner: Interner) -> SegmentCitations:
    """One segment's :class:`SegmentCitations` (call under the snapshot's ``io`` lock)."""
    rid = _reference_ids(leaf, interner)
    values, docs, vidx = _segment_terms(leaf, REFERENCES)
    codes = interner.encode(values)[vidx] if values else np.zeros(0, np.int64)
    order = np.argsort(docs, kind="stable")
    return SegmentCitations(rid, docs[order].astype(np.int32), codes[order])


SegmentKey = tuple[str, str, int]  # (index folder, segment id, documents)


def layout(reader: Any) -> tuple[SegmentKey | None, ...]:
    """The keys of a reader's segments, in order: two snapshots with the same layout and the
    same deletions have the same citation graph."""
    return tuple(segment_key(leaf) for leaf, _ in leaves(reader))


def segment_key(leaf: Any) -> SegmentKey | None:
    """What identifies a segment's content: its id within its index's folder (Whoosh draws
    segment ids from the global ``random``, which a program or a test framework may seed, so
    two indexes can hold the same id), with its document count. None: no stored segment."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    if segment is None:
        return None
    storage = leaf.storage() if hasattr(leaf, "storage") else None
    storage = getattr(storage, "b", storage)  # a compound segment's overlay: the folder behind
    folder = getattr(storage, "folder", None)
    where = str(folder) if folder is not None else f"storage@{id(storage):x}"
    return where, segment.segment_id(), leaf.doc_count_all()


class PieceCache:
    """Segment pieces by :func:`segment_key`, with the interner their codes come from. Not
    thread-safe on its own: :func:`~cablesearch.engine.graph.graph_of` builds under a lock."""

    def __init__(self) -> None:
        self.interner = Interner()
        self.pieces: dict[SegmentKey, SegmentCitations] = {}
        self.reads = 0  # segments read so far (what incremental building saves)

    def pieces_of(self, reader: Any) -> tuple[list[tuple[int, SegmentCitations]], list[SegmentKey | None]]:
        """((offset, piece) of each segment of ``reader``; each segment's key (None: not a
        stored segment)), in order, reading the segments not cached (call under the
        snapshot's ``io`` lock)."""
        out: list[tuple[int, SegmentCitations]] = []
        keys: list[SegmentKey | None] = []
        for leaf, offset in leaves(reader):
            key = segment_key(leaf)
            keys.append(key)
            if key is None:  # not a stored segment (e.g. an empty index's reader)
                if leaf.doc_count_all():
                    out.append((offset, read_segment(leaf, self.interner)))
                continue
            piece = self.pieces.get(key)
            if piece is None:
                piece = self.pieces[key] = read_segment(leaf, self.interner)
                self.reads += 1
            out.append((offset, piece))
        return out, keys

    def prune(self, keep: set[SegmentKey | None]) -> None:
        """Drop the pieces of segments not in ``keep``; start afresh if the interner has grown
        far past what the kept pieces use."""
        for key in set(self.pieces) - keep:
            del self.pieces[key]
        used = sum(p.size for p in self.pieces.values())
        if len(self.interner) > INTERNER_SLACK * used + 10_000:
            self.interner = Interner()
            self.pieces.clear()


@dataclass
class Assembled:
    """A snapshot's graph as arrays: ``code_node[code]`` the live document of an ID (its last
    one, as lookups take; -1: none among the codes the interner had), ``missing`` the sorted
    codes of IDs cited by a live document but had by none (node ``n + i`` is
    ``missing[i]``), and the edges ``src -> dst`` (self-citations left out), sorted by
    ``(src, dst)``."""

    code_node: np.ndarray
    missing: np.ndarray
    src: np.ndarray
    dst: np.ndarray


def assemble(pieces: list[tuple[int, SegmentCitations]], n: int, live: np.ndarray, codes: int) -> Assembled:
    """One snapshot's graph from its segments' pieces (see :class:`Assembled`); ``codes`` is
    the interner's size now."""
    rid = np.full(n, -1, np.int64)
    src_parts: list[np.ndarray] = [np.zeros(0, np.int64)]
    code_parts: list[np.ndarray] = [np.zeros(0, np.int64)]
    for offset, p in pieces:
        rid[offset : offset + p.rid.size] = p.rid
        src_parts.append(p.ref_docs.astype(np.int64) + offset)
        code_parts.append(p.ref_codes)
    docs = np.flatnonzero(live[:n] & (rid >= 0))
    code_node = np.full(codes, -1, np.int64)
    if docs.size:
        rev = rid[docs][::-1]
        uniq, first = np.unique(rev, return_index=True)  # first in reverse: the last live one
        code_node[uniq] = docs[::-1][first]
    src = np.concatenate(src_parts)
    cited = np.concatenate(code_parts)
    keep = live[src]
    src, cited = src[keep], cited[keep]
    dst = code_node[cited]
    absent = dst < 0
    missing, inv = np.unique(cited[absent], return_inverse=True)
    dst[absent] = n + inv.reshape(-1)
    loop = src == dst
    src, dst = src[~loop], dst[~loop]
    nodes = n + missing.size
    order = np.argsort(src * nodes + dst, kind="stable")
    return Assembled(code_node, missing, src[order], dst[order])
