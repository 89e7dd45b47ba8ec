"""Writing a new segment's posting lists and term table: the bytes Whoosh's W3 field writer,
postings writer, term info and ordered hash writer produce together, computed in one loop and
written in large pieces (:func:`write_terms`).

A commit's flush is the part of indexing no parsing worker shares, and it waits at the end of
every batch; so a big one is cut in two at a term boundary and a helper process encodes the
second half into files in the index folder (named ``FLUSH_PREFIX...``) while this process
encodes the first; the second half's postings are then appended, their offsets shifted. If the
helper fails, this process encodes that half itself. The segment's side file is written the
same way, by another fork (:class:`Forked`), while the two encode: a bulk commit's side file
took as long as its encoding, with one core idle.

The helper is a fork of this process (it has the postings already; nothing is copied). Forking
beside other threads (a worker pool's handler threads, a daemon's observer) is what Python
3.12+ warns about, as a lock held by another thread stays held in the child; the child here only
encodes, writes its own two files and leaves with ``os._exit``, touching nothing other threads
hold. So on 3.11 the helper forks beside threads as before (a bulk ``cablesearch index`` has its
pool's threads); on 3.12+ it forks only when this process runs one thread, and otherwise this
process encodes the whole flush itself (see docs/ARCHITECTURE.md for why not another process).
"""

from __future__ import annotations

import logging
import operator
import os
import pickle
import signal
import struct
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.filedb.filetables import _hash_functions
from whoosh.filedb.filetables import _lengths as _HASH_LENGTHS
from whoosh.system import emptybytes, pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

from cablesearch.engine import sidefile

log = logging.getLogger(__name__)

# Pickles of posting blocks (Whoosh writes protocol 2, whose bytes objects cost ~10x more to
# write and to load; Whoosh reads them with pickle.loads, any protocol).
PICKLE_PROTOCOL = 5
COMPRESS_MIN_BYTES = 256
FLUSH_PREFIX = ".flush-"  # the flush helper's files in the index folder
# A flush with at least this many postings is split with a helper (a 5,000-cable segment has
# ~1.5 million); below it starting the helper costs more than it saves.
PARALLEL_POSTINGS = 200_000
# Share of the encoding done here: the helper is slower per term (a fork's first touch of each
# page copies it) but this process also adds all entries to the term table afterwards.
FIRST_SHARE = 0.5

_TERMINFO = struct.Struct("!BfIBBfII")  # W3TermInfo's fixed part; then offset (q), length (i)
_OFFSET = struct.Struct("!q")
_CHUNK_BYTES = 1 << 20

# (field id, fixed value size of the field's format, term -> flat posting list, the terms to
# write in order); a flat posting list is [docnum, weight, value bytes, field length, ...]
Work = list[tuple[int, int | None, dict[bytes, list[Any]], list[bytes]]]
# (term table key, value, hash of the key) per term, in order
Entries = list[tuple[bytes, bytes, int]]


class Encoding:
    """What encoding needs besides the postings: the codec's block size and zlib level and
    the term table's hash type."""

    def __init__(self, blocklimit: int, compression: int, hashtype: int):
        self.blocklimit = blocklimit
        self.compression = compression
        self.hashtype = hashtype

    @property
    def hashfn(self) -> Callable[[bytes], int]:
        return _hash_functions[self.hashtype]


def write_terms(
    fw: Any, fields: list[tuple[str, Any, dict[bytes, list[Any]]]], workdir: Path, postings: int
) -> None:
    """Write the posting lists and term table of a new segment through the W3 field writer
    ``fw`` (``start_term`` / ``add`` / ``finish_term`` per term, done in bulk); ``fields`` are
    (name, field, term -> flat posting list), holding ``postings`` (:func:`postings_count`).
    See the module docstring for the split."""
    work: Work = []
    for name, field, terms in fields:
        fw.start_field(name, field)  # registers the field's id in the term table
        work.append((fw._fieldid, field.format.fixed_value_size(), terms, sorted(terms)))
        fw.finish_field()
    postfile, tindex = fw._postfile, fw._tindex
    enc = Encoding(fw._codec._blocklimit, fw._codec._compression, tindex.hashtype)
    first, second = halves(work, postings)
    helper = Helper.start(second, enc, workdir) if second else None
    try:
        _add_entries(tindex, encode(first, enc, postfile, postfile.tell()))
        if second:
            done = helper.join() if helper is not None else None
            if done is None:
                entries = encode(second, enc, postfile, postfile.tell())
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


def postings_count(fields: list[tuple[str, Any, dict[bytes, list[Any]]]]) -> int:
    """Postings held for a flush (four flat list items each)."""
    return sum(len(flat) for _, _, terms in fields for flat in terms.values()) // 4


def big_flush(postings: int) -> bool:
    """Whether a flush of ``postings`` is worth forked helpers (see ``PARALLEL_POSTINGS``)."""
    return postings >= PARALLEL_POSTINGS


def halves(work: Work, postings: int) -> tuple[Work, Work]:
    """Cut the work (``postings`` in all) in two (a term costs about as much as six of its
    postings), the first ``FIRST_SHARE`` of it for this process; no cut (everything first)
    when it is small."""
    if not big_flush(postings):
        return work, []
    total = 4 * postings + 24 * sum(len(keys) for *_, keys in work)
    half, done = total * FIRST_SHARE, 0.0
    for i, (fid, fixed, terms, keys) in enumerate(work):
        for j, key in enumerate(keys):
            done += 24 + len(terms[key])
            if done >= half:
                return (
                    work[:i] + [(fid, fixed, terms, keys[: j + 1])],
                    [(fid, fixed, terms, keys[j + 1 :])] + work[i + 1 :],
                )
    return work, []


def clear_leftovers(index_dir: Path) -> None:
    """Remove what a flush helper left when its writer was killed, and half-written side files
    (``*.npp.tmp``: renamed into place before any commit names them), with the lock held."""
    for pattern in (f"{FLUSH_PREFIX}*", f"*{sidefile.TMP_SUFFIX}"):
        for stale in Path(index_dir).glob(pattern):
            stale.unlink(missing_ok=True)


def can_fork() -> bool:
    """Whether the flush helper may fork now (see the module docstring)."""
    if not hasattr(os, "fork"):
        return False
    return threading.active_count() == 1 or sys.version_info < (3, 12)


class Forked:
    """A job run in a forked copy of this process (it has the data already; nothing is
    copied): the job writes its own files, and :meth:`join` tells whether it finished.
    ``name`` and ``fallback`` word its warnings ("the flush helper failed ...; writing its half
    here")."""

    def __init__(self, pid: int, name: str, fallback: str):
        self._pid = pid
        self.name = name
        self.fallback = fallback

    @classmethod
    def start(cls, job: Callable[[], object], name: str, fallback: str) -> Forked | None:
        """``job`` running in a fork; None where forking is not safe or fails (the caller then
        does the work itself)."""
        if not can_fork():
            return None
        try:
            pid = os.fork()
        except OSError as exc:
            log.warning("cannot start %s (%s); %s", name, exc, fallback)
            return None
        if pid == 0:  # the job: run, leave without running any cleanup
            code = 1
            try:
                job()
                code = 0
            finally:
                os._exit(code)
        return cls(pid, name, fallback)

    def join(self) -> bool:
        """Wait for the job: whether it finished."""
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if not ok:
            log.warning("%s failed (status %s); %s", self.name, status, self.fallback)
        return ok

    def close(self) -> None:
        """Stop the job if it still runs."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._pid = 0


class Helper:
    """A forked copy of this process (:class:`Forked`) encoding part of a flush into two files
    in ``workdir``: ``.pst`` (the postings) and ``.trm`` (the term entries, pickled)."""

    def __init__(self, base: Path):
        self.posts = base.with_suffix(".pst")
        self.terms = base.with_suffix(".trm")
        self._job: Forked | None = None

    @classmethod
    def start(cls, work: Work, enc: Encoding, workdir: Path) -> Helper | None:
        """A forked helper encoding ``work``; None where forking is not safe or fails."""
        helper = cls(workdir / f"{FLUSH_PREFIX}{os.getpid()}-{time.monotonic_ns()}")

        def encode_half() -> None:
            with open(helper.posts, "wb") as f:
                entries = encode(work, enc, f, 0)
            with open(helper.terms, "wb") as f:
                pickle.dump(entries, f, PICKLE_PROTOCOL)

        helper._job = Forked.start(encode_half, "the flush helper", "writing its half here")
        return helper if helper._job is not None else None

    def join(self) -> tuple[Path, Entries] | None:
        """Wait for the helper: its postings file and term entries, or None if it failed."""
        job, self._job = self._job, None
        if job is None or not job.join():
            return None
        try:
            with open(self.terms, "rb") as f:
                return self.posts, pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            log.warning("the flush helper's output is unreadable (%s); writing its half here", exc)
            return None

    def close(self) -> None:
        """Stop the helper if it still runs, and remove its files."""
        if self._job is not None:
            self._job.close()
            self._job = None
        for path in (self.posts, self.terms):
            path.unlink(missing_ok=True)


def _shifted(entries: Entries, shift: int) -> Entries:
    """Term entries whose postings moved ``shift`` bytes further into the postings file."""
    at = _TERMINFO.size
    end = at + _OFFSET.size
    return [
        (key, value[:at] + _OFFSET.pack(_OFFSET.unpack(value[at:end])[0] + shift) + value[end:], h)
        for key, value, h in entries
    ]


def _add_entries(tindex: Any, entries: Entries) -> None:
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


def encode(work: Work, enc: Encoding, out: Any, base: int) -> Entries:
    """Encode the posting lists of ``work`` into ``out`` (which is at offset ``base`` of the
    postings file) and give their term table entries."""
    entries: Entries = []
    posts = bytearray()
    hashfn = enc.hashfn
    step = enc.blocklimit * 4
    for fieldid, fixedsize, terms, keys in work:
        prefix = pack_ushort(fieldid)
        for tbytes in keys:
            start = base + len(posts)
            stats = _encode_term(terms[tbytes], posts, step, fixedsize, enc.compression)
            value = stats + pack_long(start) + pack_int(base + len(posts) - start)
            key = prefix + tbytes
            entries.append((key, value, hashfn(key)))
            if len(posts) >= _CHUNK_BYTES:
                out.write(bytes(posts))
                base += len(posts)
                posts = bytearray()
    out.write(bytes(posts))
    return entries


def _encode_term(
    flat: list[Any], posts: bytearray, step: int, fixedsize: int | None, compression: int
) -> bytes:
    """Append one term's posting list to ``posts`` (W3PostingsWriter's blocks: header, then
    per block its size, info and data) and give the fixed part of its W3TermInfo."""
    n = len(flat)
    keep_values = fixedsize is None or fixedsize < 0
    posts += WHOOSH3_HEADER_MAGIC
    total_weight = 0.0
    df = 0
    minlength: int | None = None
    maxlength = 0
    maxweight: float = 0
    sub = operator.sub
    dumps = pickle.dumps
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
        bminlength = (min(lengths) or min(x for x in lengths if x)) if bmaxlength else None
        # W3TermInfo.add_block
        total_weight += sum(weights)
        df += len(ids)
        if bminlength is not None:
            minlength = bminlength if minlength is None else min(minlength, bminlength)
        maxlength = max(maxlength, bmaxlength)
        maxweight = max(maxweight, bmaxweight)
        # W3PostingsWriter._write_block, but pickle protocol 5 and small blocks left
        # uncompressed (the reader reads each block's level)
        mini = (ids[0],) + tuple(map(sub, ids[1:], ids)) if len(ids) > 1 else (ids[0],)
        if all(w == 1.0 for w in weights):
            mw: Any = None
        elif all(w == weights[0] for w in weights):
            mw = weights[0]
        else:
            mw = tuple(weights)
        vs: Any = tuple(values) if keep_values else None if fixedsize == 0 else emptybytes.join(values)
        data = dumps((mini, mw, vs), PICKLE_PROTOCOL)
        comp = compression if len(data) >= COMPRESS_MIN_BYTES else 0
        if comp:
            data = zlib.compress(data, comp)
        info = dumps(
            (len(ids), ids[-1], bmaxweight, comp, length_to_byte(bminlength), length_to_byte(bmaxlength)),
            PICKLE_PROTOCOL,
        )
        size = len(info) + len(data)
        posts += pack_int(-size if e == n else size)
        posts += info
        posts += data
    # W3TermInfo.to_bytes (never inlined: W3's inline limit is 1)
    return _TERMINFO.pack(
        0,
        total_weight,
        df,
        0 if minlength is None else length_to_byte(minlength),
        length_to_byte(maxlength),
        maxweight,
        flat[0],
        flat[n - 4],
    )
