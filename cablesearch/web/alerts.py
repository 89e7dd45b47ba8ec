"""Saved searches and alerts on the web, over :mod:`cablesearch.alerts`.

Pages: the "Save this search" form of the results page posts to ``POST /alerts``; ``/alerts``
lists the saved searches; ``/alerts/NAME`` shows one alert's matches, the ones not seen yet
first -- and viewing marks them seen, as ``cablesearch alerts show`` does (a reload lists them
with the older ones); ``POST /alerts/NAME/delete`` removes it; ``/alerts/NAME.atom`` is its
Atom feed (reading the feed marks nothing). API: ``/api/alerts`` (GET, POST),
``/api/alerts/{name}`` (GET, DELETE), ``POST /api/alerts/{name}/seen``.

Every handler that shows matches first evaluates the saved searches on the index segments they
have not seen (:func:`cablesearch.alerts.evaluate`: cheap, only new segments), so matches of
commits a dead daemon never evaluated are there. The store is opened on the search thread that
uses it (a SQLite connection stays in its thread) and closed at the end of the job.

Requests that change something (save, delete, mark seen) must come from this site: a browser
sends ``Origin`` (or ``Referer``, or ``Sec-Fetch-Site``) with them, and one naming another site
is refused with 403 (:func:`check_same_origin`); clients that send none (curl, scripts) pass.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..alerts import (
    FEED_ENTRIES,
    AlertExists,
    AlertNotFound,
    AlertStore,
    SavedSearch,
    add_alert,
    atom_feed,
    evaluate,
)
from ..alerts.store import NAME_RE, STORE_NAME
from ..errors import CablesearchError
from ..search.service import SearchService
from .context import WebContext, web
from .forms import BadBody, read_body
from .pages import render_search_page
from .services import Service
from .state import FACET_ATTR, FACET_LABELS, BadParameter, SearchState, filters_state

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["alerts"])

MAX_FORM_BYTES = 64 * 1024
PAGE_MATCHES = 200  # older matches listed on an alert's page
# The fields of a saved search in a form or JSON body: the search parameters' names, and the
# names the API answers with (so an alert read from GET can be posted back).
FIELDS = {
    "q": "q",
    "query": "q",
    **{facet: facet for facet in FACET_ATTR},
    **{attr: facet for facet, attr in FACET_ATTR.items()},
    "from": "from",
    "date_from": "from",
    "to": "to",
    "date_to": "to",
}


class CrossSiteRequest(CablesearchError):
    """A request that changes something came from another site (403)."""

    http_status = 403


def check_same_origin(request: Request) -> None:
    """CrossSiteRequest unless the request comes from this site (see the module docstring)."""
    fetch_site = request.headers.get("sec-fetch-site", "")
    if fetch_site in ("cross-site", "same-site"):
        raise CrossSiteRequest("this request came from another site; send it from this site's own pages")
    own = urlsplit(str(request.base_url))
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value is None:
            continue
        theirs = urlsplit(value)
        if (theirs.scheme, theirs.netloc) != (own.scheme, own.netloc):
            raise CrossSiteRequest(
                f"this request came from {value[:80]!r}, not from {own.scheme}://{own.netloc}; "
                "send it from this site's own pages"
            )
        return


def known_name(name: str) -> str:
    """The name from a URL, or AlertNotFound when it cannot be an alert's name at all."""
    if not NAME_RE.match(name):
        raise AlertNotFound(f"no alert named {name[:64]!r}; see /alerts for the saved searches")
    return name


def state_of(alert: SavedSearch) -> SearchState:
    return SearchState.of_request(alert.request)


def links(alert: SavedSearch) -> dict[str, str]:
    name = quote(alert.name)
    return {
        "page": f"/alerts/{name}",
        "feed": f"/alerts/{name}.atom",
        "search": state_of(alert).url(),
        "api": f"/api/alerts/{name}",
    }


# -- the store on a search thread -------------------------------------------------------------


@dataclass
class Listing:
    alerts: list[SavedSearch]
    errors: list[str]


def _catch_up(ctx: WebContext, svc: Service, store: AlertStore) -> list[str]:
    """Evaluate what no writer has evaluated yet; the alerts that failed, one line each."""
    return evaluate(cast(SearchService, svc), store, ctx.config).errors


def _store_job(ctx: WebContext, job: Callable[[Service, AlertStore], Any], create: bool = False) -> Any:
    """``job(svc, store)`` for ``ctx.run``: the store opened and closed on the search thread.
    Without ``create``, a store never made is AlertNotFound (no file is made on a read)."""
    index_dir = ctx.config.index_dir

    def run(svc: Service) -> Any:
        if not create and not AlertStore.exists(index_dir):
            raise AlertNotFound("no alert is saved yet; save a search from its results page")
        with AlertStore(index_dir) as store:
            return job(svc, store)

    return run


async def list_alerts(ctx: WebContext) -> Listing:
    if not AlertStore.exists(ctx.config.index_dir):
        return Listing([], [])

    def job(svc: Service, store: AlertStore) -> Listing:
        errors = _catch_up(ctx, svc, store)
        return Listing(store.all(), errors)

    return cast(Listing, await ctx.run(_store_job(ctx, job)))


# -- unseen count in the navigation ------------------------------------------------------------


class UnseenCount:
    """The total of unseen matches for the navigation bar, read from the store (never an
    evaluation) and cached until the store's files change: a page view costs two ``stat``s."""

    def __init__(self, index_dir: Path):
        self.paths = (Path(index_dir) / STORE_NAME, Path(index_dir) / (STORE_NAME + "-wal"))
        self._key: tuple[Any, ...] | None = None
        self._value = 0
        self._lock = threading.Lock()

    def _stamp(self) -> tuple[Any, ...] | None:
        out: list[Any] = []
        for p in self.paths:
            try:
                st = os.stat(p)
            except FileNotFoundError:
                if p is self.paths[0]:
                    return None
                out.append(None)
                continue
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        # and at least every minute, should a write ever leave both files' stamps alike
        out.append(int(time.monotonic() // 60))
        return tuple(out)

    def __call__(self) -> int:
        try:
            key = self._stamp()
            if key is None:
                return 0
            with self._lock:
                if key != self._key:
                    with AlertStore(self.paths[0].parent) as store:
                        self._value = sum(a.unseen for a in store.all())
                    self._key = key
                return self._value
        except Exception:  # a badge must never break a page
            return 0


# -- pages -----------------------------------------------------------------------------------


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request,
    saved: str = Query("", max_length=64),
    deleted: str = Query("", max_length=64),
    ctx: WebContext = Depends(web),
) -> HTMLResponse:
    listing = await list_alerts(ctx)
    rows = [{"alert": a, "state": state_of(a), **links(a)} for a in listing.alerts]
    return ctx.render.page(
        request,
        "alerts.html",
        state=SearchState(),
        rows=rows,
        errors=listing.errors,
        saved=saved if NAME_RE.match(saved) else "",
        deleted=deleted if NAME_RE.match(deleted) else "",
    )


@router.post("/alerts", response_class=HTMLResponse)
async def save_search(request: Request, ctx: WebContext = Depends(web)) -> Response:
    """The results page's "Save this search": saved, on to /alerts; a bad or taken name, or a
    query that does not parse, shows the results page again with the error by the form."""
    check_same_origin(request)
    body = await read_body(request, MAX_FORM_BYTES)
    name, st = _saved_search(_form_values(body.fields, body.pairs))

    def job(svc: Service, store: AlertStore) -> Response:
        try:
            add_alert(cast(SearchService, svc), store, name, st.to_request(ctx.config.page_size))
        except CablesearchError as exc:
            if exc.http_status >= 500:
                raise
            message = str(exc)
            if isinstance(exc, AlertExists):  # the library's message names the CLI command
                message = f"an alert named {name!r} exists already; pick another name or delete it on the Alerts page first"
            save = {"name": name, "error": message, "status": exc.http_status}
            return render_search_page(ctx, request, st, svc, save=save)
        return RedirectResponse(f"/alerts?saved={quote(name)}", status_code=303)

    return cast(Response, await ctx.run(_store_job(ctx, job, create=True)))


@router.get("/alerts/{name}.atom")
async def alert_feed(request: Request, name: str, ctx: WebContext = Depends(web)) -> Response:
    """The feed of alert NAME -- or, for an alert whose own name ends in ``.atom`` and no alert
    named NAME, that alert's page (its feed is ``/alerts/NAME.atom.atom``)."""
    known_name(name)
    base = str(request.base_url).rstrip("/")

    def job(svc: Service, store: AlertStore) -> str | None:
        try:
            store.get(name)
        except AlertNotFound:
            if f"{name}.atom" in {a.name for a in store.all()}:
                return None
            raise
        _catch_up(ctx, svc, store)
        return atom_feed(store.get(name), store.matches(name, limit=FEED_ENTRIES), base, str(request.url))

    xml = await ctx.run(_store_job(ctx, job))
    if xml is None:
        return await alert_page(request, f"{name}.atom", ctx)
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@router.get("/alerts/{name}", response_class=HTMLResponse)
async def alert_page(request: Request, name: str, ctx: WebContext = Depends(web)) -> HTMLResponse:
    """The unseen matches first (newest first), marked seen by this view; then the older ones."""
    known_name(name)

    def job(svc: Service, store: AlertStore) -> HTMLResponse:
        store.get(name)
        errors = [e for e in _catch_up(ctx, svc, store) if e.startswith(f"alert {name}:")]
        new = list(reversed(store.take_unseen(name)))
        taken = {m.reference_id for m in new}
        older = [m for m in store.matches(name, limit=PAGE_MATCHES + len(new)) if m.reference_id not in taken]
        alert = store.get(name)
        return ctx.render.page(
            request,
            "alert.html",
            state=SearchState(),
            alert=alert,
            alert_state=state_of(alert),
            new=new,
            older=older[:PAGE_MATCHES],
            more=max(0, alert.matches - len(new) - PAGE_MATCHES),
            errors=errors,
            links=links(alert),
        )

    return cast(HTMLResponse, await ctx.run(_store_job(ctx, job)))


@router.post("/alerts/{name}/delete")
async def delete_alert_page(request: Request, name: str, ctx: WebContext = Depends(web)) -> Response:
    check_same_origin(request)
    known_name(name)
    await ctx.run(_store_job(ctx, lambda svc, store: store.remove(name)))
    return RedirectResponse(f"/alerts?deleted={quote(name)}", status_code=303)


# -- reading a saved search from a form or JSON ------------------------------------------------


def _form_values(fields: dict[str, str], multi: list[tuple[str, str]]) -> dict[str, Any]:
    """A form's fields, the repeatable ones (tag, origin, ...) as lists."""
    out: dict[str, Any] = {"name": fields.get("name", "")}
    for key, value in multi:
        field = FIELDS.get(key)
        if field in ("q", "from", "to"):
            out[field] = value
        elif field is not None:
            out.setdefault(field, []).append(value)
    return out


def _saved_search(data: dict[str, Any]) -> tuple[str, SearchState]:
    """The name and the checked query and filters of a saved search (BadParameter, BadBody)."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "name":
            continue
        field = FIELDS.get(key)
        if field is None:
            raise BadBody(
                f"unknown field {key[:40]!r}; a saved search takes name, {', '.join(sorted(set(FIELDS.values())))}"
            )
        values[field] = value
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadParameter("field 'name': give the saved search a name (e.g. libya-arms)")

    def text(field: str) -> str | None:
        v = values.get(field)
        if v is None or isinstance(v, str):
            return v
        raise BadParameter(f"field {field!r}: give one string")

    def strings(field: str) -> list[str]:
        v = values.get(field, [])
        v = [v] if isinstance(v, (str, int)) else v
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v):
            raise BadParameter(f"field {field!r}: give a string or a list of strings")
        return [str(x) for x in v]

    filters = {facet: strings(facet) for facet in FACET_ATTR if facet in values}
    st = filters_state(text("q") or "", filters, text("from"), text("to"))
    return name.strip(), st


# -- API -------------------------------------------------------------------------------------

_ALERT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": NAME_RE.pattern},
                        "q": {"type": "string", "description": "The query, as for /api/search"},
                        **{
                            facet: {
                                "type": "array",
                                "items": {"type": "integer" if facet == "year" else "string"},
                                "description": f"{FACET_LABELS[facet]} filter, as the search's "
                                f"'{facet}' parameter (any of the values)",
                            }
                            for facet in FACET_ATTR
                        },
                        "from": {"type": "string", "description": "Created on or after: YYYY[-MM[-DD]]"},
                        "to": {"type": "string", "description": "Created on or before: YYYY[-MM[-DD]]"},
                    },
                },
                "example": {
                    "name": "libya-arms",
                    "q": "libya AND (arms OR weapons)",
                    "person": ["GODEC, ROBERT F."],
                    "from": "2008",
                },
            }
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad name, query or body"},
    403: {"description": "Sent from another site"},
    404: {"description": "No such alert"},
    409: {"description": "The name is taken"},
    422: {"description": "Bad filter value"},
}


def alert_json(alert: SavedSearch) -> dict[str, Any]:
    return {**alert.to_json(), "describe": alert.describe(), "links": links(alert)}


@api_router.get("/alerts", summary="Saved searches")
async def api_alerts(ctx: WebContext = Depends(web)) -> JSONResponse:
    """Every saved search with its query and filters, its `unseen` and total `matches` (cables
    found since it was saved), after evaluating what the index added since; `errors` names
    any saved search that could not be evaluated."""
    listing = await list_alerts(ctx)
    return JSONResponse({"alerts": [alert_json(a) for a in listing.alerts], "errors": listing.errors})


@api_router.post(
    "/alerts", summary="Save a search", status_code=201, openapi_extra=_ALERT_BODY, responses=_ERRORS
)
async def api_add_alert(request: Request, ctx: WebContext = Depends(web)) -> JSONResponse:
    """Saves the query and filters as alert `name` (JSON body, or a form). The cables that
    match now are not reported; each later index commit's matching cables are."""
    check_same_origin(request)
    body = await read_body(request, MAX_FORM_BYTES)
    if body.media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = _form_values(body.fields, body.pairs)
    else:
        data = body.json()
        if not isinstance(data, dict):
            raise BadBody('send a JSON object such as {"name": "libya-arms", "q": "libya arms"}')
    name, st = _saved_search(data)

    def job(svc: Service, store: AlertStore) -> SavedSearch:
        add_alert(cast(SearchService, svc), store, name, st.to_request(ctx.config.page_size))
        return store.get(name)

    alert = await ctx.run(_store_job(ctx, job, create=True))
    return JSONResponse(alert_json(alert), status_code=201, headers={"Location": links(alert)["api"]})


@api_router.get("/alerts/{name}", summary="One alert and its matches", responses=_ERRORS)
async def api_alert(
    name: str,
    unseen_only: bool = Query(False, description="Only the matches not marked seen."),
    limit: int | None = Query(None, ge=1, description="At most this many matches, newest first."),
    ctx: WebContext = Depends(web),
) -> JSONResponse:
    """The alert and its matches, the most recently found first. Reading marks nothing seen
    (use `POST /api/alerts/{name}/seen`)."""
    known_name(name)

    def job(svc: Service, store: AlertStore) -> dict[str, Any]:
        store.get(name)
        _catch_up(ctx, svc, store)
        matches = store.matches(name, unseen_only=unseen_only, limit=limit)
        return {"alert": alert_json(store.get(name)), "matches": [m.to_json() for m in matches]}

    return JSONResponse(await ctx.run(_store_job(ctx, job)))


@api_router.post("/alerts/{name}/seen", summary="Mark an alert's matches seen", responses=_ERRORS)
async def api_mark_seen(request: Request, name: str, ctx: WebContext = Depends(web)) -> JSONResponse:
    """Marks every unseen match seen and returns them (`marked`: how many), oldest first."""
    check_same_origin(request)
    known_name(name)

    def job(svc: Service, store: AlertStore) -> dict[str, Any]:
        store.get(name)
        _catch_up(ctx, svc, store)
        taken = store.take_unseen(name)
        return {"alert": name, "marked": len(taken), "matches": [m.to_json() for m in taken]}

    return JSONResponse(await ctx.run(_store_job(ctx, job)))


@api_router.delete("/alerts/{name}", summary="Delete an alert", responses=_ERRORS)
async def api_delete_alert(request: Request, name: str, ctx: WebContext = Depends(web)) -> JSONResponse:
    """Removes the saved search and its matches."""
    check_same_origin(request)
    known_name(name)
    await ctx.run(_store_job(ctx, lambda svc, store: store.remove(name)))
    return JSONResponse({"deleted": name})
