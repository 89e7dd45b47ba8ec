"""A NumPy side file per segment: the doc ids, term frequencies and positions of its common
terms, laid out for ``np.frombuffer`` on a memory map, so a cold common word is read without decoding
Whoosh's W3 posting blocks (a zlib.decompress and a pickle.loads per 128 postings).

Written by the engine's segment writer at the commit that writes the segment (new segments of a
flush and of a merge both), beside Whoosh's files as ``<segment id>.npp``; never read by
Whoosh. The name matches Whoosh's segment-file pattern, so the commit that drops a segment
(a merge, by cablesearch or plain Whoosh) deletes its side file with its other files, and a
half-written ``<segment id>.npp.tmp`` left by a crash is deleted by the next commit (or by
``flush.clear_leftovers`` when the next writer opens). The file is written under the temporary
name and renamed before the table of contents naming the segment is written: a reader never
sees a half-written side file of a committed segment.

Content, per indexed field: every term with at least ``MIN_DF`` postings in the segment (a rarer
term is one or two W3 blocks: cheap to decode), with its positions in the fields whose format
has them (subject, body, recipients, signers). On 20,000 synthetic cables the side files add
~21% to the index (~9% without positions); the issue's budget is 30%.

Layout (little-endian)::

    magic (8 bytes) | u32 header length | u32 CRC-32 of the header | header (JSON) | sections

The header names the format version, the segment id, its document count, the sections'
total length and, per field, the byte ranges of three sections (8-aligned, counted from the
start of the sections: the first multiple of 8 after the header) and their CRC-32: the term
keys (one blob), the key offsets (int64, terms + 1) and the term entries (``ENTRY``, one
per term, in key order). An entry points into the data section: ``df - 1`` doc-id deltas (the
first doc id is in the entry) at ``dw`` bytes each (1, 2 or 4: the narrowest that holds the
term's largest delta), then ``df`` weights at ``tw`` bytes (1 or 2: unsigned integer
frequencies; 4: float32 when a weight is not a small whole number), then ``npos`` positions
at ``pw`` bytes (2 or 4; absolute, ascending within each posting, the postings' positions one
after the other: posting i's start is the frequencies' cumsum, so no offsets are stored; none
when the weights are not the positions' counts), with a CRC-32 of the deltas and weights and
another of the positions (a read without positions checks only the first). A reader gets
a term's postings with one binary search over the keys, two ``np.frombuffer`` slices and one
cumsum, and the positions of chosen postings with one gather (:class:`SidePositions`).

The header may also name a ``words`` section: every word of 3+ ASCII letters of the subject
and body fields (``WORD_FIELDS``), sorted, one per line, with its CRC-32: the "did you mean"
word list of the segment (:mod:`cablesearch.search.spelling`), read in one go instead of
walking the term tables of every segment (seconds on the whole release, for the first
misspelt query of a process).

Damage: a side file whose magic, header, length, segment id, document count or directory CRC
is wrong is not used at all (:func:`open_side` gives None; reads take the W3 path); a term
whose data CRC differs raises :class:`SideFileDamaged` and the caller reads that term from the
W3 blocks. ``cablesearch check`` reports a damaged side file as damage and a missing one as a
note (:func:`verify_side`).
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any, cast

import numpy as np

MAGIC = b"CSNPP\r\n\x1a"
VERSION = 2  # 2: the positions have a CRC of their own (a read without them checks less)
SUFFIX = ".npp"
TMP_SUFFIX = ".npp.tmp"
MIN_DF = 64  # terms with fewer postings in a segment stay on the W3 path only
WORD_FIELDS = ("subject", "body")  # the fields whose words the side file lists for the speller
MIN_WORD = 3  # shorter words are not listed (nobody's misspelling is corrected into them)
_PREFIX = 16  # magic, header length, header CRC

ENTRY = np.dtype(
    [
        ("data", "<u8"),  # offset of the term's data (from the start of the sections)
        ("npos", "<u8"),  # positions stored (0 when none: then phrases read the W3 blocks)
        ("df", "<u4"),  # postings
        ("first", "<u4"),  # the first (lowest) doc id
        ("crc", "<u4"),  # CRC-32 of the term's doc-id deltas and weights
        ("pcrc", "<u4"),  # CRC-32 of its positions (0 when none)
        ("dw", "u1"),  # bytes per doc-id delta: 1, 2 or 4
        ("tw", "u1"),  # bytes per weight: 1 or 2 (unsigned ints), 4 (float32)
        ("pw", "u1"),  # bytes per position: 2 or 4 (0: no positions)
        ("pad", "u1"),
    ]
)
_UINT: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


class SideFileDamaged(Exception):
    """A side file's bytes are not what its writer wrote (its CRC differs or a value is out of
    range)."""


def side_path(folder: Path | str, segment_id: str) -> Path:
    return Path(folder) / f"{segment_id}{SUFFIX}"


def is_side_file(name: str) -> bool:
    """Whether a file name of the index folder is a side file or a side file's leftover."""
    return name.endswith(SUFFIX) or name.endswith(TMP_SUFFIX)


# -- writing ------------------------------------------------------------------------------------


def _width(top: int) -> int:
    return 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4


@dataclass
class _TermData:
    df: int
    first: int
    dw: int
    tw: int
    pw: int
    npos: int
    data: bytes  # doc-id deltas and weights (``head`` bytes), then the positions
    head: int


def _term_data(flat: list[Any], parsed: tuple[np.ndarray, np.ndarray] | None) -> _TermData:
    """One flat posting list (``[docnum, weight, value, length, ...]``, docnums increasing)
    as side-file data: doc-id deltas, weights, and the positions ``parsed`` (per posting
    counts, absolute positions) when given and the weights are those counts."""
    docs = np.array(flat[0::4], dtype=np.int64)
    weights = np.array(flat[1::4], dtype=np.float64)
    deltas = np.diff(docs)
    dw = _width(int(deltas.max()) if deltas.size else 0)
    if weights.min() >= 0 and weights.max() < 1 << 16 and bool(np.all(weights == np.floor(weights))):
        tw = _width(int(weights.max()))
        wbytes = weights.astype(_UINT[tw]).tobytes()
    else:
        tw = 4
        wbytes = weights.astype("<f4").tobytes()
    data = deltas.astype(_UINT[dw]).tobytes() + wbytes
    head = len(data)
    pw = npos = 0
    if parsed is not None and tw != 4 and np.array_equal(parsed[0], weights):
        pos = parsed[1]
        pw = 2 if not pos.size or pos.max() < 1 << 16 else 4
        npos = int(pos.size)
        data += pos.astype(_UINT[pw]).tobytes()
    return _TermData(int(docs.size), int(docs[0]), dw, tw, pw, npos, data, head)


def _field_positions(
    terms: dict[bytes, list[Any]], keys: list[bytes]
) -> Iterator[tuple[np.ndarray, np.ndarray] | None]:
    """Per term of ``keys``: (positions per posting, absolute positions), or None where the
    values do not decode (the term's positions then stay on the W3 path). The values are parsed
    many terms at a time (:func:`pickled_positions`; batches of ``_BATCH`` postings keep its
    arrays small), a batch it cannot parse term by term with the read side's decoder."""
    batch: list[bytes] = []
    size = 0
    for i, k in enumerate(keys):
        batch.append(k)
        size += len(terms[k]) // 4
        if size < _BATCH and i + 1 < len(keys):
            continue
        parsed = _parse_batch(terms, batch)
        yield from parsed if parsed is not None else _decode_each(terms, batch)
        batch, size = [], 0


_BATCH = 250_000  # postings parsed at once


def _parse_batch(
    terms: dict[bytes, list[Any]], keys: list[bytes]
) -> list[tuple[np.ndarray, np.ndarray] | None] | None:
    parsed = pickled_positions(list(chain.from_iterable(terms[k][2::4] for k in keys)))
    if parsed is None:
        return None
    counts, pos = parsed
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    at = pos_at = 0
    for k in keys:
        n = len(terms[k]) // 4
        c = counts[at : at + n]
        total = int(c.sum())
        out.append((c, pos[pos_at : pos_at + total]))
        at, pos_at = at + n, pos_at + total
    return out


def _decode_each(
    terms: dict[bytes, list[Any]], keys: list[bytes]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Positions term by term with the read side's decoder (values :func:`pickled_positions`
    does not parse: marshal, 4-byte deltas, lists past 1,000)."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    from cablesearch.engine.postings import decode_counts, decode_positions  # the read side's

    for k in keys:
        vals = terms[k][2::4]
        try:
            _d, pos = decode_positions(np.zeros(len(vals), np.int64), vals)
            out.append((decode_counts(vals), pos))
        except Exception:  # not Positions values
            out.append(None)
    return out


_K, _M = ord("K"), ord("M")  # pickle's BININT1, BININT2
_HEAD = np.frombuffer(b"\x80\x02]q\x00", np.uint8)  # protocol 2, EMPTY_LIST, BINPUT 0


def _read_ints(
    buf: np.ndarray, cursor: np.ndarray, out: np.ndarray, to: np.ndarray, which: np.ndarray
) -> bool:
    """Read one pickled int (BININT1 or BININT2) at ``cursor[which]`` into ``out[to[which]]``
    and move those cursors past it; False when another opcode is there."""
    c = cursor[which]
    op = buf[c]
    is_k = op == _K
    if not np.all(is_k | (op == _M)):
        return False  # 4-byte deltas (rare) or not a pickle of ints: decode otherwise
    b1 = buf[np.minimum(c + 1, buf.size - 1)].astype(np.int64)
    b2 = buf[np.minimum(c + 2, buf.size - 1)].astype(np.int64)
    out[to[which]] = np.where(is_k, b1, b1 | (b2 << 8))
    cursor[which] = c + np.where(is_k, 2, 3)
    return True


def pickled_positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions per posting, absolute positions) of many postings (in order) from their ``Positions`` values as
    :func:`cablesearch.engine.schema.encode_positions` (and Whoosh) write them: a big-endian
    count, then a protocol-2 pickle of the position deltas. Parsed with NumPy: the first delta of
    every posting, then the rest in one gather where they are all one-byte ints (their length
    tells), else one delta of each posting at a time (``pickle.loads`` per posting is ~5x
    slower);
    None when a value is in another form (marshal, very long lists): decode those otherwise."""
    if not values:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lens = np.fromiter(map(len, values), np.int64, count=len(values))
    if int(lens.min()) < 11:
        return None
    buf = np.frombuffer(b"".join(values), np.uint8)
    starts = np.cumsum(lens) - lens
    counts = np.zeros(len(values), np.int64)
    for i in range(4):  # big-endian u32 (1-D gathers: a 2-D one costs ~40x more)
        counts = (counts << 8) | buf[starts + i]
    if int(counts.min()) < 1 or int(counts.max()) > 1000:  # pickle splits lists past 1,000 items
        return None
    for i, byte in enumerate(_HEAD.tolist()):
        if not np.all(buf[starts + 4 + i] == byte):
            return None
    many = counts > 1
    if not np.all(buf[starts[many] + 9] == ord("(")):
        return None
    cursor = starts + 9 + many
    out = np.empty(int(counts.sum()), np.int64)  # deltas, then made absolute
    at = np.cumsum(counts) - counts
    if not _read_ints(buf, cursor, out, at, np.arange(len(values))):  # every first delta
        return None
    # values whose other deltas are all one-byte ints (most): fixed stride, one gather
    rest = counts - 1
    simple = np.flatnonzero((lens == cursor - starts + 2 * rest + 2) & (rest > 0))
    r = rest[simple]
    within = np.arange(int(r.sum())) - np.repeat(np.cumsum(r) - r, r)
    ops = np.repeat(cursor[simple], r) + 2 * within
    if not np.all(buf[ops] == _K):
        return None
    out[np.repeat(at[simple] + 1, r) + within] = buf[ops + 1]
    cursor[simple] += 2 * r
    # the others: one delta of each at a time
    active = np.flatnonzero((lens != cursor - starts + 2) & (rest > 0))
    k = 1
    while active.size:
        if not _read_ints(buf, cursor, out, at + k, active):
            return None
        k += 1
        active = active[counts[active] > k]
    ends = starts + lens
    tail = np.where(many, ord("e"), ord("a"))
    if not (
        np.all(buf[cursor] == tail) and np.all(buf[cursor + 1] == ord(".")) and np.all(cursor + 2 == ends)
    ):
        return None
    csum = np.cumsum(out)
    base = np.where(at > 0, csum[np.maximum(at - 1, 0)], 0)
    return counts, csum - np.repeat(base, counts)


def build(
    segment_id: str,
    doc_count: int,
    fields: Iterable[tuple[str, dict[bytes, list[Any]]]],
    positional: Iterable[str] = (),
) -> bytes:
    """The bytes of a side file (see :func:`build_parts`)."""
    return b"".join(build_parts(segment_id, doc_count, fields, positional))


def build_parts(
    segment_id: str,
    doc_count: int,
    fields: Iterable[tuple[str, dict[bytes, list[Any]]]],
    positional: Iterable[str] = (),
) -> list[bytes]:
    """The bytes of a side file, in pieces, for a segment whose postings are ``fields``: (field name,
    term -> flat posting list ``[docnum, weight, value, length, ...]`` in docnum order);
    positions are kept for the fields named in ``positional``.
    Offsets in the header and the entries count from the start of the sections (the first
    multiple of 8 after the header)."""
    chunks: list[bytes] = []
    size = 0
    fields_list = list(fields)

    def put(data: bytes) -> int:
        """Append ``data`` 8-aligned; its offset."""
        nonlocal size
        pad = -size % 8
        chunks.append(b"\0" * pad)
        at = size + pad
        chunks.append(data)
        size = at + len(data)
        return at

    def add(data: bytes) -> list[int]:
        """A section: [offset, length, CRC-32] for the header."""
        return [put(data), len(data), zlib.crc32(data)]

    described: dict[str, Any] = {}
    minlen = 4 * MIN_DF
    for name, terms in fields_list:
        keys = sorted(t for t, flat in terms.items() if len(flat) >= minlen)
        if not keys:
            continue
        entries = np.zeros(len(keys), ENTRY)
        parsed = _field_positions(terms, keys) if name in positional else repeat(None)
        for i, (key, where) in enumerate(zip(keys, parsed, strict=False)):
            t = _term_data(terms[key], where)
            at = put(t.data)  # its CRCs (deltas and weights, positions) go in the entry
            head = memoryview(t.data)[: t.head]
            crc, pcrc = zlib.crc32(head), zlib.crc32(memoryview(t.data)[t.head :]) if t.npos else 0
            entries[i] = (at, t.npos, t.df, t.first, crc, pcrc, t.dw, t.tw, t.pw, 0)
        offsets = np.zeros(len(keys) + 1, "<i8")
        offsets[1:] = np.cumsum([len(k) for k in keys])
        described[name] = {
            "terms": len(keys),
            "keys": add(b"".join(keys)),
            "offsets": add(offsets.tobytes()),
            "entries": add(entries.tobytes()),
        }
    words = _speller_words(fields_list)
    if words is not None:
        described_words = {"fields": list(WORD_FIELDS), "section": add(words)}
    header = {
        "version": VERSION,
        "segment": segment_id,
        "doc_count": doc_count,
        "length": size,  # of the sections: a reader checks the file is exactly this long
        "fields": described,
    }
    if words is not None:
        header["words"] = described_words
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("ascii")
    text += b" " * (-(_PREFIX + len(text)) % 8)
    prefix = MAGIC + len(text).to_bytes(4, "little") + zlib.crc32(text).to_bytes(4, "little")
    return [prefix + text, *chunks]


def _speller_words(fields: list[tuple[str, dict[bytes, list[Any]]]]) -> bytes | None:
    """Every word of letters (ASCII, ``MIN_WORD`` or longer) of the ``WORD_FIELDS``, sorted,
    one per line: the speller's word list of the segment, read at once instead of walking its
    term tables (seconds over the whole release). None when the segment lacks those fields."""
    named = dict(fields)
    if not all(name in named for name in WORD_FIELDS):
        return None
    words: set[bytes] = set()
    for name in WORD_FIELDS:
        words.update(t for t in named[name] if len(t) >= MIN_WORD and t.isalpha())
    return b"\n".join(sorted(words))


def write(
    folder: Path | str,
    segment_id: str,
    doc_count: int,
    fields: Iterable[tuple[str, dict[bytes, list[Any]]]],
    positional: Iterable[str] = (),
) -> Path:
    """Write a segment's side file atomically (temporary name, then rename); its path."""
    path = side_path(folder, segment_id)
    tmp = path.with_name(path.name[: -len(SUFFIX)] + TMP_SUFFIX)
    parts = build_parts(segment_id, doc_count, fields, set(positional))
    try:
        with open(tmp, "wb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- reading ------------------------------------------------------------------------------------


@dataclass
class SidePositions:
    """One segment's positions of a term: ``tf`` positions per posting from ``starts`` in
    ``pos`` (absolute positions, ascending per posting; a view of the memory map)."""

    tf: np.ndarray  # int64, per posting
    starts: np.ndarray  # int64, per posting
    pos: np.ndarray  # uint16 / uint32

    @property
    def nbytes(self) -> int:
        return int(self.tf.nbytes + self.starts.nbytes)  # ``pos`` is the file's, not memory

    def decode(self, docs: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(doc, position) of every occurrence in the postings ``idx`` (their docs ``docs``)."""
        counts = self.tf[idx]
        total = int(counts.sum())
        if not total:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        shift = self.starts[idx] - (np.cumsum(counts) - counts)
        at = np.repeat(shift, counts) + np.arange(total)
        return np.repeat(docs, counts), self.pos[at].astype(np.int64)


@dataclass
class _Field:
    keys: memoryview
    offsets: np.ndarray  # int64, terms + 1
    entries: np.ndarray  # ENTRY
    _fixed: np.ndarray | None = None  # the keys as one fixed-width bytes array, made at first find

    def _table(self) -> np.ndarray:
        """The keys as a NumPy ``S<longest>`` array (in key order, so ``np.searchsorted`` finds
        a term in C instead of a Python binary search over slices of the blob), built with one
        gather from the blob."""
        if self._fixed is None:
            offs = self.offsets
            lens = np.diff(offs)
            width = max(int(lens.max()) if lens.size else 1, 1)
            blob = np.frombuffer(self.keys, np.uint8)
            cols = np.arange(width)
            idx = offs[:-1, None] + cols[None, :]
            inside = cols[None, :] < lens[:, None]
            grid = np.zeros((lens.size, width), np.uint8)
            grid[inside] = blob[idx[inside]]
            self._fixed = grid.view(f"S{width}").ravel()
        return self._fixed

    def find(self, btext: bytes) -> int:
        """The entry index of ``btext`` (-1: not in the side file)."""
        table = self._table()
        n = table.size
        i = int(np.searchsorted(table, btext))
        # the array's values lose trailing NUL bytes: compare the blob's own key to be exact
        if i < n and bytes(self.keys[self.offsets[i] : self.offsets[i + 1]]) == btext:
            return i
        return -1


class SideFile:
    """One segment's side file, memory-mapped (see the module docstring). Use :func:`open_side`."""

    def __init__(self, path: Path, buf: mmap.mmap, base: int, header: dict[str, Any]):
        self.path = path
        self._buf = buf
        self._view = memoryview(buf)
        self.base = base
        self.header = header
        self.doc_count = int(header["doc_count"])
        self.fields: dict[str, _Field] = {}
        self.damaged = False
        for name, spec in header["fields"].items():
            parts = []
            for sec in ("keys", "offsets", "entries"):
                at, size, crc = spec[sec]
                view = self._view[base + at : base + at + size]
                if len(view) != size or zlib.crc32(view) != crc:
                    raise SideFileDamaged(f"{path.name}: the {sec} of field {name} do not match their CRC")
                parts.append(view)
            offsets = np.frombuffer(parts[1], "<i8")
            entries = np.frombuffer(parts[2], ENTRY)
            if offsets.size != entries.size + 1 or entries.size != int(spec["terms"]):
                raise SideFileDamaged(f"{path.name}: field {name} has inconsistent counts")
            self.fields[name] = _Field(parts[0], offsets, entries)

    def words(self, fields: Iterable[str]) -> list[str] | None:
        """The sorted words of letters of ``fields`` (see :func:`_speller_words`), or None when
        the file lists no words for exactly those fields. Raises :class:`SideFileDamaged` when
        the list fails its CRC."""
        spec = self.header.get("words")
        if not spec or sorted(spec["fields"]) != sorted(fields):
            return None
        at, size, crc = spec["section"]
        view = self._view[self.base + at : self.base + at + size]
        if len(view) != size or zlib.crc32(view) != crc:
            raise SideFileDamaged(f"{self.path.name}: its word list does not match its CRC")
        text = bytes(view).decode("ascii", "replace")
        return text.split("\n") if text else []

    def has_field(self, fieldname: str) -> bool:
        return fieldname in self.fields

    def terms(self, fieldname: str) -> list[bytes]:
        """The field's terms in the side file, in order."""
        f = self.fields.get(fieldname)
        if f is None:
            return []
        keys, offs = bytes(f.keys), f.offsets.tolist()
        return [keys[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]

    def doc_frequency(self, fieldname: str, btext: bytes) -> int | None:
        """The term's postings in the segment (deleted documents included, as Whoosh counts
        them), or None when the side file does not hold it (ask the W3 term table)."""
        f = self.fields.get(fieldname)
        if f is None:
            return None
        i = f.find(btext)
        return None if i < 0 else int(f.entries[i]["df"])

    def postings(
        self, fieldname: str, btext: bytes, positions: bool = False
    ) -> tuple[np.ndarray, np.ndarray, SidePositions | None] | None:
        """(local doc ids int64, weights float32, positions when asked for) of a term; None
        when the side file does not hold it (a rare term, none in this segment, or positions
        asked for and not stored: read the W3 blocks). Raises :class:`SideFileDamaged` when
        the term's bytes are not as written."""
        f = self.fields.get(fieldname)
        if f is None:
            return None
        i = f.find(btext)
        if i < 0:
            return None
        e = f.entries[i]
        if positions and not e["pw"]:
            return None
        data, nd, nw = self._term_bytes(fieldname, i, e, positions)
        df = int(e["df"])
        docs = np.empty(df, np.int64)
        docs[0] = int(e["first"])
        np.cumsum(np.frombuffer(data[:nd], _UINT[int(e["dw"])]), out=docs[1:])
        docs[1:] += docs[0]
        tw = int(e["tw"])
        wdt: np.dtype[Any] = np.dtype("<f4") if tw == 4 else _UINT[tw]
        raw_weights = np.frombuffer(data[nd : nd + nw], wdt)
        weights = raw_weights.astype(np.float32)
        if docs[-1] >= self.doc_count:
            raise SideFileDamaged(f"{self.path.name}: a doc id of {fieldname} is past the segment's end")
        where = None
        if positions:
            tf = raw_weights.astype(np.int64)
            where = SidePositions(tf, np.cumsum(tf) - tf, np.frombuffer(data[nd + nw :], _UINT[int(e["pw"])]))
        return docs, weights, where

    def _term_bytes(self, fieldname: str, i: int, e: Any, positions: bool) -> tuple[memoryview, int, int]:
        """(the term's data, bytes of doc deltas, bytes of weights), the CRC of the deltas and
        weights checked, and with ``positions`` the positions' CRC too (a common word's
        positions are most of its bytes: a read without them does not pay for their check)."""
        df, dw, tw, pw = int(e["df"]), int(e["dw"]), int(e["tw"]), int(e["pw"])
        if dw not in _UINT or tw not in (1, 2, 4) or pw not in (0, 2, 4) or df < 1:
            raise SideFileDamaged(f"{self.path.name}: entry {i} of field {fieldname} is out of range")
        at = self.base + int(e["data"])
        nd, nw = (df - 1) * dw, df * tw
        size = nd + nw + int(e["npos"]) * pw
        data = self._view[at : at + size]
        if (
            len(data) != size
            or zlib.crc32(data[: nd + nw]) != int(e["crc"])
            or (positions and zlib.crc32(data[nd + nw :]) != int(e["pcrc"]))
        ):
            raise SideFileDamaged(
                f"{self.path.name}: the postings of a term of {fieldname} do not match their CRC"
            )
        return data, nd, nw

    def verify(self) -> None:
        """Check every term's CRC (``cablesearch check``); raises :class:`SideFileDamaged`."""
        for name, f in self.fields.items():
            for i, e in enumerate(f.entries):
                self._term_bytes(name, i, e, positions=True)
        if self.header.get("words"):
            self.words(self.header["words"]["fields"])

    def close(self) -> None:
        for f in self.fields.values():
            f.keys.release()
        self.fields = {}
        try:
            self._view.release()
            self._buf.close()
        except (BufferError, ValueError):
            pass  # arrays still point into the map: it goes with them


def read_side(path: Path, segment_id: str, doc_count: int) -> SideFile:
    """Open and check a side file (header, length, segment, directory CRCs); raises
    ``FileNotFoundError`` when there is none and :class:`SideFileDamaged` when it is damaged."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < _PREFIX:
            raise SideFileDamaged(f"{path.name}: {size} bytes, too short for a side file")
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        if buf[:8] != MAGIC:
            raise SideFileDamaged(f"{path.name}: not a side file (wrong magic)")
        hlen = int.from_bytes(buf[8:12], "little")
        text = buf[_PREFIX : _PREFIX + hlen]
        if len(text) != hlen or zlib.crc32(text) != int.from_bytes(buf[12:16], "little"):
            raise SideFileDamaged(f"{path.name}: its header does not match its CRC")
        header = json.loads(text)
        base = _PREFIX + hlen
        if header.get("version") != VERSION:
            raise SideFileDamaged(f"{path.name}: format version {header.get('version')} (expected {VERSION})")
        if header.get("segment") != segment_id or int(header.get("doc_count", -1)) != doc_count:
            raise SideFileDamaged(f"{path.name}: written for another segment")
        if base + int(header["length"]) != size:
            raise SideFileDamaged(
                f"{path.name}: {size} bytes where its writer wrote {base + int(header['length'])}"
            )
        return SideFile(path, buf, base, header)
    except SideFileDamaged:
        _close(buf)
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        _close(buf)
        raise SideFileDamaged(f"{path.name}: unreadable header ({type(exc).__name__}: {exc})") from None


def _close(buf: mmap.mmap) -> None:
    try:
        buf.close()
    except BufferError:
        pass  # views of a half-built SideFile still point into it: it goes with them


_ATTR = "_cablesearch_side"
_UNSET: Any = object()


def open_side(leaf: Any) -> SideFile | None:
    """The side file of a segment reader (opened once per reader and kept on it), or None:
    no side file, a damaged one, or a segment not in a plain folder (compound files)."""
    known = getattr(leaf, _ATTR, _UNSET)
    if known is not _UNSET:
        return None if known is None or known.damaged else cast(SideFile, known)
    side: SideFile | None = None
    folder = getattr(getattr(leaf, "_storage", None), "folder", None)
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    if folder is not None and segment is not None and not segment.is_compound():
        try:
            side = read_side(
                side_path(folder, segment.segment_id()), segment.segment_id(), leaf.doc_count_all()
            )
        except (OSError, SideFileDamaged):
            side = None
    try:
        setattr(leaf, _ATTR, side)
    except AttributeError:
        pass
    return side
