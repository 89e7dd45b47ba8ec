""" "Did you mean": a corrected query text when a word of the query has no match anywhere and a
close, frequent word of the index does -- offered only when the corrected query finds
something (with the same filters)."""

from __future__ import annotations

import re

from rapidfuzz.distance import OSA

from cablesearch.engine.matcher import FULL_TEXT_FIELDS, Matcher
from cablesearch.engine.snapshot import Snapshot
from cablesearch.errors import QuerySyntaxError, QueryTimeout
from cablesearch.search.execution import filter_mask
from cablesearch.search.highlight import Highlighter
from cablesearch.search.hits import stored_cable
from cablesearch.search.query import BuiltQuery, parse_query
from cablesearch.search.spelling import Speller


class Suggester:
    """Suggestions over the snapshots of one service (keeps the speller's word lists)."""

    def __init__(self, time_limit: float):
        self.time_limit = time_limit
        self.speller = Speller(FULL_TEXT_FIELDS)

    def prepare(self, snap: Snapshot) -> None:
        """Read the word lists now rather than at the first suggestion."""
        with snap.io:
            self.speller.prepare(snap.reader)

    def suggest(self, snap: Snapshot, built: BuiltQuery, matcher: Matcher, h: Highlighter) -> str | None:
        """The corrected query text, or None."""
        missing = {
            text
            for _f, text in matcher.missing_terms
            # a term missing from subject but present in body is not misspelt
            if all(
                not snap.term_postings(f, snap.to_bytes(f, text)).df
                for f in FULL_TEXT_FIELDS
                if f in snap.schema
            )
        }
        if not missing:
            return None
        replacements: dict[str, str] = {}
        for word in re.findall(r"\w+", built.text):
            analysed = h.analyze(word.lower())
            if not analysed or analysed[0] not in missing:
                continue
            with snap.io:
                best = self.speller.closest(snap.reader, analysed[0])
            if best is None:
                return None
            replacements[word] = self._surface(snap, best, word, h) or best
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
        try:
            mask, _ = Matcher(snap, self.time_limit).run(q)
        except QueryTimeout:
            return None
        mask = mask & snap.arrays.live & filter_mask(snap, built)
        return text if mask.any() else None

    @staticmethod
    def _surface(snap: Snapshot, term: str, typed: str, h: Highlighter) -> str | None:
        """A real word that the analyzer turns into ``term`` (stems read badly), taken from a
        cable containing it: of those, the one closest to what was typed."""
        for fieldname in FULL_TEXT_FIELDS:
            docs, _ = snap.term_scores(fieldname, snap.to_bytes(fieldname, term))
            for d in docs[:3].tolist():
                cable = stored_cable(snap, int(d))
                subject = snap.stored(int(d)).get("subject", "") or ""
                text = subject + "\n" + (cable.body if cable else "")
                words = h.matching_words(text, frozenset([term]))
                if words:
                    return min(words, key=lambda w: (OSA.distance(w.lower(), typed.lower()), len(w), w))
        return None
