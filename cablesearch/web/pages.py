"""The pages: ``/`` (search), ``/cable/{id}`` (and its print view), ``/browse``, ``/api/docs``.
Each handler checks its parameters, hands its work to a search thread
(:meth:`WebContext.run`) and renders there; errors go to the handlers in ``app.py``."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import CablesearchError, QueryTimeout
from ..results import SearchRequest
from ..search.facets import UnknownFilterValue
from .cable_view import build_view
from .context import WebContext, web
from .limits import LIMITS
from .listing import browse_groups, build_timeline, facet_lists, page_links
from .people import cable_person_links
from .services import Service
from .state import FACET_ATTR, SearchState, check_reference_id, search_state

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def search_page(
    request: Request, st: SearchState = Depends(search_state), ctx: WebContext = Depends(web)
) -> HTMLResponse:
    return await ctx.run(lambda svc: render_search_page(ctx, request, st, svc))


def render_search_page(
    ctx: WebContext, request: Request, st: SearchState, svc: Service, save: dict[str, Any] | None = None
) -> HTMLResponse:
    """The results page; ``save``: the "Save this search" form's name and error to show again
    (its ``status`` is the page's)."""
    page_size = st.limit or ctx.config.page_size
    try:
        result = svc.search(st.to_request(ctx.config.page_size))
    except CablesearchError as exc:
        if exc.http_status == 404 or (exc.http_status >= 500 and not isinstance(exc, QueryTimeout)):
            raise
        status = 503 if isinstance(exc, QueryTimeout) else exc.http_status
        fixes, fix_remove = filter_fixes(exc, st)
        response = ctx.render.page(
            request,
            "search.html",
            status=status,
            state=st,
            result=None,
            error=str(exc),
            fixes=fixes,
            fix_remove=fix_remove,
            timeline=None,
            paging=None,
            facets=[],
            save=None,
        )
        if status == 503:
            response.headers["Retry-After"] = str(LIMITS.retry_after)
        return response
    return ctx.render.page(
        request,
        "search.html",
        state=st,
        result=result,
        error=None,
        fixes=[],
        fix_remove=None,
        timeline=build_timeline(result.facets.get("month", []), st),
        paging=page_links(st, result.total, page_size),
        facets=facet_lists(result, st),
        save=save,
        status=save["status"] if save else 200,
        **({"request_path": "/"} if save else {}),
    )


def filter_fixes(exc: Exception, st: SearchState) -> tuple[list[tuple[str, int, str]], str | None]:
    """For a filter value no cable has (:class:`UnknownFilterValue`): each suggested value with
    its count and the link that puts it in place of the wrong one, and the link without the
    wrong value; ``([], None)`` for any other error."""
    if not isinstance(exc, UnknownFilterValue) or exc.field not in FACET_ATTR:
        return [], None
    attr = FACET_ATTR[exc.field]
    current = getattr(st, attr)
    rest = tuple(v for v in current if v.casefold() != exc.value.casefold())
    fixes = [(value, count, st.url(**{attr: (*rest, value)})) for value, count in exc.suggestions]
    return fixes, st.url(**{attr: rest})


async def _cable(
    request: Request, ref_id: str, q: str, ctx: WebContext, template: str, tail: str
) -> Response:
    ref = check_reference_id(ref_id)
    if ref != ref_id:
        suffix = f"?{urlencode({'q': q})}" if q else ""
        return RedirectResponse(f"/cable/{ref}{tail}{suffix}", status_code=308)
    return await ctx.run(lambda svc: render_cable_page(ctx, request, ref, q.strip(), svc, template))


@router.get("/cable/{ref_id}", response_class=HTMLResponse)
async def cable_page(
    request: Request,
    ref_id: str,
    q: str = Query("", max_length=LIMITS.max_query_length),
    ctx: WebContext = Depends(web),
) -> Response:
    return await _cable(request, ref_id, q, ctx, "cable.html", "")


@router.get("/cable/{ref_id}/print", response_class=HTMLResponse)
async def cable_print(
    request: Request,
    ref_id: str,
    q: str = Query("", max_length=LIMITS.max_query_length),
    ctx: WebContext = Depends(web),
) -> Response:
    """One cable laid out for paper: no navigation, no side lists."""
    return await _cable(request, ref_id, q, ctx, "cable_print.html", "/print")


def render_cable_page(
    ctx: WebContext, request: Request, ref: str, q: str, svc: Service, template: str
) -> Response:
    cable = svc.get(ref)
    # marks only what matched THIS cable: the branches of the query it satisfies, phrases whole
    view = build_view(cable, q, functools.partial(svc.highlight_text, reference_id=cable.reference_id))
    view.known = svc.known_ids(cable.references) if cable.references else set()
    view.signers, view.classified_by = cable_person_links(cable)
    if template == "cable.html":
        # the side lists are extras: past the time limit the cable is still shown, without them
        try:
            view.cited_by = svc.cited_by(ref)
            view.similar = svc.similar(ref, limit=8)
            view.thread_size = thread_size(svc, ref)
        except QueryTimeout:
            view.note = " ".join(
                filter(
                    None,
                    [view.note, "The citing and similar cables could not be listed within the time limit."],
                )
            )
    return ctx.render.page(request, template, cable=cable, view=view, q=q, state=SearchState(q=q))


def thread_size(svc: Service, ref: str) -> int:
    """The cables of ``ref``'s thread that are in the index (itself included), counted by the
    ``thread:`` query on the index's arrays: no record of the thread is read."""
    request = SearchRequest(query=f"thread:{ref}", page_size=1, facet_limit=1, highlight=False)
    return svc.search(request).total


@router.get("/browse", response_class=HTMLResponse)
async def browse_page(request: Request, ctx: WebContext = Depends(web)) -> HTMLResponse:
    def job(svc: Service) -> HTMLResponse:
        lists, stats = svc.browse(), svc.stats()
        return ctx.render.page(
            request, "browse.html", browse=browse_groups(lists), stats=stats, state=SearchState()
        )

    return await ctx.run(job)


@router.get("/api/docs", response_class=HTMLResponse)
async def api_docs(request: Request, ctx: WebContext = Depends(web)) -> HTMLResponse:
    """The API described for people, from the OpenAPI document (no external scripts)."""
    spec = request.app.openapi()
    endpoints: list[dict[str, Any]] = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                (p["name"], p.get("schema", {}), p.get("required", False), p.get("description", ""))
                for p in op.get("parameters", [])
            ]
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                }
            )
    return ctx.render.page(
        request, "api.html", endpoints=endpoints, state=SearchState(), max_page_size=ctx.config.max_page_size
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=308)
