"""Rendering: the Jinja2 environment of the pages, HTML responses timed into Server-Timing,
the one JSON error shape of the API, and values made JSON-ready."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .. import __version__
from ..vocab import describe_tag
from .listing import MONTHS
from .middleware import Timer
from .state import FACET_LABELS, NO_FILTERS, SearchState, person_url, thread_url

TEMPLATES = Path(__file__).resolve().parent / "templates"
SORT_LABELS = {
    "relevance": "Relevance",
    "-created": "Newest first",
    "created": "Oldest first",
    "-released": "Released, newest first",
    "released": "Released, oldest first",
}


class Renderer:
    """The pages' templates (autoescaped, strict about undefined names)."""

    def __init__(self, watching: bool, unseen: Callable[[], int] | None = None):
        """``unseen``: the alerts' unseen matches for the navigation (read on every page)."""
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        env.globals.update(
            version=__version__,
            FACET_LABELS=FACET_LABELS,
            NO_FILTERS=NO_FILTERS,
            person_url=person_url,
            thread_url=thread_url,
            SORT_LABELS=SORT_LABELS,
            MONTHS=MONTHS,
            urlencode=urlencode,
            watching=watching,
            alerts_unseen=unseen or (lambda: 0),
            describe_tag=lambda code: describe_tag(code) or "",
        )
        env.filters["date"] = lambda d: d.strftime("%Y-%m-%d") if d else "—"
        env.filters["datetime"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else "—"
        env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
        self.env = env

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        with Timer("render"):
            html = self.env.get_template(template).render(**{"request_path": request.url.path, **context})
        return HTMLResponse(html, status_code=status)

    def error(
        self,
        request: Request,
        status: int,
        message: str,
        details: list[dict[str, Any]] | None = None,
        search_for: str = "",
    ) -> Response:
        """The error as ``{"error": {...}}`` on the API, as an error page elsewhere;
        ``search_for`` offers a search link on the page (e.g. for a missing cable)."""
        if is_api(request):
            return JSONResponse(error_body(status, message, details), status_code=status)
        return self.page(
            request,
            "error.html",
            status=status,
            status_code=status,
            message=message,
            state=SearchState(),
            search_for=search_for,
        )


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def jsonable(value: Any) -> Any:
    """Dates as ``YYYY-MM-DDTHH:MM``, paths as strings, tuples as lists, recursively."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return value
