"""The app factory: ``create_app(config)`` wires the routers (:mod:`.pages`, :mod:`.api`), the
middleware (:mod:`.middleware`), the static files, the search-service pool
(:mod:`.services`, the one serialisation mechanism of the web path) and the error handlers.

Everything shown is escaped by Jinja2's autoescape; the only HTML that reaches a page unescaped
is what :mod:`.cable_view` and :mod:`.listing` build with :func:`markupsafe.escape` (or the
search library's highlighter, which escapes the cable text itself). Every error leaves as
``{"error": {"status", "message"}}`` on ``/api/`` and as an error page elsewhere, from the
handlers below — the one place where exceptions become responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import Config
from ..errors import CableNotFound, CablesearchError, QueryTimeout, damaged, decode_errors
from ..search.facets import UnknownFilterValue
from . import alerts, api, batch, export, pages, people, threads
from .context import WebContext
from .limits import LIMITS
from .middleware import TimingMiddleware
from .render import Renderer, is_api
from .services import ExportSlots, ServerBusy, Service, ServicePool
from .state import REFERENCE_ID

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Search threads (each with its own search service) per server process: two, so one slow
# request leaves another thread free; more would only share the GIL of a CPU-bound process.
SEARCH_THREADS = 2


def _open_service(config: Config) -> Service:
    from ..index.store import CableIndex
    from ..search.service import SearchService

    index = CableIndex.open(config.index_dir, create=True)
    return SearchService(index, config)


def create_app(
    config: Config,
    daemon: Any = None,
    *,
    service: Service | None = None,
    start_daemon: bool = True,
    watching: bool | None = None,
    search_threads: int = SEARCH_THREADS,
    service_factory: Callable[[], Service] | None = None,
) -> FastAPI:
    """The FastAPI app for ``config``'s index.

    ``daemon`` (a :class:`cablesearch.daemon.service.Daemon`) runs in the same process, so one
    process both serves and indexes; it is started and stopped with the app unless
    ``start_daemon`` is False (the caller runs it). ``service`` replaces the search services
    opened on ``config.index_dir`` (a single given service is used by one thread at a time);
    ``service_factory`` opens each of the ``search_threads`` services instead.
    Exports stream on services of their own (``service_factory``, or opened on
    ``config.index_dir`` — also when ``service`` is given, which the search pool alone uses).
    ``watching`` tells the pages that a daemon keeps the index current (default: a daemon is
    given); worker processes of ``serve --workers`` get it while the daemon runs in the parent.
    """
    if watching is None:
        watching = daemon is not None
    factory = service_factory or (lambda: _open_service(config))
    if service is not None:
        pool = ServicePool(lambda: service, size=1, wait_limit=_wait_limit(config))
    else:
        pool = ServicePool(factory, size=search_threads, wait_limit=_wait_limit(config))
    exports = ExportSlots(factory, slots=LIMITS.export_slots)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        managed = daemon is not None and start_daemon
        if managed:
            daemon.start()
        # open the searchers and build their arrays now (about a second each on the full
        # release) rather than on the first visitors' requests, in the background; a failure
        # is reported by the request that meets it
        warm_up = asyncio.gather(*(pool.run(_warm) for _ in range(pool.size)), return_exceptions=True)
        try:
            yield
        finally:
            warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warm_up
            pool.close()
            exports.close()
            if managed:
                daemon.stop()

    app = FastAPI(
        title="cablesearch",
        version=__version__,
        description="Full-text search over the Cablegate diplomatic cables. Every error has the "
        'shape {"error": {"status": <int>, "message": <str>}}. Every endpoint is GET but batch '
        "search (POST /api/batch) and saved searches (POST and DELETE under /api/alerts).",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its scripts from a CDN; /api/docs is our own page
        redoc_url=None,
    )
    app.state.config = config
    app.state.web = WebContext(
        config, pool, Renderer(watching, alerts.UnseenCount(config.index_dir)), exports
    )
    app.add_middleware(TimingMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(batch.router)
    app.include_router(export.router)
    app.include_router(alerts.router)
    app.include_router(alerts.api_router)
    app.include_router(threads.router)
    app.include_router(people.router)
    app.include_router(api.fallback)  # last: it answers every other /api/ path
    _add_error_handlers(app)
    return app


def _warm(service: Service) -> None:
    try:
        service.warm()
    except Exception as exc:
        log.debug("warm-up failed: %s", exc)


def _wait_limit(config: Config) -> float:
    """How long a request may wait for a free search service before it gets 503."""
    return max(10.0, 4 * config.query_time_limit)


def _add_error_handlers(app: FastAPI) -> None:
    """Every library error, validation error and HTTP error becomes a response here."""

    def render(request: Request) -> Renderer:
        ctx = request.app.state.web
        assert isinstance(ctx, WebContext)
        return ctx.render

    @app.exception_handler(CablesearchError)
    async def on_library_error(request: Request, exc: CablesearchError) -> Response:
        if isinstance(exc, (QueryTimeout, ServerBusy)):
            response = render(request).error(request, 503, str(exc))
            response.headers["Retry-After"] = str(LIMITS.retry_after)
            return response
        ref = str(request.path_params.get("ref_id", "")).strip().upper()
        if isinstance(exc, CableNotFound) and not is_api(request) and REFERENCE_ID.match(ref):
            # the library's message names a CLI command; a reader on the site gets a search link
            message = f"There is no cable {ref} in the index."
            return render(request).error(request, 404, message, search_for=ref)
        return render(request).error(request, exc.http_status, str(exc), _error_details(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        message, details = _validation_message(exc)
        return render(request).error(request, 422, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path[:200]}; see /api/docs for the API"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "GET")
            message = f"{request.method} is not allowed here; use {allowed.replace(', ', ' or ')}"
        response = render(request).error(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if isinstance(exc, decode_errors()):
            # a damaged index file met while reading (the checks at open only see sizes)
            ctx = request.app.state.web
            return await on_library_error(request, damaged(ctx.config.index_dir, exc))
        log.exception("unexpected error on %s", request.url.path)
        return render(request).error(
            request, 500, f"internal error ({type(exc).__name__}); the server log has the details"
        )


def _error_details(exc: CablesearchError) -> list[dict[str, Any]] | None:
    """The machine-readable part of an error, where it has one: a filter value no cable has
    gives the parameter, the value and the nearest values that exist."""
    if isinstance(exc, UnknownFilterValue):
        return [
            {
                "parameter": exc.field,
                "value": exc.value,
                "suggestions": [[value, count] for value, count in exc.suggestions],
            }
        ]
    return None


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details: list[dict[str, Any]] = []
    messages: list[str] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        msg = str(err.get("msg", "invalid value"))
        value = err.get("input")
        details.append({"parameter": name, "message": msg})
        shown = f" (got {str(value)[:40]!r})" if isinstance(value, (str, int, float)) else ""
        messages.append(f"parameter {name!r}: {msg}{shown}")
    return "; ".join(messages) or "invalid request", details
