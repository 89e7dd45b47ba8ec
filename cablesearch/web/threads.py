"""Threads on the web: ``/cable/{id}/thread`` (the page) and ``/api/cables/{id}/thread`` (the
``cablesearch thread --json`` object). Both take ``?depth=N`` (citation steps from the cable;
absent: the whole thread, up to the library's caps, with its notice when it was cut).

The page lists the thread oldest first — the cables missing from the index, which have no date,
after the others — with each cable's steps from the start, the thread cables it cites and those
citing it; a missing cable is marked and never a link (there is nothing to open)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .context import WebContext, web
from .services import Service
from .state import SearchState, check_reference_id, thread_url

if TYPE_CHECKING:
    from ..search.graph import Thread

router = APIRouter()

#: The depths the page offers (besides the whole thread).
DEPTH_CHOICES = (1, 2, 3, 5, 10)
MAX_DEPTH = 1000  # a bound on the parameter; the library stops a walk far sooner

DEPTH_QUERY = Query(
    None,
    ge=0,
    le=MAX_DEPTH,
    description="Citation steps from the cable (0: the cable alone). Absent: the whole thread, "
    "up to the library's caps (then `cut` and `notice` say where it stopped).",
)


@dataclass
class ThreadRow:
    """One line of the thread page. ``cites`` pairs each cited ID with whether it is indexed."""

    reference_id: str
    depth: int
    in_index: bool
    created: datetime | None
    subject: str
    origin: str
    classification: str
    cites: list[tuple[str, bool]] = field(default_factory=list)
    cited_by: list[str] = field(default_factory=list)
    start: bool = False


@dataclass
class ThreadView:
    reference_id: str
    depth: int | None
    rows: list[ThreadRow]
    missing: list[str]
    notice: str | None
    choices: list[tuple[str, str, bool]]  # (label, link, current) of the depth selector

    @property
    def in_index(self) -> int:
        return sum(r.in_index for r in self.rows)

    @property
    def max_depth(self) -> int:
        return max((r.depth for r in self.rows), default=0)


def build_thread_view(thread: Thread, depth: int | None) -> ThreadView:
    """The page's rows from a :class:`cablesearch.search.graph.Thread`."""
    indexed = {c.reference_id for c in thread.cables if c.in_index}
    rows = []
    for c in thread.cables:
        rows.append(
            ThreadRow(
                reference_id=c.reference_id,
                depth=c.depth,
                in_index=c.in_index,
                created=c.created,
                subject=c.subject,
                origin=c.origin,
                classification=c.classification,
                cites=[(rid, rid in indexed) for rid in c.cites],
                cited_by=list(c.cited_by),
                start=c.reference_id == thread.reference_id,
            )
        )
    rid = thread.reference_id
    choices = [(str(n), thread_url(rid, n), depth == n) for n in DEPTH_CHOICES]
    if depth is not None and depth not in DEPTH_CHOICES:
        choices.append((str(depth), thread_url(rid, depth), True))
        choices.sort(key=lambda c: int(c[0]))
    choices.append(("All", thread_url(rid), depth is None))
    return ThreadView(rid, depth, rows, thread.missing, thread.notice, choices)


@router.get("/cable/{ref_id}/thread", response_class=HTMLResponse, include_in_schema=False)
async def thread_page(
    request: Request, ref_id: str, depth: int | None = DEPTH_QUERY, ctx: WebContext = Depends(web)
) -> Response:
    ref = check_reference_id(ref_id)
    if ref != ref_id:
        return RedirectResponse(thread_url(ref, depth), status_code=308)

    def job(svc: Service) -> HTMLResponse:
        view = build_thread_view(svc.thread(ref, depth), depth)
        return ctx.render.page(request, "thread.html", view=view, state=SearchState())

    return await ctx.run(job)


@router.get(
    "/api/cables/{ref_id}/thread",
    tags=["cables"],
    summary="The thread of a cable",
    responses={400: {"description": "Bad depth"}, 404: {"description": "Unknown cable"}},
)
async def api_thread(
    ref_id: str, depth: int | None = DEPTH_QUERY, ctx: WebContext = Depends(web)
) -> JSONResponse:
    """Every cable connected to this one through citations either way (`cablesearch thread
    --json`): `cables` oldest first (the missing ones last), each with `depth` (steps from
    this cable), `in_index`, `cites` and `cited_by` within the thread; `missing`: cited IDs
    not in the index; `cut` and `notice` when the walk stopped at the caps."""
    ref = check_reference_id(ref_id)
    return await ctx.run(lambda svc: JSONResponse(svc.thread(ref, depth).to_json()))
