""" "Did you mean": a corrected query text when a word of the query has no match anywhere and a
close, frequent word of the index does -- offered only when the corrected query finds
something (with the same filters). Spelling variants are offered together with their counts
("qadhafi (8), qaddafi (1)"), the one finding more cables first."""

from __future__ import annotations

import re

import numpy as np
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
        """The best corrected query text, or None."""
        found = self.suggestions(snap, built, matcher, h)
        return found[0][0] if found else None

    def suggestions(
        self, snap: Snapshot, built: BuiltQuery, matcher: Matcher, h: Highlighter, limit: int = 3
    ) -> list[tuple[str, int]]:
        """Corrected query texts with the number of cables each finds (with the request's
        filters), best first (:meth:`Speller.candidates`' order: the nearest word and its
        spelling variants, the one in more cables first): one per candidate for
        the first misspelt word (the others take their best correction). Only corrections that
        find something."""
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
            return []
        choices: dict[str, list[str]] = {}
        for word in re.findall(r"\w+", built.text):
            analysed = h.analyze(word.lower())
            if not analysed or analysed[0] not in missing or word in choices:
                continue
            with snap.io:
                found = self.speller.candidates(snap.reader, analysed[0], limit if not choices else 1)
            if not found:
                return []
            surfaces = [self._surface(snap, best, word, h) or best for best, _d, _df in found]
            choices[word] = list(dict.fromkeys(surfaces))
        if not choices:
            return []
        first = next(iter(choices))
        out: dict[str, int] = {}
        for variant in choices[first]:
            text = built.text
            for word, surfaces in choices.items():
                surface = variant if word == first else surfaces[0]
                text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", surface, text)
            count = self._count(snap, built, text)
            if count and text not in out:
                out[text] = count
        return list(out.items())

    def _count(self, snap: Snapshot, built: BuiltQuery, text: str) -> int:
        """Cables a corrected text finds with the request's filters (0: none, or it failed)."""
        if text == built.text:
            return 0
        try:
            q = parse_query(text, snap.schema)
        except QuerySyntaxError:
            return 0
        if q is None:
            return 0
        filters = filter_mask(snap, built)
        # with filters, the corrected query is only evaluated where they pass
        within = None if isinstance(filters, bool) else np.flatnonzero(filters & snap.arrays.live)
        try:
            mask, _ = Matcher(snap, self.time_limit, within=within).run(q)
        except QueryTimeout:
            return 0
        return int(np.count_nonzero(mask & snap.arrays.live & filters))

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
