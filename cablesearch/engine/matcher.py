"""Query evaluation on arrays: a Whoosh query tree in, (matching mask, BM25F scores) out.

:class:`Matcher` walks the tree a query parser built and computes, for every document of a
:class:`~cablesearch.engine.snapshot.Snapshot` at once, whether it matches (a boolean mask) and
its score (a float32 array, or None for a node that does not score, such as NOT or a date
range). The results agree with Whoosh's ``searcher.search(q, limit=None)`` under BM25F (see
``tests/test_engine_compare.py``), with these deliberate differences:

* wildcard, prefix, fuzzy and term ranges score as the sum of their words' BM25F (Whoosh's
  ``constantscore=False``; the parser's default gives every match the same score);
* in ID and KEYWORD fields a value also matches case-insensitively when the exact value is not
  in the index (``tags:prel``), and ``origin:tripoli`` matches posts named with that word;
* NOT is evaluated on the arrays (Whoosh's ``AndNot`` matcher miscounts on large indexes);
* ``cites:``/``citedby:``/``thread:`` (:class:`~cablesearch.engine.graph.GraphQuery`) are
  cablesearch's own: walks over the snapshot's citation graph; they do not score, and what
  the user should know about them (an unknown ID, a thread cut short) goes to ``notices``.

Scores follow Whoosh's combinations: AND, OR sum their matching children's scores, AND NOT and
REQUIRE keep the left side's, AND MAYBE adds the right side where it matches, DisjunctionMax
takes the best; a child's score only counts on documents the whole node matches.
Deleted documents are not masked here: callers AND the mask with ``arrays.live``.

``highlight_terms`` collects the positive full-text terms and ``missing_terms`` the positive
full-text words with no posting at all (for "did you mean"). For highlighting that means what
the query means, ``units(doc)`` gives the positive full-text leaves -- ``(words, slop)``: one
word with slop 0, or a phrase -- of the branches that matched ``doc`` (every positive node on the
leaf's path matched it): for ``(a AND b) OR c`` a document matching only through ``c`` gets
``c`` alone. Each positive node's mask is kept for this while the matcher lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
from whoosh import query as wq

from cablesearch.engine.graph import GraphQuery, graph_mask
from cablesearch.engine.postings import MISSING, Postings
from cablesearch.engine.snapshot import SharedReads, Snapshot
from cablesearch.errors import QuerySyntaxError, QueryTimeout

FULL_TEXT_FIELDS = ("subject", "body")
MAX_EXPANSION = 50_000  # terms one wildcard/fuzzy/range may expand to

Result = tuple[np.ndarray, np.ndarray | None]
Unit = tuple[tuple[str, ...], int]  # (words, slop): a word (slop 0) or a phrase to highlight
MAX_UNIT_WORDS = 200  # words of one wildcard/fuzzy expansion kept for highlighting


class Branches:
    """Which highlight units (words, phrases) belong to which positive branch of the query, so
    that a document's marks are only those of the branches that matched it."""

    def __init__(self) -> None:
        self.path: list[int] = []  # positive nodes being evaluated (indexes in masks)
        self.masks: list[np.ndarray | None] = []  # each positive node's mask
        self.units: list[tuple[Unit, tuple[int, ...]]] = []  # (unit, its positive path)

    def open(self) -> int:
        """A positive node starts: its key (its mask is set when it is done)."""
        self.masks.append(None)
        self.path.append(len(self.masks) - 1)
        return self.path[-1]

    def add(self, words: Iterable[str], slop: int = 0) -> None:
        self.units.append(((tuple(words), slop), tuple(self.path)))

    def matched(self, doc: int | None = None) -> list[Unit]:
        """The units of the branches that matched ``doc`` (all of them for None), without
        repeats, in query order."""
        out: dict[Unit, None] = {}
        for unit, path in self.units:
            if doc is None or all(bool(m[doc]) for m in (self.masks[k] for k in path) if m is not None):
                out[unit] = None
        return list(out)


class Matcher:
    """Evaluates query trees over one snapshot, within a time limit (QueryTimeout)."""

    def __init__(
        self,
        snap: Snapshot,
        time_limit: float,
        text_fields: Iterable[str] = FULL_TEXT_FIELDS,
        within: np.ndarray | None = None,
        shared: SharedReads | None = None,
    ):
        """``within`` (sorted document numbers): the answer is needed only there; mask and
        scores are then exact there only, and common words are read only around them.
        ``shared`` (whose scope holds ``within``): posting reads kept for other matchers."""
        self.snap = snap
        self.shared = shared if within is not None else None
        self.n = snap.n
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit
        self.text_fields = tuple(text_fields)
        self.highlight_terms: set[str] = set()
        self.missing_terms: list[tuple[str, str]] = []  # (field, text) with no postings
        self.branches = Branches()
        self.notices: list[str] = []  # for the user (e.g. a graph query's unknown ID)
        self._within = within  # where the node must be exact (None: everywhere); ANDs narrow it

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeout(
                f"the query ran past the {self.time_limit:g} s time limit; make it more specific "
                f"(fewer or longer wildcard prefixes, fewer very common words)"
            )

    def units(self, doc: int | None = None) -> list[Unit]:
        """The highlight units of the branches that matched ``doc`` (see ``Branches``)."""
        return self.branches.matched(doc)

    def empty(self) -> Result:
        return np.zeros(self.n, bool), None

    def run(self, q: wq.Query, positive: bool = True) -> Result:
        """(mask, scores) of a query; ``positive`` False inside a NOT (no highlighting)."""
        self.check_time()
        boost = float(getattr(q, "boost", 1.0) or 1.0)
        if not positive:
            mask, scores = self._dispatch(q, positive)
        else:
            key = self.branches.open()
            try:
                mask, scores = self._dispatch(q, positive)
            finally:
                self.branches.path.pop()
            self.branches.masks[key] = mask
        if scores is not None and boost != 1.0 and not isinstance(q, (wq.Term, wq.Phrase, wq.MultiTerm)):
            scores = scores * boost
        return mask, scores

    def _dispatch(self, q: wq.Query, positive: bool) -> Result:
        if q is wq.NullQuery:
            return self.empty()
        if isinstance(q, wq.Term):
            return self._term(q.fieldname, q.text, q.boost, positive)
        if isinstance(q, GraphQuery):
            mask, notice = graph_mask(self.snap, q)
            if notice and notice not in self.notices:
                self.notices.append(notice)
            return mask, None
        if isinstance(q, wq.Phrase):
            return self._phrase(q, positive)
        if isinstance(q, wq.NumericRange):
            return self._numeric_range(q)
        if isinstance(q, wq.Every):
            return self._every(q.fieldname)
        if isinstance(q, wq.MultiTerm):
            return self._multi(q, positive)
        if isinstance(q, wq.Not):
            m, _ = self.run(q.query, not positive)
            return ~m, None
        if isinstance(q, wq.BinaryQuery):
            return self._binary(q, positive)
        if isinstance(q, wq.DisjunctionMax):
            return self._compound(q.subqueries, positive, np.logical_or, np.maximum)
        if isinstance(q, wq.And):
            return self._compound(q.subqueries, positive, np.logical_and, np.add)
        if isinstance(q, wq.Or):
            return self._compound(q.subqueries, positive, np.logical_or, np.add)
        if isinstance(q, wq.WrappingQuery):
            m, s = self.run(q.child, positive)
            if isinstance(q, wq.ConstantScoreQuery):
                return m, m.astype(np.float32) * float(q.score)
            return m, s
        return self._generic(q)

    def _binary(self, q: wq.BinaryQuery, positive: bool) -> Result:
        if isinstance(q, wq.Otherwise):  # "a matches anything" is about all documents
            outer, self._within = self._within, None
            try:
                a, sa = self.run(q.a, positive)
                return (a, sa) if a.any() else self.run(q.b, positive)
            finally:
                self._within = outer
        a, sa = self.run(q.a, positive)
        if isinstance(q, wq.AndNot):
            b, _ = self.run(q.b, not positive)
            return _only(a & ~b, sa)
        b, sb = self.run(q.b, positive)
        if isinstance(q, wq.Require):
            return _only(a & b, sa)
        if isinstance(q, wq.AndMaybe):
            return a, _add(sa, _only(a, sb)[1])
        return self._generic(q)

    def _compound(
        self, children: list[wq.Query], positive: bool, join: np.ufunc, combine: np.ufunc
    ) -> Result:
        """AND (join and, add), OR (join or, add), DisjunctionMax (join or, maximum). An AND
        evaluates its rarest words first and each next child only where the ones before all
        matched (see ``_within``); results, scores and highlight units are as in query order."""
        if not children:
            return self.empty()
        is_and = join is np.logical_and
        order = sorted(range(len(children)), key=lambda i: _cost(self.snap, children[i])) if is_and else None
        outer = self._within
        results: dict[int, Result] = {}
        units: dict[int, list[tuple[Unit, tuple[int, ...]]]] = {}
        mask: np.ndarray | None = None
        try:
            for i in order if order is not None else range(len(children)):
                if is_and and mask is not None:
                    cand = np.flatnonzero(mask)
                    self._within = cand if outer is None else cand[_member(cand, outer)]
                before = len(self.branches.units)
                results[i] = m, _s = self.run(children[i], positive)  # s is 0 wherever m is False
                units[i] = self.branches.units[before:]
                del self.branches.units[before:]
                mask = m if mask is None else join(mask, m)
        finally:
            self._within = outer
        total: np.ndarray | None = None
        for i in range(len(children)):
            self.branches.units.extend(units[i])
            s = results[i][1]
            total = s if total is None else (total if s is None else combine(total, s))
        assert mask is not None
        return _only(mask, total) if is_and else (mask, total)

    # -- leaves -----------------------------------------------------------------------------

    def _btexts_for(self, fieldname: str, text: str) -> list[bytes]:
        """Index terms for a term in a field; case-insensitive for keyword/ID fields, and for
        origin a single word also matches posts named with it ("tripoli" → Embassy Tripoli)."""
        snap = self.snap
        btext = snap.to_bytes(fieldname, text) if not isinstance(text, bytes) else text
        if snap.schema[fieldname].scorable or snap.arrays.date(fieldname) is not None:
            return [btext]
        if snap.doc_frequency(fieldname, btext):
            return [btext]
        folded = btext.decode("utf-8", "replace").casefold()
        lex = snap.lexicon(fieldname)
        same = [t for t in lex if t.casefold() == folded]
        if not same and fieldname == "origin":
            same = [t for t in lex if folded in t.casefold().split() or t.casefold().endswith(" " + folded)]
        return [t.encode("utf-8") for t in same] or [btext]

    def _term(self, fieldname: str, text: str, boost: float, positive: bool) -> Result:
        if fieldname not in self.snap.schema:
            return self.empty()
        mask = np.zeros(self.n, bool)
        scores = np.zeros(self.n, np.float32)
        found = False
        for btext in self._btexts_for(fieldname, text):
            docs, s = self.snap.term_scores_within(fieldname, btext, self._within, self.shared)
            if docs.size:
                found = True
                mask[docs] = True
                scores[docs] += s * boost
        if positive and fieldname in self.text_fields:
            self.highlight_terms.add(text)
            self.branches.add([text])
            if not found and self._within is not None:  # maybe only not among the candidates
                found = any(self.snap.doc_frequency(fieldname, b) for b in self._btexts_for(fieldname, text))
            if not found:
                self.missing_terms.append((fieldname, text))
        return mask, scores

    def _phrase(self, q: wq.Phrase, positive: bool) -> Result:
        fieldname, words = q.fieldname, list(q.words)
        if not words or fieldname not in self.snap.schema:
            return self.empty()
        if len(words) == 1:
            return self._term(fieldname, words[0], q.boost, positive)
        if positive and fieldname in self.text_fields:
            self.highlight_terms.update(words)
            self.branches.add(words, min(max(1, int(q.slop or 1)), 1000))
        if not self.snap.schema[fieldname].format.supports("positions"):
            raise QuerySyntaxError(
                f"the field {fieldname!r} does not support phrases; search the words without quotes"
            )
        btexts = [self.snap.to_bytes(fieldname, w) for w in words]
        dfs = [self.snap.doc_frequency(fieldname, b) for b in btexts]
        if not all(dfs):
            return self.empty()  # a word in no document: nothing read
        # rarest word first; each next word read (with positions) only around the documents
        # holding all the words before it, when it is much more common than they are
        common = self._within
        read: dict[int, Postings] = {}
        for i in sorted(range(len(btexts)), key=lambda i: dfs[i]):
            p = read[i] = self.snap.postings_within(fieldname, btexts[i], common, True, self.shared)
            common = p.docs if common is None else common[_member(common, p.docs)]
            self.check_time()
            if common.size == 0:
                return self.empty()
        assert common is not None
        postings = [read[i] for i in range(len(btexts))]
        total = np.zeros(self.n, np.float32)
        for b, p in zip(btexts, postings, strict=True):
            docs, s = self.snap.term_scores(fieldname, b, p)
            total[docs] += s * q.boost
        keys = [self.snap.phrase_keys(p, common) for p in postings]
        frontier = _phrase_frontier(keys, min(max(1, int(q.slop or 1)), 1000), self.check_time)
        mask = np.zeros(self.n, bool)
        mask[np.unique(frontier >> 32)] = True
        return _only(mask, total)

    def _numeric_range(self, q: wq.NumericRange) -> Result:
        col = self.snap.arrays.date(q.fieldname)
        if col is None:
            return self._generic(q)
        mask = col != MISSING
        if q.start is not None:
            mask &= (col > q.start) if q.startexcl else (col >= q.start)
        if q.end is not None:
            mask &= (col < q.end) if q.endexcl else (col <= q.end)
        return mask, None

    def _every(self, fieldname: str | None) -> Result:
        a = self.snap.arrays
        if not fieldname:
            return a.live.copy(), None
        lengths = self.snap.lengths(fieldname)
        if lengths is not None:
            return lengths[0] > 0, None
        col = a.date(fieldname)
        if col is not None:
            return col != MISSING, None
        facet = {"origin": "origin", "classification": "classification", "tags": "tag"}.get(fieldname)
        if facet is not None:
            return a.facet(facet).present(), None
        return self._expand(fieldname, [t.encode("utf-8") for t in self.snap.lexicon(fieldname)], 1.0, False)

    def _multi(self, q: wq.MultiTerm, positive: bool) -> Result:
        if q.fieldname not in self.snap.schema:
            return self.empty()
        btexts = self.snap.expand(q, self.text_fields, MAX_EXPANSION, self.check_time)
        return self._expand(q.fieldname, btexts, float(q.boost), positive)

    def _expand(self, fieldname: str, btexts: list[bytes], boost: float, positive: bool) -> Result:
        if len(btexts) > MAX_EXPANSION:
            raise QueryTimeout(
                f"a wildcard, fuzzy term or range matches more than {MAX_EXPANSION:,} "
                f"different words; make it more specific (a longer prefix)"
            )
        docs_parts = []
        score_parts = []
        for count, btext in enumerate(btexts, start=1):
            if count % 64 == 0:
                self.check_time()
            within = self._within if self.shared is not None else None  # shared: in its scope only
            docs, s = self.snap.term_scores_within(fieldname, btext, within, self.shared)
            if docs.size:
                docs_parts.append(docs)
                score_parts.append(s)
                if positive and fieldname in self.text_fields and count <= MAX_UNIT_WORDS:
                    word = btext.decode("utf-8", "replace")
                    self.highlight_terms.add(word)
                    self.branches.add([word])
        if not docs_parts:
            return self.empty()
        docs = np.concatenate(docs_parts)
        scores = np.bincount(docs, weights=np.concatenate(score_parts), minlength=self.n)
        mask = np.zeros(self.n, bool)
        mask[docs] = True
        return mask, (scores * boost).astype(np.float32)

    def _generic(self, q: wq.Query) -> Result:
        """Any other query type: Whoosh's own matcher, posting by posting (time-bounded)."""
        mask = np.zeros(self.n, bool)
        scores = np.zeros(self.n, np.float32)
        with self.snap.io:
            m = self.snap.whoosh_matches(q)
            i = 0
            while m.is_active():
                i += 1
                if i % 512 == 0:
                    self.check_time()
                d = m.id()
                mask[d] = True
                scores[d] = m.score()
                m.next()
        return mask, scores


def _cost(snap: Snapshot, q: wq.Query) -> float:
    """How many documents ``q`` can match, roughly, from document frequencies: a word's (an
    OR's: the sum over its branches, as a word is one per field; an AND's or a phrase's: its
    rarest part's); anything else counts as costly (kept in query order after the rest)."""
    schema = snap.schema
    if isinstance(q, wq.Term) and q.fieldname in schema and schema[q.fieldname].scorable:
        text = q.text if isinstance(q.text, bytes) else snap.to_bytes(q.fieldname, q.text)
        return float(snap.doc_frequency(q.fieldname, text))
    if isinstance(q, wq.Phrase) and q.words:
        return min(_cost(snap, wq.Term(q.fieldname, w)) for w in q.words)
    if isinstance(q, (wq.Or, wq.DisjunctionMax)) and q.subqueries:
        return sum(_cost(snap, c) for c in q.subqueries)
    if isinstance(q, wq.And) and q.subqueries:
        return min(_cost(snap, c) for c in q.subqueries)
    return float("inf")


def _phrase_frontier(keys: list[np.ndarray], slop: int, check_time: Callable[[], None]) -> np.ndarray:
    """The ``doc << 32 | position`` keys of the last word of each phrase occurrence: word i
    exactly i positions after word 0 (slop 1), or each word within ``slop`` after the one
    before (Whoosh's ordered SpanNear)."""
    frontier = keys[0]
    for i, k in enumerate(keys[1:], start=1):
        check_time()
        if slop == 1:
            frontier = frontier[_member(frontier + i, k)]
        else:
            ok = np.zeros(k.size, bool)
            for step in range(1, slop + 1):
                ok |= _member(k - step, frontier)
            frontier = k[ok]
        if frontier.size == 0:
            break
    return frontier


def _member(a: np.ndarray, sorted_b: np.ndarray) -> np.ndarray:
    """For each element of ``a``: is it in ``sorted_b`` (sorted)?"""
    if sorted_b.size == 0:
        return np.zeros(a.size, bool)
    idx = np.searchsorted(sorted_b, a)
    idx[idx == sorted_b.size] = sorted_b.size - 1
    return sorted_b[idx] == a


def _only(mask: np.ndarray, scores: np.ndarray | None) -> Result:
    """Scores kept only where the node matches (a child's score must not leak)."""
    if scores is None:
        return mask, None
    return mask, np.where(mask, scores, 0).astype(np.float32)


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if b is None:
        return a
    if a is None:
        return b
    return a + b
