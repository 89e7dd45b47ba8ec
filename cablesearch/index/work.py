"""The work a sync hands to worker processes (module-level functions, so they pickle by
name): read, hash, parse and prepare single-cable files (:func:`work_files`) and batches of
cables.csv rows (:func:`work_rows`)."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from typing import Any

from cablesearch import parse
from cablesearch.engine.writer import PreparedDoc, prepare
from cablesearch.errors import ParseError
from cablesearch.parse import csvfile

# ("cables", path, size, mtime_ns, hash, [PreparedDoc], [(reason, row)]) | ("same", ...) |
# ("csv", path, size, mtime_ns, hash) | ("error", path, reason)
FileResult = tuple[Any, ...]
MISSING = "no such file or folder"


def work_files(tasks: list[tuple[str, str | None]]) -> list[FileResult]:
    """Read, hash, parse and prepare a batch of (path, known hash) single-cable files."""
    return [_read_file(path, known) for path, known in tasks]


def work_files_packed(tasks: list[tuple[str, str | None]]) -> bytes:
    """:func:`work_files` in a worker: its results as :func:`pack` gives them."""
    return pack(work_files(tasks))


def work_rows_packed(source: str, rows: list[tuple[int, list[str], str]]) -> bytes:
    """:func:`work_rows` in a worker: its results as :func:`pack` gives them."""
    return pack(work_rows(source, rows))


def pack(results: Any) -> bytes:
    """A worker's results as one pickle, written without pickle's memo. A prepared cable is
    ~320 postings of small tuples; remembering each object (in case it comes again) is most of
    what pickling them costs (6x), and they never come again but for a few shared bytes, which
    are then written twice. The pool sends the one bytes object as it is; :func:`unpack` (in
    the process that started the workers) reads it back."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    try:
        # no memo: fine for data without cycles, as results are. The pickle docs call the
        # attribute deprecated; 3.11-3.13 all have it, and a Python without it pickles as usual
        pickler.fast = True
    except AttributeError:
        pass
    pickler.dump(results)
    return out.getvalue()


def unpack(data: bytes) -> Any:
    """The results a worker packed (:func:`pack`): data from this program's own workers."""
    return pickle.loads(data)


def _read_file(path: str, known_hash: str | None) -> FileResult:
    try:
        with parse.files.open_regular(path) as f:  # regular files only, never blocking
            st = os.fstat(f.fileno())
            head = f.read(65536)
            if parse.is_csv_head(head, path):
                digest = hashlib.blake2b(head, digest_size=16)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                return ("csv", path, st.st_size, st.st_mtime_ns, digest.hexdigest())
            if st.st_size > parse.MAX_CABLE_BYTES:
                return (
                    "error",
                    path,
                    (f"too large for a cable file ({st.st_size // 1048576} MB) and not a cables.csv"),
                )
            data = parse.files.read_rest(f, head, parse.MAX_CABLE_BYTES, path)
    except ParseError as exc:
        return ("error", path, exc.reason)
    except FileNotFoundError:
        return ("error", path, MISSING)
    except IsADirectoryError:
        return ("error", path, "is a folder, not a file")
    except PermissionError:
        return ("error", path, "permission denied")
    except OSError as exc:
        return ("error", path, f"cannot be read ({exc.strerror or exc})")
    digest_hex = hashlib.blake2b(data, digest_size=16).hexdigest()
    if digest_hex == known_hash:
        return ("same", path, st.st_size, st.st_mtime_ns, digest_hex)
    try:
        cable = parse.parse_text(data, source=path, name=os.path.basename(path))
    except ParseError as exc:
        return ("error", path, exc.reason)
    except Exception as exc:
        return ("error", path, f"parser failure ({type(exc).__name__}: {exc})")
    if not cable.reference_id:
        return ("error", path, "no reference ID found")
    return ("cables", path, st.st_size, st.st_mtime_ns, digest_hex, [prepare(cable)], [])


def work_rows(
    source: str, rows: list[tuple[int, list[str], str]]
) -> tuple[list[tuple[PreparedDoc, str]], list[tuple[str, int]]]:
    """Parse and prepare a batch of (row number, fields, digest) cables.csv rows: gives
    (prepared doc, digest) per good row and (reason, row number) per bad one."""
    docs: list[tuple[PreparedDoc, str]] = []
    bad: list[tuple[str, int]] = []
    for n, row, digest in rows:
        try:
            cable = csvfile.cable_from_row(row, source, n)
            if not cable.reference_id:
                raise ParseError(source, "no reference ID found", row=n)
            docs.append((prepare(cable), digest))
        except ParseError as exc:
            bad.append((exc.reason, n))
        except Exception as exc:
            bad.append((f"parser failure ({type(exc).__name__}: {exc})", n))
    return docs, bad


def row_digest(row: list[str]) -> str:
    """A digest of one cables.csv row (a row read before is recognised by it)."""
    data = "\x1f".join(row).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, digest_size=12).hexdigest()
