"""The engine: every line of cablesearch that knows Whoosh's internals lives in this package.

(Contract being written while the code moves in; see docs/ARCHITECTURE.md.)

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
  files of a flush helper killed with its writer; call holding the lock).
- ``merge``: ``merge_tiers`` / ``tier_merges``, the size-tier merge policy.

File format guarantees: every segment is Whoosh 2.7's W3 codec, postings in the ``Positions``
format, separate (non-compound) files; plain Whoosh (``whoosh-reloaded==2.7.5``) opens, searches
and merges an index cablesearch wrote, with the same documents, stored fields and hits. Any
segment Whoosh writes (compound ``.seg`` ones included) is read, searched and merged by
cablesearch. The table of contents pickles the codec as ``cablesearch.engine.writer.FastCodec``
(older indexes: ``cablesearch.indexer.FastCodec`` or ``cablesearch.index.store.FastCodec``,
both kept importable) and the analyzers as ``cablesearch.schema.*``. Segment and column files
are never changed once written: a commit writes new ones and replaces the table of contents.
"""
