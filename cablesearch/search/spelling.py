"""Fast "did you mean" candidates: the closest frequent words of the index to a misspelt one.

Whoosh's ``terms_within`` walks the whole term dictionary through a Levenshtein automaton in
pure Python (50–100 ms a word on 20,000 cables, more on the full release). Here each segment's
words are read once, into buckets by first letter, and kept for as long as the segment lives
(segments never change, so a commit only adds the words of its new, small segment). A lookup
compares the word with one bucket per segment with RapidFuzz's optimal-string-alignment
distance (C++, a few milliseconds) and adds up the document frequencies across segments.

Only words of letters are kept (no numbers, IDs or dates: nobody misspells those into a
suggestion worth having), from the full-text fields. A word with no near neighbour of the same
first letter is compared with all words when it is long enough (``gaddafi`` finds ``qadhafi``,
the cables' spelling).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from cablesearch.engine.storage import per_segment

MIN_LENGTH = 3
ANY_FIRST_MIN_LENGTH = 5  # shorter words only look among words of their own first letter


def max_distance(term: str) -> int:
    """Edits allowed for a word of this length: 1 up to 5 letters, else 2."""
    return 1 if len(term) <= 5 else 2


@dataclass
class _Bucket:
    words: list[str]
    dfs: np.ndarray


class SegmentWords:
    """The words of one segment's full-text fields, by first letter, with document frequency
    (the larger of the fields' when a word is in several)."""

    def __init__(self, reader: Any, fields: Iterable[str]):
        dfs: dict[str, int] = {}
        for fieldname in fields:
            if fieldname not in reader.schema:
                continue
            for btext, info in reader.iter_field(fieldname):
                if len(btext) < MIN_LENGTH or not btext.isalpha():
                    continue
                word = btext.decode("ascii")
                df = info.doc_frequency()
                if df > dfs.get(word, 0):
                    dfs[word] = df
        groups: dict[str, list[str]] = {}
        for word in dfs:
            groups.setdefault(word[0], []).append(word)
        self.buckets = {
            first: _Bucket(words, np.fromiter((dfs[w] for w in words), np.int64, count=len(words)))
            for first, words in groups.items()
        }
        everything = list(dfs)
        self.all = _Bucket(everything, np.fromiter(dfs.values(), np.int64, count=len(dfs)))

    def within(self, term: str, maxdist: int, any_first: bool = False) -> list[tuple[str, int, int]]:
        """(word, distance, df) of the words within ``maxdist`` edits: of the same first letter,
        or of any with ``any_first``."""
        bucket = self.all if any_first else self.buckets.get(term[:1])
        if bucket is None:
            return []
        found = process.extract(term, bucket.words, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
        return [(word, int(dist), int(bucket.dfs[i])) for word, dist, i in found]


class Speller:
    """Finds the closest frequent word, over the segments of a reader. Thread-safe; keeps the
    words of the segments it has seen while they are still in use."""

    def __init__(self, fields: Iterable[str]):
        self.fields = tuple(fields)
        self._segments: dict[str, SegmentWords] = {}
        self._lock = threading.Lock()

    def _segment_words(self, reader: Any) -> list[SegmentWords]:
        with self._lock:
            return [
                words
                for _offset, words in per_segment(
                    self._segments, reader, lambda leaf: SegmentWords(leaf, self.fields)
                )
            ]

    @property
    def segments_read(self) -> int:
        """How many segments' words are held (read once, dropped with their segment)."""
        with self._lock:
            return len(self._segments)

    def prepare(self, reader: Any) -> None:
        """Read the words of the reader's segments now rather than at the first lookup."""
        self._segment_words(reader)

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
            for seg in segments:
                for word, dist, df in seg.within(term, max_distance(term), any_first):
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
