"""The search service: runs built queries against the index, fast.

Where the time goes, and what is done about it:

* **One searcher, reused.** A :class:`SearchService` keeps one open Whoosh searcher and the
  per-searcher arrays of :mod:`cablesearch.search.facets` (dates, facet value ids, field lengths) until
  the index generation changes; then it opens a new searcher, rebuilds the arrays and closes the
  old searcher once no search is using it (no ``refresh()`` chains, which leak descriptors).
* **Matching in bulk.** A query's matching documents are computed as NumPy boolean masks from
  posting arrays read block-wise from disk and cached per term (:class:`_Engine`); AND/OR/NOT
  are mask operations, phrases intersect (document, position) arrays, date ranges and filters
  compare column arrays. The total is exact: the size of the mask.
* **Scoring in bulk.** BM25F (Whoosh's formula and statistics: B=0.75, K1=1.2, subject boosted)
  is computed per term as an array and summed; top-N is ``argpartition``.
* **Facets** are ``bincount`` over the mask (:func:`facets.count_facets`).
* **Highlighting** only the shown hits, from the stored record, with
  :class:`highlight.Highlighter` (no 32K limit).
* **Time limit**: evaluation checks ``config.query_time_limit`` between steps (wildcard
  expansion, phrase checking) and raises :class:`QueryTimeout`.

``SearchService`` is thread-safe: searches may run concurrently from a thread pool. Reader I/O
(postings, stored fields, term lists) is serialised per searcher, because Whoosh readers share
file positions; the NumPy work runs outside that lock.
"""

from __future__ import annotations

import marshal
import math
import os
import pickle
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
from rapidfuzz.distance import OSA
from whoosh import query as wq
from whoosh.searching import Searcher

from cablesearch.config import Config
from cablesearch.engine.schema import unpack_cable
from cablesearch.errors import CableNotFound, QuerySyntaxError, QueryTimeout
from cablesearch.model import Cable
from cablesearch.results import FACETS, Hit, SearchRequest, SearchResult
from cablesearch.search import facets as fc
from cablesearch.search.highlight import Highlighter
from cablesearch.search.query import DEFAULT_FIELDS, SUBJECT_BOOST, BuiltQuery, build, parse_query
from cablesearch.search.spelling import Speller

BM25_B = 0.75
BM25_K1 = 1.2
_POSTINGS_CACHE = 20_000  # terms kept per searcher (LRU)
_MAX_EXPANSION = 50_000  # terms one wildcard/fuzzy/range may expand to


class IndexLike(Protocol):
    """What the service needs from an index: CableIndex, or a plain Whoosh index."""

    def searcher(self) -> Searcher: ...


def _generation(index: Any) -> Any:
    gen = getattr(index, "generation", None)
    if gen is not None and not callable(gen):
        return gen
    if hasattr(index, "latest_generation"):
        return index.latest_generation()
    return gen() if callable(gen) else None


def _index_dir(index: Any, searcher: Searcher | None) -> Path | None:
    for name in ("index_dir", "path", "dirname"):
        value = getattr(index, name, None)
        if isinstance(value, (str, Path)):
            return Path(value)
    storage = getattr(index, "storage", None) or getattr(getattr(searcher, "_ix", None), "storage", None)
    folder = getattr(storage, "folder", None)
    return Path(folder) if folder else None


class _Snapshot:
    """One open searcher, its arrays and caches. Closed when retired and no longer in use."""

    def __init__(self, searcher: Searcher, generation: Any):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.generation = generation
        self.schema = searcher.schema
        self.arrays = fc.IndexArrays.build(self.reader, DEFAULT_FIELDS)
        self.n = self.arrays.n
        self.postings: OrderedDict[tuple[str, bytes], fc.Postings] = OrderedDict()
        self.scores: dict[tuple[str, bytes], np.ndarray] = {}
        self.lexicons: dict[str, list[str]] = {}
        self.rid_columns: dict[str, list[str]] = {}  # segment id -> its reference-ID column
        self.lock = threading.Lock()
        # Whoosh readers share file positions between calls: all reader I/O goes through this
        # lock, so searches can run in several threads (the NumPy work is outside it).
        self.io = threading.RLock()
        self.users = 0
        self.retired = False
        self.closed = False
        self.opened_at = time.time()

    # -- postings ---------------------------------------------------------------------------

    def term_postings(self, fieldname: str, btext: bytes, positions: bool = False) -> fc.Postings:
        key = (fieldname, btext)
        p = self.postings.get(key)
        if p is None or (positions and p.values is None):
            with self.io:
                p = fc.read_postings(self.reader, fieldname, btext, with_values=positions)
            with self.lock:
                self.postings[key] = p
                if len(self.postings) > _POSTINGS_CACHE:
                    old, _ = self.postings.popitem(last=False)
                    self.scores.pop(old, None)
        return p

    def term_scores(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(docs, BM25 scores) of one term, boost not applied."""
        key = (fieldname, btext)
        p = self.term_postings(fieldname, btext)
        s = self.scores.get(key)
        if s is None:
            lengths = self.arrays.lengths.get(fieldname)
            if lengths is None or not p.df:
                s = p.weights.astype(np.float32)
            else:
                idf = math.log(self.n / (p.df + 1)) + 1
                avg = self.arrays.avg_lengths.get(fieldname) or 1.0
                tf = p.weights
                fl = lengths[p.docs]
                s = (idf * (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * ((1 - BM25_B) + BM25_B * fl / avg))).astype(
                    np.float32
                )
            self.scores[key] = s
        return p.docs, s

    def positions(self, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(doc, position) pairs of every occurrence of a term, sorted by doc."""
        p = self.term_postings(fieldname, btext, positions=True)
        if p.positions is None:
            assert p.values is not None
            docs = p.docs
            lists = _decode_many(p.values)
            counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
            flat = np.fromiter((d for x in lists for d in x), dtype=np.int64, count=int(counts.sum()))
            # values hold position deltas: cumulative sums restarted at each document
            csum = np.cumsum(flat)
            starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if counts.size else counts
            base = (
                np.where(starts > 0, csum[np.maximum(starts - 1, 0)], 0)
                if flat.size
                else np.zeros(0, np.int64)
            )
            p.positions = (np.repeat(docs, counts), csum - np.repeat(base, counts))
            p.values = []  # decoded; free the raw values
        return p.positions

    def position_keys(self, fieldname: str, btext: bytes) -> np.ndarray:
        """Sorted ``doc << 32 | position`` keys of every occurrence of a term (cached)."""
        p = self.term_postings(fieldname, btext, positions=True)
        if p.keys is None:
            docs, pos = self.positions(fieldname, btext)
            keys = (docs << 32) + pos
            if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
                keys = np.unique(keys)
            p.keys = keys
        return p.keys

    def stored(self, docnum: int) -> dict[str, Any]:
        with self.io:
            return self.searcher.stored_fields(docnum)

    def doc_frequency(self, fieldname: str, text: str | bytes) -> int:
        with self.io:
            return int(self.reader.doc_frequency(fieldname, text))

    def lexicon(self, fieldname: str) -> list[str]:
        lex = self.lexicons.get(fieldname)
        if lex is None:
            with self.io:
                lex = (
                    [t.decode("utf-8") for t in self.reader.lexicon(fieldname)]
                    if fieldname in self.schema
                    else []
                )
            self.lexicons[fieldname] = lex
        return lex

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.searcher.close()


class _Engine:
    """Evaluates a Whoosh query tree into (mask, scores) over all documents of a snapshot."""

    def __init__(self, snap: _Snapshot, deadline: float, time_limit: float):
        self.snap = snap
        self.n = snap.n
        self.deadline = deadline
        self.time_limit = time_limit
        self.highlight_terms: set[str] = set()
        self.missing_terms: list[tuple[str, str]] = []  # (field, text) with no postings

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeout(
                f"the query ran past the {self.time_limit:g} s time limit; make it more specific "
                f"(fewer or longer wildcard prefixes, fewer very common words)"
            )

    def empty(self) -> tuple[np.ndarray, None]:
        return np.zeros(self.n, bool), None

    def run(self, q: wq.Query, positive: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        self.check_time()
        boost = float(getattr(q, "boost", 1.0) or 1.0)
        mask, scores = self._dispatch(q, positive)
        if scores is not None and boost != 1.0 and not isinstance(q, (wq.Term, wq.Phrase)):
            scores = scores * boost
        return mask, scores

    def _dispatch(self, q: wq.Query, positive: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if isinstance(q, wq.Term):
            return self._term(q.fieldname, q.text, q.boost, positive)
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
        if isinstance(q, wq.AndNot):
            a, sa = self.run(q.a, positive)
            b, _ = self.run(q.b, not positive)
            return a & ~b, sa
        if isinstance(q, wq.AndMaybe):
            a, sa = self.run(q.a, positive)
            b, sb = self.run(q.b, positive)
            return a, _add(sa, sb, a)
        if isinstance(q, wq.Require):
            a, sa = self.run(q.a, positive)
            b, _ = self.run(q.b, positive)
            return a & b, sa
        if isinstance(q, wq.Otherwise):
            a, sa = self.run(q.a, positive)
            if a.any():
                return a, sa
            return self.run(q.b, positive)
        if isinstance(q, wq.DisjunctionMax):
            mask = np.zeros(self.n, bool)
            best: np.ndarray | None = None
            for child in q.subqueries:
                m, s = self.run(child, positive)
                mask |= m
                if s is not None:
                    best = s if best is None else np.maximum(best, s)
            return mask, best
        if isinstance(q, wq.And):
            acc: np.ndarray | None = None
            total: np.ndarray | None = None
            for child in q.subqueries:
                m, s = self.run(child, positive)
                acc = m if acc is None else acc & m
                total = _add(total, s, None)
            if acc is None:
                return self.empty()
            return acc, total
        if isinstance(q, wq.Or):
            mask = np.zeros(self.n, bool)
            total = None
            for child in q.subqueries:
                m, s = self.run(child, positive)
                mask |= m
                total = _add(total, s, None)
            return mask, total
        if isinstance(q, wq.WrappingQuery):
            m, s = self.run(q.child, positive)
            if isinstance(q, wq.ConstantScoreQuery):
                return m, m.astype(np.float32) * float(q.score)
            return m, s
        if type(q).__name__ == "_NullQuery":
            return self.empty()
        return self._generic(q)

    # -- leaves -----------------------------------------------------------------------------

    def _btexts_for(self, fieldname: str, text: str) -> list[bytes]:
        """Index terms for a term in a field; case-insensitive for keyword/ID fields, and for
        origin a single word also matches posts named with it ("tripoli" → Embassy Tripoli)."""
        fobj = self.snap.schema[fieldname]
        btext = fobj.to_bytes(text) if not isinstance(text, bytes) else text
        if fieldname in DEFAULT_FIELDS or fieldname in ("created", "released"):
            return [btext]
        if self.snap.doc_frequency(fieldname, btext):
            return [btext]
        folded = btext.decode("utf-8", "replace").casefold()
        lex = self.snap.lexicon(fieldname)
        same = [t for t in lex if t.casefold() == folded]
        if not same and fieldname == "origin":
            same = [t for t in lex if folded in t.casefold().split() or t.casefold().endswith(" " + folded)]
        return [t.encode("utf-8") for t in same] or [btext]

    def _term(
        self, fieldname: str, text: str, boost: float, positive: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if fieldname not in self.snap.schema:
            return self.empty()
        mask = np.zeros(self.n, bool)
        scores = np.zeros(self.n, np.float32)
        found = False
        for btext in self._btexts_for(fieldname, text):
            docs, s = self.snap.term_scores(fieldname, btext)
            if docs.size:
                found = True
                mask[docs] = True
                scores[docs] += s * boost
        if positive and fieldname in DEFAULT_FIELDS:
            self.highlight_terms.add(text)
            if not found:
                self.missing_terms.append((fieldname, text))
        return mask, scores

    def _phrase(self, q: wq.Phrase, positive: bool) -> tuple[np.ndarray, np.ndarray | None]:
        fieldname, words = q.fieldname, list(q.words)
        if not words or fieldname not in self.snap.schema:
            return self.empty()
        if len(words) == 1:
            return self._term(fieldname, words[0], q.boost, positive)
        if positive and fieldname in DEFAULT_FIELDS:
            self.highlight_terms.update(words)
        fobj = self.snap.schema[fieldname]
        if not fobj.format.supports("positions"):
            raise QuerySyntaxError(
                f"the field {fieldname!r} does not support phrases; search the words without quotes"
            )
        btexts = [fobj.to_bytes(w) for w in words]
        total = np.zeros(self.n, np.float32)
        for b in btexts:
            docs, s = self.snap.term_scores(fieldname, b)
            if docs.size == 0:
                return self.empty()
            total[docs] += s * q.boost
        self.check_time()
        keys = [self.snap.position_keys(fieldname, b) for b in btexts]
        self.check_time()
        slop = min(max(1, int(q.slop or 1)), 1000)
        frontier = keys[0]
        for i, k in enumerate(keys[1:], start=1):
            self.check_time()
            if slop == 1:
                # word i sits exactly i positions after word 0
                frontier = frontier[_member(frontier + i, k)]
            else:
                # Whoosh's ordered SpanNear: each word within `slop` after the one before
                ok = np.zeros(k.size, bool)
                for step in range(1, slop + 1):
                    ok |= _member(k - step, frontier)
                frontier = k[ok]
            if frontier.size == 0:
                return self.empty()
        hits = np.unique(frontier >> 32)
        mask = np.zeros(self.n, bool)
        mask[hits] = True
        return mask, np.where(mask, total, 0).astype(np.float32)

    def _numeric_range(self, q: wq.NumericRange) -> tuple[np.ndarray, np.ndarray | None]:
        a = self.snap.arrays
        col = {"created": a.created, "released": a.released}.get(q.fieldname)
        if col is None:
            return self._generic(q)
        mask = col != fc.MISSING
        if q.start is not None:
            mask &= (col > q.start) if q.startexcl else (col >= q.start)
        if q.end is not None:
            mask &= (col < q.end) if q.endexcl else (col <= q.end)
        return mask, None

    def _every(self, fieldname: str | None) -> tuple[np.ndarray, np.ndarray | None]:
        a = self.snap.arrays
        if not fieldname:
            return a.live.copy(), None
        if fieldname in a.lengths:
            return a.lengths[fieldname] > 0, None
        if fieldname in ("created", "released"):
            return (a.created if fieldname == "created" else a.released) != fc.MISSING, None
        if fieldname == "origin":
            return a.origin.ids >= 0, None
        if fieldname == "classification":
            return a.classification.ids >= 0, None
        if fieldname == "tags":
            mask = np.zeros(self.n, bool)
            mask[a.tags.pair_docs] = True
            return mask, None
        return self._expand(fieldname, (t.encode("utf-8") for t in self.snap.lexicon(fieldname)), 1.0, False)

    def _multi(self, q: wq.MultiTerm, positive: bool) -> tuple[np.ndarray, np.ndarray | None]:
        fieldname = q.fieldname
        if fieldname not in self.snap.schema:
            return self.empty()
        with self.snap.io:
            if isinstance(q, wq.FuzzyTerm) and fieldname in DEFAULT_FIELDS:
                btexts: Iterable[bytes] = (
                    t.encode("utf-8") if isinstance(t, str) else t
                    for t in self.snap.reader.terms_within(fieldname, q.text, q.maxdist, q.prefixlength)
                )
            else:
                btexts = q._btexts(self.snap.reader)
            return self._expand(fieldname, btexts, float(q.boost), positive)

    def _expand(
        self, fieldname: str, btexts: Iterable[bytes], boost: float, positive: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        docs_parts = []
        score_parts = []
        for count, btext in enumerate(btexts, start=1):
            if count % 64 == 0:
                self.check_time()
            if count > _MAX_EXPANSION:
                raise QueryTimeout(
                    f"a wildcard, fuzzy term or range matches more than {_MAX_EXPANSION:,} "
                    f"different words; make it more specific (a longer prefix)"
                )
            docs, s = self.snap.term_scores(fieldname, btext)
            if docs.size:
                docs_parts.append(docs)
                score_parts.append(s)
                if positive and fieldname in DEFAULT_FIELDS and count <= 200:
                    self.highlight_terms.add(btext.decode("utf-8", "replace"))
        if not docs_parts:
            return self.empty()
        docs = np.concatenate(docs_parts)
        scores = np.bincount(docs, weights=np.concatenate(score_parts), minlength=self.n)
        mask = np.zeros(self.n, bool)
        mask[docs] = True
        return mask, (scores * boost).astype(np.float32)

    def _generic(self, q: wq.Query) -> tuple[np.ndarray, np.ndarray | None]:
        """Any other query type: Whoosh's own matcher, posting by posting (time-bounded)."""
        mask = np.zeros(self.n, bool)
        scores = np.zeros(self.n, np.float32)
        with self.snap.io:
            m = q.matcher(self.snap.searcher)
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


def _member(a: np.ndarray, sorted_b: np.ndarray) -> np.ndarray:
    """For each element of ``a``: is it in ``sorted_b`` (sorted)?"""
    if sorted_b.size == 0:
        return np.zeros(a.size, bool)
    idx = np.searchsorted(sorted_b, a)
    idx[idx == sorted_b.size] = sorted_b.size - 1
    return sorted_b[idx] == a


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
            return [_decode_positions(x) for x in values]
        bodies.append(d[2:-1] if d.endswith(b".") else d[2:])
    if not bodies:
        return []
    try:
        return list(pickle.loads(b"\x80\x02(" + b"".join(bodies) + b"t."))
    except Exception:
        return [_decode_positions(x) for x in values]


def _decode_positions(value: bytes | None) -> list[int]:
    """Position deltas of one posting (``Positions`` format: a count, then a marshal or pickle
    dump of the deltas, depending on which writer wrote the segment)."""
    if not value:
        return []
    data = value[4:]
    if data[:1] == b"\x80":
        return pickle.loads(data if data.endswith(b".") else data + b".")
    return marshal.loads(data)


def _add(a: np.ndarray | None, b: np.ndarray | None, where: np.ndarray | None) -> np.ndarray | None:
    if b is None:
        return a
    if where is not None:
        b = np.where(where, b, 0).astype(np.float32)
    if a is None:
        return b
    return a + b


@dataclass
class _Run:
    """What running a built query produced, before hits are read."""

    mask: np.ndarray
    scores: np.ndarray | None
    engine: _Engine | None


@dataclass(frozen=True)
class SinceMatches:
    """The answer of :meth:`SearchService.match_since`: the snapshot's segment ids and
    generation, the reference IDs matching each request (in document order) and how many live
    cables were evaluated."""

    segments: tuple[str, ...]
    generation: Any
    matches: list[list[str]]
    evaluated: int
    cables: dict[str, Cable] = field(default_factory=dict)


class SearchService:
    """Searches one index. See the module doc for how it is fast.

    API (what the CLI and the web layer use):

    * ``search(SearchRequest) -> SearchResult`` — raises QuerySyntaxError (bad query, filter,
      date, sort, page) or QueryTimeout. ``result.facets`` has tag/origin/classification/year
      (``[(value, count)]`` most frequent first, ``request.facet_limit`` each) and ``month``
      (``[("YYYY-MM", count)]`` chronological, every month with matches: the timeline).
    * ``get(reference_id) -> Cable`` (CableNotFound), ``cited_by(id) -> list[Hit]`` (cables
      whose REF line cites it, oldest first), ``similar(id, limit) -> list[Hit]``,
      ``stats() -> dict``, ``browse() -> dict`` (all cables: ``created`` by "YYYY-MM",
      ``released`` by "YYYY-MM-DD", both chronological; ``origin``, ``tag``,
      ``classification`` by count), ``known_ids(ids) -> set`` (which IDs are in the index),
      ``highlight_text(text, query) -> str`` (escaped HTML, query terms in <mark>).
    * ``iter_matches(SearchRequest) -> Iterator[(Cable, score)]`` — every match in sort order,
      from one snapshot, in constant memory apart from the match array (for exports).
    * ``match_since(requests, seen_segments) -> SinceMatches`` — for saved searches: the
      cables of segments not yet seen that match each request (what a commit added/changed).
    * ``close()`` closes the searcher.
    """

    def __init__(self, index: Any, config: Config | None = None):
        self.index = index
        self.config = config or Config()
        self._lock = threading.Lock()
        self._snap: _Snapshot | None = None
        self._highlighters: dict[str, Highlighter] = {}
        self._speller = Speller(DEFAULT_FIELDS)

    # -- snapshot management ----------------------------------------------------------------

    def _current(self) -> _Snapshot:
        gen = _generation(self.index)
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != gen:
                searcher = self.index.searcher()
                new = _Snapshot(searcher, gen)
                if snap is not None:
                    snap.retired = True
                    if snap.users == 0:
                        snap.close()
                self._snap = snap = new
            snap.users += 1
            return snap

    def _release(self, snap: _Snapshot) -> None:
        with self._lock:
            snap.users -= 1
            if snap.retired and snap.users == 0:
                snap.close()

    class _Use:
        def __init__(self, service: SearchService):
            self.service = service

        def __enter__(self) -> _Snapshot:
            self.snap = self.service._current()
            return self.snap

        def __exit__(self, *exc: object) -> None:
            self.service._release(self.snap)

    def _use(self) -> _Use:
        return SearchService._Use(self)

    def warm(self) -> None:
        """Open the searcher and build what the first searches would otherwise build: the
        per-searcher arrays and the did-you-mean word lists (seconds on the full release)."""
        with self._use() as snap, snap.io:
            self._speller.prepare(snap.reader)

    def close(self) -> None:
        """Close the open searcher (the service reopens one if used again)."""
        with self._lock:
            if self._snap is not None:
                self._snap.retired = True
                if self._snap.users == 0:
                    self._snap.close()
                self._snap = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def highlighter(self, snap: _Snapshot, fieldname: str = "body") -> Highlighter:
        analyzer = snap.schema[fieldname].analyzer
        key = f"{fieldname}:{id(analyzer)}"
        h = self._highlighters.get(key)
        if h is None:
            h = self._highlighters[key] = Highlighter.for_analyzer(analyzer)
        return h

    # -- search -----------------------------------------------------------------------------

    def build(self, request: SearchRequest) -> BuiltQuery:
        """Validate a request against the index schema (QuerySyntaxError when bad)."""
        with self._use() as snap:
            return build(request, snap.schema, self.config.max_page_size)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: total, one page of hits with snippets, facets and a suggestion."""
        t0 = time.perf_counter()
        with self._use() as snap:
            built = build(request, snap.schema, self.config.max_page_size)
            run = self._execute(snap, built)
            total = int(np.count_nonzero(run.mask))
            page_docs = self._page(snap, built, run, total)
            terms = frozenset(run.engine.highlight_terms) if run.engine else frozenset()
            hits = [
                self._hit(
                    snap,
                    int(d),
                    float(run.scores[d]) if run.scores is not None else 0.0,
                    terms if built.highlight else frozenset(),
                )
                for d in page_docs
            ]
            facet_counts = fc.count_facets(snap.arrays, run.mask, built.facet_limit, FACETS + ("month",))
            suggestion = None
            if run.engine is not None and run.engine.missing_terms:
                suggestion = self._suggest(snap, built, run.engine)
        return SearchResult(
            query=request.query,
            total=total,
            page=built.page,
            page_size=built.page_size,
            hits=hits,
            facets=facet_counts,
            suggestion=suggestion,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )

    def iter_matches(self, request: SearchRequest) -> Iterator[tuple[Cable, float]]:
        """Every cable matching ``request`` (its page and page size ignored), in the request's
        sort order, with its score: for exports. All of it comes from ONE searcher snapshot,
        so a commit during a long export neither repeats nor skips cables; records are read
        one at a time as they are taken, so memory is the ordered match array (8 bytes a
        match), whatever the count. Raises QuerySyntaxError / QueryTimeout at the first
        ``next()``, before any cable."""
        with self._use() as snap:
            built = build(replace(request, page=1, page_size=1), snap.schema, self.config.max_page_size)
            run = self._execute(snap, built)
            total = int(np.count_nonzero(run.mask))
            docs = self._page(snap, replace(built, page=1, page_size=max(total, 1)), run, total)
            for d in docs:
                sf = snap.stored(d)
                record = sf.get("record")
                cable = unpack_cable(record) if record else _stored_cable(sf)
                yield cable, float(run.scores[d]) if run.scores is not None else 0.0

    def match_since(
        self, requests: Sequence[SearchRequest], seen: Collection[str], with_cables: bool = False
    ) -> SinceMatches:
        """For saved searches: which cables of the segments NOT in ``seen`` match each request.

        A Whoosh commit never changes a committed segment's documents (only marks some
        deleted), so every cable added or changed since the index had exactly the segments
        ``seen`` is in a segment not in ``seen`` (a merge can bring unchanged cables along:
        they are evaluated again, harmlessly). ``seen=()`` evaluates every cable. Everything
        comes from ONE snapshot; the answer's ``segments`` is what to pass as ``seen`` next
        time. ``with_cables``: also the matching cables' records (``cables``, by ID), read
        once each from the same snapshot. Raises QuerySyntaxError for a bad request,
        QueryTimeout as search does."""
        seen = frozenset(seen)
        with self._use() as snap:
            fresh = np.zeros(snap.n, bool)
            segments: list[str] = []
            ids: dict[int, str] = {}
            with snap.io:
                for leaf, offset in fc.leaves(snap.reader):
                    segment = leaf.segment() if hasattr(leaf, "segment") else None
                    if segment is None:
                        continue
                    seg_id = segment.segment_id()
                    segments.append(seg_id)
                    if seg_id not in seen:
                        fresh[offset : offset + leaf.doc_count_all()] = True
            fresh &= snap.arrays.live
            matches: list[list[str]] = []
            if fresh.any():
                for request in requests:
                    built = build(
                        replace(request, page=1, page_size=1), snap.schema, self.config.max_page_size
                    )
                    docs = np.flatnonzero(self._execute(snap, built).mask & fresh)
                    for d in docs.tolist():
                        if d not in ids:
                            ids[d] = self._reference_id(snap, d)
                    matches.append([ids[d] for d in docs.tolist()])
            else:
                for request in requests:
                    build(request, snap.schema, self.config.max_page_size)
                    matches.append([])
            cables: dict[str, Cable] = {}
            if with_cables:
                for d, rid in ids.items():
                    record = snap.stored(d).get("record")
                    if record:
                        cables[rid] = unpack_cable(record)
            return SinceMatches(tuple(sorted(segments)), snap.generation, matches, int(fresh.sum()), cables)

    def _reference_id(self, snap: _Snapshot, docnum: int) -> str:
        cache = snap.rid_columns
        with snap.io:
            for leaf, offset in fc.leaves(snap.reader):
                if offset <= docnum < offset + leaf.doc_count_all():
                    key = leaf.segment().segment_id()
                    col = cache.get(key)
                    if col is None:
                        col = cache[key] = list(leaf.column_reader("reference_id"))
                    return str(col[docnum - offset])
        raise CableNotFound(f"no document {docnum} in this snapshot")

    def _execute(self, snap: _Snapshot, built: BuiltQuery) -> _Run:
        limit = self.config.query_time_limit
        engine = None
        scores = None
        if built.query is not None:
            engine = _Engine(snap, time.monotonic() + limit, limit)
            mask, scores = engine.run(built.query)
            mask = mask & snap.arrays.live
        else:
            mask = snap.arrays.live.copy()
        mask &= self._filter_mask(snap, built)
        return _Run(mask, scores, engine)

    def _filter_mask(self, snap: _Snapshot, built: BuiltQuery) -> np.ndarray | bool:
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
            dm = a.created != fc.MISSING
            if built.date_from:
                dm &= a.created >= fc.datetime_us(built.date_from)
            if built.date_to:
                dm &= a.created <= fc.datetime_us(built.date_to)
            mask = mask & dm
        return mask

    def _page(self, snap: _Snapshot, built: BuiltQuery, run: _Run, total: int) -> list[int]:
        start, end = built.offset, built.offset + built.page_size
        if start >= total:
            return []
        cand = np.flatnonzero(run.mask)
        sort = built.sort
        if sort == "relevance" and run.scores is None:
            sort = "-created"
        if sort == "relevance":
            assert run.scores is not None
            primary = -run.scores[cand].astype(np.float64)
        else:
            col = snap.arrays.released if sort.endswith("released") else snap.arrays.created
            vals = col[cand].astype(np.float64)
            missing = vals >= float(fc.MISSING)
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

    # -- hits -------------------------------------------------------------------------------

    def _hit(
        self, snap: _Snapshot, docnum: int, score: float, terms: frozenset[str], snippet: bool = True
    ) -> Hit:
        sf = snap.stored(docnum)
        text = ""
        record = sf.get("record")
        cable: Cable | None = unpack_cable(record) if record else None
        if cable is not None:
            text = cable.body or cable.summary or cable.subject
        tags = sf.get("tags", "")
        tag_list = tags.split() if isinstance(tags, str) else list(tags or [])
        snip = ""
        if snippet and text:
            snip = self.highlighter(snap).snippet(text, terms)
        return Hit(
            reference_id=sf.get("reference_id", ""),
            subject=sf.get("subject", "") or (cable.subject if cable else ""),
            created=sf.get("created") or (cable.created if cable else None),
            released=sf.get("released") or (cable.released if cable else None),
            origin=sf.get("origin", ""),
            classification=sf.get("classification", ""),
            tags=tag_list,
            score=score,
            snippet=snip,
        )

    # -- did you mean -----------------------------------------------------------------------

    def _suggest(self, snap: _Snapshot, built: BuiltQuery, engine: _Engine) -> str | None:
        """A corrected query text when a word has no match and a close, frequent word does;
        only returned when the corrected query finds something."""
        missing = {text for _f, text in engine.missing_terms}
        # a term missing from subject but present in body is not misspelt
        missing = {
            t
            for t in missing
            if all(
                not snap.term_postings(f, snap.schema[f].to_bytes(t)).df
                for f in DEFAULT_FIELDS
                if f in snap.schema
            )
        }
        if not missing:
            return None
        h = self.highlighter(snap)
        words = re.findall(r"\w+", built.text)
        replacements: dict[str, str] = {}
        for word in words:
            analysed = h._analyze(word.lower())
            if not analysed or analysed[0] not in missing:
                continue
            best = self._closest(snap, analysed[0])
            if best is None:
                return None
            surface = self._surface(snap, best, word) or best
            replacements[word] = surface
        if not replacements:
            return None
        text = built.text
        for word, surface in replacements.items():
            text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", surface, text)
        if text == built.text:
            return None
        try:
            q = parse_query(text, snap.schema)
        except QuerySyntaxError:
            return None
        if q is None:
            return None
        engine2 = _Engine(snap, time.monotonic() + self.config.query_time_limit, self.config.query_time_limit)
        try:
            mask, _ = engine2.run(q)
        except QueryTimeout:
            return None
        mask = mask & snap.arrays.live & self._filter_mask(snap, built)
        return text if mask.any() else None

    def _closest(self, snap: _Snapshot, term: str) -> str | None:
        with snap.io:
            return self._speller.closest(snap.reader, term)

    def _surface(self, snap: _Snapshot, term: str, typed: str) -> str | None:
        """A real word that the analyzer turns into ``term`` (stems read badly), taken from a
        cable containing it: of those, the one closest to what was typed."""
        h = self.highlighter(snap)
        for fieldname in ("subject", "body"):
            docs, _ = snap.term_scores(fieldname, snap.schema[fieldname].to_bytes(term))
            for d in docs[:3].tolist():
                sf = snap.stored(int(d))
                record = sf.get("record")
                text = unpack_cable(record).body if record else sf.get("subject", "")
                text = (sf.get("subject", "") or "") + "\n" + (text or "")
                words = h.matching_words(text, frozenset([term]))
                if words:
                    return min(words, key=lambda w: (OSA.distance(w.lower(), typed.lower()), len(w), w))
        return None

    # -- single cables ----------------------------------------------------------------------

    def _docnum(self, snap: _Snapshot, reference_id: str) -> int | None:
        rid = reference_id.strip()
        for candidate in dict.fromkeys([rid, rid.upper()]):
            if not candidate:
                continue
            p = snap.term_postings("reference_id", candidate.encode("utf-8"))
            live = p.docs[snap.arrays.live[p.docs]] if p.df else p.docs
            if live.size:
                return int(live[-1])
        return None

    def get(self, reference_id: str) -> Cable:
        """The whole cable as indexed (from the stored record). Raises CableNotFound."""
        with self._use() as snap:
            d = self._docnum(snap, reference_id)
            if d is None:
                raise CableNotFound(
                    f"no cable {reference_id!r} in the index; search for it "
                    f"with: cablesearch search 'id:{reference_id}*'"
                )
            record = snap.stored(d).get("record")
            if not record:
                raise CableNotFound(f"cable {reference_id!r} has no stored record; re-index it")
            return unpack_cable(record)

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        """The IDs (as given) that are in the index — for linking REF lines."""
        out = set()
        with self._use() as snap:
            for rid in ids:
                if rid and self._docnum(snap, rid) is not None:
                    out.add(rid)
        return out

    def cited_by(self, reference_id: str, limit: int = 200) -> list[Hit]:
        """Cables whose REF line cites ``reference_id``, oldest first (no snippets' marks)."""
        with self._use() as snap:
            rid = reference_id.strip().upper()
            p = snap.term_postings("references", rid.encode("utf-8"))
            docs = p.docs[snap.arrays.live[p.docs]] if p.df else p.docs
            created = snap.arrays.created[docs]
            order = np.lexsort((docs, created))
            return [self._hit(snap, int(d), 0.0, frozenset()) for d in docs[order][:limit]]

    def similar(self, reference_id: str, limit: int = 10) -> list[Hit]:
        """Cables like this one: the cable's key terms (tf·idf over subject and body) searched
        as an OR query, the cable itself left out. Raises CableNotFound."""
        if limit < 1 or limit > self.config.max_page_size:
            raise QuerySyntaxError(f"limit must be a whole number from 1 to {self.config.max_page_size}")
        cable = self.get(reference_id)
        with self._use() as snap:
            me = self._docnum(snap, reference_id)
            terms = self.key_terms(snap, cable)
            if not terms:
                return []
            scores = np.zeros(snap.n, np.float32)
            for term, weight in terms:
                for fieldname, boost in (("subject", SUBJECT_BOOST), ("body", 1.0)):
                    if fieldname not in snap.schema:
                        continue
                    docs, s = snap.term_scores(fieldname, snap.schema[fieldname].to_bytes(term))
                    scores[docs] += s * boost * weight
            scores[~snap.arrays.live] = 0
            if me is not None:
                scores[me] = 0
            cand = np.flatnonzero(scores > 0)
            if cand.size > limit:
                cand = cand[np.argpartition(-scores[cand], limit - 1)[:limit]]
            order = np.lexsort((cand, -scores[cand]))
            hl = frozenset(t for t, _ in terms)
            return [self._hit(snap, int(d), float(scores[d]), hl) for d in cand[order]]

    def key_terms(self, snap: _Snapshot, cable: Cable, count: int = 20) -> list[tuple[str, float]]:
        """The ``count`` most characteristic index terms of a cable (tf·idf), with weights."""
        analyzer = snap.schema["body"].analyzer
        tf: dict[str, int] = {}
        for t in analyzer(cable.subject + "\n" + cable.subject + "\n" + cable.body):
            if len(t.text) > 2 and not t.text.isdigit():
                tf[t.text] = tf.get(t.text, 0) + 1
        n = snap.n or 1
        scored = []
        for term, f in tf.items():
            df = snap.doc_frequency("body", term)
            if df <= 1 or df > max(2.0, n * 0.3):
                continue
            scored.append((f * (math.log(n / (df + 1)) + 1), term))
        scored.sort(reverse=True)
        top = scored[:count]
        if not top:
            return []
        best = top[0][0]
        return [(term, s / best) for s, term in top]

    # -- overviews --------------------------------------------------------------------------

    def facet_counts(self, limit: int = 0) -> dict[str, list[tuple[str, int]]]:
        """Facet counts over the whole index (``limit`` 0: every value)."""
        with self._use() as snap:
            return fc.count_facets(snap.arrays, snap.arrays.live, limit, FACETS + ("month",))

    def browse(self) -> dict[str, list[tuple[str, int]]]:
        """Counts over all cables, like the seed page's sidebar: ``created`` ("YYYY-MM"),
        ``released`` ("YYYY-MM-DD"), chronological; ``origin``, ``tag``, ``classification``,
        most frequent first (all values)."""
        with self._use() as snap:
            live = snap.arrays.live
            out = fc.count_facets(
                snap.arrays, live, 0, ("month", "released", "origin", "tag", "classification")
            )
            out["created"] = out.pop("month")
            return out

    def stats(self) -> dict[str, Any]:
        """Counts, date ranges, index size on disk and last update, as a JSON-ready dict."""
        with self._use() as snap:
            a = snap.arrays
            live = a.live
            folder = _index_dir(self.index, snap.searcher)
            size, mtime = _folder_size(folder)

            def span(col: np.ndarray) -> tuple[str | None, str | None]:
                vals = col[live & (col != fc.MISSING)]
                if not vals.size:
                    return None, None
                lo, hi = fc.to_datetime(int(vals.min())), fc.to_datetime(int(vals.max()))
                return (
                    lo.strftime("%Y-%m-%dT%H:%M") if lo else None,
                    hi.strftime("%Y-%m-%dT%H:%M") if hi else None,
                )

            c0, c1 = span(a.created)
            r0, r1 = span(a.released)
            return {
                "cables": int(live.sum()),
                "created_first": c0,
                "created_last": c1,
                "released_first": r0,
                "released_last": r1,
                "origins": int(np.count_nonzero(a.origin.counts(live))),
                "tags": int(np.count_nonzero(a.tags.counts(live))),
                "classifications": fc.top_counts(
                    a.classification.values, a.classification.counts(live), None
                ),
                "segments": sum(1 for leaf, _ in fc.leaves(snap.reader) if leaf.doc_count_all()),
                "generation": snap.generation if isinstance(snap.generation, int) else None,
                "index_dir": str(folder) if folder else None,
                "index_bytes": size,
                "last_update": datetime.fromtimestamp(mtime).strftime("%Y-%m-%dT%H:%M:%S") if mtime else None,
            }

    def highlight_text(self, text: str, query: str) -> str:
        """``text`` escaped as HTML with the query's words marked (e.g. a whole cable body when
        arriving from a search). A query that does not parse marks nothing."""
        with self._use() as snap:
            try:
                q = parse_query(query, snap.schema)
            except QuerySyntaxError:
                q = None
            terms: set[str] = set()
            if q is not None:
                engine = _Engine(
                    snap, time.monotonic() + self.config.query_time_limit, self.config.query_time_limit
                )
                try:
                    engine.run(q)
                except QueryTimeout:
                    pass
                terms = engine.highlight_terms
            return self.highlighter(snap).mark(text, frozenset(terms))


def _stored_cable(sf: dict[str, Any]) -> Cable:
    """A cable from its stored fields alone (an index written without records)."""
    tags = sf.get("tags", "")
    return Cable(
        reference_id=sf.get("reference_id", ""),
        subject=sf.get("subject", ""),
        created=sf.get("created"),
        released=sf.get("released"),
        origin=sf.get("origin", ""),
        classification=sf.get("classification", ""),
        tags=tags.split() if isinstance(tags, str) else list(tags or []),
    )


def _folder_size(folder: Path | None) -> tuple[int, float | None]:
    if folder is None or not folder.is_dir():
        return 0, None
    size = 0
    newest = None
    for entry in os.scandir(folder):
        if entry.is_file():
            st = entry.stat()
            size += st.st_size
            if entry.name.endswith(".toc") or entry.name.endswith(".seg") or entry.name.startswith("_"):
                newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
    return size, newest
