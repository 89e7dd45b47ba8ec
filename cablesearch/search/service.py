"""The search service: one index, searched fast, safely from many threads.

* **One snapshot, reused.** A :class:`SearchService` keeps one open
  :class:`~cablesearch.engine.snapshot.Snapshot` (searcher, per-document arrays, per-term
  caches) until the index generation changes; then it opens a new one and closes the old one
  once no search is using it (no ``refresh()`` chains, which leak descriptors).
* **Matching and scoring in bulk** on NumPy arrays (:mod:`cablesearch.engine.matcher`);
  the total is exact, top-N is ``argpartition`` (:mod:`cablesearch.search.execution`).
* **Facets** are ``bincount`` over the matching mask (:mod:`cablesearch.search.facets`).
* **Highlighting** only the shown hits (:mod:`cablesearch.search.hits`,
  :mod:`cablesearch.search.highlight`; no 32K limit).
* **Time limit**: ``config.query_time_limit`` seconds, then :class:`QueryTimeout`.

Suggestions live in :mod:`cablesearch.search.suggest`, single cables and similar cables in
:mod:`cablesearch.search.cables`, stats and browse counts in :mod:`cablesearch.search.overview`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

from cablesearch.config import Config
from cablesearch.engine.columns import SegmentPairs
from cablesearch.engine.matcher import Matcher
from cablesearch.engine.snapshot import Snapshot
from cablesearch.errors import CableNotFound, QuerySyntaxError, QueryTimeout
from cablesearch.model import Cable
from cablesearch.results import FACETS, SEARCH_FACETS, Hit, SearchRequest, SearchResult
from cablesearch.search import cables, overview
from cablesearch.search.execution import execute, page_docs
from cablesearch.search.facets import check_filter_values, count_facets, count_search_facets
from cablesearch.search.graph import Thread, thread
from cablesearch.search.highlight import Highlighter, Marks, render
from cablesearch.search.hits import make_hit, stored_cable
from cablesearch.search.person import PersonProfile, person_profile
from cablesearch.search.query import BuiltQuery, build, parse_query
from cablesearch.search.since import SinceMatches, match_since
from cablesearch.search.suggest import Suggester


def _generation(index: Any) -> Any:
    gen = getattr(index, "generation", None)
    if gen is not None and not callable(gen):
        return gen
    if hasattr(index, "latest_generation"):
        return index.latest_generation()
    return gen() if callable(gen) else None


def _index_dir(index: Any) -> Path | None:
    for name in ("index_dir", "path", "dirname"):
        value = getattr(index, name, None)
        if isinstance(value, (str, Path)):
            return Path(value)
    folder = getattr(getattr(index, "storage", None), "folder", None)
    return Path(folder) if folder else None


def _check_deadline(deadline: float, limit: float) -> None:
    if time.monotonic() > deadline:
        raise QueryTimeout(f"listing the cables ran past the {limit:g} s time limit; ask for fewer")


def check_page(result: SearchResult) -> None:
    """Raise QuerySyntaxError when ``result`` is a page past the last one (page 1 of nothing is
    a fine answer: no cable matches)."""
    last = max(1, -(-result.total // result.page_size))
    if result.page <= last:
        return
    if result.total == 0:
        raise QuerySyntaxError(
            f"there is no page {result.page}: no cable matches, so page 1 is the only page"
        )
    matches = "1 cable matches" if result.total == 1 else f"{result.total:,} cables match"
    raise QuerySyntaxError(
        f"there is no page {result.page}: {matches}, on {last:,} page{'s' if last != 1 else ''} "
        f"of {result.page_size}; the last page is {last:,}"
    )


class SearchService:
    """Searches one index (a CableIndex, or anything with ``searcher()`` and a generation).

    API (what the CLI and the web layer use):

    * ``search(SearchRequest) -> SearchResult`` — raises QuerySyntaxError (bad query, filter,
      date, sort, page) or QueryTimeout. ``result.facets`` has tag/origin/classification/year
      (``[(value, count)]`` most frequent first, ``request.facet_limit`` each) and ``month``
      (``[("YYYY-MM", count)]`` chronological, every month with matches: the timeline);
      ``result.notice`` says when the query had only stop words, or what a citation-graph
      operator could not do (unknown ID, thread cut by the caps); ``result.suggestions``
      ``[(corrected query, cables)]`` ("did you mean", most cables first; ``suggestion`` is
      the first). A filter value no cable has: ``UnknownFilterValue`` (a QuerySyntaxError
      with ``.suggestions``, the nearest values with their counts). Facets are counted
      multi-select style: each with every filter but its own; ``warning`` counts the kinds
      of parse warnings (filter: ``request.warnings``).
    * ``thread(reference_id, depth=None) -> Thread`` (``Thread.to_json()`` for the web).
    * ``get(reference_id) -> Cable`` (CableNotFound), ``cited_by(id) -> list[Hit]`` (cables
      whose REF line cites it, oldest first), ``similar(id, limit) -> list[Hit]``,
      ``stats() -> dict``, ``browse() -> dict``, ``facet_counts(limit) -> dict``,
      ``known_ids(ids) -> set`` (which IDs are in the index),
      ``highlight_text(text, query, reference_id=None) -> str`` (escaped HTML, what the
      query matched in <mark>; unmarked past the time limit).
    * ``check_page(result)`` (module function): QuerySyntaxError for a page past the last.
    * ``warm()`` builds the arrays and word lists now; ``close()`` closes the searcher.
    """

    def __init__(self, index: Any, config: Config | None = None):
        self.index = index
        self.config = config or Config()
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._segment_pairs: SegmentPairs = {}  # facet values per segment, for the next snapshot
        self._highlighters: dict[int, Highlighter] = {}
        self.suggester = Suggester(self.config.query_time_limit)

    # -- snapshot lifecycle -----------------------------------------------------------------

    def _current(self) -> Snapshot:
        gen = _generation(self.index)
        with self._lock:
            snap = self._snap
            if snap is None or snap.generation != gen:
                new = Snapshot(self.index.searcher(), gen, segment_pairs=self._segment_pairs)
                if snap is not None:
                    self._retire(snap)
                self._snap = snap = new
            snap.users += 1
            return snap

    @staticmethod
    def _retire(snap: Snapshot) -> None:
        snap.retired = True
        if snap.users == 0:
            snap.close()

    def _release(self, snap: Snapshot) -> None:
        with self._lock:
            snap.users -= 1
            if snap.retired and snap.users == 0:
                snap.close()

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """The current snapshot, kept open until the block ends."""
        snap = self._current()
        try:
            yield snap
        finally:
            self._release(snap)

    def warm(self) -> None:
        """Open the searcher and build what the first searches would otherwise build: the
        per-document arrays, the facets' value orders and merged people (and the NumPy modules
        they load: ~40 ms the first search paid) and the did-you-mean word lists (seconds on
        the full release)."""
        with self.snapshot() as snap:
            count_facets(snap.arrays, snap.arrays.live, 1, SEARCH_FACETS + ("month",))
            self.suggester.prepare(snap)

    def close(self) -> None:
        """Close the open searcher (the service reopens one if used again)."""
        with self._lock:
            if self._snap is not None:
                self._retire(self._snap)
                self._snap = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def highlighter(self, snap: Snapshot) -> Highlighter:
        """The highlighter of the index's body analyzer (its word memo is kept)."""
        analyzer = snap.schema["body"].analyzer
        h = self._highlighters.get(id(analyzer))
        if h is None:
            h = self._highlighters[id(analyzer)] = Highlighter.for_analyzer(analyzer)
        return h

    # -- search -----------------------------------------------------------------------------

    def build(self, request: SearchRequest) -> BuiltQuery:
        """Validate a request against the index schema (QuerySyntaxError when bad)."""
        with self.snapshot() as snap:
            return build(request, snap.schema, self.config.max_page_size)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: total, one page of hits with snippets, facets and suggestions.

        The time limit covers all of it: matching, then the snippets (QueryTimeout). A filter
        value no cable has raises :class:`~cablesearch.search.facets.UnknownFilterValue`."""
        t0 = time.perf_counter()
        with self.snapshot() as snap:
            built = build(request, snap.schema, self.config.max_page_size)
            check_filter_values(
                snap.arrays,
                {"tags": built.tags, "origins": built.origins, "classifications": built.classifications},
            )
            run = execute(snap, built, self.config.query_time_limit)
            h = self.highlighter(snap)
            scores = run.scores
            hits = []
            for d in page_docs(snap, built, run):
                if run.matcher is not None:
                    run.matcher.check_time()
                marks = run.marks(d) if built.highlight else Marks()
                hits.append(make_hit(snap, d, float(scores[d]) if scores is not None else 0.0, marks, h))
            facets = count_search_facets(snap.arrays, run, built.facet_limit, SEARCH_FACETS + ("month",))
            suggestions: list[tuple[str, int]] = []
            if run.matcher is not None and run.matcher.missing_terms:
                suggestions = self.suggester.suggestions(snap, built, run.matcher, h)
        return SearchResult(
            query=request.query,
            total=run.total,
            page=built.page,
            page_size=built.page_size,
            hits=hits,
            facets=facets,
            suggestion=suggestions[0][0] if suggestions else None,
            suggestions=suggestions,
            notice=run.notice,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )

    def iter_matches(self, request: SearchRequest) -> Iterator[tuple[Cable, float]]:
        """Every cable matching ``request`` (its page and page size ignored), in the request's
        sort order, with its score: for exports. All of it comes from ONE snapshot, so a commit
        during a long export neither repeats nor skips cables; records are read one at a time as
        they are taken, so memory is the ordered match array (8 bytes a match), whatever the
        count. Raises QuerySyntaxError / QueryTimeout at the first ``next()``, before any cable."""
        with self.snapshot() as snap:
            built = build(replace(request, page=1, page_size=1), snap.schema, self.config.max_page_size)
            run = execute(snap, built, self.config.query_time_limit)
            everything = replace(built, page=1, page_size=max(run.total, 1))
            for d in page_docs(snap, everything, run):
                cable = stored_cable(snap, d)
                if cable is not None:
                    yield cable, float(run.scores[d]) if run.scores is not None else 0.0

    def match_since(
        self, requests: Sequence[SearchRequest], seen: Collection[str], with_cables: bool = False
    ) -> SinceMatches:
        """For saved searches: which cables of the segments NOT in ``seen`` match each request
        (see :mod:`cablesearch.search.since`); the answer's ``segments`` is the next ``seen``."""
        with self.snapshot() as snap:
            return match_since(
                snap,
                requests,
                seen,
                max_page_size=self.config.max_page_size,
                time_limit=self.config.query_time_limit,
                with_cables=with_cables,
            )

    def highlight_text(self, text: str, query: str, reference_id: str | None = None) -> str:
        """``text`` escaped as HTML with what the query matched marked (e.g. a whole cable body
        when arriving from a search): phrases as phrases, and, given the ``reference_id`` of
        the cable the text comes from, only the words of the query's branches that matched
        that cable (without it, every positive word and phrase of the query).

        Never raises for the query: one that does not parse, or that runs past the time limit
        (a fuzzy or wildcard expansion, or the marking itself), gives the text escaped and
        unmarked -- the cable page still shows the cable."""
        with self.snapshot() as snap:
            unmarked = render(text, [], 0, len(text))
            try:
                q = parse_query(query, snap.schema)
            except QuerySyntaxError:
                return unmarked
            if q is None:
                return unmarked
            matcher = Matcher(snap, self.config.query_time_limit)
            try:
                matcher.run(q)
                doc = cables.docnum(snap, reference_id) if reference_id else None
                marks = Marks.from_units(matcher.units(doc))
                marked = self.highlighter(snap).mark(text, marks)
                matcher.check_time()
            except QueryTimeout:
                return unmarked
            return marked

    # -- single cables ----------------------------------------------------------------------

    def person(self, name: str) -> PersonProfile:
        """A person's cables, posts and roles (:mod:`cablesearch.search.person`)."""
        return person_profile(self, name)

    def get(self, reference_id: str) -> Cable:
        """The whole cable as indexed (from the stored record). Raises CableNotFound."""
        with self.snapshot() as snap:
            d = cables.docnum(snap, reference_id)
            if d is None:
                raise CableNotFound(
                    f"no cable {reference_id!r} in the index; search for it "
                    f"with: cablesearch search 'id:{reference_id}*'"
                )
            cable = cables.stored_cable(snap, d)
            if cable is None:
                raise CableNotFound(f"cable {reference_id!r} has no stored record; re-index it")
            return cable

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        """The IDs (as given) that are in the index — for linking REF lines."""
        with self.snapshot() as snap:
            return {rid for rid in ids if rid and cables.docnum(snap, rid) is not None}

    def cited_by(self, reference_id: str, limit: int = 200) -> list[Hit]:
        """Cables whose REF line cites ``reference_id``, oldest first (no snippets' marks)."""
        with self.snapshot() as snap:
            h = self.highlighter(snap)
            deadline = time.monotonic() + self.config.query_time_limit
            hits = []
            for d in cables.citing(snap, reference_id, limit):
                _check_deadline(deadline, self.config.query_time_limit)
                hits.append(make_hit(snap, d, 0.0, Marks(), h))
            return hits

    def thread(self, reference_id: str, depth: int | None = None) -> Thread:
        """The cables connected to ``reference_id`` through citations either way (at most
        ``depth`` steps; None: up to the caps), oldest first, with who cites whom and the
        cited IDs missing from the index (:mod:`cablesearch.search.graph`). Raises
        CableNotFound for an ID neither in the index nor cited by a cable in it."""
        with self.snapshot() as snap:
            return thread(snap, reference_id, depth)

    def similar(self, reference_id: str, limit: int = 10) -> list[Hit]:
        """Cables like this one: the cable's key terms (tf·idf over subject and body) searched
        as an OR query, the cable itself left out. Raises CableNotFound."""
        if limit < 1 or limit > self.config.max_page_size:
            raise QuerySyntaxError(f"limit must be a whole number from 1 to {self.config.max_page_size}")
        deadline = time.monotonic() + self.config.query_time_limit
        cable = self.get(reference_id)
        with self.snapshot() as snap:
            terms = cables.key_terms(snap, cable)
            if not terms:
                return []
            found = cables.similar_docs(snap, terms, cables.docnum(snap, reference_id), limit)
            hl = Marks(frozenset(t for t, _ in terms))
            h = self.highlighter(snap)
            hits = []
            for d, score in found:
                _check_deadline(deadline, self.config.query_time_limit)
                hits.append(make_hit(snap, d, score, hl, h))
            return hits

    # -- overviews --------------------------------------------------------------------------

    def facet_counts(self, limit: int = 0) -> dict[str, list[tuple[str, int]]]:
        """Facet counts over the whole index (``limit`` 0: every value)."""
        with self.snapshot() as snap:
            return count_facets(snap.arrays, snap.arrays.live, limit, FACETS + ("month",))

    def browse(self) -> dict[str, list[tuple[str, int]]]:
        """Counts over all cables, like the seed page's sidebar: ``created`` ("YYYY-MM"),
        ``released`` ("YYYY-MM-DD"), chronological; ``origin``, ``tag``, ``classification``,
        most frequent first (all values)."""
        with self.snapshot() as snap:
            return overview.browse(snap)

    def stats(self) -> dict[str, Any]:
        """Counts, date ranges, index size on disk and last update, as a JSON-ready dict."""
        with self.snapshot() as snap:
            return overview.stats(snap, _index_dir(self.index))
