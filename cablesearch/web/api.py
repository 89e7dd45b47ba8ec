"""The JSON API: ``/api/search``, ``/api/facets``, ``/api/cables/{id}``, ``/api/stats``,
``/api/conflicts``
(described at ``/openapi.json``). Every error leaves as ``{"error": {"status", "message"}}``."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..index.conflicts import COPIES, read_conflicts
from . import alerts, batch, export, people, threads
from .context import WebContext, web
from .render import jsonable
from .services import Service
from .state import SearchState, check_reference_id, search_state

router = APIRouter(prefix="/api")
# unknown paths and methods: included after every other router with /api/ routes
fallback = APIRouter(prefix="/api")

_SEARCH_ERRORS = {
    400: {"description": "Bad query"},
    422: {"description": "Bad parameter"},
    503: {"description": "The query ran past the time limit, or the server is busy (see Retry-After)"},
}


@router.get("/search", tags=["search"], summary="Search cables", responses=_SEARCH_ERRORS)  # type: ignore[arg-type]
async def api_search(st: SearchState = Depends(search_state), ctx: WebContext = Depends(web)) -> JSONResponse:
    """Search with the CLI's parameters; the answer is `cablesearch search --json`'s object:
    query, total, page, page_size, hits (with HTML-safe snippets), facets over all matches
    (tag, origin, classification, year, warning — kinds of parse warnings, records to
    distrust — and person, each `[[value, cables], ...]`), suggestion(s), notice and
    elapsed_ms. A filter value no cable has is a 400 whose `error.details` gives the nearest
    values that exist. Without a query, the hits are listed newest first."""
    request = st.to_request(ctx.config.page_size)
    return await ctx.run(lambda svc: JSONResponse(svc.search(request).to_json()))


@router.get("/facets", tags=["search"], summary="Facet counts for a search", responses=_SEARCH_ERRORS)  # type: ignore[arg-type]
async def api_facets(st: SearchState = Depends(search_state), ctx: WebContext = Depends(web)) -> JSONResponse:
    """Counts per tag, origin, classification, year, person and parse warning over all matches of the search (all
    cables when no query or filter is given), and the matches by month created."""
    req = replace(st.to_request(ctx.config.page_size, highlight=False), page=1, page_size=1)

    def job(svc: Service) -> JSONResponse:
        result = svc.search(req)
        return JSONResponse(
            {
                "query": result.query,
                "total": result.total,
                "facets": result.to_json()["facets"],
                "months": [[m, n] for m, n in result.facets.get("month", [])],
            }
        )

    return await ctx.run(job)


@router.get(
    "/cables/{ref_id}",
    tags=["cables"],
    summary="One cable",
    responses={404: {"description": "Unknown cable"}},
)
async def api_cable(ref_id: str, ctx: WebContext = Depends(web)) -> JSONResponse:
    """The whole cable (`cablesearch show --json`'s object), plus `cited_by`: the reference
    IDs of indexed cables whose REF line cites it, and `references_in_index`: which of its
    own references are indexed."""
    ref = check_reference_id(ref_id)

    def job(svc: Service) -> JSONResponse:
        cable = svc.get(ref)
        data = cable.to_json()
        data["cited_by"] = [h.reference_id for h in svc.cited_by(ref)]
        data["references_in_index"] = sorted(svc.known_ids(cable.references)) if cable.references else []
        return JSONResponse(data)

    return await ctx.run(job)


@router.get("/stats", tags=["index"], summary="Index statistics")
async def api_stats(ctx: WebContext = Depends(web)) -> JSONResponse:
    """Counts, date range, index size and last update (`cablesearch stats --json`)."""
    return await ctx.run(lambda svc: JSONResponse(jsonable(svc.stats())))


@router.get("/conflicts", tags=["index"], summary="Reference IDs given by several files")
async def api_conflicts(
    copies: bool = Query(False, description="Also list IDs whose files all give the same text"),
    ctx: WebContext = Depends(web),
) -> JSONResponse:
    """`cablesearch conflicts --json`'s object: `conflicts` and `copies` (counts) and `ids`,
    one object per ID with `kind` ("conflict": the files give different texts; "copies"),
    `files` (path, released, indexed) and `indexed`, the file the index shows."""
    found = await run_in_threadpool(read_conflicts, ctx.config.index_dir, True)
    true = [c for c in found if c.kind != COPIES]
    shown = found if copies else true
    return JSONResponse(
        {"conflicts": len(true), "copies": len(found) - len(true), "ids": [c.to_dict() for c in shown]}
    )


@fallback.api_route(
    "/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
async def api_unknown(request: Request, rest: str) -> None:
    """Unknown API paths are 404; a method an endpoint does not take is 405 with its Allow."""
    allowed: set[str] = set()
    for route in (
        *router.routes,
        *batch.router.routes,
        *export.router.routes,
        *alerts.api_router.routes,
        *_graph_routes(),
    ):
        if getattr(route, "name", "") != "api_unknown" and _matches(route, request.url.path):
            allowed |= set(getattr(route, "methods", None) or ())
    if allowed and request.method not in allowed:
        raise StarletteHTTPException(405, headers={"Allow": ", ".join(sorted(allowed - {"HEAD"}))})
    raise StarletteHTTPException(
        404, f"no API endpoint /api/{rest[:100]}; the API is described at /openapi.json"
    )


def _graph_routes() -> list[object]:
    """The API routes of the thread and people routers (their pages are not under /api/)."""
    return [
        r
        for r in (*threads.router.routes, *people.router.routes)
        if getattr(r, "path", "").startswith("/api/")
    ]


def _matches(route: object, path: str) -> bool:
    regex = getattr(route, "path_regex", None)
    return bool(regex is not None and regex.match(path))
