"""The fast segment writer: prepared documents in, Whoosh's W3 segment files out.

Plain Whoosh spends most of its indexing time outside analysis: every posting goes through
``PostingPool.add``, one big sort of all postings, and at commit ``FieldWriter.add_postings``
reads each posting's document length back. Here a cable is first turned into a
:class:`PreparedDoc` (:func:`prepare`: analysis done, stored and column values computed -- work
that runs in worker processes), and :class:`FastSegmentWriter` keeps the postings of its new
segment in per-term lists (documents arrive in docnum order, so only the distinct terms are
sorted); at commit they are written by :func:`cablesearch.engine.flush.write_terms`. The bytes
are Whoosh's (codec W3, format ``Positions``), so every Whoosh reader and merge works on them.
Beside them the writer writes the segment's side file (:mod:`cablesearch.engine.sidefile`:
its common terms' doc ids, frequencies and positions as NumPy arrays), for new and merged segments alike.
"""

from __future__ import annotations

import hashlib
import pickle
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher
from whoosh.columns import VarBytesColumn
from whoosh.fields import Schema
from whoosh.index import FileIndex
from whoosh.writing import NO_MERGE, SegmentWriter

from cablesearch.engine import flush, sidefile
from cablesearch.engine import schema as schema_mod
from cablesearch.engine.flush import PICKLE_PROTOCOL, Forked, postings_count, write_terms
from cablesearch.engine.merge import merge_tiers, tier_merges
from cablesearch.engine.storage import default_schema
from cablesearch.model import Cable

# The values of single-position postings (most postings), one object each: a prepared cable
# comes from a worker as a copy, and a segment holds millions of them until it is written.
SHARED_VALUES = {v: v for v in schema_mod.SINGLE_POSITION_VALUES}
STORED_COMPRESSION = 0  # zlib level of a document's stored fields, see prepare()
CODEC_COMPRESSION = 1  # zlib level of posting blocks (Whoosh's default 3 costs ~40% of a commit)


@dataclass
class PreparedDoc:
    """A cable turned into what the writer stores: picklable, so workers can build it.

    ``inverted``: (field name, [(term bytes, freq, weight, value bytes)], field length);
    ``stored_blob``: the stored fields as Whoosh's ``_stored`` column keeps them (a zlib-compressed
    pickle of the dict); ``columns``: (field name, column value).
    """

    reference_id: str
    released: datetime | None
    inverted: list[tuple[str, list[tuple[bytes, int, float, bytes]], int]]
    stored_blob: bytes
    columns: list[tuple[str, Any]]
    # of the subject and body with whitespace runs as one space: equal for the same cable read
    # from any of the four forms (see :func:`text_digest`); the manifest tells copies from conflicts
    text_digest: str = ""


def text_digest(cable: Cable) -> str:
    """A digest of the cable's subject and body, whitespace-insensitive (a csv row, an HTML
    page and a telegram of one cable give the same one)."""
    text = " ".join(f"{cable.subject}\n{cable.body}".split())
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def prepare(cable: Cable, schema: Schema | None = None) -> PreparedDoc:
    """Analyse ``cable`` for writing: postings, stored values and column values of each field."""
    schema = schema or default_schema()
    doc = schema_mod.cable_to_doc(cable)
    inverted = []
    stored: dict[str, Any] = {}
    columns = []
    for name in sorted(doc):
        if name not in schema:  # a field newer than the index (e.g. warning): left out
            continue
        value = doc[name]
        field = schema[name]
        if field.indexed:
            fast = field.postings_and_length(value) if isinstance(field, schema_mod.FastText) else None
            if fast is not None:
                items, length = fast
                length = length if field.scorable else 0
            else:
                items = [(t, f, w, v if v is not None else b"") for t, f, w, v in field.index(value)]
                length = sum(f for _, f, _, _ in items) if field.scorable else 0
            inverted.append((name, items, length))
        if field.stored:
            stored[name] = value
        if field.column_type:
            columns.append((name, field.to_column_value(value)))
    # What W3's PickleColumn(CompressedBytesColumn()) writes, at zlib level 0 (stored blocks):
    # most of the bytes are the record, compressed already, and level 1 saved nothing (2,861
    # against 2,862 bytes a release cable) for 0.05 ms a cable; readers decompress any level.
    # Pickle protocol 5, not Whoosh's 2 (~10x slower to write and to read back); any Python
    # 3.8+ reads either.
    blob = zlib.compress(pickle.dumps(stored, PICKLE_PROTOCOL), STORED_COMPRESSION)
    return PreparedDoc(cable.reference_id, cable.released, inverted, blob, columns, text_digest(cable))


class FastCodec(W3Codec):
    """Whoosh's W3 codec under the name every segment written by cablesearch records: the
    index's TOC pickles each segment's codec object, so this class must stay importable (also
    as ``cablesearch.indexer.FastCodec`` and ``cablesearch.index.store.FastCodec``, the names
    earlier versions recorded)."""


def analysed_differently(found: Schema, expected: Schema) -> bool:
    """Whether an index's schema analyses any field otherwise than ``expected`` (this version's
    schema): another analyzer class, or the same class with other settings."""
    for name in found.names():
        if name not in expected:
            continue
        a, b = getattr(found[name], "analyzer", None), getattr(expected[name], "analyzer", None)
        if type(a) is not type(b) or getattr(a, "__dict__", None) != getattr(b, "__dict__", None):
            return True
    return False


def reprepare(prep: PreparedDoc, schema: Schema) -> PreparedDoc:
    """``prep`` prepared again for ``schema`` (an older index's), from the whole cable it stores."""
    stored = pickle.loads(zlib.decompress(prep.stored_blob))
    record = stored.get("record")
    if not record:
        return prep
    return prepare(schema_mod.unpack_cable(record), schema)


class FastSegmentWriter(SegmentWriter):
    """A Whoosh ``SegmentWriter`` that takes :class:`PreparedDoc` objects and writes postings
    without the posting pool (see the module docstring). Documents come in through
    :meth:`add_prepared` only; segments merged in (:func:`merge_tiers`) go to the same lists."""

    def __init__(self, ix: FileIndex, **kwargs: Any):
        super().__init__(ix, **kwargs)
        # field -> term -> flat [docnum, weight, value bytes, field length, docnum, ...]
        self._terms: dict[str, dict[bytes, list[Any]]] = {}
        # An index written by an older version analyses some fields its own way (tags split on
        # spaces, text without accent folding): documents prepared with this version's schema
        # (in worker processes) are analysed again with the index's own, so a field's terms
        # never mix two analyses and queries (analysed with the index's schema) find them.
        self._legacy = analysed_differently(self.schema, default_schema())

    def add_document(self, **fields: Any) -> None:
        raise NotImplementedError("use add_prepared(prepare(cable))")

    def has_committed_documents(self) -> bool:
        """Whether the index had documents (deleted ones included) when this writer opened."""
        return any(s.doc_count_all() for s in self.segments)

    def committed_reader(self) -> Any:
        """A reader of the committed segments as this writer sees them (the writer closes it)."""
        return self.searcher().reader()

    def delete_added(self, docnum: int) -> None:
        """Mark a document added by this writer (not committed yet) deleted."""
        self.newsegment.delete_document(docnum)

    def add_prepared(self, prep: PreparedDoc) -> None:
        """Add one prepared document as the next document of the new segment."""
        self._check_state()
        if self._legacy:
            prep = reprepare(prep, self.schema)
        docnum = self.docnum
        pdw = self.perdocwriter
        schema = self.schema
        pdw.start_doc(docnum)
        shared = SHARED_VALUES.get
        for name, items, length in prep.inverted:
            terms = self._terms.get(name)
            if terms is None:
                terms = self._terms[name] = {}
            for tbytes, _freq, weight, vbytes in items:
                vbytes = shared(vbytes, vbytes)
                plist = terms.get(tbytes)
                if plist is None:
                    terms[tbytes] = [docnum, weight, vbytes, length]
                else:
                    plist.extend((docnum, weight, vbytes, length))
            if length:
                pdw.add_field(name, schema[name], None, length)
        # The stored fields were pickled and compressed by prepare(): write the bytes straight
        # into the raw column under W3's pickle wrapper.
        VarBytesColumn.Writer.add(pdw._colwriters["_stored"]._child, docnum, prep.stored_blob)
        for name, value in prep.columns:
            pdw.add_column_value(name, schema[name].column_type, value)
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: dict[int, int] | None) -> None:
        """Postings of a segment being merged in: straight into the per-term lists. Merged
        documents come after the ones added, and segments are merged one after the other, so
        appending keeps every posting list in docnum order."""
        schema = self.schema
        ndocs = reader.doc_count_all()
        lengths: dict[str, list[int]] = {}
        # The terms table is read in order with each term's info, rather than looked up term
        # by term (the hash lookups were half the cost of a merge).
        termsr = reader._terms
        for (fieldname, tbytes), terminfo in termsr.items():
            if fieldname not in schema:
                continue
            field = schema[fieldname]
            lens = lengths.get(fieldname)
            if lens is None:
                lens = lengths[fieldname] = (
                    [reader.doc_field_length(d, fieldname) for d in range(ndocs)]
                    if field.scorable
                    else [0] * ndocs
                )
            terms = self._terms.setdefault(fieldname, {})
            m = termsr._codec.postings_reader(
                termsr._postfile, terminfo, field.format, term=(fieldname, tbytes)
            )
            flat = terms.setdefault(tbytes, [])
            _merge_postings(m, flat, lens, startdoc, docmap)
            if not flat:
                del terms[tbytes]

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fw = self.fieldwriter
        schema = self.schema
        fields = [(name, schema[name], self._terms[name]) for name in sorted(self._terms) if name in schema]
        folder = self.storage.folder
        segment_id = self.newsegment.segment_id()
        docs = self.docnum

        def write_side_file() -> None:
            # the side file (common terms as NumPy arrays) of the new segment, renamed into
            # place before the commit writes the table of contents that names the segment
            sidefile.write(
                folder,
                segment_id,
                docs,
                [(name, terms) for name, _field, terms in fields],
                [name for name, field, _terms in fields if field.format.supports("positions")],
            )

        # a big flush writes its side file in a fork while the postings are encoded
        postings = postings_count(fields)
        job = (
            Forked.start(write_side_file, "the side file's writer", "writing it here")
            if flush.big_flush(postings)
            else None
        )
        try:
            write_terms(fw, fields, Path(folder), postings)
            fw.close()
            if job is None or not job.join():
                write_side_file()
        finally:
            if job is not None:
                job.close()
        # the postings (millions of small objects) are freed after the commit, see free()

    def free(self) -> None:
        """Release the postings of a committed segment. Freeing them takes a tenth of a second
        per 5,000 cables, so it is done once the new segment is searchable, not before."""
        self._terms = {}


def _merge_postings(
    m: Any, flat: list[Any], lens: list[int], startdoc: int, docmap: dict[int, int] | None
) -> None:
    """Append the postings of matcher ``m`` (renumbered) to ``flat``; deleted ones are left out."""
    if isinstance(m, W3LeafMatcher):
        while not m._atend:  # a whole block at a time
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            if m._values is None:
                m._read_values()
            for docnum, weight, value in zip(m._ids, m._weights, m._values, strict=True):
                newdoc = docmap.get(docnum) if docmap is not None else startdoc + docnum
                if newdoc is not None:
                    flat.extend((newdoc, weight, value or b"", lens[docnum]))
            m._next_block()
        return
    while m.is_active():
        docnum = m.id()
        newdoc = docmap.get(docnum) if docmap is not None else startdoc + docnum
        if newdoc is not None:
            flat.extend((newdoc, m.weight(), m.value() or b"", lens[docnum]))
        m.next()


def open_writer(ix: FileIndex, limitmb: int) -> FastSegmentWriter:
    """A writer of one new segment of ``ix``; the caller holds the index's write lock."""
    return FastSegmentWriter(
        ix, _lk=False, limitmb=limitmb, compound=False, codec=FastCodec(compression=CODEC_COMPRESSION)
    )


def commit(w: FastSegmentWriter, merge: bool = False) -> None:
    """Commit ``w``'s segment (with ``merge``: and the merges the policy asks for, see
    :mod:`cablesearch.engine.merge`); a failed commit is cancelled (Whoosh would keep the
    writer's state), then the error raised."""
    try:
        w.commit(mergetype=merge_tiers if merge else NO_MERGE)
        w.free()
    except BaseException:
        cancel(w)
        raise


def cancel(w: FastSegmentWriter) -> None:
    """Drop what ``w`` wrote and did not commit."""
    try:
        if not w.is_closed:
            w.cancel()
    except Exception:
        pass


def merges_due(ix: FileIndex) -> bool:
    """Whether the merge policy would merge segments of the latest commit now."""
    return bool(tier_merges(ix._segments()))


@dataclass
class SegmentIds:
    """One segment's reference IDs: ID -> its first document number, and any further ones."""

    first: dict[str, int]
    more: dict[str, list[int]]

    @classmethod
    def read(cls, leaf: Any) -> SegmentIds:
        first: dict[str, int] = {}
        more: dict[str, list[int]] = {}
        for docnum, rid in enumerate(leaf.column_reader("reference_id")):
            if rid in first:
                more.setdefault(rid, []).append(docnum)
            else:
                first[rid] = docnum
        return cls(first, more)
