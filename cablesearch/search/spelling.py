"""Fast "did you mean" candidates: the closest frequent words of the index to a misspelt one.

Whoosh's ``terms_within`` walks the whole term dictionary through a Levenshtein automaton in
pure Python (50–100 ms a word on 20,000 cables, more on the full release). Here a segment's
words are read from its term dictionary one first letter at a time, when a lookup first needs
that letter (keys only: no term info is decoded), and kept for as long as the segment lives
(segments never change, so a commit only adds the words of its new, small segment; the lists
are kept across snapshots by segment id). A lookup compares the word with that letter's words
of each segment with RapidFuzz's optimal-string-alignment distance (C++, a few milliseconds),
then reads the document frequency of the few words found, adding them up across segments. So
the first "did you mean" of a process reads one letter's words, not the whole dictionary.

Only words of letters are kept (no numbers, IDs or dates: nobody misspells those into a
suggestion worth having), from the full-text fields. A word with no near neighbour of the same
first letter is compared with all words when it is long enough (``gaddafi`` finds ``qadhafi``,
the cables' spelling): that reads every letter once.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from cablesearch.engine.postings import segment_terms, segment_words

MIN_LENGTH = 3
ANY_FIRST_MIN_LENGTH = 5  # shorter words only look among words of their own first letter


def max_distance(term: str) -> int:
    """Edits allowed for a word of this length: 1 up to 5 letters, else 2."""
    return 1 if len(term) <= 5 else 2


class SegmentWords:
    """The words of one segment's full-text fields, by first letter, read when first needed.
    Thread-safe. The segment's reader is passed to each call (a reader of the same segment
    from whichever snapshot is current), never kept."""

    def __init__(self, fields: Iterable[str]):
        self.fields = tuple(fields)
        self._buckets: dict[str, list[str]] = {}
        self._all: list[str] | None = None
        self._listed: list[str] | None = None  # the side file's sorted word list, once read
        self._listed_read = False
        self._lock = threading.Lock()

    def _side_list(self, leaf: Any) -> list[str] | None:
        """The segment's sorted word list from its side file (read once), or None."""
        if not self._listed_read:
            self._listed = segment_words(leaf, self.fields)
            self._listed_read = True
        return self._listed

    def _read(self, leaf: Any, prefix: bytes) -> list[str]:
        """The words of letters starting with ``prefix`` in the segment's fields, sorted: a
        slice of the side file's word list when the segment has one, else from its term
        tables."""
        listed = self._side_list(leaf)
        if listed is not None:
            first = prefix.decode("ascii")
            lo = bisect_left(listed, first)
            hi = bisect_left(listed, first[:-1] + chr(ord(first[-1]) + 1)) if first else len(listed)
            return listed[lo:hi]
        words: set[str] = set()
        for fieldname in self.fields:
            for btext in segment_terms(leaf, fieldname, prefix):
                if len(btext) >= MIN_LENGTH and btext.isalpha():
                    words.add(btext.decode("ascii"))
        return sorted(words)

    def _bucket(self, leaf: Any, first: str) -> list[str]:
        got = self._buckets.get(first)
        if got is None:
            got = self._buckets[first] = self._read(leaf, first.encode("ascii"))
        return got

    def all_words(self, leaf: Any) -> list[str]:
        """Every word of letters, sorted (the side file's list, or one read of each field's
        whole word list)."""
        with self._lock:
            if self._all is None:
                words = self._read(leaf, b"")
                if self._side_list(leaf) is None:  # term tables: keep the letters' buckets too
                    groups: dict[str, list[str]] = {}
                    for word in words:
                        groups.setdefault(word[0], []).append(word)
                    self._buckets.update(groups)
                self._all = words
            return self._all

    def within(
        self, leaf: Any, term: str, maxdist: int, any_first: bool = False
    ) -> list[tuple[str, int, int]]:
        """(word, distance, df) of the words within ``maxdist`` edits: of the same first letter,
        or of any with ``any_first``; df is the larger of the fields'."""
        if any_first:
            words = self.all_words(leaf)
        else:
            with self._lock:
                words = self._bucket(leaf, term[:1])
        found = process.extract(term, words, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
        out = []
        for word, dist, _i in found:
            btext = word.encode("ascii")
            df = max(
                (leaf.doc_frequency(f, btext) for f in self.fields if f in leaf.schema),
                default=0,
            )
            if df:
                out.append((word, int(dist), int(df)))
        return out

    @property
    def letters_read(self) -> int:
        """How many first letters' words are held (all of them once ``all_words`` ran)."""
        with self._lock:
            letters = set(self._buckets)
            if self._all is not None:
                letters.update(w[0] for w in self._all)
            return len(letters)


class Speller:
    """Finds the closest frequent word, over the segments of a reader. Thread-safe; keeps the
    words of the segments it has seen while they are still in use."""

    def __init__(self, fields: Iterable[str]):
        self.fields = tuple(fields)
        self._segments: dict[str, SegmentWords] = {}
        self._lock = threading.Lock()

    def _segment_words(self, reader: Any) -> list[tuple[Any, SegmentWords]]:
        """(segment reader, its words) of each segment; segments gone from ``reader`` are
        dropped."""
        out = []
        seen: set[str] = set()
        with self._lock:
            for leaf, _offset in reader.leaf_readers():
                segment = leaf.segment()
                if segment is None:
                    continue
                seg_id = segment.segment_id()
                seen.add(seg_id)
                words = self._segments.get(seg_id)
                if words is None:
                    words = self._segments[seg_id] = SegmentWords(self.fields)
                out.append((leaf, words))
            for gone in set(self._segments) - seen:
                del self._segments[gone]
        return out

    @property
    def segments_read(self) -> int:
        """How many segments' words are held (read once, dropped with their segment)."""
        with self._lock:
            return sum(1 for words in self._segments.values() if words.letters_read)

    def prepare(self, reader: Any) -> None:
        """Read all the words of the reader's segments now rather than at the first lookups."""
        for leaf, words in self._segment_words(reader):
            words.all_words(leaf)

    def closest(self, reader: Any, term: str) -> str | None:
        """The best correction of ``term`` (see :meth:`candidates`), or None."""
        found = self.candidates(reader, term, 1)
        return found[0][0] if found else None

    def candidates(self, reader: Any, term: str, limit: int = 3) -> list[tuple[str, int, int]]:
        """Up to ``limit`` corrections of ``term`` as ``(word, distance, documents)``, best
        first; the word itself is never among them. The nearest word (fewest edits, then most
        documents) comes with its spelling variants -- words of its length one substitution or
        transposition away that are corrections too -- and of those the one in more documents
        leads: ``gaddafi`` is one edit from "qaddafi" (1 cable) and two from "qadhafi" (8),
        variants of each other, so "qadhafi" comes first, the spelling the cables use. Other,
        unrelated corrections are left out (``embasy`` gives "embassy", not also "easy")."""
        if len(term) < MIN_LENGTH or not term.isalpha() or not term.isascii():
            return []
        segments = self._segment_words(reader)
        passes = (False, True) if len(term) >= ANY_FIRST_MIN_LENGTH else (False,)
        for any_first in passes:
            totals: dict[str, tuple[int, int]] = {}
            for leaf, seg in segments:
                for word, dist, df in seg.within(leaf, term, max_distance(term), any_first):
                    if word == term:
                        continue
                    d0, df0 = totals.get(word, (dist, 0))
                    totals[word] = (min(d0, dist), df0 + df)
            if totals:
                ranked = sorted(totals.items(), key=lambda kv: (kv[1][0], -kv[1][1], kv[0]))
                best = ranked[0][0]
                variants = [
                    kv
                    for kv in ranked
                    if kv[0] == best or (len(kv[0]) == len(best) and OSA.distance(kv[0], best) <= 1)
                ]
                variants.sort(key=lambda kv: (-kv[1][1], kv[1][0], kv[0]))
                return [(word, d, df) for word, (d, df) in variants[:limit]]
        return []
