"""The Whoosh index: opening it, the one writer at a time (with a lock that survives crashes),
and a fast path for writing many cables.

Speed. Plain Whoosh spends most of its indexing time outside analysis: every posting goes
through ``PostingPool.add`` (asserts and size accounting), one big sort of all postings, and at
commit ``FieldWriter.add_postings`` reads each posting's document length back from the length
column. Here a document is first turned into a :class:`PreparedDoc` (analysis done, postings
encoded, stored values and column values computed -- work that can run in worker processes,
see :func:`prepare`), and :class:`FastSegmentWriter` keeps the postings of its new segment in
per-term lists (documents arrive in docnum order, so no sort of postings is needed, only of the
distinct terms); at commit it writes the posting lists and the term table itself, in one loop
(:func:`write_terms`): the bytes Whoosh's W3 writers would write. The on-disk format is exactly
Whoosh's (codec W3, format ``Positions``), so every Whoosh reader, searcher, highlighter and
merge works on it. This relies on internals of
``whoosh-reloaded==2.7.5`` (pinned in pyproject.toml).

Locking. The lock is Whoosh's own ``WRITELOCK`` file (an ``flock``, so plain Whoosh writers
conflict with ours too); the holder writes its pid and process start time into the file. A
writer that finds the lock held waits (calling ``on_wait(pid)`` once) until ``timeout``, then
raises :class:`~cablesearch.errors.IndexLocked`. The kernel drops an ``flock`` when its holder
dies, but children that inherited the descriptor keep it; so when the recorded holder is gone
while the lock is still held, the lock is stale: its file is replaced. A short-lived guard lock
makes "take the lock and record the pid" and "judge the lock stale and replace it" atomic with
respect to each other.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import operator
import os
import pickle
import signal
import struct
import time
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3LeafMatcher,
)
from whoosh.columns import VarBytesColumn
from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import _lengths as _HASH_LENGTHS
from whoosh.index import FileIndex
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.system import emptybytes, pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import NO_MERGE, SegmentWriter

from cablesearch.engine import schema as schema_mod
from cablesearch.errors import IndexError_, IndexLocked, IndexNotFound
from cablesearch.model import Cable

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_NAME = "WRITELOCK"
GUARD_NAME = "WRITELOCK.guard"
DEFAULT_LIMITMB = 512
CODEC_COMPRESSION = 1  # zlib level of posting blocks (Whoosh's default 3 costs ~40% of a commit)
COMPRESS_MIN_BYTES = 256
# Pickles of posting blocks and stored fields (Whoosh writes protocol 2, whose bytes objects
# cost ~10x more to write and to load; Whoosh reads them with pickle.loads, any protocol).
PICKLE_PROTOCOL = 5
_POLL = 0.1


# ---------------------------------------------------------------------------------------------
# Prepared documents


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


def prepare(cable: Cable, schema: Schema | None = None) -> PreparedDoc:
    """Analyse ``cable`` for writing: postings, stored values and column values of each field."""
    schema = schema or _default_schema()
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
            items = [(t, f, w, v if v is not None else b"") for t, f, w, v in field.index(value)]
            length = sum(f for _, f, _, _ in items) if field.scorable else 0
            inverted.append((name, items, length))
        if field.stored:
            stored[name] = value
        if field.column_type:
            columns.append((name, field.to_column_value(value)))
    # What W3's PickleColumn(CompressedBytesColumn()) writes, at zlib level 1 (the record inside
    # is compressed already); readers decompress whatever the level. Pickle protocol 5, not
    # Whoosh's 2: protocol 2 writes bytes as codecs.encode(str) calls, ~10x slower to write and
    # to read back; any Python 3.8+ reads either.
    blob = zlib.compress(pickle.dumps(stored, PICKLE_PROTOCOL), 1)
    return PreparedDoc(cable.reference_id, cable.released, inverted, blob, columns)


_SCHEMA: Schema | None = None


def _default_schema() -> Schema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = schema_mod.build_schema()
    return _SCHEMA


# ---------------------------------------------------------------------------------------------
# The fast segment writer


class FastSegmentWriter(SegmentWriter):
    """A Whoosh ``SegmentWriter`` that takes :class:`PreparedDoc` objects and writes postings
    without the posting pool (see the module docstring). Documents come in through
    :meth:`add_prepared` only; merges of old segments still use the ordinary pool."""

    def __init__(self, ix: FileIndex, **kwargs: Any):
        super().__init__(ix, **kwargs)
        # field -> term -> flat [docnum, weight, value bytes, field length, docnum, ...]
        self._terms: dict[str, dict[bytes, list[Any]]] = {}

    def add_document(self, **fields: Any) -> None:  # type: ignore[override]
        raise NotImplementedError("use add_prepared(prepare(cable))")

    def add_prepared(self, prep: PreparedDoc) -> None:
        """Add one prepared document as the next document of the new segment."""
        self._check_state()
        docnum = self.docnum
        pdw = self.perdocwriter
        schema = self.schema
        pdw.start_doc(docnum)
        for name, items, length in prep.inverted:
            terms = self._terms.get(name)
            if terms is None:
                terms = self._terms[name] = {}
            for tbytes, _freq, weight, vbytes in items:
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
        """Postings of a segment being merged in (see :func:`merge_tiers`): straight into the
        per-term lists. Merged documents come after the ones added, and segments are merged one
        after the other, so appending keeps every posting list in docnum order."""
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
            if isinstance(m, W3LeafMatcher):
                # a whole block at a time
                while not m._atend:
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
            else:
                while m.is_active():
                    docnum = m.id()
                    newdoc = docmap.get(docnum) if docmap is not None else startdoc + docnum
                    if newdoc is not None:
                        flat.extend((newdoc, m.weight(), m.value() or b"", lens[docnum]))
                    m.next()
            if not flat:
                del terms[tbytes]

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fw = self.fieldwriter
        schema = self.schema
        fields = [(name, schema[name], self._terms[name]) for name in sorted(self._terms) if name in schema]
        write_terms(fw, fields, Path(self.storage.folder))
        fw.close()
        # the postings (millions of small objects) are freed after the commit, see free()

    def free(self) -> None:
        """Release the postings of a committed segment. Freeing them takes a tenth of a second
        per 5,000 cables, so it is done once the new segment is searchable, not before."""
        self._terms = {}


# ---------------------------------------------------------------------------------------------
# Writing a segment's posting lists and term table

_TERMINFO = struct.Struct("!BfIBBfII")  # W3TermInfo's fixed part; then offset (q), length (i)
_OFFSET = struct.Struct("!q")
_CHUNK_BYTES = 1 << 20
FLUSH_PREFIX = ".flush-"  # the flush helper's files in the index folder
# A flush with at least this many postings is split between this process and a forked helper
# (a 5,000-cable segment has ~1.5 million); below it the fork costs more than it saves.
PARALLEL_POSTINGS = 200_000
# Share of the encoding done here: the helper is slower per term (its first touch of each page
# copies it) but this process also adds all entries to the term table afterwards.
FIRST_SHARE = 0.5

# (field id, field, term -> flat posting list, the terms to write in order)
_Work = list[tuple[int, Any, dict[bytes, list[Any]], list[bytes]]]
# (term table key, value, hash of the key) per term, in order
_Entries = list[tuple[bytes, bytes, int]]


def write_terms(fw: Any, fields: list[tuple[str, Any, dict[bytes, list[Any]]]], workdir: Path) -> None:
    """Write the posting lists and term table of a new segment: the bytes Whoosh's W3 field
    writer, postings writer, term info and ordered hash writer produce together (``start_term``
    / ``add`` / ``finish_term`` per term), computed in one loop and written in large pieces.

    A commit's flush is the part of indexing no parsing worker shares, and it waits at the end
    of every batch; so a big one is cut in two at a term boundary: a forked copy of this process
    (it has the postings already) encodes the second half into a file in ``workdir`` while this
    one encodes the first; the second half's postings are then appended, its offsets shifted.
    If the helper fails, this process encodes that half itself."""
    codec = fw._codec
    work: _Work = []
    for name, field, terms in fields:
        fw.start_field(name, field)  # registers the field's id in the term table
        work.append((fw._fieldid, field, terms, sorted(terms)))
        fw.finish_field()
    postfile, tindex = fw._postfile, fw._tindex
    first, second = _halves(work) if hasattr(os, "fork") else (work, [])
    helper = _Helper.start(second, codec, tindex.hashfn, workdir) if second else None
    try:
        entries = _encode(first, codec, tindex.hashfn, postfile, postfile.tell())
        _add_entries(tindex, entries)
        if second:
            done = helper.join() if helper is not None else None
            if done is None:
                entries = _encode(second, codec, tindex.hashfn, postfile, postfile.tell())
            else:
                posts_path, entries = done
                shift = postfile.tell()
                with open(posts_path, "rb") as f:
                    for chunk in iter(lambda: f.read(_CHUNK_BYTES), b""):
                        postfile.write(chunk)
                entries = _shifted(entries, shift)
            _add_entries(tindex, entries)
    finally:
        if helper is not None:
            helper.close()


def _halves(work: _Work) -> tuple[_Work, _Work]:
    """Cut the work in two (a term costs about as much as six of its postings), the first
    ``FIRST_SHARE`` of it for this process; no cut (everything first) when it is small."""
    flats = sum(len(flat) for _, _, terms, _ in work for flat in terms.values())
    if flats // 4 < PARALLEL_POSTINGS:
        return work, []
    total = flats + 24 * sum(len(keys) for *_, keys in work)
    half, done = total * FIRST_SHARE, 0.0
    for i, (fid, field, terms, keys) in enumerate(work):
        for j, key in enumerate(keys):
            done += 24 + len(terms[key])
            if done >= half:
                return (
                    work[:i] + [(fid, field, terms, keys[: j + 1])],
                    [(fid, field, terms, keys[j + 1 :])] + work[i + 1 :],
                )
    return work, []


class _Helper:
    """A forked copy of this process encoding part of a flush into files in ``workdir``."""

    def __init__(self, pid: int, base: Path):
        self.pid = pid
        self.posts = base.with_suffix(".pst")
        self.terms = base.with_suffix(".trm")
        self._reaped = False

    @classmethod
    def start(cls, work: _Work, codec: Any, hashfn: Callable[[bytes], int], workdir: Path) -> _Helper | None:
        names = cls(0, workdir / f"{FLUSH_PREFIX}{os.getpid()}-{time.monotonic_ns()}")
        # Other threads may run here (a kept worker pool's handlers, a daemon's observer): the
        # copy runs only this thread, touches none of their locks or queues (it encodes, writes
        # its own two files and leaves with os._exit), so forking is safe. (Python 3.12 warns
        # about forking with threads; this project runs on 3.11.)
        try:
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:  # the helper: encode, save, leave without running any cleanup
            code = 1
            try:
                with open(names.posts, "wb") as f:
                    entries = _encode(work, codec, hashfn, f, 0)
                with open(names.terms, "wb") as f:
                    pickle.dump(entries, f, PICKLE_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        names.pid = pid
        return names

    def join(self) -> tuple[Path, _Entries] | None:
        """Wait for the helper: its postings file and term entries, or None if it failed."""
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            log.warning("the flush helper failed (status %s); writing its half here", status)
            return None
        try:
            with open(self.terms, "rb") as f:
                return self.posts, pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            log.warning("the flush helper's output is unreadable (%s); writing its half here", exc)
            return None

    def close(self) -> None:
        if not self._reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._reaped = True
        for path in (self.posts, self.terms):
            path.unlink(missing_ok=True)


def _shifted(entries: _Entries, shift: int) -> _Entries:
    """Term entries whose postings moved ``shift`` bytes further into the postings file."""
    at = _TERMINFO.size
    end = at + _OFFSET.size
    return [
        (key, value[:at] + _OFFSET.pack(_OFFSET.unpack(value[at:end])[0] + shift) + value[end:], h)
        for key, value, h in entries
    ]


def _add_entries(tindex: Any, entries: _Entries) -> None:
    """``OrderedHashWriter.add`` for each entry (keys increasing), written in large pieces."""
    tfile = tindex.dbfile
    index_append = tindex.index.append
    buckets = tindex.buckets
    lastkey = tindex.lastkey
    base = tfile.tell()
    table = bytearray()
    lengths = _HASH_LENGTHS.pack
    for key, value, h in entries:
        if key <= lastkey:
            raise ValueError(f"Keys must increase: {lastkey!r}..{key!r}")
        pos = base + len(table)
        index_append(pos)
        table += lengths(len(key), len(value))
        table += key
        table += value
        buckets[h & 255].append((h, pos))
        lastkey = key
        if len(table) >= _CHUNK_BYTES:
            tfile.write(bytes(table))
            base += len(table)
            table = bytearray()
    tfile.write(bytes(table))
    tindex.lastkey = lastkey


def _encode(work: _Work, codec: Any, hashfn: Callable[[bytes], int], out: Any, base: int) -> _Entries:
    """Encode the posting lists of ``work`` into ``out`` (which is at offset ``base`` of the
    postings file) and give their term table entries."""
    entries: _Entries = []
    posts = bytearray()
    compression = codec._compression
    step = codec._blocklimit * 4
    sub = operator.sub
    dumps = pickle.dumps
    for fieldid, field, terms, keys in work:
        fixedsize = field.format.fixed_value_size()
        keep_values = fixedsize is None or fixedsize < 0
        prefix = pack_ushort(fieldid)
        for tbytes in keys:
            flat = terms[tbytes]
            n = len(flat)
            start = base + len(posts)
            posts += WHOOSH3_HEADER_MAGIC
            total_weight = 0.0
            df = 0
            minlength: int | None = None
            maxlength = 0
            maxweight: float = 0
            for b in range(0, n, step):
                e = b + step if b + step < n else n
                ids = array("I", flat[b:e:4])
                weights = array("f", flat[b + 1 : e : 4])
                values = flat[b + 2 : e : 4]
                if not all(values):
                    values = [v for v in values if v]
                lengths = flat[b + 3 : e : 4]
                bmaxweight = max(max(weights), 0)
                bmaxlength = max(lengths)
                bminlength: int | None
                if bmaxlength:
                    bminlength = min(lengths) or min(x for x in lengths if x)
                else:
                    bminlength = None
                # W3TermInfo.add_block
                total_weight += sum(weights)
                df += len(ids)
                minlength = bminlength if minlength is None else min(minlength, bminlength)  # type: ignore[type-var]
                maxlength = max(maxlength, bmaxlength)
                maxweight = max(maxweight, bmaxweight)
                # W3PostingsWriter._write_block, but pickle protocol 5 (PICKLE_PROTOCOL) and
                # small blocks left uncompressed (the reader reads each block's level)
                mini = (ids[0],) + tuple(map(sub, ids[1:], ids)) if len(ids) > 1 else (ids[0],)
                if all(w == 1.0 for w in weights):
                    mw: Any = None
                elif all(w == weights[0] for w in weights):
                    mw = weights[0]
                else:
                    mw = tuple(weights)
                vs: Any = (
                    tuple(values) if keep_values else None if fixedsize == 0 else emptybytes.join(values)
                )
                data = dumps((mini, mw, vs), PICKLE_PROTOCOL)
                comp = compression if len(data) >= COMPRESS_MIN_BYTES else 0
                if comp:
                    data = zlib.compress(data, comp)
                info = dumps(
                    (
                        len(ids),
                        ids[-1],
                        bmaxweight,
                        comp,
                        length_to_byte(bminlength),
                        length_to_byte(bmaxlength),
                    ),
                    PICKLE_PROTOCOL,
                )
                size = len(info) + len(data)
                posts += pack_int(-size if e == n else size)
                posts += info
                posts += data
            # W3TermInfo.to_bytes (never inlined: W3's inline limit is 1)
            value = (
                _TERMINFO.pack(
                    0,
                    total_weight,
                    df,
                    0 if minlength is None else length_to_byte(minlength),
                    length_to_byte(maxlength),
                    maxweight,
                    flat[0],
                    flat[n - 4],
                )
                + pack_long(start)
                + pack_int(base + len(posts) - start)
            )
            key = prefix + tbytes
            entries.append((key, value, hashfn(key)))
            if len(posts) >= _CHUNK_BYTES:
                out.write(bytes(posts))
                base += len(posts)
                posts = bytearray()
    out.write(bytes(posts))
    return entries


MERGE_FANOUT = 10  # this many segments of one size tier are merged into one
MERGE_MAX_DOCS = 5_000  # segments this big are never merged (bulk commits make them)


def _tier_merges(segments: list[Any]) -> set[int]:
    """The ids of the segments the merge policy (see :func:`merge_tiers`) merges now."""
    tiers: dict[int, list[Any]] = {}
    for seg in segments:
        n = seg.doc_count_all()
        if n < MERGE_MAX_DOCS:
            tiers.setdefault(len(str(max(n, 1))) if n >= 100 else 2, []).append(seg)
    return {id(seg) for group in tiers.values() if len(group) >= MERGE_FANOUT for seg in group}


def merge_tiers(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """Merge policy: segments are grouped by size tier (under 100 documents, under 1,000,
    under MERGE_MAX_DOCS); a tier holding ``MERGE_FANOUT`` segments is merged into the new segment.
    Each document is merged at most once per tier, and big segments (bulk commits) never, so a
    commit never turns into a rewrite of the whole index (Whoosh's MERGE_SMALL can)."""
    from whoosh.reading import SegmentReader

    merge = _tier_merges(segments)
    if not merge:
        return segments
    keep = []
    for seg in segments:
        if id(seg) in merge:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            try:
                writer.add_reader(reader)
            finally:
                reader.close()
        else:
            keep.append(seg)
    return keep


class FastCodec(W3Codec):
    """Whoosh's W3 codec under the name that every segment written by cablesearch records: the
    index's TOC pickles each segment's codec object, so this class must stay importable for
    indexes written earlier to open. (It once carried its own postings writer; the postings
    are now written by :func:`write_terms`.)"""


# ---------------------------------------------------------------------------------------------
# Locking


@dataclass
class LockHolder:
    pid: int
    started: float | None  # the process's start time (clock ticks since boot), to spot pid reuse
    since: float  # when the lock was taken (epoch seconds)
    command: str


def _proc_start(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return float(data.rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(holder: LockHolder) -> bool:
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if holder.started is not None:
        start = _proc_start(holder.pid)
        if start is not None and start != holder.started:
            return False  # the pid was reused by another process
        if start is not None:
            try:
                with open(f"/proc/{holder.pid}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
                if state == b"Z":
                    return False
            except OSError:
                return False
    return True


def read_lock_holder(index_dir: Path) -> LockHolder | None:
    """Who recorded themselves as holding the index lock (may be stale); None if nobody."""
    try:
        data = json.loads((Path(index_dir) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "pid" not in data:
        return None
    return LockHolder(
        int(data["pid"]), data.get("started"), float(data.get("since", 0)), str(data.get("command", ""))
    )


class _Flock:
    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        self.fd = fd
        return True

    def acquire_blocking(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


class WriteLock:
    """The index's write lock with holder records and stale-lock recovery."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._lock = _Flock(self.index_dir / LOCK_NAME)
        self._guard = _Flock(self.index_dir / GUARD_NAME)

    def _try_once(self) -> bool:
        self._guard.acquire_blocking()
        try:
            if not self._lock.try_acquire():
                holder = read_lock_holder(self.index_dir)
                if holder is None or _alive(holder):
                    return False
                # The recorded holder is dead but the flock is still held (a child process
                # inherited it): the lock is stale. Replace the file and take the new one.
                log.warning("recovered the index lock left by pid %d, which is no longer running", holder.pid)
                try:
                    os.unlink(self.index_dir / LOCK_NAME)
                except FileNotFoundError:
                    pass
                if not self._lock.try_acquire():
                    return False
            assert self._lock.fd is not None
            record = {
                "pid": os.getpid(),
                "started": _proc_start(os.getpid()),
                "since": time.time(),
                "command": _command_line(),
            }
            os.ftruncate(self._lock.fd, 0)
            os.pwrite(self._lock.fd, json.dumps(record).encode("utf-8"), 0)
            return True
        finally:
            self._guard.release()

    def acquire(self, timeout: float, on_wait: Callable[[LockHolder | None], None] | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; raise IndexLocked after that."""
        deadline = time.monotonic() + max(timeout, 0.0)
        waited = False
        while True:
            if self._try_once():
                return
            holder = read_lock_holder(self.index_dir)
            if not waited:
                waited = True
                if on_wait is not None:
                    on_wait(holder)
            if time.monotonic() >= deadline:
                who = f"pid {holder.pid}" if holder else "another process"
                if holder and holder.command:
                    who += f" ({holder.command})"
                raise IndexLocked(
                    f"the index at {self.index_dir} is locked by {who}; gave up after waiting "
                    f"{timeout:g}s. Wait for that writer to finish (or stop it), or raise "
                    "lock_timeout (CABLESEARCH_LOCK_TIMEOUT)"
                )
            time.sleep(_POLL)

    def release(self) -> None:
        """Clear the holder record and release the lock."""
        if self._lock.fd is not None:
            try:
                os.ftruncate(self._lock.fd, 0)
            except OSError:
                pass
            self._lock.release()


def _command_line() -> str:
    """This process's command line, short and on one line (for lock messages)."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            parts = [p.decode("utf-8", "replace") for p in f.read().split(b"\0") if p]
    except OSError:
        return ""
    if not parts:
        return ""
    if len(parts) > 2 and parts[1] == "-c":
        parts = parts[:2] + ["..."]
    text = " ".join([os.path.basename(parts[0])] + parts[1:])
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------------------
# The index and its writer


def per_segment(cache: dict[str, T], reader: Any, build: Callable[[Any], T]) -> list[tuple[int, T]]:
    """(document number offset, ``build(segment reader)``) for each segment of ``reader``, built
    once per segment and kept in ``cache`` by segment id (a segment never changes; deletions are
    kept apart); the entries of segments no longer in ``reader`` are dropped. The reader of an
    empty index has no segment."""
    out: list[tuple[int, T]] = []
    seen: set[str] = set()
    for leaf, offset in reader.leaf_readers():
        segment = leaf.segment()
        if segment is None:
            continue
        seg_id = segment.segment_id()
        seen.add(seg_id)
        value = cache.get(seg_id)
        if value is None:
            value = cache[seg_id] = build(leaf)
        out.append((offset, value))
    for gone in set(cache) - seen:
        del cache[gone]
    return out


# After this many lookups of reference IDs in the committed segments, a writer reads each
# segment's reference-ID column into a dict instead: a lookup probes the term table of every
# segment (~5 us each; the whole release has 25 and more), which for a 5,000-cable batch on it
# came to more than a CPU-second. The dicts are kept with the index for the next writers.
ID_MAP_AFTER = 200


@dataclass
class _SegmentIds:
    """One segment's reference IDs: ID -> its first document number, and any further ones."""

    first: dict[str, int]
    more: dict[str, list[int]]

    @classmethod
    def read(cls, leaf: Any) -> _SegmentIds:
        first: dict[str, int] = {}
        more: dict[str, list[int]] = {}
        for docnum, rid in enumerate(leaf.column_reader("reference_id")):
            if rid in first:
                more.setdefault(rid, []).append(docnum)
            else:
                first[rid] = docnum
        return cls(first, more)


class CableWriter:
    """Adds and deletes cables while holding the index lock; see :meth:`CableIndex.writer`.

    Putting a cable whose reference ID is already in the index replaces it. Putting one that was
    put earlier by this same writer marks the earlier copy deleted in the segment being written
    (Whoosh's own ``update_document`` misses those), so there is never a duplicate.
    """

    def __init__(self, index: CableIndex, limitmb: int):
        self._index = index
        self._limitmb = limitmb
        self._w: FastSegmentWriter | None = None
        self._pending: set[str] = set()
        self._searcher: Searcher | None = None
        self.commits = 0
        self._open()

    def _make_writer(self) -> FastSegmentWriter:
        return FastSegmentWriter(
            self._index._ix,
            _lk=False,
            limitmb=self._limitmb,
            compound=False,
            codec=FastCodec(compression=CODEC_COMPRESSION),
        )

    def _open(self) -> None:
        self._w = self._make_writer()
        self._has_docs = any(s.doc_count_all() for s in self._w.segments)
        self._pending = set()
        self._new: dict[str, int] = {}  # reference ID -> docnum in the segment being written
        self._lookups = 0
        self._id_maps: list[tuple[int, _SegmentIds]] | None = None

    @property
    def pending(self) -> int:
        """Cables put or deleted since the last commit."""
        return len(self._pending)

    def _existing(self, reference_id: str) -> list[int]:
        """Document numbers of ``reference_id`` in the committed segments (deleted ones too)."""
        if not self._has_docs:
            return []
        assert self._w is not None
        reader = self._w.searcher().reader()
        self._lookups += 1
        if self._id_maps is None and self._lookups > ID_MAP_AFTER:
            self._id_maps = self._index._segment_id_maps(reader)
        if self._id_maps is not None:
            found: list[int] = []
            for offset, ids in self._id_maps:
                local = ids.first.get(reference_id)
                if local is not None:
                    found.append(offset + local)
                    found.extend(offset + d for d in ids.more.get(reference_id, ()))
            return found
        try:
            plist = reader.postings("reference_id", reference_id)
        except TermNotFound:
            return []
        return list(plist.all_ids())

    def _delete_existing(self, reference_id: str) -> bool:
        assert self._w is not None
        found = False
        for docnum in self._existing(reference_id):
            if not self._w.is_deleted(docnum):
                self._w.delete_document(docnum)
                found = True
        return found

    def put(self, cable: Cable | PreparedDoc) -> bool:
        """Add or replace one cable; True if it replaced one already in the index."""
        prep = cable if isinstance(cable, PreparedDoc) else prepare(cable, self._index.schema)
        if not prep.reference_id:
            raise ValueError("a cable without a reference ID cannot be indexed")
        replaced = self._delete_existing(prep.reference_id) | self._delete_new(prep.reference_id)
        assert self._w is not None
        self._new[prep.reference_id] = self._w.docnum
        self._w.add_prepared(prep)
        self._pending.add(prep.reference_id)
        return replaced

    def _delete_new(self, reference_id: str) -> bool:
        docnum = self._new.pop(reference_id, None)
        if docnum is None:
            return False
        assert self._w is not None
        self._w.newsegment.delete_document(docnum)
        return True

    def delete(self, reference_id: str) -> bool:
        """Remove one cable; True if it was in the index."""
        found = self._delete_existing(reference_id) | self._delete_new(reference_id)
        if found:
            self._pending.add(reference_id)
        return found

    def commit(self, merge: bool = True) -> None:
        """Commit what was written so far (it becomes searchable) and go on writing."""
        self._commit(merge)
        self._open()

    def _commit(self, merge: bool = True) -> None:
        """Commit the new segment; then, in a commit of its own, the merges the policy asks for
        (:func:`merge_tiers`): the new cables are searchable without waiting for older small
        segments to be merged (a tenth of a second or more at the end of a burst)."""
        self._commit_writer(self._w, NO_MERGE)
        self.commits += 1
        if merge and _tier_merges(self._index._ix._segments()):
            try:
                self._commit_writer(self._make_writer(), merge_tiers)
            except Exception as exc:
                log.warning("merging small segments failed (%s); the next commit tries again", exc)

    def _commit_writer(self, w: FastSegmentWriter | None, mergetype: Any) -> None:
        assert w is not None
        self._w = None
        try:
            w.commit(mergetype=mergetype)
            w.free()
        except BaseException:
            try:
                w.cancel()
            except Exception:
                pass
            raise

    def _cancel(self) -> None:
        if self._w is not None and not self._w.is_closed:
            self._w.cancel()
        self._w = None


def _check_schema(index_dir: Path, found: Schema) -> None:
    """Refuse an index built with another schema (older code): its fields or analysis differ."""
    expected = _default_schema()
    names = [n for n in expected.names() if n in found or n not in schema_mod.LATER_FIELDS]
    same = sorted(found.names()) == sorted(names) and all(
        schema_mod.same_field(n, found[n], expected[n]) for n in names
    )
    if not same:
        raise IndexError_(
            f"the index at {index_dir} was built by another version of cablesearch (its fields "
            "or text analysis differ); delete the folder and run `cablesearch index` again"
        )


OPEN_ATTEMPTS = 20


def _open_column_files(reader: Any, schema: Schema) -> None:
    """Open every column file of every segment of ``reader`` now (see CableIndex.searcher)."""
    from whoosh.codec import whoosh3

    names: list[str] | None = None
    for leaf, _offset in reader.leaf_readers():
        perdoc = getattr(leaf, "_perdoc", None)
        if not isinstance(perdoc, whoosh3.W3PerDocReader):
            continue
        if names is None:
            names = list(perdoc._storage.list())
        prefix = perdoc._segment.make_filename(".")
        if (
            perdoc._segment.doc_count_all()
            and prefix + "_stored.col" not in names
            and "_stored" not in perdoc._readers
        ):
            # every segment stores fields: this one was deleted by a merge since the TOC was read
            raise FileNotFoundError(prefix + "_stored.col")
        for name in names:
            if not (name.startswith(prefix) and name.endswith(".col")):
                continue
            field = name[len(prefix) : -len(".col")]
            if field in perdoc._readers:
                continue
            if field == "_stored":
                column = whoosh3.STORED_COLUMN
            elif field.startswith("_") and field.endswith("_len"):
                column = whoosh3.LENGTHS_COLUMN
            elif field in schema and schema[field].column_type is not None:
                column = schema[field].column_type
            else:
                continue
            perdoc._readers[field] = perdoc.column_reader(field, column)


class _Vanished(Exception):
    """A file of the index disappeared while it was being opened (a commit replaced it)."""


def _while_files_change(index_dir: Path, verb: str, fn: Callable[[], T]) -> T:
    """``fn()``, again (up to OPEN_ATTEMPTS times) while it finds files of the index vanished."""
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            return fn()
        except _Vanished:
            if attempt == OPEN_ATTEMPTS:
                raise IndexError_(
                    f"cannot {verb} the index at {index_dir}: its files kept changing while "
                    f"being read ({OPEN_ATTEMPTS} tries); try again"
                ) from None
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


class CableIndex:
    """The cable index in one folder (Whoosh files plus our bookkeeping)."""

    def __init__(self, index_dir: Path, ix: FileIndex):
        self.index_dir = Path(index_dir)
        self._ix = ix
        self._segment_ids: dict[str, _SegmentIds] = {}  # by segment id (segments never change)

    def _segment_id_maps(self, reader: Any) -> list[tuple[int, _SegmentIds]]:
        """(document number offset, reference IDs) of each segment of ``reader`` (a writer's),
        read once per segment and kept while the segment exists."""
        return per_segment(self._segment_ids, reader, _SegmentIds.read)

    @classmethod
    def open(cls, index_dir: Path | str, create: bool = True) -> CableIndex:
        """Open the index in ``index_dir``; create it (and the folder) when absent and ``create``.

        A commit by another process replaces the table of contents (and a merge deletes old
        segment files) while this one may be reading them: a file that vanishes while opening
        means "read the newer commit", so opening is tried again, up to OPEN_ATTEMPTS times."""
        index_dir = Path(index_dir)
        return _while_files_change(index_dir, "open", lambda: cls._open_once(index_dir, create))

    @classmethod
    def _open_once(cls, index_dir: Path, create: bool) -> CableIndex:
        try:
            if whoosh_index.exists_in(str(index_dir)):
                ix = whoosh_index.open_dir(str(index_dir))
            elif create:
                index_dir.mkdir(parents=True, exist_ok=True)
                ix = cls._create(index_dir)
            else:
                raise IndexNotFound(
                    f"no index at {index_dir}; build one with `cablesearch index PATH...` "
                    "(or point --index / CABLESEARCH_INDEX at an existing one)"
                )
            _check_schema(index_dir, ix.schema)
        except IndexError_:
            raise
        except FileNotFoundError:
            if index_dir.is_dir():
                raise _Vanished() from None  # a commit replaced what was being read
            raise IndexNotFound(
                f"no index at {index_dir}; build one with `cablesearch index PATH...`"
            ) from None
        except OSError as exc:
            raise IndexError_(f"cannot open the index at {index_dir}: {exc.strerror or exc}") from None
        except Exception as exc:
            raise IndexError_(
                f"the index at {index_dir} cannot be read ({exc.__class__.__name__}: {exc}); "
                "delete the folder and re-run `cablesearch index`"
            ) from None
        return cls(index_dir, ix)

    @staticmethod
    def _create(index_dir: Path) -> FileIndex:
        # Creating takes the write lock too, so two processes creating at once do not clash.
        lock = WriteLock(index_dir)
        lock.acquire(timeout=30.0)
        try:
            if whoosh_index.exists_in(str(index_dir)):
                return whoosh_index.open_dir(str(index_dir))
            return FileStorage(str(index_dir)).create_index(schema_mod.build_schema())
        finally:
            lock.release()

    @property
    def schema(self) -> Schema:
        return self._ix.schema

    @property
    def whoosh_index(self) -> FileIndex:
        """The underlying Whoosh index (for the search module)."""
        return self._ix

    @property
    def generation(self) -> int:
        """The number of the last commit; changes after every commit by any process."""
        return int(self._ix.latest_generation())

    def searcher(self, **kwargs: Any) -> Searcher:
        """A fresh searcher on the latest commit (the caller closes it).

        Whoosh opens a segment's column files (stored fields, lengths, facet columns) on first
        use; by then a merge in another process may have deleted them. They are all opened here,
        at once: an open file stays readable after it is deleted. A file already gone means a
        newer commit: the searcher is opened again on it."""

        def open_searcher() -> Searcher:
            s = self._ix.searcher(**kwargs)  # Whoosh reads the latest TOC for each new reader
            try:
                _open_column_files(s.reader(), self._ix.schema)
            except FileNotFoundError:
                s.close()
                raise _Vanished() from None
            return s

        return _while_files_change(self.index_dir, "read", open_searcher)

    def doc_count(self) -> int:
        """Cables in the index (the latest commit)."""
        with self.searcher() as s:
            return int(s.doc_count())

    def lock_holder(self) -> LockHolder | None:
        """The process recorded as holding the write lock, if the lock is held."""
        probe = _Flock(self.index_dir / LOCK_NAME)
        if probe.try_acquire():
            probe.release()
            return None
        return read_lock_holder(self.index_dir)

    @contextmanager
    def writer(
        self,
        timeout: float = 30.0,
        on_wait: Callable[[LockHolder | None], None] | None = None,
        limitmb: int = DEFAULT_LIMITMB,
    ) -> Iterator[CableWriter]:
        """Hold the write lock (waiting up to ``timeout`` s, calling ``on_wait(holder)`` once if
        it has to wait) and yield a :class:`CableWriter`. Leaving the block commits; an exception
        (Ctrl-C included) cancels what was not committed yet and releases the lock."""
        lock = WriteLock(self.index_dir)
        lock.acquire(timeout, on_wait)
        try:
            # what a flush helper left when its writer was killed (no flush runs now: we hold
            # the lock)
            for stale in self.index_dir.glob(f"{FLUSH_PREFIX}*"):
                stale.unlink(missing_ok=True)
            cw = CableWriter(self, limitmb)
            try:
                yield cw
            except BaseException:
                cw._cancel()
                raise
            cw._commit()
        finally:
            lock.release()
