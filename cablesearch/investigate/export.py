"""Export every match of a search as CSV or JSON Lines, streamed.

``iter_lines(service, request, fmt, fields)`` yields the export line by line (CSV: a header,
then one row per cable; JSONL: one object per cable), each ending in a newline, reading one
cable at a time from :meth:`SearchService.iter_matches` — so 100,000 matches take no more
memory than 10. The query runs before the first line is yielded: a bad query or a time-out
raises before anything is written. ``write_export`` puts the lines into a file through a
temporary file renamed at the end, so a failed export never leaves half a file.

The web layer streams ``iter_lines`` with ``MEDIA_TYPES[fmt]``; the CLI writes it to stdout
or to ``--output``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import CablesearchError
from ..model import JSON_KEYS, Cable
from ..results import SearchRequest

FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
FIELDS = (*JSON_KEYS, "score")  # every cable field, and the match's relevance score
DEFAULT_FIELDS = ("reference_id", "created", "released", "classification", "origin", "tags", "subject")
_DATES = ("created", "released")
LIST_SEPARATOR = "; "  # how CSV cells hold list fields (tags, to, references, ...)


class ExportError(CablesearchError):
    """An export was asked for in a way that cannot work (unknown format or field, bad path)."""


class MatchSource(Protocol):
    def iter_matches(self, request: SearchRequest) -> Iterator[tuple[Cable, float]]: ...


def parse_fields(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """The export fields from ``"a,b,c"`` (or a list); None or empty: DEFAULT_FIELDS.
    An unknown field is an ExportError listing the known ones."""
    if spec is None:
        return DEFAULT_FIELDS
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    fields = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    if not fields:
        return DEFAULT_FIELDS
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        what = "fields" if len(unknown) > 1 else "field"
        raise ExportError(
            f"unknown export {what} {', '.join(repr(f) for f in unknown)}; known fields: {','.join(FIELDS)}"
        )
    return fields


def check_format(fmt: str) -> str:
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return fmt


def export_record(cable: Cable, score: float, fields: Sequence[str]) -> dict[str, Any]:
    """One cable as a JSON-ready dict of the given fields (dates ``YYYY-MM-DDTHH:MM``), the
    values of ``Cable.to_json`` — read field by field: ``to_json`` deep-copies the whole cable,
    which was a third of an export's time."""
    out: dict[str, Any] = {}
    for f in fields:
        if f == "score":
            out[f] = round(score, 4)
        elif f in _DATES:
            value = getattr(cable, f)
            out[f] = value.strftime("%Y-%m-%dT%H:%M") if value else None
        else:
            out[f] = getattr(cable, f)
    return out


def iter_records(
    source: MatchSource, request: SearchRequest, fields: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """Every match of ``request`` as an export record, in the request's sort order."""
    for cable, score in source.iter_matches(request):
        yield export_record(cable, score, fields)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads these as a formula


def csv_cell(value: Any) -> str:
    """One CSV cell. Text that a spreadsheet would run as a formula (``=HYPERLINK(...)``,
    ``+1``, ``-x``, ``@SUM``, a leading tab or carriage return) gets a leading ``'``, so the
    cell opens as the text it is; numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    text = LIST_SEPARATOR.join(str(v) for v in value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iter_lines(
    source: MatchSource, request: SearchRequest, fmt: str = "csv", fields: Sequence[str] = DEFAULT_FIELDS
) -> Iterator[str]:
    """The export as text lines (each ends with ``\\n``). The query runs at the first
    ``next()``, before the first line (a CSV header is written even for no matches)."""
    fmt = check_format(fmt)
    fields = parse_fields(list(fields))
    records = iter_records(source, request, fields)
    first = next(records, None)  # runs the query: errors surface before any output
    if fmt == "jsonl":
        for rec in _chain(first, records):
            yield json.dumps(rec, ensure_ascii=False) + "\n"
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def line(values: Iterable[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow([csv_cell(v) for v in values])
        return buf.getvalue()

    yield line(fields)
    for rec in _chain(first, records):
        yield line(rec.values())


def _chain(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if first is None:
        return
    yield first
    yield from rest


def write_export(lines: Iterable[str], path: Path) -> int:
    """Write ``lines`` to ``path`` through a temporary file in the same folder, renamed over
    ``path`` only when every line is written; on any failure the temporary file is removed
    and ``path`` is untouched. Returns the number of lines written."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: is a folder; give a file name for the export")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: the folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for text in lines:
                f.write(text)
                count += 1
        os.replace(tmp, path)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the export ({exc.strerror or exc})") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return count
