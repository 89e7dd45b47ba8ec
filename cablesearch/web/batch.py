"""Batch search on the web: the page ``/batch`` (paste a list or upload a file, see one row per
query) and ``POST /api/batch`` (the rows as JSON). Both read and run the list with
:mod:`cablesearch.investigate.batch`, the CLI's ``batch`` code.

A batch of up to ``LIMITS.max_batch_queries`` queries runs ``LIMITS.batch_chunk`` queries per
turn on a search service, so searches from other visitors interleave with a long batch.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..investigate.batch import CSV_COLUMNS, BatchQuery, BatchRow, parse_batch, run_batch
from .context import WebContext, web
from .forms import BadBody, Body, BodyTooLarge, read_body
from .limits import LIMITS
from .services import Service
from .state import SearchState

router = APIRouter()

BATCH_HELP = (
    "one query per line, or CSV rows name,query (with the header line name,query); "
    "blank lines and lines starting with # are skipped"
)


class TooManyQueries(BodyTooLarge):
    """A batch over the query limit (413)."""


def batch_queries(text: str, filename: str = "") -> list[BatchQuery]:
    """The queries of a pasted or uploaded list; :class:`TooManyQueries` over the limit."""
    queries = parse_batch(text, as_csv=filename.lower().endswith(".csv"))
    if len(queries) > LIMITS.max_batch_queries:
        raise TooManyQueries(
            f"the list holds {len(queries):,} queries; at most {LIMITS.max_batch_queries:,} run "
            "in one batch: split it into several"
        )
    return queries


async def run_rows(ctx: WebContext, queries: list[BatchQuery]) -> list[BatchRow]:
    """Every query's row, in order, a few queries per turn on a search service."""
    rows: list[BatchRow] = []
    step = LIMITS.batch_chunk
    for start in range(0, len(queries), step):
        part = queries[start : start + step]

        def job(svc: Service, part: list[BatchQuery] = part) -> list[BatchRow]:
            return list(run_batch(svc, part))

        rows += await ctx.run(job)
    return rows


def row_view(row: BatchRow) -> dict[str, Any]:
    """A row as the page shows it: the JSON row plus the link to its search."""
    data = row.to_json()
    data["link"] = SearchState(q=row.query).url() if row.query and not row.error else ""
    return data


@router.get("/batch", response_class=HTMLResponse, include_in_schema=False)
async def batch_form(request: Request, ctx: WebContext = Depends(web)) -> HTMLResponse:
    return _page(ctx, request, text="", rows=None)


@router.post("/batch", response_class=HTMLResponse, include_in_schema=False)
async def batch_page(request: Request, ctx: WebContext = Depends(web)) -> Response:
    text, filename = "", ""
    try:
        body = await read_body(request, LIMITS.max_batch_bytes)
        text, filename = _form_text(body)
        queries = batch_queries(text, filename)
    except BodyTooLarge as exc:
        return _page(ctx, request, text=text, rows=None, error=str(exc), status=413)
    if not queries:
        return _page(
            ctx, request, text=text, rows=None, error=f"No queries given: write {BATCH_HELP}.", status=400
        )
    rows = await run_rows(ctx, queries)
    return _page(ctx, request, text=text, rows=[row_view(r) for r in rows], filename=filename)


def _form_text(body: Body) -> tuple[str, str]:
    upload = body.files.get("file")
    if upload is not None and upload.data.strip():
        name = upload.filename or "the uploaded file"
        return Body(body.media_type, upload.data).text(name), upload.filename
    return body.fields.get("queries", ""), body.fields.get("filename", "")


def _page(
    ctx: WebContext,
    request: Request,
    *,
    text: str,
    rows: list[dict[str, Any]] | None,
    error: str | None = None,
    status: int = 200,
    filename: str = "",
) -> HTMLResponse:
    failed = sum(1 for r in rows if r["error"]) if rows else 0
    return ctx.render.page(
        request,
        "batch.html",
        status=status,
        state=SearchState(),
        text=text,
        rows=rows,
        named=any(r["name"] for r in rows) if rows else False,
        failed=failed,
        error=error,
        filename=filename,
        help=BATCH_HELP,
        max_queries=LIMITS.max_batch_queries,
    )


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "queries": {"type": "array", "items": {"type": "string"}},
                        "text": {"type": "string", "description": "A batch file's text"},
                        "csv": {"type": "boolean", "description": "Read text as CSV name,query rows"},
                    },
                },
                "example": {"queries": ["corruption tunisia", '"arms sale" tags:PREL']},
            },
            "text/plain": {"schema": {"type": "string"}, "example": "corruption tunisia\nnuclear iran\n"},
            "text/csv": {"schema": {"type": "string"}, "example": "name,query\ntunisia,corruption tunisia\n"},
        },
    }
}


@router.post(
    "/api/batch",
    tags=["search"],
    summary="Batch search: a summary row per query",
    openapi_extra=_BATCH_BODY,
    responses={
        400: {"description": "Unreadable body or no queries"},
        413: {"description": f"Over {LIMITS.max_batch_queries} queries or {LIMITS.max_batch_bytes:,} bytes"},
        503: {"description": "The server is busy (see Retry-After)"},
    },
)
async def api_batch(
    request: Request,
    format: str = Query("json", description="json (the rows as JSON) or csv (a download)"),
    ctx: WebContext = Depends(web),
) -> Response:
    """Runs many queries at once (the CLI's `cablesearch batch`). The body is JSON
    `{"queries": [...]}` or `{"text": "...", "csv": false}`, or the batch file itself as
    `text/plain` (one query per line) or `text/csv` (rows `name,query`), or a form with field
    `queries` or file `file`. Each row gives line, name, query, total, first and last date
    created, the top origins and tags, and `error` (a query that does not parse gets its error
    in its row; the others run). `format=csv` sends the table as a CSV download instead."""
    if format not in ("json", "csv"):
        raise BadBody(f"parameter 'format': {format[:20]!r} is not json or csv")
    body = await read_body(request, LIMITS.max_batch_bytes)
    queries = _api_queries(body)
    if not queries:
        raise BadBody(f"no queries given: send {BATCH_HELP}")
    rows = await run_rows(ctx, queries)
    if format == "csv":
        name = f"cablesearch-batch-{date.today().strftime('%Y%m%d')}.csv"
        return Response(
            rows_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"count": len(rows), "failed": sum(1 for r in rows if r.error), "rows": [r.to_json() for r in rows]}
    )


def rows_csv(rows: list[BatchRow]) -> str:
    """The batch table as CSV, each text cell guarded like the export's (a query such as
    ``-iran`` or ``=1+1`` opens as text in a spreadsheet, not as a formula)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(row.to_csv_row())
    return buf.getvalue()


def _api_queries(body: Body) -> list[BatchQuery]:
    if body.media_type == "application/json":
        data = body.json()
        if isinstance(data, dict) and isinstance(data.get("queries"), list):
            items = data["queries"]
            if not all(isinstance(q, str) for q in items):
                raise BadBody("'queries' must be a list of strings")
            queries = [BatchQuery(n, q.strip()) for n, q in enumerate(items, start=1) if q.strip()]
            if len(queries) > LIMITS.max_batch_queries:
                raise TooManyQueries(
                    f"{len(queries):,} queries given; at most {LIMITS.max_batch_queries:,} run in one batch"
                )
            return queries
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            return batch_queries(data["text"], "batch.csv" if data.get("csv") else "")
        raise BadBody('send JSON {"queries": ["...", ...]} or {"text": "..."}')
    if body.media_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return batch_queries(*_form_text(body))
    return batch_queries(body.text(), "batch.csv" if body.media_type == "text/csv" else "")
