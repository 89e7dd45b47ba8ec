"""Batch search: many queries at once, one summary row each.

A batch file holds one query per line, or CSV rows ``name,query`` (when the file name ends in
``.csv`` or its first line is the header ``name,query``). Blank lines and lines starting with
``#`` are skipped. For each query :func:`run_batch` gives a :class:`BatchRow`: the total, the
first and last creation date, and the top origins and tags (from one evaluation of the query
on a :class:`~cablesearch.search.service.SearchService`'s snapshot, or from searches on any
other searcher). A line that cannot be read, or a query that does not parse or runs past the
time limit, gets its error in its own row; the other rows run. Rows render as a table, CSV or JSON (``BatchRow.to_json`` is also what the web
page renders, each row linking to the search of its ``query``).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..engine.postings import MISSING, to_datetime
from ..errors import CablesearchError, QuerySyntaxError, QueryTimeout
from ..results import SearchRequest, SearchResult
from ..search.execution import execute
from ..search.facets import count_search_facets
from ..search.query import build
from ..search.service import SearchService
from .export import csv_cell

CSV_COLUMNS = ("line", "name", "query", "total", "first", "last", "top_origins", "top_tags", "error")


class BatchError(CablesearchError):
    """The batch file as a whole cannot be used (missing, unreadable, empty)."""


class Searcher(Protocol):
    def search(self, request: SearchRequest) -> SearchResult: ...


@dataclass
class BatchQuery:
    """One query of a batch file: its line number, optional name and query text; ``error``
    set when the line itself could not be read."""

    line: int
    query: str
    name: str = ""
    error: str | None = None


@dataclass
class BatchRow:
    line: int
    query: str
    name: str = ""
    total: int = 0
    first: datetime | None = None
    last: datetime | None = None
    origins: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "name": self.name,
            "query": self.query,
            "total": self.total,
            "first": _day(self.first) or None,
            "last": _day(self.last) or None,
            "origins": [[v, n] for v, n in self.origins],
            "tags": [[v, n] for v, n in self.tags],
            "error": self.error,
        }

    def to_csv_row(self) -> list[str]:
        """The row's CSV cells, safe to open in a spreadsheet (see ``export.csv_cell``)."""
        return [csv_cell(cell) for cell in self._csv_values()]

    def _csv_values(self) -> list[str]:
        return [
            str(self.line),
            self.name,
            self.query,
            "" if self.error else str(self.total),
            _day(self.first),
            _day(self.last),
            "; ".join(f"{v} ({n})" for v, n in self.origins),
            "; ".join(f"{v} ({n})" for v, n in self.tags),
            self.error or "",
        ]


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


# -- reading ---------------------------------------------------------------------------------


def read_batch_file(path: Path | str) -> list[BatchQuery]:
    """The queries of a batch file (``-``: standard input). BatchError when the file cannot
    be read or holds no query; a bad line becomes a BatchQuery with its ``error``."""
    name = str(path)
    try:
        if name == "-":
            text = sys.stdin.read()
            name = "standard input"
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BatchError(f"{name}: no such file; give a file with one query per line") from None
    except UnicodeDecodeError:
        raise BatchError(f"{name}: not UTF-8 text; save the query list as UTF-8") from None
    except OSError as exc:
        raise BatchError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    queries = parse_batch(text, as_csv=name.lower().endswith(".csv"))
    if not queries:
        raise BatchError(f"{name}: no queries in it; write one query per line (or CSV rows name,query)")
    return queries


def parse_batch(text: str, as_csv: bool = False) -> list[BatchQuery]:
    """Queries from batch text: one a line, or CSV ``name,query`` rows when ``as_csv`` or the
    first line is the header ``name,query``."""
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    header = first.replace(" ", "").lower() == "name,query"
    if as_csv or header:
        return list(_csv_queries(lines, skip_header=header))
    out = []
    for n, ln in enumerate(lines, start=1):
        q = ln.strip()
        if q and not q.startswith("#"):
            out.append(BatchQuery(n, q))
    return out


def _csv_queries(lines: list[str], skip_header: bool) -> Iterator[BatchQuery]:
    header_seen = not skip_header
    for n, ln in enumerate(lines, start=1):
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            continue
        try:
            cells = next(csv.reader([ln]))
        except csv.Error as exc:
            yield BatchQuery(n, ln.strip(), error=f"line {n}: not a CSV row ({exc})")
            continue
        if len(cells) != 2:
            yield BatchQuery(
                n,
                ln.strip(),
                error=(
                    f"line {n}: expected 2 columns name,query, found {len(cells)}; "
                    f"put a query holding commas in double quotes"
                ),
            )
            continue
        name, query = cells[0].strip(), cells[1].strip()
        if not query:
            yield BatchQuery(n, "", name=name, error=f"line {n}: the query is empty")
            continue
        yield BatchQuery(n, query, name=name)


# -- running ---------------------------------------------------------------------------------


def summarize(service: Searcher, query: BatchQuery, top: int = 3) -> BatchRow:
    """One query's summary row; a bad query's error goes into the row."""
    row = BatchRow(line=query.line, query=query.query, name=query.name, error=query.error)
    if row.error:
        return row
    try:
        if isinstance(service, SearchService):
            _fill_from_snapshot(row, service, top)
        else:
            _fill_from_searches(row, service, top)
    except (QuerySyntaxError, QueryTimeout) as exc:
        row.error = f"line {query.line}: {exc}"
    return row


def _fill_from_snapshot(row: BatchRow, service: SearchService, top: int) -> None:
    """The row from ONE evaluation of the query on the service's snapshot: the total, the
    oldest and newest creation dates over the matching set's date column, and the origin and
    tag counts -- what two searches (oldest first, newest first) give, without reading and
    highlighting hits or counting the other facets (a third of the time of a batch)."""
    with service.snapshot() as snap:
        built = build(
            SearchRequest(query=row.query, facet_limit=top), snap.schema, service.config.max_page_size
        )
        run = execute(snap, built, service.config.query_time_limit)
        created = snap.arrays.created[run.mask]
        dated = created[created != MISSING]
        row.total = run.total
        if dated.size:
            row.first, row.last = to_datetime(int(dated.min())), to_datetime(int(dated.max()))
        facets = count_search_facets(snap.arrays, run, top, ("origin", "tag"))
    row.origins = list(facets["origin"])[:top]
    row.tags = list(facets["tag"])[:top]


def _fill_from_searches(row: BatchRow, service: Searcher, top: int) -> None:
    """The row from searches (any :class:`Searcher`): oldest first, then newest first."""
    oldest = service.search(
        SearchRequest(query=row.query, sort="created", page_size=1, facet_limit=top, highlight=False)
    )
    row.total = oldest.total
    row.origins = list(oldest.facets.get("origin", []))[:top]
    row.tags = list(oldest.facets.get("tag", []))[:top]
    if oldest.hits:
        row.first = oldest.hits[0].created
        row.last = row.first
    if oldest.total > 1 and row.first is not None:
        newest = service.search(
            SearchRequest(query=row.query, sort="-created", page_size=1, facet_limit=1, highlight=False)
        )
        row.last = newest.hits[0].created if newest.hits else row.first


def run_batch(service: Searcher, queries: Iterable[BatchQuery], top: int = 3) -> Iterator[BatchRow]:
    """A summary row per query, in order, as each finishes."""
    for q in queries:
        yield summarize(service, q, top)


# -- rendering -------------------------------------------------------------------------------


def rows_to_csv(rows: Iterable[BatchRow]) -> Iterator[str]:
    """CSV lines (header first), each ending in a newline."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        w.writerow(row.to_csv_row())
        yield buf.getvalue()


def format_table(rows: list[BatchRow], width: int = 36) -> str:
    """A plain-text table: one line per query; a failed query shows its error after the
    query instead of the counts."""
    named = any(r.name for r in rows)
    head = (["name"] if named else []) + ["query", "total", "first", "last", "top origins", "top tags"]
    table: list[list[str]] = [head]
    for r in rows:
        cells = ([_clip(r.name, 20)] if named else []) + [_clip(r.query, width)]
        if r.error:
            cells.append(f"error: {r.error}")
        else:
            cells += [
                f"{r.total:,}",
                _day(r.first) or "-",
                _day(r.last) or "-",
                ", ".join(f"{v} {n:,}" for v, n in r.origins) or "-",
                ", ".join(f"{v} {n:,}" for v, n in r.tags) or "-",
            ]
        table.append(cells)
    full = [c for c in table if len(c) == len(head)]
    widths = [max(len(c[i]) for c in full) for i in range(len(head))]
    lines = []
    for cells in table:
        padded = [c.ljust(widths[i]) if i < len(cells) - 1 else c for i, c in enumerate(cells)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
