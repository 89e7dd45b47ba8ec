"""One open, unchanging view of an index for searching: a Whoosh searcher, its per-document
arrays (:class:`~cablesearch.engine.columns.IndexArrays`) and per-term caches.

A snapshot is what the matcher (:mod:`cablesearch.engine.matcher`) evaluates queries against.
Scoring is Whoosh's BM25F with its own statistics (B=0.75, K1=1.2; idf = log(N/(df+1)) + 1
with N and df counting deleted documents, as Whoosh does; lengths from the one-byte length
columns) for every scorable field -- subject, body, recipients, signers -- and the plain term
weight for the others (ID and KEYWORD fields), as Whoosh's ``BM25F`` does.

Thread-safety: Whoosh readers share file positions between calls, so all reader I/O goes
through ``io`` (an RLock); the caches have their own lock; NumPy work runs outside both.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from whoosh import query as wq
from whoosh.searching import Searcher

from cablesearch.engine.columns import IndexArrays, SegmentPairs
from cablesearch.engine.postings import (
    Postings,
    average_length,
    doc_frequency,
    field_lengths,
    leaves,
    positions_at,
    read_postings,
    segment_count,
    segment_terms,
)

BM25_B = 0.75
BM25_K1 = 1.2
POSTINGS_CACHE_BYTES = 128 * 1024 * 1024  # posting lists (with scores, positions) kept per snapshot
DF_CACHE_ENTRIES = 100_000  # document frequencies kept per snapshot (cleared when full)
WITHIN_RATIO = 16  # read only the blocks of the candidates when a term has this many times more postings


def bm25(idf: float, tf: np.ndarray, fl: np.ndarray, avg: float) -> np.ndarray:
    """Whoosh's ``scoring.bm25`` over arrays (float32)."""
    return (idf * (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * ((1 - BM25_B) + BM25_B * fl / avg))).astype(
        np.float32
    )


class ByteLRU:
    """Least-recently-used posting lists, bounded by the bytes they hold (not by their number:
    one common word with positions can weigh as much as thousands of rare ones). An entry
    bigger than the whole budget is not kept. Not thread-safe: the snapshot locks around it."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: OrderedDict[tuple[str, bytes], tuple[Postings, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[str, bytes]) -> Postings | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: tuple[str, bytes], p: Postings) -> None:
        """Add or re-measure (after scores or values were added) an entry; evict the oldest."""
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        size = p.nbytes
        if size > self.max_bytes:
            return
        self._items[key] = (p, size)
        self.nbytes += size
        while self.nbytes > self.max_bytes:
            _key, (_p, gone) = self._items.popitem(last=False)
            self.nbytes -= gone


class SharedReads:
    """Posting reads shared by the matchers of several queries evaluated on the same documents
    (``scope``: sorted document numbers; every matcher given it has its ``within`` inside it),
    e.g. the saved searches evaluated on what one commit added: a term is read once, only in
    the posting blocks of the scope (the segments outside it are not read at all)."""

    def __init__(self, scope: np.ndarray):
        self.scope = scope
        self.postings: dict[tuple[str, bytes], Postings] = {}
        self.lock = threading.Lock()


class Snapshot:
    """One open searcher, its arrays and caches. ``close()`` once no search uses it.
    ``cache_bytes`` bounds the posting lists kept between queries; ``segment_pairs`` (a dict
    the caller keeps from one snapshot of an index to the next, used by one builder at a time)
    saves reading the facet values of segments an earlier snapshot had."""

    def __init__(
        self,
        searcher: Searcher,
        generation: Any,
        cache_bytes: int = POSTINGS_CACHE_BYTES,
        segment_pairs: SegmentPairs | None = None,
    ):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.generation = generation
        self.schema = searcher.schema
        self.arrays = IndexArrays.build(self.reader, segment_pairs)
        self.n = self.arrays.n
        self.cache = ByteLRU(cache_bytes)
        self.within_ratio = WITHIN_RATIO
        self._lengths: dict[str, tuple[np.ndarray, float] | None] = {}
        self._lexicons: dict[str, list[str]] = {}
        self._dfs: dict[tuple[str, bytes], int] = {}  # (field, term) -> documents
        self._rid_columns: dict[str, list[str]] = {}  # segment id -> its reference-ID column
        self._lock = threading.Lock()
        self.io = threading.RLock()
        self.users = 0
        self.retired = False
        self.closed = False

    # -- terms ------------------------------------------------------------------------------

    def to_bytes(self, fieldname: str, text: str) -> bytes:
        """A query term as the field stores it."""
        return self.schema[fieldname].to_bytes(text)

    def term_postings(self, fieldname: str, btext: bytes, positions: bool = False) -> Postings:
        """A term's postings (cached); with ``positions``, also their raw values."""
        key = (fieldname, btext)
        with self._lock:
            p = self.cache.get(key)
        if p is None or (positions and p.values is None):
            with self.io:
                got = read_postings(self.reader, fieldname, btext, with_values=positions)
            if p is not None:
                got.scores = p.scores
            p = got
            with self._lock:
                self.cache.put(key, p)
        return p

    def lengths(self, fieldname: str) -> tuple[np.ndarray, float] | None:
        """(each document's length, the mean length) of a scorable field, else None."""
        if fieldname not in self._lengths:
            got = None
            if fieldname in self.schema and self.schema[fieldname].scorable:
                with self.io:
                    got = (
                        field_lengths(self.reader, fieldname, self.n),
                        average_length(self.reader, fieldname),
                    )
            with self._lock:
                self._lengths[fieldname] = got
        return self._lengths[fieldname]

    def term_scores(
        self, fieldname: str, btext: bytes, p: Postings | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(docs, BM25F scores) of one term, query boost not applied (``p``: its postings when
        the caller has them already; partial ones are scored with the term's full document
        frequency)."""
        p = p if p is not None else self.term_postings(fieldname, btext)
        s = p.scores
        if s is None:
            lengths = self.lengths(fieldname)
            if lengths is None or not p.df:
                s = p.weights.astype(np.float32)
            else:
                fl, avg = lengths
                df = self.doc_frequency(fieldname, btext) if p.partial else p.df
                s = bm25(math.log(self.n / (df + 1)) + 1, p.weights, fl[p.docs], avg or 1.0)
            p.scores = s
            if not p.partial:
                with self._lock:
                    if self.cache.get((fieldname, btext)) is p:
                        self.cache.put((fieldname, btext), p)  # count the scores' bytes
        return p.docs, s

    def postings_within(
        self,
        fieldname: str,
        btext: bytes,
        within: np.ndarray | None,
        positions: bool = False,
        shared: SharedReads | None = None,
    ) -> Postings:
        """A term's postings, complete at least for the documents ``within`` (sorted; None:
        all): when they are not cached and the term is in ``within_ratio`` times more documents
        than that, only the posting blocks holding candidates are read (``partial``, not cached:
        the next query may need other blocks). With ``shared`` (``within`` must lie inside its
        scope), a term is read once for the whole scope and kept there for the next matcher."""
        if within is not None and shared is not None:
            return self._shared_postings(fieldname, btext, positions, shared)
        if within is not None:
            with self._lock:
                cached = self.cache.get((fieldname, btext))
            if cached is None or (positions and cached.values is None):
                df = self.doc_frequency(fieldname, btext)
                if within.size * self.within_ratio <= df:
                    with self.io:
                        p = read_postings(self.reader, fieldname, btext, with_values=positions, within=within)
                    p.partial = True
                    return p
        return self.term_postings(fieldname, btext, positions)

    def _shared_postings(
        self, fieldname: str, btext: bytes, positions: bool, shared: SharedReads
    ) -> Postings:
        key = (fieldname, btext)
        with self._lock:
            p = self.cache.get(key)  # the whole list, read by an earlier search: complete anywhere
        if p is not None and (p.values is not None or not positions):
            return p
        with shared.lock:
            p = shared.postings.get(key)
            if p is None or (positions and p.values is None):
                with self.io:
                    p = read_postings(
                        self.reader, fieldname, btext, with_values=positions, within=shared.scope
                    )
                p.partial = True
                shared.postings[key] = p
            return p

    def term_scores_within(
        self, fieldname: str, btext: bytes, within: np.ndarray | None, shared: SharedReads | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(docs, BM25F scores) of one term, right at least for the documents ``within``
        (sorted; None: all; see :meth:`postings_within`)."""
        return self.term_scores(
            fieldname, btext, self.postings_within(fieldname, btext, within, shared=shared)
        )

    @staticmethod
    def phrase_keys(p: Postings, docs: np.ndarray) -> np.ndarray:
        """Sorted ``doc << 32 | position`` keys of a term's occurrences in ``docs`` (sorted
        document numbers, each containing the term), from its postings read with positions:
        positions are decoded only there, so a phrase of a common and a rare word decodes the
        common word's positions in the few documents that have both."""
        if p.values is None:
            raise ValueError("phrase_keys needs postings read with positions")
        idx = np.searchsorted(p.docs, docs)
        d, pos = positions_at(p.values, docs, idx)
        keys = (d << 32) + pos
        if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            keys = np.unique(keys)
        return keys

    def doc_frequency(self, fieldname: str, text: str | bytes) -> int:
        """Documents holding the term (deleted ones included, as Whoosh counts), kept for the
        snapshot's life: one query asks it for each word up to three times (the AND's order,
        the partial-read decision, BM25F of a partial read), and a new query often repeats
        words."""
        if fieldname not in self.schema:
            return 0
        btext = text if isinstance(text, bytes) else self.to_bytes(fieldname, text)
        key = (fieldname, btext)
        df = self._dfs.get(key)
        if df is None:
            with self.io:
                df = doc_frequency(self.reader, fieldname, btext)
            with self._lock:
                if len(self._dfs) >= DF_CACHE_ENTRIES:
                    self._dfs.clear()
                self._dfs[key] = df
        return df

    def lexicon(self, fieldname: str) -> list[str]:
        """Every term of a field (decoded), cached."""
        lex = self._lexicons.get(fieldname)
        if lex is None:
            with self.io:
                words: set[bytes] = set()
                for leaf, _offset in leaves(self.reader):
                    words.update(segment_terms(leaf, fieldname))
            lex = [t.decode("utf-8") for t in sorted(words)]
            self._lexicons[fieldname] = lex
        return lex

    def expand(
        self,
        q: wq.MultiTerm,
        fuzzy_fields: Iterable[str],
        limit: int,
        check: Callable[[], None] | None = None,
    ) -> list[bytes]:
        """The index terms a wildcard, prefix, regex, range or fuzzy term stands for: at most
        ``limit`` + 1 (more than ``limit`` means too many). ``check`` is called every few
        hundred words looked at (it raises to stop: the query's time limit).

        A fuzzy term of a full-text field is matched against the field's word list with
        RapidFuzz's Levenshtein distance (C++) rather than Whoosh's automaton, whose pure-Python
        construction takes seconds for ``word~5`` and cannot be interrupted; the words found
        are the same (plain Levenshtein, the first ``prefixlength`` letters equal)."""
        check = check or (lambda: None)
        if isinstance(q, wq.FuzzyTerm) and q.fieldname in fuzzy_fields:
            return self._fuzzy(q, limit, check)
        if isinstance(q, (wq.Wildcard, wq.Regex)) and q.fieldname in fuzzy_fields:
            return self._pattern(q, limit, check)
        out: list[bytes] = []
        with self.io:
            for i, t in enumerate(q._btexts(self.reader)):
                if i % 256 == 255:
                    check()
                out.append(t.encode("utf-8") if isinstance(t, str) else t)
                if len(out) > limit:
                    break
        return out

    def _prefix_range(self, lex: list[str], prefix: str) -> tuple[int, int]:
        lo = bisect_left(lex, prefix)
        hi = bisect_left(lex, prefix + "\U0010ffff") if prefix else len(lex)
        return lo, hi

    def _pattern(self, q: wq.PatternQuery, limit: int, check: Callable[[], None]) -> list[bytes]:
        """What Whoosh's ``PatternQuery._btexts`` yields, over the cached word list, looking
        at ``check`` between chunks (a pattern like ``*zq*`` matches few words among many)."""
        lex = self.lexicon(q.fieldname)
        lo, hi = self._prefix_range(lex, q._find_prefix(q.text))
        match = re.compile(q._get_pattern()).match
        out: list[bytes] = []
        for start in range(lo, hi, 20_000):
            check()
            out.extend(w.encode("utf-8") for w in lex[start : min(hi, start + 20_000)] if match(w))
            if len(out) > limit:
                break
        return out[: limit + 1]

    def _fuzzy(self, q: wq.FuzzyTerm, limit: int, check: Callable[[], None]) -> list[bytes]:
        text = q.text if isinstance(q.text, str) else q.text.decode("utf-8")
        lex = self.lexicon(q.fieldname)
        lo, hi = self._prefix_range(lex, text[: q.prefixlength])
        found: list[str] = []
        for start in range(lo, hi, 50_000):
            check()
            chunk = lex[start : min(hi, start + 50_000)]
            got = process.extract(
                text, chunk, scorer=Levenshtein.distance, score_cutoff=int(q.maxdist), limit=None
            )
            found.extend(word for word, _dist, _i in got)
        return [w.encode("utf-8") for w in sorted(found)[: limit + 1]]

    def whoosh_matches(self, q: wq.Query) -> Any:
        """Whoosh's own matcher for a query type the matcher has no array form of. Use under
        ``io``."""
        return q.matcher(self.searcher)

    # -- documents --------------------------------------------------------------------------

    def stored(self, docnum: int) -> dict[str, Any]:
        with self.io:
            return self.searcher.stored_fields(docnum)

    def segment_spans(self) -> list[tuple[str, int, int]]:
        """``(segment id, first document number, document count)`` of each segment, in order:
        a committed segment's documents never change (only deletions are added), so what a
        commit added or changed is in the segments whose ids were not there before it."""
        with self.io:
            return [
                (leaf.segment().segment_id(), offset, leaf.doc_count_all())
                for leaf, offset in leaves(self.reader)
                if hasattr(leaf, "segment") and leaf.segment() is not None
            ]

    def reference_id(self, docnum: int) -> str:
        """The reference ID of a document, from its segment's reference-ID column (read once per
        segment per snapshot)."""
        with self.io:
            for leaf, offset in leaves(self.reader):
                if offset <= docnum < offset + leaf.doc_count_all():
                    key = leaf.segment().segment_id()
                    col = self._rid_columns.get(key)
                    if col is None:
                        col = self._rid_columns[key] = list(leaf.column_reader("reference_id"))
                    return str(col[docnum - offset])
        raise IndexError(f"no document {docnum} in this snapshot")

    def segment_count(self) -> int:
        with self.io:
            return segment_count(self.reader)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.searcher.close()
