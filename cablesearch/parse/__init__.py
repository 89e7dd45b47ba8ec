"""The parsing stage: files, folders and cables.csv in, ``model.Cable`` records out.

    detect form (by content) -> container reader (html / page / telegram / csv)
                             -> telegram.extract (fields of the header and body)

Entry points:

- ``iter_cables(paths, on_error=None)`` — files, folders (recursive) and cables.csv files; a bad
  file or row goes to ``on_error`` and the iteration goes on.
- ``parse_file(path)`` — the cables of one file (a cables.csv yields many).
- ``parse_text(text, source, name)`` — one cable from text or bytes.

All three raise (or report) ``errors.ParseError`` only. ``parse_file`` and ``csvfile.parse_rows``
are module-level functions, so worker processes can run them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import ParseError
from ..model import Cable
from . import csvfile, detect, files
from .bare import parse_bare
from .deadline import PARSE_SECONDS, time_limit
from .html import parse_html
from .page import parse_page
from .text import check_text, decode

__all__ = ["ParseError", "is_csv_head", "is_skipped", "iter_cables", "iter_files", "parse_file", "parse_text"]

OnError = Callable[[ParseError], None]

# A single cable file is at most a few hundred KB; anything far larger that is not a
# cables.csv is no cable file (and is not read into memory).
MAX_CABLE_BYTES = 32 * 1024 * 1024
_SNIFF_BYTES = 65536
# The one rule for names that are never cables, shared by folder walks (`parse`, `index`) and
# the daemon's file events: partial downloads, temporary, editor swap and backup files.
_SKIP_SUFFIXES = (
    ".part",
    ".partial",
    ".crdownload",
    ".download",
    ".tmp",
    ".temp",
    ".swp",
    ".swo",
    ".swx",
    ".bak",
    "~",
)
_SKIP_PREFIXES = (".", "#", "~$")
_SKIP_NAMES = frozenset({"4913"})  # vim's "can I write here?" probe file


def is_skipped(name: str) -> bool:
    """Whether a file or folder name is never read as a cable, by a folder walk or by the daemon:
    dotfiles (``.git``, ``.#lock``), ``#autosave#`` and ``~$office`` files, partial downloads,
    temporary, swap and backup files (``*.part``, ``*.crdownload``, ``*.tmp``, ``*.temp``,
    ``*.swp``, ``*.bak``, ``*~``, any case) and vim's ``4913`` probe."""
    return name.startswith(_SKIP_PREFIXES) or name.lower().endswith(_SKIP_SUFFIXES) or name in _SKIP_NAMES


def iter_files(paths: Iterable[str | Path], on_error: OnError | None = None) -> Iterator[Path]:
    """The files named by ``paths``: files as given, folders walked in name order, depth first,
    without recursion (so any depth up to PATH_MAX), skipping what ``is_skipped`` names and not
    following symlinked folders.

    A path that does not exist, a symlink loop, or a folder that cannot be listed goes to
    ``on_error``; without it, a given path that cannot be found raises ``ParseError`` (a folder
    inside a walk that cannot be listed is then skipped). Entries that are not regular files
    (FIFOs, devices, sockets) are yielded: reading them (``open_regular``) rejects them with
    a line that says what they are, however they got there.
    """
    for p in paths:
        try:
            st = os.stat(p)
        except OSError as exc:
            err = ParseError(files.shown(p), files.describe(exc, p))
            if on_error is None:
                raise err from None
            on_error(err)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from files.walk(p, on_error, is_skipped)
        else:
            yield Path(p)


def iter_cables(
    paths: Iterable[str | Path], on_error: OnError | None = None, procs: int = 1
) -> Iterator[Cable]:
    """Every cable in ``paths`` (files, folders recursively, cables.csv files streamed).

    A file or CSV row that cannot be read calls ``on_error(ParseError)`` (default: ignore it)
    and the iteration goes on with the next one. ``procs > 1`` parses cables.csv rows in
    that many worker processes.
    """
    report: OnError = on_error if on_error is not None else (lambda err: None)
    for path in iter_files(paths, report):
        try:
            yield from parse_file(path, on_error=report, procs=procs)
        except ParseError as err:
            report(err)
        except Exception as exc:  # a parser defect must not stop a batch; it is named instead
            report(ParseError(str(path), f"parser failure ({type(exc).__name__}: {exc})"))


def parse_file(path: str | Path, on_error: OnError | None = None, procs: int = 1) -> Iterator[Cable]:
    """The cables of one file: one for a page, a scrape or a telegram; one per row for a
    cables.csv (streamed).

    Raises ``ParseError`` for a file that cannot be read as a cable: not a regular file (a
    FIFO, a device — never opened in a way that blocks), more than ``MAX_CABLE_BYTES`` read
    from a file that is no cables.csv, or content that is no cable. For a cables.csv, bad rows
    go to ``on_error`` and the rows after them are read; without ``on_error`` the first bad row
    raises (which ends the iteration).
    """
    source = str(path)
    try:
        with files.open_regular(path) as f:
            head = f.read(_SNIFF_BYTES)
            is_csv = is_csv_head(head, source)
            if not is_csv:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_CABLE_BYTES:
                    raise ParseError(
                        source, f"too large for a cable file ({size // 1048576} MB) and not a cables.csv"
                    )
                data = files.read_rest(f, head, MAX_CABLE_BYTES, source)
    except OSError as exc:
        raise ParseError(files.shown(source), files.describe(exc, source)) from None
    if is_csv:
        yield from csvfile.iter_csv(path, on_error=on_error, procs=procs)
        return
    yield parse_text(data, source=source, name=Path(path).name)


def is_csv_head(head: bytes, name: str = "") -> bool:
    """Whether a file starting with ``head`` (its first bytes) is a cables.csv; ``name`` is its
    path or file name (a ``.csv`` name lets a file whose first row is bad count as one)."""
    head = head.lstrip()
    end = head.find(b"\n")
    if b"," not in (head if end < 0 else head[:end]):
        return False  # no CSV row starts here (most files: decided without decoding)
    return detect.detect_csv(head[:_SNIFF_BYTES].decode("utf-8", "replace"), name)


def parse_text(
    text: str | bytes,
    source: str = "<text>",
    name: str | None = None,
    seconds: float | None = PARSE_SECONDS,
) -> Cable:
    """One cable from the text (or bytes) of a page, a page scrape, a telegram or a one-row
    cables.csv; the form is detected from the content.

    ``source`` names the input in the cable and in errors; ``name`` is the file name, from which
    a bare telegram's reference ID is taken when its text does not give one. ``seconds`` is the
    time limit (see ``deadline``; None: none).
    Raises ``ParseError`` for input that is no cable, or that takes longer than ``seconds``.
    """
    with time_limit(seconds, source):
        return _parse_text(text, source, name)


def _parse_text(text: str | bytes, source: str, name: str | None) -> Cable:
    if isinstance(text, bytes):
        text, warnings = decode(text, source)
    else:
        text, warnings = check_text(text, source), []
    form = detect.detect(text)
    if form == detect.HTML:
        return parse_html(text, source, warnings)
    if form == detect.PAGE:
        return parse_page(text, source, warnings)
    if form == detect.CSV:
        return _parse_csv_text(text, source, warnings)
    return parse_bare(text, source, name, warnings)


def _parse_csv_text(text: str, source: str, warnings: list[str]) -> Cable:
    """A cables.csv given as text: exactly one row makes one cable."""
    import io

    rows: list[tuple[int, list[str]]] = []
    errors: list[ParseError] = []
    reader_rows = csvfile.iter_rows_from(io.StringIO(text, newline=""), source, errors.append)
    for item in reader_rows:
        rows.append(item)
        if len(rows) > 1:
            raise ParseError(source, "holds several cables.csv rows; read it with parse_file")
    if errors:
        raise errors[0]
    if not rows:
        raise ParseError(source, "a cables.csv header without rows")
    n, row = rows[0]
    cable = csvfile.cable_from_row(row, source, n)
    cable.warnings[:0] = warnings
    return cable
