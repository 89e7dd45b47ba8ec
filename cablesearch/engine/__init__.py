"""The engine: every line of cablesearch that knows Whoosh's internals lives in this package.

The rest of cablesearch calls only what this contract names; docs/ARCHITECTURE.md shows where
the engine sits in the pipeline.

Read side
---------
Modules: :mod:`~cablesearch.engine.postings` (posting lists, positions, field lengths, date
columns, deletions), :mod:`~cablesearch.engine.columns` (``IndexArrays``:
per-document facet ids and dates), :mod:`~cablesearch.engine.snapshot` (``Snapshot``: one open
searcher with its arrays and per-term caches, BM25F per term), :mod:`~cablesearch.engine.matcher`
(``Matcher``: a parsed query tree evaluated on arrays), :mod:`~cablesearch.engine.graph`
(``CitationGraph``: who cites whom as CSR arrays, per snapshot),
:mod:`~cablesearch.engine.citations` (each segment's citations, read once and kept across
snapshots), :mod:`~cablesearch.engine.schema` (analysis: ``FastStemmingAnalyzer``,
``fold_accents``, ``word_analysis``).

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
  ``MAX_EXPANSION`` words: ``QueryTimeout``. ``matcher.highlight_terms`` /
  ``missing_terms`` are the positive full-text terms and those with no posting.
* ``GraphQuery`` nodes (``cites:``/``citedby:``/``thread:``; :mod:`~cablesearch.engine.graph`)
  are cablesearch's own: the matcher evaluates them on ``graph_of(snap)`` (built once per
  snapshot, reading only the segments no earlier snapshot's graph read), they do not score,
  and their notices (unknown ID, thread cut) are in ``matcher.notices``. Plain Whoosh finds
  nothing for them.
* Scores of a node count only where the node matches (an AND's children do not leak).
* ``Matcher(snap, time_limit, within=docs)`` (sorted document numbers, e.g. those passing a
  search's filters): mask and scores are then exact for those documents only (common words are
  read only in the posting blocks around them). An AND evaluates its rarest parts first and
  each next part only where the earlier ones matched; results and ``units`` are the same.
* Posting lists of common terms (64+ postings in a segment), with positions, are read from the
  segment's side file (:mod:`~cablesearch.engine.sidefile`) when it has a sound one, else
  from Whoosh's W3 blocks: the answers are the same either way (``read_postings`` gives the
  same docs and weights; ``values`` is then a ``PositionValues``, read through
  ``positions_at``). ``postings.doc_frequency`` takes a common term's count per segment from
  the side file's directory (``Snapshot.doc_frequency`` keeps them), and
  ``postings.segment_words(leaf, fields)`` gives the speller a segment's word list from it
  (None: read the term tables with ``segment_terms``); the answers are Whoosh's.
* ``Matcher(snap, time_limit, within=docs, shared=SharedReads(scope))`` (``docs`` inside
  ``scope``): the matchers of several queries on the same documents (saved searches on what a
  commit added) read each term once, in the scope's posting blocks only (segments without
  any of its documents are not read), wildcard expansions included; results are as without.
* A snapshot keeps posting lists (with their scores and raw positions) in an LRU bounded by
  bytes: ``Snapshot(searcher, generation, cache_bytes=POSTINGS_CACHE_BYTES)``. With
  ``segment_pairs=`` (a dict its owner keeps from one snapshot to the next, one builder at a
  time) the facet values of segments seen before are not read again; the arrays are the same.
* Analysis: a field's analyzer is the one pickled in the index (``snap.schema``); queries are
  analysed with it, so old indexes (no accent folding) keep matching what they indexed.
  ``tests/test_engine_compare.py`` holds this contract against plain Whoosh.

Write side
----------
What the rest of the program may call (all of it used by ``cablesearch.index.store``):

- ``storage``: ``exists(dir)``, ``open_existing(dir)`` (refuses another schema with
  ``IndexError_``), ``create(dir)`` (caller holds the write lock), ``open_searcher(ix, dir)``
  (every column file open at once), ``while_files_change(dir, verb, fn)`` with ``Vanished``
  (retry while another process's commit replaces files), ``generation(ix)``, ``segments(ix)``
  (``SegmentInfo``: documents and deletions), ``per_segment(cache, reader, build)``,
  ``term_docnums(reader, field, text)``, ``default_schema()``.
- ``writer``: ``prepare(cable) -> PreparedDoc`` (picklable; runs in workers),
  ``open_writer(ix, limitmb) -> FastSegmentWriter`` (``add_prepared``, ``delete_document``,
  ``delete_added``, ``is_deleted``, ``docnum``, ``committed_reader``,
  ``has_committed_documents``), ``commit(w, merge=False)`` (cancels on failure),
  ``cancel(w)``, ``merges_due(ix)``, ``SegmentIds.read(leaf)``, ``FastCodec``.
- ``flush``: ``write_terms`` (called by the writer at commit), ``clear_leftovers(dir)`` (the
  files of a flush helper killed with its writer, and half-written side files; call holding
  the lock).
- ``sidefile``: the writer writes each new segment's side file itself (flushes and merges);
  ``verify.verify_side`` checks one for ``cablesearch check``.
- ``merge``: ``merge_tiers`` / ``tier_merges``, the size-tier merge policy.

File format guarantees: every segment is Whoosh 2.7's W3 codec, postings in the ``Positions``
format, separate (non-compound) files; plain Whoosh (``whoosh-reloaded==2.7.5``) opens, searches
and merges an index cablesearch wrote, with the same documents, stored fields and hits. Any
segment Whoosh writes (compound ``.seg`` ones included) is read, searched and merged by
cablesearch. The table of contents pickles the codec as ``cablesearch.engine.writer.FastCodec``
(older indexes: ``cablesearch.indexer.FastCodec`` or ``cablesearch.index.store.FastCodec``,
both kept importable) and the analyzers as ``cablesearch.schema.*``. Segment and column files
are never changed once written: a commit writes new ones and replaces the table of contents.

Side files: every segment cablesearch writes (new or merged) has ``<segment id>.npp`` beside
its Whoosh files, written under ``.npp.tmp`` and renamed before the table of contents naming
the segment is written; plain Whoosh never reads it, and its own commits delete it with its
segment (the name matches Whoosh's segment-file pattern). It is not in
``verify.segment_files`` (not in the manifest's sizes and checksums): it checks itself (CRCs).
A segment without one (an index written before side files, a segment plain Whoosh merged) is
read from its W3 blocks, only slower; the next merge of it, or ``cablesearch index
--rebuild``, writes one. A damaged side file is ignored by readers (never a wrong answer) and
reported by ``cablesearch check``.
"""
