"""Running a built query on a snapshot: the matching set (query AND filters AND not deleted),
its scores, and the documents of the asked page in the asked order."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cablesearch.engine.columns import MultiValued, PersonFacet, SingleValued
from cablesearch.engine.matcher import Matcher
from cablesearch.engine.postings import MISSING, datetime_us
from cablesearch.engine.snapshot import SharedReads, Snapshot
from cablesearch.search.highlight import Marks
from cablesearch.search.query import BuiltQuery

#: The filters of a request that are facets: facet name -> BuiltQuery attribute.
FACET_FILTERS = {
    "tag": "tags",
    "origin": "origins",
    "classification": "classifications",
    "year": "years",
    "warning": "warnings",
    "person": "persons",
}


@dataclass
class Run:
    """What running a built query produced, before hits are read. ``matcher`` is None when
    the query text was empty (browsing). ``mask`` is the matching set; ``base`` the same
    without the facet filters, and ``filters`` each facet filter's own mask (by facet name),
    so a facet can be counted with every filter but its own (:func:`facet_mask`)."""

    mask: np.ndarray
    scores: np.ndarray | None
    matcher: Matcher | None
    base: np.ndarray | None = None
    filters: dict[str, np.ndarray] = field(default_factory=dict)
    notice: str | None = None  # the built query's and the matcher's notices, one line

    @property
    def total(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def highlight_terms(self) -> frozenset[str]:
        return frozenset(self.matcher.highlight_terms) if self.matcher else frozenset()

    def marks(self, doc: int) -> Marks:
        """What to mark in the text of ``doc``: the words and phrases of the query's branches
        that matched it (nothing when browsing)."""
        return Marks.from_units(self.matcher.units(doc)) if self.matcher else Marks()

    def facet_mask(self, name: str) -> np.ndarray:
        """The documents a facet's values are counted over: the query and every filter
        except the facet's own (multi-select: a value's count is what choosing it adds)."""
        if name not in self.filters or self.base is None:
            return self.mask
        mask = self.base
        for other, m in self.filters.items():
            if other != name:
                mask = mask & m
        return mask


def execute(snap: Snapshot, built: BuiltQuery, time_limit: float) -> Run:
    """Evaluate the query and the filters (QueryTimeout past ``time_limit`` seconds). The scores
    are right where the mask is True (elsewhere they may be partial).

    With a date filter the query is only needed inside the dates: common words are then read
    only around those documents (``Matcher(within=)``). Facet filters do not narrow it: each
    facet is counted with every filter but its own (multi-select), so the query must be exact
    wherever any one facet filter is left out."""
    matcher = None
    scores = None
    dates = date_mask(snap, built)
    if built.query is not None:
        within = None if isinstance(dates, bool) else np.flatnonzero(dates & snap.arrays.live)
        matcher = Matcher(snap, time_limit, within=within)
        mask, scores = matcher.run(built.query)
        mask = mask & snap.arrays.live
    else:
        mask = snap.arrays.live.copy()
    if dates is not True:
        mask &= dates
    filters = facet_filters(snap, built)
    base = mask.copy() if filters else None
    for m in filters.values():
        mask &= m
    notices = [n for n in [built.notice, *(matcher.notices if matcher else [])] if n]
    return Run(mask, scores, matcher, base, filters, "; ".join(notices) or None)


def match_within(
    snap: Snapshot,
    built: BuiltQuery,
    docs: np.ndarray,
    time_limit: float,
    shared: SharedReads | None = None,
    masks: dict[tuple[str, tuple[str, ...]], np.ndarray] | None = None,
) -> np.ndarray:
    """The documents of ``docs`` (sorted, live) that match the query and the filters -- exactly
    ``docs[execute(snap, built, time_limit).mask[docs]]`` -- evaluated there only: the filters
    first (as :func:`filter_mask`), then the query within the documents passing them
    (``Matcher(within=)``: segments without any of them are not read). For many queries on the
    same documents (saved searches on a commit): ``shared`` keeps the posting reads (its scope
    must hold ``docs``) and ``masks`` each facet filter's mask, for the next query."""
    cand = docs
    if built.date_from or built.date_to:
        dates = date_mask(snap, built)
        assert not isinstance(dates, bool)
        cand = cand[dates[cand]]
    for name, attr in FACET_FILTERS.items():
        values = tuple(str(v) for v in getattr(built, attr))
        if values and cand.size:
            key = (name, values)
            m = masks.get(key) if masks is not None else None
            if m is None:
                m = snap.arrays.facet(name).mask(values)
                if masks is not None:
                    masks[key] = m
            cand = cand[m[cand]]
    if built.query is None or cand.size == 0:
        return cand
    mask, _ = Matcher(snap, time_limit, within=cand, shared=shared).run(built.query)
    return cand[mask[cand]]


def facet_filters(snap: Snapshot, built: BuiltQuery) -> dict[str, np.ndarray]:
    """Each facet filter of the request as a mask (values of one facet OR'ed), by facet name."""
    out = {}
    for name, attr in FACET_FILTERS.items():
        values = getattr(built, attr)
        if values:
            out[name] = value_mask(snap.arrays.facet(name), [str(v) for v in values])
    return out


#: Up to this many value ids, a filter mask is built from one comparison per id.
FEW_VALUES = 8


def value_mask(f: SingleValued | MultiValued | PersonFacet, values: list[str]) -> np.ndarray:
    """``f.mask(values)``: the documents with one of the values. For a few value ids it
    compares the value array with each id instead of ``np.isin``, which sorted the tag
    pairs for every filtered search (1.7 ms at 20,000 cables, ~12x that on the release)."""
    ids = value_ids(f, values)
    if len(ids) > FEW_VALUES:
        return f.mask(values)
    if isinstance(f, PersonFacet):
        f = f.folded
    if isinstance(f, SingleValued):
        mask = np.zeros(f.ids.size, bool)
        for i in ids:
            mask |= f.ids == i
        return mask
    mask = np.zeros(f.n, bool)
    if ids:
        chosen = f.pair_values == ids[0]
        for i in ids[1:]:
            chosen |= f.pair_values == i
        mask[f.pair_docs[chosen]] = True
    return mask


def date_mask(snap: Snapshot, built: BuiltQuery) -> np.ndarray | bool:
    """The documents inside ``--from``/``--to`` (True: no date filter)."""
    if not (built.date_from or built.date_to):
        return True
    a = snap.arrays
    dm = a.created != MISSING
    if built.date_from:
        dm &= a.created >= datetime_us(built.date_from)
    if built.date_to:
        dm &= a.created <= datetime_us(built.date_to)
    return dm


def filter_mask(snap: Snapshot, built: BuiltQuery) -> np.ndarray | bool:
    """The documents passing the request's filters (True: no filter): facet filters AND-ed
    across facets and OR-ed within one, and the dates."""
    mask: np.ndarray | bool = date_mask(snap, built)
    for m in facet_filters(snap, built).values():
        mask = mask & m
    return mask


def page_docs(snap: Snapshot, built: BuiltQuery, run: Run) -> list[int]:
    """Document numbers of the asked page: by score (ties by document number), or by date
    with undated cables last in either direction. Browsing sorts by relevance as -created."""
    start, end = built.offset, built.offset + built.page_size
    cand = np.flatnonzero(run.mask)
    if start >= cand.size:
        return []
    sort = built.sort
    if sort == "relevance" and run.scores is None:
        sort = "-created"
    if sort == "relevance":
        assert run.scores is not None
        primary = -run.scores[cand].astype(np.float64)
    else:
        col = snap.arrays.released if sort.endswith("released") else snap.arrays.created
        vals = col[cand].astype(np.float64)
        missing = vals >= float(MISSING)
        primary = -vals if sort.startswith("-") else vals
        primary[missing] = np.inf  # undated cables last, either direction
    if end < cand.size:
        part = np.argpartition(primary, end - 1)[:end]
        # include ties at the boundary so the order is stable across pages
        cutoff = primary[part].max()
        part = np.flatnonzero(primary <= cutoff)
    else:
        part = np.arange(cand.size)
    order = np.lexsort((cand[part], primary[part]))
    return cand[part][order][start:end].tolist()


_FOLDED: dict[int, tuple[weakref.ref, dict[str, list[int]]]] = {}
_FOLDED_LOCK = threading.Lock()


def value_ids(f: SingleValued | MultiValued | PersonFacet, wanted: Iterable[str]) -> list[int]:
    """``f.lookup(wanted)``: the value ids of names, case-insensitively, unknown names skipped.
    The facet's values are case-folded once per snapshot (a dict kept per facet object) rather
    than all of them at every filtered search; people keep their own lookup (surnames)."""
    if isinstance(f, PersonFacet):
        return f.lookup(wanted)
    with _FOLDED_LOCK:
        got = _FOLDED.get(id(f))
        index = got[1] if got is not None and got[0]() is f else None
    if index is None:
        index = {}
        for i, v in enumerate(f.values):
            index.setdefault(v.casefold(), []).append(i)
        with _FOLDED_LOCK:
            if len(_FOLDED) > 64:  # drop the entries of closed snapshots
                for key in [k for k, (ref, _) in _FOLDED.items() if ref() is None]:
                    del _FOLDED[key]
            _FOLDED[id(f)] = (weakref.ref(f), index)
    return sorted({i for w in wanted for i in index.get(w.strip().casefold(), ())})
