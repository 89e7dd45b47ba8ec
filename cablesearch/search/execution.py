"""Running a built query on a snapshot: the matching set (query AND filters AND not deleted),
its scores, and the documents of the asked page in the asked order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cablesearch.engine.matcher import Matcher
from cablesearch.engine.postings import MISSING, datetime_us
from cablesearch.engine.snapshot import Snapshot
from cablesearch.search.highlight import Marks
from cablesearch.search.query import BuiltQuery


@dataclass
class Run:
    """What running a built query produced, before hits are read. ``matcher`` is None when
    the query text was empty (browsing)."""

    mask: np.ndarray
    scores: np.ndarray | None
    matcher: Matcher | None

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


def execute(snap: Snapshot, built: BuiltQuery, time_limit: float) -> Run:
    """Evaluate the query and the filters (QueryTimeout past ``time_limit`` seconds). The scores
    are right where the mask is True (elsewhere they may be partial)."""
    matcher = None
    scores = None
    filters = filter_mask(snap, built)
    if built.query is not None:
        # with filters, the query is only needed where they pass: common words are then read
        # only around those documents
        within = None if isinstance(filters, bool) else np.flatnonzero(filters & snap.arrays.live)
        matcher = Matcher(snap, time_limit, within=within)
        mask, scores = matcher.run(built.query)
        mask = mask & snap.arrays.live
    else:
        mask = snap.arrays.live.copy()
    mask &= filters
    return Run(mask, scores, matcher)


def filter_mask(snap: Snapshot, built: BuiltQuery) -> np.ndarray | bool:
    """The documents passing the request's filters (True: no filter)."""
    a = snap.arrays
    mask: np.ndarray | bool = True
    if built.tags:
        mask = mask & a.tags.mask(built.tags)
    if built.origins:
        mask = mask & a.origin.mask(built.origins)
    if built.classifications:
        mask = mask & a.classification.mask(built.classifications)
    if built.years:
        mask = mask & a.year.mask([str(y) for y in built.years])
    if built.date_from or built.date_to:
        dm = a.created != MISSING
        if built.date_from:
            dm &= a.created >= datetime_us(built.date_from)
        if built.date_to:
            dm &= a.created <= datetime_us(built.date_to)
        mask = mask & dm
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
