"""Facet counts over a matching set: ``np.bincount`` over the per-document value ids of
:class:`~cablesearch.engine.columns.IndexArrays` (all matches are counted, not only a page).
Tags are multi-valued: a cable with three tags counts once for each. A search counts its
facets multi-select style (:func:`count_search_facets`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cablesearch.engine.columns import IndexArrays, value_ranks
from cablesearch.search.execution import Run


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


def count_facets(
    arrays: IndexArrays,
    mask: np.ndarray,
    limit: int,
    names: Iterable[str] = ("tag", "origin", "classification", "year"),
) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over every document in ``mask``: tag/origin/classification/year by count
    (``limit`` values each; 0: all), ``month``/``released`` chronologically (all values)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        f = arrays.facet(name)
        counts = f.counts(mask)
        if name in ("month", "released"):
            out[name] = chronological(f.values, counts)
        else:
            out[name] = top_counts(f.values, counts, limit, f.ranks)
    return out


def count_search_facets(
    arrays: IndexArrays, run: Run, limit: int, names: Iterable[str]
) -> dict[str, list[tuple[str, int]]]:
    """Facet counts of a search, multi-select style: each facet counted over the query and
    every filter except its own (:meth:`Run.facet_mask`), so with ``tag:PREL`` chosen the tag
    counts still show what choosing another tag adds (values of one facet are OR'ed), and
    other origins stay choosable after one is chosen. Facets without a filter of their own,
    and ``month`` (the timeline), are counted over the results."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        out.update(count_facets(arrays, run.facet_mask(name), limit, (name,)))
    return out
