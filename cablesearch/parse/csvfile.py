"""cables.csv, the layout of the complete 2011 release: 8 columns (running number, created
``MM/DD/YYYY HH:MM``, reference ID, origin, classification, referenced cables, header, body),
comma-separated, double-quoted, with backslash escapes.

The file is streamed row by row (the real one is ~1.7 GB), so memory stays flat. A row that
cannot be read is reported (file and row named) and the rows after it are read as usual. The
per-row work is a module-level function (``cable_from_row``) so that worker processes can run it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import TextIO

from ..errors import ParseError
from ..model import Cable
from ..workers import worker_pool
from . import deadline, telegram
from .files import open_regular
from .ids import canonical_id
from .site import fill_table
from .text import WARN_CP1252, WARN_LATIN1

COLUMNS = 8
CSV_OPTIONS = {"escapechar": "\\", "doublequote": False, "strict": True}
# Fields can be as long as a whole cable (the csv module's default limit is 128 KB), but no
# longer than a cable file may be: a quote left open must not pull gigabytes into one field.
MAX_FIELD_BYTES = 32 * 1024 * 1024
csv.field_size_limit(MAX_FIELD_BYTES)

_SURROGATE = re.compile(r"[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_REF_SPLIT = re.compile(r"[\s,;|]+")

# (row number, fields) as read from the file.
Row = tuple[int, list[str]]
OnError = Callable[[ParseError], None]


def iter_rows(path: str | Path, on_error: OnError) -> Iterator[Row]:
    """Stream the rows of a cables.csv file as ``(row number, fields)``; see ``iter_rows_from``."""
    with io.TextIOWrapper(open_regular(path), encoding="utf-8", errors="surrogateescape", newline="") as f:
        yield from iter_rows_from(f, str(path), on_error)


def iter_rows_from(f: TextIO, source: str, on_error: OnError) -> Iterator[Row]:
    """Stream the rows of an open cables.csv as ``(row number, fields)``.

    Row numbers count records from 1 (a header line, where there is one, is row 1 and is
    skipped). Rows the csv module cannot read go to ``on_error``; a file that ends inside a
    quoted field is reported as truncated.
    """
    reader = csv.reader(f, **CSV_OPTIONS)  # type: ignore[arg-type]
    n = 0
    while True:
        n += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                on_error(ParseError(source, "truncated file: it ends inside a quoted field", row=n))
                return
            if "field larger than field limit" in str(exc):
                reason = (
                    f"a field longer than {MAX_FIELD_BYTES // 1048576} MB: no cable is (a quote left open?)"
                )
            else:
                reason = f"not a valid CSV row ({exc})"
            on_error(ParseError(source, reason, row=n))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            n -= 1  # a blank line between records
            continue
        if n == 1 and _is_header(row):
            continue  # a header line
        yield n, row


def _is_header(row: list[str]) -> bool:
    """A header line: names for the running number and the created date, not values."""
    return (
        len(row) > 1
        and row[0].strip().lower() in ("id", "no", "number", "#", "row")
        and row[1].strip().lower() in ("created", "date")
    )


def cable_from_row(row: list[str], source: str, n: int) -> Cable:
    """One cable from one cables.csv row (``source`` is the file's path, ``n`` the row).

    Raises ``ParseError`` (file and row named) for a row that is not in the layout: the wrong
    number of columns, a running number that is not digits, a created date that is no date.
    """
    if len(row) != COLUMNS:
        raise ParseError(source, f"expected {COLUMNS} columns, found {len(row)}", row=n)
    _check_layout(row, source, n)
    armed = deadline.arm(deadline.PARSE_SECONDS)
    try:
        try:
            return _cable_from_fields(row, source, n)
        finally:
            if armed:
                deadline.disarm()
    except deadline.TimeUp:  # also when it comes just before disarm(): none can come after it
        raise ParseError(source, deadline.reason(deadline.PARSE_SECONDS), row=n) from None


def _cable_from_fields(row: list[str], source: str, n: int) -> Cable:
    """The work of ``cable_from_row`` once the row is known to be in the layout."""
    warnings: list[str] = []
    if any(_SURROGATE.search(field) for field in row):
        row, warning = _redecode(row)
        warnings.append(warning)
    if any(_CONTROL.search(field) for field in row[6:]):
        raise ParseError(source, "binary data (control characters) in the header or body", row=n)
    _number, created, reference_id, origin, classification, cited, header, body = row
    if "\r" in header or "\r" in body:
        header = header.replace("\r\n", "\n").replace("\r", "\n")
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    if not reference_id.strip() and not header.strip() and not body.strip():
        raise ParseError(source, "empty row: no reference ID, header or body", row=n)
    cable = Cable(format="csv", source=f"{source}#row={n}", warnings=warnings)
    fill_table(cable, reference_id, created, "", classification, origin)
    if cable.created is None and created.strip():
        raise ParseError(
            source,
            f"created date {_quoted(created)} is not a date (MM/DD/YYYY HH:MM): the row is not in "
            "the cables.csv layout; fix or remove it",
            row=n,
        )
    cable = telegram.extract(header, body, cable)
    if not cable.references and cited.strip():
        cable.references = [canonical_id(r) for r in _REF_SPLIT.split(cited.strip()) if r]
    return cable


def _check_layout(row: list[str], source: str, n: int) -> None:
    """A row whose first column is not a running number is not in the cables.csv layout (its
    columns are shifted, or it is something else): reading its other columns would mix up
    fields, so it is rejected instead. (A created date that is no date is rejected the same way,
    once ``fill_table`` has read it.)"""
    number = row[0].strip()
    if not (number.isascii() and number.isdigit()):
        raise ParseError(
            source,
            f"running number {_quoted(number)} is not a number: the row is not in the cables.csv "
            "layout (number, created, reference ID, origin, classification, references, header, body)",
            row=n,
        )


def _quoted(value: str) -> str:
    """A field as a message quotes it: at most 40 characters, on one line."""
    value = " ".join(value.split())
    return repr(value if len(value) <= 40 else value[:39] + "…")


def _redecode(row: list[str]) -> tuple[list[str], str]:
    """Fields holding bytes that are not UTF-8, read again as cp1252 (or Latin-1)."""
    raw = [field.encode("utf-8", "surrogateescape") for field in row]
    try:
        return [b.decode("cp1252") for b in raw], WARN_CP1252
    except UnicodeDecodeError:
        return [b.decode("latin-1") for b in raw], WARN_LATIN1


def parse_rows(source: str, rows: list[Row]) -> list[Cable | tuple[int, str]]:
    """Parse a batch of rows; a bad row gives ``(row, reason)`` (picklable, for workers)."""
    out: list[Cable | tuple[int, str]] = []
    for n, row in rows:
        try:
            out.append(cable_from_row(row, source, n))
        except ParseError as exc:
            out.append((n, exc.reason))
        except Exception as exc:  # a parser defect must not stop the file; it is named instead
            out.append((n, f"parser failure ({type(exc).__name__}: {exc})"))
    return out


def iter_csv(
    path: str | Path, on_error: OnError | None = None, procs: int = 1, batch: int = 200
) -> Iterator[Cable]:
    """Stream the cables of a cables.csv.

    Bad rows go to ``on_error`` (default: raise the ``ParseError``, which ends the iteration).
    With ``procs > 1`` rows are parsed in that many worker processes (the program's one
    worker pool, :mod:`cablesearch.workers`) while this process reads the file; at most
    ``2 * procs`` batches are in flight, so memory stays flat.
    """
    source = str(path)

    def report(err: ParseError) -> None:
        if on_error is None:
            raise err
        on_error(err)

    if procs <= 1:
        for n, row in iter_rows(path, report):
            try:
                cable = cable_from_row(row, source, n)
            except ParseError as exc:
                report(exc)
                continue
            except Exception as exc:  # a parser defect must not stop the file; it is named instead
                report(ParseError(source, f"parser failure ({type(exc).__name__}: {exc})", row=n))
                continue
            yield cable
        return

    def batches() -> Iterator[list[Row]]:
        chunk: list[Row] = []
        for item in iter_rows(path, report):
            chunk.append(item)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    with worker_pool(procs) as pool:
        pending: deque[AsyncResult[list[Cable | tuple[int, str]]]] = deque()
        for chunk in batches():
            pending.append(pool.apply_async(parse_rows, (source, chunk)))
            while len(pending) >= 2 * procs:
                yield from _results(pending.popleft(), source, report)
        while pending:
            yield from _results(pending.popleft(), source, report)


def _results(
    result: AsyncResult[list[Cable | tuple[int, str]]], source: str, report: OnError
) -> Iterator[Cable]:
    for item in result.get():
        if isinstance(item, Cable):
            yield item
        else:
            report(ParseError(source, item[1], row=item[0]))
