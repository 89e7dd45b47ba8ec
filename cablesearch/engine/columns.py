"""Per-document arrays of one open index (dates, facet value ids, deletions), built once per
searcher from :mod:`cablesearch.engine.postings` and then only read.

* ``live`` — False for deleted documents;
* ``created`` / ``released`` — int64 microseconds since ``datetime.min`` (``MISSING`` if absent);
* ``origin`` / ``classification`` / ``year`` / ``month`` / ``released_day`` — a value id per
  document (-1: none) with the value names in ``<facet>.values``;
* ``tags`` / ``warning`` — multi-valued, as parallel arrays ``(doc, value)`` for every
  (cable, tag) pair; ``warning`` holds the kinds of parse warnings (empty in indexes built
  before the field existed).
* ``person`` — multi-valued like tags, its values the people after merging spellings
  (:class:`PersonFacet`: the names as indexed per cable, folded by
  :func:`cablesearch.people.fold_names` over (name, origin, year) the first time the facet is
  used in a snapshot; empty in indexes built before the field existed).

Facet counts over a matching set (a boolean mask) are ``np.bincount`` over these arrays
(:mod:`cablesearch.search.facets`), and filters are masks built from them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from whoosh.reading import IndexReader

from cablesearch.engine.postings import MISSING, date_column, field_terms, live_mask, read_postings
from cablesearch.engine.storage import per_segment
from cablesearch.people import fold_names, normalise_name, surname_key

_EPOCH_US = (datetime(1970, 1, 1) - datetime.min).days * 86_400_000_000


def value_ranks(values: list[str]) -> np.ndarray:
    """Each value's position in alphabetical order."""
    ranks = np.empty(len(values), np.int64)
    ranks[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return ranks


def _lookup(values: list[str], wanted: Iterable[str]) -> list[int]:
    folded = {w.strip().casefold() for w in wanted}
    return [i for i, v in enumerate(values) if v.casefold() in folded]


class _Values:
    """What both kinds of facet do with their list of values."""

    values: list[str]

    @property
    def ranks(self) -> np.ndarray:
        r = self.__dict__.get("_ranks")
        if r is None:
            r = self.__dict__["_ranks"] = value_ranks(self.values)
        return r

    def lookup(self, wanted: Iterable[str]) -> list[int]:
        """Value ids for names, case-insensitively; unknown names are skipped."""
        return _lookup(self.values, wanted)


@dataclass
class SingleValued(_Values):
    """A facet with at most one value per document: ``ids[doc]`` indexes ``values`` (-1: none)."""

    values: list[str]
    ids: np.ndarray

    def mask(self, wanted: Iterable[str]) -> np.ndarray:
        ids = self.lookup(wanted)
        if not ids:
            return np.zeros(self.ids.size, bool)
        return np.isin(self.ids, np.asarray(ids))

    def present(self) -> np.ndarray:
        """True for each document with a value."""
        return self.ids >= 0

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        ids = self.ids if mask is None else self.ids[mask]
        ids = ids[ids >= 0]
        return np.bincount(ids, minlength=len(self.values))


@dataclass
class MultiValued(_Values):
    """A facet with any number of values per document, as (doc, value) pairs sorted by doc."""

    values: list[str]
    pair_docs: np.ndarray
    pair_values: np.ndarray
    n: int

    def mask(self, wanted: Iterable[str]) -> np.ndarray:
        ids = self.lookup(wanted)
        out = np.zeros(self.n, bool)
        if ids:
            out[self.pair_docs[np.isin(self.pair_values, np.asarray(ids))]] = True
        return out

    def present(self) -> np.ndarray:
        """True for each document with at least one value."""
        out = np.zeros(self.n, bool)
        out[self.pair_docs] = True
        return out

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        vals = self.pair_values if mask is None else self.pair_values[mask[self.pair_docs]]
        return np.bincount(vals, minlength=len(self.values))


Pairs = tuple[list[str], np.ndarray, np.ndarray]  # (value names, docs, value ids)
#: Facet pairs per field and segment id, kept across snapshots by their owner (a search
#: service): a segment never changes, so a new snapshot reads only its new segments' terms.
SegmentPairs = dict[str, dict[str, Pairs]]


def _value_pairs(
    reader: IndexReader,
    fieldname: str,
    keep: Callable[[str], bool] | None = None,
    cache: SegmentPairs | None = None,
) -> Pairs:
    """(value names, docs, value ids) over every term of a field (one pass over the lexicon);
    with ``keep``, only the terms it accepts. With ``cache``, each segment's pairs are read once
    and merged: the same names in the same order, and each document's pairs in the same order,
    as one pass over the whole reader gives."""
    if cache is None:
        return _reader_pairs(reader, fieldname, keep)
    parts = per_segment(
        cache.setdefault(fieldname, {}), reader, lambda leaf: _reader_pairs(leaf, fieldname, keep)
    )
    if len(parts) == 1 and parts[0][0] == 0:
        return parts[0][1]
    names = sorted({v for _, (values, _, _) in parts for v in values}, key=lambda v: v.encode("utf-8"))
    ids = {v: i for i, v in enumerate(names)}
    doc_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    for offset, (values, docs, vals) in parts:
        if values:
            remap = np.asarray([ids[v] for v in values], np.int32)
            doc_parts.append(docs + offset)
            val_parts.append(remap[vals])
    all_docs = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    all_vals = np.concatenate(val_parts) if val_parts else np.zeros(0, np.int32)
    return names, all_docs, all_vals


def _reader_pairs(reader: IndexReader, fieldname: str, keep: Callable[[str], bool] | None) -> Pairs:
    values: list[str] = []
    doc_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    for btext in field_terms(reader, fieldname):
        value = btext.decode("utf-8")
        if keep is not None and not keep(value):
            continue
        p = read_postings(reader, fieldname, btext)
        if not p.df:
            continue
        vid = len(values)
        values.append(value)
        doc_parts.append(p.docs)
        val_parts.append(np.full(p.df, vid, np.int32))
    docs = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    vals = np.concatenate(val_parts) if val_parts else np.zeros(0, np.int32)
    return values, docs, vals


def single_valued(
    reader: IndexReader, fieldname: str, n: int, cache: SegmentPairs | None = None
) -> SingleValued:
    values, docs, vals = _value_pairs(reader, fieldname, cache=cache)
    ids = np.full(n, -1, np.int32)
    ids[docs] = vals
    return SingleValued(values, ids)


def multi_valued(
    reader: IndexReader, fieldname: str, n: int, cache: SegmentPairs | None = None
) -> MultiValued:
    values, docs, vals = _value_pairs(reader, fieldname, cache=cache)
    order = np.argsort(docs, kind="stable")
    return MultiValued(values, docs[order], vals[order], n)


class PersonFacet:
    """The people facet: the multi-valued facet of merged names, built on first use from the
    names as indexed (``raw``) and each document's origin and year (see the module doc).

    ``lookup`` takes a whole name (any spelling :func:`cablesearch.people.normalise_name`
    reads) or a bare surname, which means everyone of that surname. ``spellings(value)`` are
    the indexed names merged into a value; ``merged(raw_name, doc)`` is what one cable's
    name became."""

    def __init__(self, raw: MultiValued, origin: SingleValued, year: SingleValued):
        self.raw = raw
        self._origin = origin
        self._year = year
        self._lock = threading.Lock()
        self._folded: tuple[MultiValued, np.ndarray] | None = None

    def _build(self) -> tuple[MultiValued, np.ndarray]:
        raw = self.raw
        o = self._origin.ids[raw.pair_docs].astype(np.int64)
        y = self._year.ids[raw.pair_docs].astype(np.int64)
        key = (
            (raw.pair_values.astype(np.int64) * (len(self._origin.values) + 1) + o + 1)
            * (len(self._year.values) + 1)
            + y
            + 1
        )
        uniq, inv = np.unique(key, return_inverse=True)
        ny, no = len(self._year.values) + 1, len(self._origin.values) + 1
        triples = [(raw.values[int(k // ny // no)], int(k // ny % no), int(k % ny)) for k in uniq.tolist()]
        folded = fold_names(triples)
        names = sorted(set(folded.values()))
        ids = {n: i for i, n in enumerate(names)}
        per_key = np.asarray([ids[folded[t]] for t in triples], np.int32)
        pair_values = per_key[inv] if inv.size else np.zeros(0, np.int32)
        pairs = np.unique(np.stack([raw.pair_docs.astype(np.int64), pair_values.astype(np.int64)]), axis=1)
        facet = MultiValued(names, pairs[0], pairs[1].astype(np.int32), raw.n)
        return facet, pair_values

    def _get(self) -> tuple[MultiValued, np.ndarray]:
        got = self._folded
        if got is None:
            with self._lock:
                got = self._folded
                if got is None:
                    got = self._folded = self._build()
        return got

    @property
    def folded(self) -> MultiValued:
        return self._get()[0]

    @property
    def values(self) -> list[str]:
        return self.folded.values

    @property
    def ranks(self) -> np.ndarray:
        return self.folded.ranks

    def lookup(self, wanted: Iterable[str]) -> list[int]:
        """Value ids of whole names (any spelling) or of everyone with a bare surname."""
        values = self.values
        out: set[int] = set(_lookup(values, wanted))
        for w in wanted:
            name = normalise_name(w)
            if name is None:
                continue
            if "," in name:
                out.update(_lookup(values, [name]))
            else:
                key = surname_key(name)
                out.update(i for i, v in enumerate(values) if surname_key(v) == key)
        return sorted(out)

    def mask(self, wanted: Iterable[str]) -> np.ndarray:
        ids = self.lookup(wanted)
        f = self.folded
        out = np.zeros(f.n, bool)
        if ids:
            out[f.pair_docs[np.isin(f.pair_values, np.asarray(ids))]] = True
        return out

    def present(self) -> np.ndarray:
        return self.folded.present()

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        return self.folded.counts(mask)

    def spellings(self, value: str) -> list[str]:
        """The names as indexed that were merged into ``value``."""
        f, pair_values = self._get()
        vid = f.values.index(value) if value in f.values else -1
        raw_ids = np.unique(self.raw.pair_values[pair_values == vid])
        return sorted(self.raw.values[i] for i in raw_ids.tolist())

    def merged(self, raw_name: str, doc: int) -> str | None:
        """What ``raw_name`` in document ``doc`` was merged into (None: not in that document)."""
        f, pair_values = self._get()
        if raw_name not in self.raw.values:
            return None
        rid = self.raw.values.index(raw_name)
        hit = np.flatnonzero((self.raw.pair_docs == doc) & (self.raw.pair_values == rid))
        return f.values[int(pair_values[hit[0]])] if hit.size else None


def _is_name(term: str) -> bool:
    # the person field holds names (upper case) and their surname keys (lower case)
    return term != term.casefold()


def _bucket(us: np.ndarray, unit: str) -> SingleValued:
    """Year ("2008"), month ("2008-06") or day ids from a date column."""
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
    """Everything per-document that searching needs, for one searcher. See the module doc."""

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
    warning: MultiValued
    person: PersonFacet

    @classmethod
    def build(cls, reader: IndexReader, cache: SegmentPairs | None = None) -> IndexArrays:
        """The arrays of ``reader``; with ``cache`` (kept by the caller from one snapshot to
        the next), the facet pairs of segments seen before are not read again."""
        n = reader.doc_count_all()
        created = date_column(reader, "created", n)
        released = date_column(reader, "released", n)
        origin = single_valued(reader, "origin", n, cache)
        year = _bucket(created, "Y")
        values, docs, vals = _value_pairs(reader, "person", _is_name, cache)
        order = np.argsort(docs, kind="stable")
        person = PersonFacet(MultiValued(values, docs[order], vals[order], n), origin, year)
        return cls(
            n=n,
            live=live_mask(reader),
            created=created,
            released=released,
            origin=origin,
            classification=single_valued(reader, "classification", n, cache),
            year=year,
            month=_bucket(created, "M"),
            released_day=_bucket(released, "D"),
            tags=multi_valued(reader, "tags", n, cache),
            warning=multi_valued(reader, "warning", n, cache),
            person=person,
        )

    def facet(self, name: str) -> SingleValued | MultiValued | PersonFacet:
        """A facet by its public name: tag, origin, classification, year, month, released,
        warning, person."""
        if name == "person":
            return self.person
        facets: dict[str, SingleValued | MultiValued] = {
            "tag": self.tags,
            "origin": self.origin,
            "classification": self.classification,
            "year": self.year,
            "month": self.month,
            "released": self.released_day,
            "warning": self.warning,
        }
        return facets[name]

    def date(self, fieldname: str) -> np.ndarray | None:
        """The column of a date field (``created``/``released``), None for other fields."""
        return {"created": self.created, "released": self.released}.get(fieldname)
