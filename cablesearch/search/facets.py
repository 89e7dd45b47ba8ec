"""Facet counts over a matching set: ``np.bincount`` over the per-document value ids of
:class:`~cablesearch.engine.columns.IndexArrays` (all matches are counted, not only a page).
Tags are multi-valued: a cable with three tags counts once for each. A search counts its
facets multi-select style (:func:`count_search_facets`).

A filter value no cable has (``--tag NOSUCHTAG``) is an :class:`UnknownFilterValue` error
carrying the nearest existing values (:func:`check_filter_values`), so the CLI, the API and the
web page can all offer them."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

import numpy as np
from rapidfuzz.distance import OSA

from cablesearch.engine.columns import IndexArrays, MultiValued, PersonFacet, SingleValued, value_ranks
from cablesearch.errors import QuerySyntaxError
from cablesearch.search.execution import Run, value_ids


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


def chronological(values: list[str], counts: np.ndarray) -> list[tuple[str, int]]:
    """(value, count) with count > 0 in value order (values of date buckets sort as dates)."""
    return [(values[i], int(counts[i])) for i in np.flatnonzero(counts).tolist()]


#: A matching set with fewer documents than 1/SPARSE_SHARE of the index is counted through its
#: documents (a gather of their values) instead of a pass over every document; a multi-valued
#: facet (several tag pairs a document, found by binary search) only under 1/MULTI_SPARSE_SHARE
#: (measured on 1,000,000 tag pairs of 251,287 documents: the two ways cost the same near 1%).
SPARSE_SHARE = 8
MULTI_SPARSE_SHARE = 100


def matching_docs(mask: np.ndarray) -> np.ndarray | None:
    """The documents of ``mask`` when they are few enough to count through (else None)."""
    if np.count_nonzero(mask) * SPARSE_SHARE >= mask.size:
        return None
    return np.flatnonzero(mask)


def facet_counts(
    f: SingleValued | MultiValued | PersonFacet,
    mask: np.ndarray,
    docs: np.ndarray | None = None,
    multi_share: int = MULTI_SPARSE_SHARE,
) -> np.ndarray:
    """Each value's count over ``mask`` (``f.counts(mask)``); given ``docs``, the documents of
    ``mask`` (:func:`matching_docs`), only their values are read -- for a multi-valued facet
    when they are under 1/``multi_share`` of the index: its pairs are sorted by document, so a
    document's values are one slice of them."""
    if docs is None or (not isinstance(f, SingleValued) and docs.size * multi_share >= mask.size):
        return f.counts(mask)
    if isinstance(f, PersonFacet):
        f = f.folded
    if isinstance(f, SingleValued):
        ids = f.ids[docs]
        return np.bincount(ids[ids >= 0], minlength=len(f.values))
    lo = np.searchsorted(f.pair_docs, docs, "left")
    lens = np.searchsorted(f.pair_docs, docs, "right") - lo
    total = int(lens.sum())
    if total == 0:
        return np.bincount(np.zeros(0, np.int64), minlength=len(f.values))
    # the pair indices lo[i] .. lo[i] + lens[i] of every document, in one array
    starts = np.repeat(lo - (np.cumsum(lens) - lens), lens)
    return np.bincount(f.pair_values[starts + np.arange(total)], minlength=len(f.values))


def count_facets(
    arrays: IndexArrays,
    mask: np.ndarray,
    limit: int,
    names: Iterable[str] = ("tag", "origin", "classification", "year"),
    docs: np.ndarray | None = None,
) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over every document in ``mask``: tag/origin/classification/year by count
    (``limit`` values each; 0: all), ``month``/``released`` chronologically (all values).
    ``docs``: the documents of ``mask`` when it is sparse (:func:`matching_docs`)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        f = arrays.facet(name)
        counts = facet_counts(f, mask, docs)
        if name in ("month", "released"):
            out[name] = chronological(f.values, counts)
        else:
            out[name] = top_counts(f.values, counts, limit, f.ranks)
    return out


FILTER_FACETS = (
    ("tags", "tag", "tag"),
    ("origins", "origin", "origin"),
    ("classifications", "classification", "classification"),
)
NEAREST = 5


class UnknownFilterValue(QuerySyntaxError):
    """A filter value (``--tag``, ``--origin``, ``--classification``) no cable has. ``field``
    is the facet ("tag", "origin", "classification"), ``value`` what was asked, and
    ``suggestions`` the nearest values that exist as ``[(value, cables)]``, best first."""

    def __init__(self, field: str, value: str, suggestions: list[tuple[str, int]]):
        self.field = field
        self.value = value
        self.suggestions = suggestions
        if suggestions:
            hint = (
                "did you mean "
                + ", ".join(f"{v} ({n:,} cable{'s' if n != 1 else ''})" for v, n in suggestions)
                + "?"
            )
        else:
            hint = f"nothing is close; see the {field} counts of a search without this filter"
        super().__init__(f"no cable has the {field} {value!r}; {hint}")


def nearest_values(
    values: list[str], counts: np.ndarray, wanted: str, limit: int = NEAREST
) -> list[tuple[str, int]]:
    """The values nearest to ``wanted`` (case-insensitive): those it begins, or that have it
    as a word, then those within a few edits, more cables first at equal closeness."""
    w = wanted.strip().casefold()
    if not w:
        return []
    maxdist = 1 if len(w) <= 4 else 2 if len(w) <= 8 else 3
    scored: list[tuple[int, int, str]] = []
    for i, v in enumerate(values):
        n = int(counts[i])
        if n <= 0:
            continue
        f = v.casefold()
        if f.startswith(w) or w in f.split():
            closeness = 0
        else:
            d = OSA.distance(w, f, score_cutoff=maxdist)
            if d > maxdist:
                continue
            closeness = d
        scored.append((closeness, -n, v))
    scored.sort()
    return [(v, -neg) for _c, neg, v in scored[:limit]]


_LIVE_COUNTS: dict[int, tuple[weakref.ref, np.ndarray]] = {}
_LIVE_LOCK = threading.Lock()


def live_counts(arrays: IndexArrays, facet: str) -> np.ndarray:
    """Each value's count over the live documents of ``arrays`` (an open snapshot's arrays never
    change, so this is counted once per snapshot and facet, not per filtered search)."""
    f = arrays.facet(facet)
    with _LIVE_LOCK:
        got = _LIVE_COUNTS.get(id(f))
        if got is not None and got[0]() is f:
            return got[1]
    counts = f.counts(arrays.live)
    with _LIVE_LOCK:
        if len(_LIVE_COUNTS) > 64:  # drop the entries of closed snapshots
            for key in [k for k, (ref, _) in _LIVE_COUNTS.items() if ref() is None]:
                del _LIVE_COUNTS[key]
        _LIVE_COUNTS[id(f)] = (weakref.ref(f), counts)
    return counts


def check_filter_values(arrays: IndexArrays, filters: dict[str, tuple[str, ...]]) -> None:
    """Raise :class:`UnknownFilterValue` for the first filter value no live cable has
    (``filters``: request attribute → values, e.g. ``{"tags": ("PREL",)}``)."""
    for attr, facet, label in FILTER_FACETS:
        wanted = filters.get(attr) or ()
        if not wanted:
            continue
        f = arrays.facet(facet)
        counts = live_counts(arrays, facet)
        for value in wanted:
            ids = value_ids(f, [value])
            if not any(counts[i] > 0 for i in ids):
                raise UnknownFilterValue(label, value, nearest_values(f.values, counts, value))


def count_search_facets(
    arrays: IndexArrays, run: Run, limit: int, names: Iterable[str]
) -> dict[str, list[tuple[str, int]]]:
    """Facet counts of a search, multi-select style: each facet counted over the query and
    every filter except its own (:meth:`Run.facet_mask`), so with ``tag:PREL`` chosen the tag
    counts still show what choosing another tag adds (values of one facet are OR'ed), and
    other origins stay choosable after one is chosen. Facets without a filter of their own,
    and ``month`` (the timeline), are counted over the results."""
    out: dict[str, list[tuple[str, int]]] = {}
    docs_of: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # one flatnonzero per mask
    for name in names:
        mask = run.facet_mask(name)
        got = docs_of.get(id(mask))
        if got is None or got[0] is not mask:
            got = docs_of[id(mask)] = (mask, matching_docs(mask))
        out.update(count_facets(arrays, mask, limit, (name,), got[1]))
    return out
