"""The engine: every line of cablesearch that knows Whoosh's internals lives in this package.

(Contract being written while the code moves in; see docs/ARCHITECTURE.md.)

Read side
---------
Modules: :mod:`~cablesearch.engine.postings` (posting lists, positions, field lengths, date
columns, deletions, ``per_segment``), :mod:`~cablesearch.engine.columns` (``IndexArrays``:
per-document facet ids and dates), :mod:`~cablesearch.engine.snapshot` (``Snapshot``: one open
searcher with its arrays and per-term caches, BM25F per term), :mod:`~cablesearch.engine.matcher`
(``Matcher``: a parsed query tree evaluated on arrays), :mod:`~cablesearch.engine.schema`
(analysis: ``FastStemmingAnalyzer``, ``fold_accents``, ``word_analysis``).

What the search package may rely on:

* ``Snapshot(searcher, generation)`` reads everything it needs from ``searcher`` once; it is
  never changed by later commits (a new generation needs a new snapshot) and must be
  ``close()``-d when no search uses it. Documents are numbered globally, deleted ones
  included: ``snap.arrays.live`` says which count. All reader I/O goes through ``snap.io``.
* ``Matcher(snap, time_limit).run(q) -> (mask, scores)``: ``mask`` (bool, one per document)
  is exactly the documents Whoosh's ``searcher.search(q, limit=None)`` returns once ANDed with
  ``live``; ``scores`` (float32, or None when nothing in the query scores) are Whoosh's BM25F
  scores (B=0.75, K1=1.2) of those documents within float tolerance, and 0 elsewhere. The
  documented differences (matcher module doc): wildcards/prefixes/fuzzy score as the sum of
  their words times their boost; date ranges and NOT clauses do not score; ID/KEYWORD values
  also match case-insensitively when the exact value is absent; NOT is right where Whoosh's
  ``AndNot`` matcher is not. Past ``time_limit`` seconds, or a wildcard of more than
  ``MAX_EXPANSION`` words: ``QueryTimeout`` (wildcard and fuzzy expansion,
  ``snap.expand(q, fields, limit, check)``, look at the deadline as they go; full-text fuzzy
  terms use RapidFuzz over the word list, the same words as Whoosh's automaton).
  ``matcher.highlight_terms`` / ``missing_terms`` are the positive full-text terms and those
  with no posting; ``matcher.units(doc)`` the words and phrases ``(words, slop)`` of the
  branches that matched ``doc`` (for highlighting).
* Scores of a node count only where the node matches (an AND's children do not leak).
* ``Matcher(snap, time_limit, within=docs)`` (sorted document numbers, e.g. those passing a
  search's filters): mask and scores are then exact for those documents only (common words are
  read only in the posting blocks around them). An AND evaluates its rarest parts first and
  each next part only where the earlier ones matched; results and ``units`` are the same.
* A snapshot keeps posting lists (with their scores and raw positions) in an LRU bounded by
  bytes: ``Snapshot(searcher, generation, cache_bytes=POSTINGS_CACHE_BYTES)``.
* Analysis: a field's analyzer is the one pickled in the index (``snap.schema``); queries are
  analysed with it, so old indexes (no accent folding) keep matching what they indexed.
  ``tests/test_engine_compare.py`` holds this contract against plain Whoosh.
"""
