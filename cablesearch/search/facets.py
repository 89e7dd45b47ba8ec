"""Per-searcher arrays that make searching a bulk NumPy job instead of a per-hit Python loop.

An :class:`IndexArrays` is built once for one open Whoosh searcher (one index generation) and
holds, indexed by Whoosh document number:

* ``live`` — False for deleted documents;
* ``created`` / ``released`` — int64 microseconds since ``datetime.min`` (``MISSING`` if absent);
* ``origin`` / ``classification`` / ``year`` / ``month`` — a value id per document (-1: none)
  with the value names in ``<facet>.values``;
* ``tags`` — multi-valued, as parallel arrays ``(doc, value)`` for every (cable, tag) pair;
* ``lengths[field]`` — each document's field length as Whoosh records it (for BM25).

Facet counts for any matching set of documents (a boolean mask) are then ``np.bincount`` over
these arrays (:func:`count_facets`), and filters are masks built from them.

Postings are read straight from Whoosh's on-disk blocks (:func:`read_postings`), a block of up
to 128 postings at a time, rather than posting by posting through a matcher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length

MISSING = np.iinfo(np.int64).max
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
_EPOCH = datetime(1970, 1, 1)
_EPOCH_US = (_EPOCH - datetime.min) // timedelta(microseconds=1)


@dataclass
class Postings:
    """One term's postings over the whole index: sorted global doc numbers and term weights
    (frequencies for text fields). ``positions`` is filled on demand for phrase queries."""

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


def read_postings(reader: IndexReader, fieldname: str, btext: bytes, with_values: bool = False) -> Postings:
    """All postings of one term, deleted documents included (mask them with ``live``)."""
    doc_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    values: list[Any] = []
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
            while True:
                m._read_data()
                ids, weights, _vals = m._data
                n = m._blocklength
                block = np.cumsum(np.asarray(ids, dtype=np.int64))
                doc_parts.append(block + offset)
                if weights is None:
                    weight_parts.append(np.ones(n, np.float32))
                elif isinstance(weights, float):
                    weight_parts.append(np.full(n, weights, np.float32))
                else:
                    weight_parts.append(np.asarray(weights, dtype=np.float32))
                if with_values:
                    m._read_values()
                    values.extend(m._values)
                if m._lastblock:
                    break
                m._goto(m._nextoffset)
        else:
            ids_l: list[int] = []
            w_l: list[float] = []
            while m.is_active():
                ids_l.append(m.id())
                w_l.append(m.weight())
                if with_values:
                    values.append(m.value())
                m.next()
            doc_parts.append(np.asarray(ids_l, dtype=np.int64) + offset)
            weight_parts.append(np.asarray(w_l, dtype=np.float32))
    if not doc_parts:
        return Postings(EMPTY_POSTINGS.docs, EMPTY_POSTINGS.weights, [] if with_values else None)
    return Postings(np.concatenate(doc_parts), np.concatenate(weight_parts), values if with_values else None)


def field_lengths(reader: IndexReader, fieldname: str, n: int) -> np.ndarray:
    """Each document's length in ``fieldname`` (float32, 0 when empty), as BM25 sees it."""
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


def _date_column(reader: IndexReader, fieldname: str, n: int) -> np.ndarray:
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
                    out[offset + i] = (v - datetime.min) // timedelta(microseconds=1)
    return out


def to_datetime(us: int) -> datetime | None:
    """Inverse of the date columns' encoding."""
    if us == MISSING:
        return None
    return datetime.min + timedelta(microseconds=int(us))


def datetime_us(dt: datetime) -> int:
    return (dt - datetime.min) // timedelta(microseconds=1)


def _lookup(values: list[str], wanted: Iterable[str]) -> list[int]:
    folded = {w.strip().casefold() for w in wanted}
    return [i for i, v in enumerate(values) if v.casefold() in folded]


@dataclass
class SingleValued:
    """A facet with at most one value per document: ``ids[doc]`` indexes ``values`` (-1: none)."""

    values: list[str]
    ids: np.ndarray

    @property
    def ranks(self) -> np.ndarray:
        r = self.__dict__.get("_ranks")
        if r is None:
            r = self.__dict__["_ranks"] = value_ranks(self.values)
        return r

    def lookup(self, wanted: Iterable[str]) -> list[int]:
        """Value ids for names, case-insensitively; unknown names are skipped."""
        return _lookup(self.values, wanted)

    def mask(self, wanted: Iterable[str]) -> np.ndarray:
        ids = self.lookup(wanted)
        if not ids:
            return np.zeros(self.ids.size, bool)
        return np.isin(self.ids, np.asarray(ids))

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        ids = self.ids if mask is None else self.ids[mask]
        ids = ids[ids >= 0]
        return np.bincount(ids, minlength=len(self.values))


@dataclass
class MultiValued:
    """A facet with any number of values per document, as (doc, value) pairs sorted by doc."""

    values: list[str]
    pair_docs: np.ndarray
    pair_values: np.ndarray
    n: int

    @property
    def ranks(self) -> np.ndarray:
        r = self.__dict__.get("_ranks")
        if r is None:
            r = self.__dict__["_ranks"] = value_ranks(self.values)
        return r

    def lookup(self, wanted: Iterable[str]) -> list[int]:
        """Value ids for names, case-insensitively; unknown names are skipped."""
        return _lookup(self.values, wanted)

    def mask(self, wanted: Iterable[str]) -> np.ndarray:
        ids = self.lookup(wanted)
        out = np.zeros(self.n, bool)
        if ids:
            out[self.pair_docs[np.isin(self.pair_values, np.asarray(ids))]] = True
        return out

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        vals = self.pair_values if mask is None else self.pair_values[mask[self.pair_docs]]
        return np.bincount(vals, minlength=len(self.values))


def _categorical(reader: IndexReader, fieldname: str, n: int, multi: bool) -> SingleValued | MultiValued:
    """Build a facet from the field's terms and their postings (one pass over the lexicon)."""
    values: list[str] = []
    doc_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    if fieldname in reader.schema:
        for btext in list(reader.lexicon(fieldname)):
            p = read_postings(reader, fieldname, btext)
            if not p.df:
                continue
            vid = len(values)
            values.append(btext.decode("utf-8"))
            doc_parts.append(p.docs)
            val_parts.append(np.full(p.df, vid, np.int32))
    docs = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    vals = np.concatenate(val_parts) if val_parts else np.zeros(0, np.int32)
    if multi:
        order = np.argsort(docs, kind="stable")
        return MultiValued(values, docs[order], vals[order], n)
    ids = np.full(n, -1, np.int32)
    ids[docs] = vals
    return SingleValued(values, ids)


def _bucket(us: np.ndarray, unit: str) -> SingleValued:
    """Year ("2008") or month ("2008-06") ids from a date column."""
    ok = us != MISSING
    dt = (us[ok] - _EPOCH_US).astype("datetime64[us]").astype(f"datetime64[{unit}]")
    ids = np.full(us.size, -1, np.int32)
    if dt.size == 0:
        return SingleValued([], ids)
    uniq, inv = np.unique(dt, return_inverse=True)
    ids[ok] = inv.astype(np.int32)
    return SingleValued([str(u) for u in uniq], ids)


@dataclass
class IndexArrays:
    """Everything per-document the search engine needs, for one searcher. See module doc."""

    n: int
    live: np.ndarray
    created: np.ndarray
    released: np.ndarray
    origin: SingleValued
    classification: SingleValued
    year: SingleValued
    month: SingleValued
    released_day: SingleValued
    tags: MultiValued
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    avg_lengths: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, reader: IndexReader, text_fields: Iterable[str] = ("subject", "body")) -> IndexArrays:
        n = reader.doc_count_all()
        live = np.ones(n, bool)
        if reader.has_deletions():
            for leaf, offset in leaves(reader):
                if leaf.has_deletions():
                    dead = (
                        np.fromiter(leaf._perdoc.deleted_docs(), dtype=np.int64)
                        if hasattr(leaf, "_perdoc")
                        else np.fromiter(
                            (i for i in range(leaf.doc_count_all()) if leaf.is_deleted(i)), dtype=np.int64
                        )
                    )
                    live[dead + offset] = False
        created = _date_column(reader, "created", n)
        released = _date_column(reader, "released", n)
        lengths = {}
        avg = {}
        for f in text_fields:
            if f in reader.schema and reader.schema[f].scorable:
                lengths[f] = field_lengths(reader, f, n)
                avg[f] = (reader.field_length(f) / n) if n else 1.0
        return cls(
            n=n,
            live=live,
            created=created,
            released=released,
            origin=_categorical(reader, "origin", n, False),  # type: ignore[arg-type]
            classification=_categorical(reader, "classification", n, False),  # type: ignore
            year=_bucket(created, "Y"),
            month=_bucket(created, "M"),
            released_day=_bucket(released, "D"),
            tags=_categorical(reader, "tags", n, True),  # type: ignore[arg-type]
            lengths=lengths,
            avg_lengths=avg,
        )

    def facet(self, name: str) -> SingleValued | MultiValued:
        facets: dict[str, SingleValued | MultiValued] = {
            "tag": self.tags,
            "origin": self.origin,
            "classification": self.classification,
            "year": self.year,
            "month": self.month,
            "released": self.released_day,
        }
        return facets[name]


def top_counts(
    values: list[str], counts: np.ndarray, limit: int | None, ranks: np.ndarray | None = None
) -> list[tuple[str, int]]:
    """(value, count) pairs with count > 0: most frequent first, ties by value; ``limit`` None or
    0 means all. ``ranks`` (each value's alphabetical rank) saves sorting the names."""
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return []
    if ranks is None:
        ranks = value_ranks(values)
    order = nz[np.lexsort((ranks[nz], -counts[nz]))]
    if limit:
        order = order[:limit]
    return [(values[i], int(counts[i])) for i in order.tolist()]


def value_ranks(values: list[str]) -> np.ndarray:
    """Each value's position in alphabetical order."""
    ranks = np.empty(len(values), np.int64)
    ranks[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return ranks


def chronological(values: list[str], counts: np.ndarray) -> list[tuple[str, int]]:
    """(value, count) with count > 0 in value order (values of date buckets sort as dates)."""
    return [(values[i], int(counts[i])) for i in np.flatnonzero(counts).tolist()]


def count_facets(
    arrays: IndexArrays,
    mask: np.ndarray,
    limit: int,
    names: Iterable[str] = ("tag", "origin", "classification", "year"),
) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over every document in ``mask``: tag/origin/classification/year by count
    (``limit`` values each), plus ``month`` chronologically (all months, for timelines)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        f = arrays.facet(name)
        counts = f.counts(mask)
        if name in ("month", "released"):
            out[name] = chronological(f.values, counts)
        else:
            out[name] = top_counts(f.values, counts, limit, f.ranks)
    return out
