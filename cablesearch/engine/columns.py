"""Per-document arrays of one open index (dates, facet value ids, deletions), built once per
searcher from :mod:`cablesearch.engine.postings` and then only read.

* ``live`` — False for deleted documents;
* ``created`` / ``released`` — int64 microseconds since ``datetime.min`` (``MISSING`` if absent);
* ``origin`` / ``classification`` / ``year`` / ``month`` / ``released_day`` — a value id per
  document (-1: none) with the value names in ``<facet>.values``;
* ``tags`` / ``warning`` — multi-valued, as parallel arrays ``(doc, value)`` for every
  (cable, tag) pair; ``warning`` holds the kinds of parse warnings (empty in indexes built
  before the field existed).

Facet counts over a matching set (a boolean mask) are ``np.bincount`` over these arrays
(:mod:`cablesearch.search.facets`), and filters are masks built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from whoosh.reading import IndexReader

from cablesearch.engine.postings import MISSING, date_column, field_terms, live_mask, read_postings

_EPOCH_US = (datetime(1970, 1, 1) - datetime.min).days * 86_400_000_000


def value_ranks(values: list[str]) -> np.ndarray:
    """Each value's position in alphabetical order."""
    ranks = np.empty(len(values), np.int64)
    ranks[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return ranks


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

    def present(self) -> np.ndarray:
        """True for each document with a value."""
        return self.ids >= 0

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

    def present(self) -> np.ndarray:
        """True for each document with at least one value."""
        out = np.zeros(self.n, bool)
        out[self.pair_docs] = True
        return out

    def counts(self, mask: np.ndarray | None) -> np.ndarray:
        vals = self.pair_values if mask is None else self.pair_values[mask[self.pair_docs]]
        return np.bincount(vals, minlength=len(self.values))


def _value_pairs(reader: IndexReader, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(value names, docs, value ids) over every term of a field (one pass over the lexicon)."""
    values: list[str] = []
    doc_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    for btext in field_terms(reader, fieldname):
        p = read_postings(reader, fieldname, btext)
        if not p.df:
            continue
        vid = len(values)
        values.append(btext.decode("utf-8"))
        doc_parts.append(p.docs)
        val_parts.append(np.full(p.df, vid, np.int32))
    docs = np.concatenate(doc_parts) if doc_parts else np.zeros(0, np.int64)
    vals = np.concatenate(val_parts) if val_parts else np.zeros(0, np.int32)
    return values, docs, vals


def single_valued(reader: IndexReader, fieldname: str, n: int) -> SingleValued:
    values, docs, vals = _value_pairs(reader, fieldname)
    ids = np.full(n, -1, np.int32)
    ids[docs] = vals
    return SingleValued(values, ids)


def multi_valued(reader: IndexReader, fieldname: str, n: int) -> MultiValued:
    values, docs, vals = _value_pairs(reader, fieldname)
    order = np.argsort(docs, kind="stable")
    return MultiValued(values, docs[order], vals[order], n)


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

    @classmethod
    def build(cls, reader: IndexReader) -> IndexArrays:
        n = reader.doc_count_all()
        created = date_column(reader, "created", n)
        released = date_column(reader, "released", n)
        return cls(
            n=n,
            live=live_mask(reader),
            created=created,
            released=released,
            origin=single_valued(reader, "origin", n),
            classification=single_valued(reader, "classification", n),
            year=_bucket(created, "Y"),
            month=_bucket(created, "M"),
            released_day=_bucket(released, "D"),
            tags=multi_valued(reader, "tags", n),
            warning=multi_valued(reader, "warning", n),
        )

    def facet(self, name: str) -> SingleValued | MultiValued:
        """A facet by its public name: tag, origin, classification, year, month, released,
        warning."""
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
