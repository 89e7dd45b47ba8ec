"""``GET /api/export``: every match of a search, streamed as CSV or JSON Lines with a download
file name — the CLI's ``export`` (:mod:`cablesearch.investigate.export`) over HTTP.

An export holds a search service from its first line to its last, however slowly the client
reads, so it never takes one from the search pool: it streams on a service of its own
(:class:`cablesearch.web.services.ExportSlots`, ``LIMITS.export_slots`` at once); one more
export asked for meanwhile gets 503 with Retry-After at once. The query runs before the
response starts, so a bad query is a 400 and a time-out a 503, never a cut-off file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ..investigate.export import (
    DEFAULT_FIELDS,
    FIELDS,
    FORMATS,
    MEDIA_TYPES,
    check_format,
    iter_lines,
    parse_fields,
)
from .context import WebContext, web
from .services import Service
from .state import SearchState, search_state

router = APIRouter()


def export_filename(state: SearchState, fmt: str, today: date | None = None) -> str:
    """``cablesearch-<query or filters>-<date>.<fmt>``: ASCII letters, digits and dashes only,
    so it is safe in a header and on any file system."""
    words = [state.q, *state.tags, *state.origins, *state.classifications, *map(str, state.years)]
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(w for w in words if w).lower()).strip("-")[:60].rstrip("-")
    stamp = (today or date.today()).strftime("%Y%m%d")
    return f"cablesearch-{slug or 'all'}-{stamp}.{fmt}"


@router.get(
    "/api/export",
    tags=["search"],
    summary="Export every match (CSV or JSON Lines, streamed)",
    responses={
        200: {"content": {MEDIA_TYPES["csv"].split(";")[0]: {}, MEDIA_TYPES["jsonl"].split(";")[0]: {}}},
        400: {"description": "Bad query, format or field"},
        422: {"description": "Bad parameter"},
        503: {
            "description": "Another export is streaming, or the query ran past the time limit (Retry-After)"
        },
    },
)
async def api_export(
    st: SearchState = Depends(search_state),
    format: str = Query("csv", description=f"One of: {', '.join(FORMATS)}."),
    fields: str | None = Query(
        None,
        max_length=1000,
        description=f"Comma-separated fields (default {', '.join(DEFAULT_FIELDS)}); any of {', '.join(FIELDS)}.",
    ),
    ctx: WebContext = Depends(web),
) -> StreamingResponse:
    """Every cable matching the search and filters (the same parameters as `/api/search`; page
    and limit are ignored), in the chosen sort order, as CSV (a header row, list fields joined
    with "; ", cells a spreadsheet would run as a formula prefixed with ') or JSON Lines (one
    object per cable). Sent as a download (Content-Disposition) while it is read: the whole
    release streams in constant memory. One export streams at a time; another gets 503."""
    fmt = check_format(format)
    chosen = parse_fields(fields)
    request = replace(st.to_request(ctx.config.page_size, highlight=False), page=1, page_size=1)

    def job(svc: Service) -> Iterator[str]:
        return iter_lines(svc, request, fmt, chosen)

    chunks = await ctx.exports.open(job)
    name = export_filename(st, fmt)
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
