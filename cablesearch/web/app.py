"""The web interface and the JSON API over :class:`cablesearch.search.service.SearchService`.

Pages: ``/`` (search with facets, timeline and paging), ``/cable/{id}``, ``/browse``.
API: ``/api/search``, ``/api/cables/{id}``, ``/api/facets``, ``/api/stats`` and ``/openapi.json``.

Everything shown is escaped by Jinja2's autoescape; the only HTML that reaches a page unescaped
is what this module (or the search library's highlighter, which escapes the cable text itself)
builds with :func:`markupsafe.escape`. Every error leaves as ``{"error": {"status", "message"}}``
on ``/api/`` and as an error page elsewhere, from the exception handlers in ``create_app``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote_plus, urlencode

import jinja2
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..config import Config
from ..errors import CableNotFound, CablesearchError
from ..model import Cable
from ..results import FACETS, SORTS, Hit, SearchRequest, SearchResult

log = logging.getLogger(__name__)
T = TypeVar("T")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# A canonical reference ID: two digits of year, then capitals and digits only (08TRIPOLI505,
# 09STATE122950). Checked before any lookup, so no path-like value ever reaches the index.
REFERENCE_ID = re.compile(r"^[0-9]{2}[A-Z0-9]{2,60}$")
DATE_PARAM = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
MAX_QUERY_LENGTH = 1000
MAX_FILTER_LENGTH = 100
MAX_FILTER_VALUES = 20
# Deep paging costs as much as one big page: the last hit asked for is bounded.
MAX_RESULT_WINDOW = 10_000
SORT_LABELS = {
    "relevance": "Relevance",
    "-created": "Newest first",
    "created": "Oldest first",
    "-released": "Released, newest first",
    "released": "Released, oldest first",
}
FACET_LABELS = {"tag": "Tag", "origin": "Origin", "classification": "Classification", "year": "Year"}
FACET_PARAMS = {"tag": "tag", "origin": "origin", "classification": "classification", "year": "year"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BadParameter(CablesearchError):
    """A request parameter has a value the web layer refuses (422)."""

    http_status = 422


class Service(Protocol):
    """What the web layer uses of :class:`cablesearch.search.service.SearchService`."""

    def search(self, request: SearchRequest) -> SearchResult: ...
    def get(self, reference_id: str) -> Cable: ...
    def cited_by(self, reference_id: str) -> list[Hit]: ...
    def similar(self, reference_id: str, limit: int = 10) -> list[Hit]: ...
    def stats(self) -> dict[str, Any]: ...
    def browse(self) -> dict[str, list[tuple[str, int]]]: ...
    def known_ids(self, ids: Iterable[str]) -> set[str]: ...
    def highlight_text(self, text: str, query: str) -> str: ...
    def warm(self) -> None: ...


# --------------------------------------------------------------------------------------------
# Search state: the GET parameters of the search page and /api/search, and URLs built from them


@dataclass(frozen=True)
class SearchState:
    """Everything that defines a search page; ``url()`` gives the shareable link to it."""

    q: str = ""
    tags: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int | None = None

    def to_request(self, default_page_size: int, highlight: bool = True) -> SearchRequest:
        return SearchRequest(
            query=self.q,
            tags=self.tags,
            origins=self.origins,
            classifications=self.classifications,
            years=self.years,
            date_from=self.date_from,
            date_to=self.date_to,
            sort=self.sort,
            page=self.page,
            page_size=self.limit or default_page_size,
            highlight=highlight,
        )

    @property
    def has_filters(self) -> bool:
        return bool(
            self.tags or self.origins or self.classifications or self.years or self.date_from or self.date_to
        )

    def params(self) -> list[tuple[str, str]]:
        """The GET parameters of this state, in a fixed order, defaults left out."""
        return self._params({})

    def _params(self, changes: dict[str, Any]) -> list[tuple[str, str]]:
        def get(attr: str) -> Any:
            return changes[attr] if attr in changes else getattr(self, attr)

        out: list[tuple[str, str]] = []
        q = get("q")
        if q:
            out.append(("q", q))
        out += [("tag", v) for v in get("tags")]
        out += [("origin", v) for v in get("origins")]
        out += [("classification", v) for v in get("classifications")]
        out += [("year", str(v)) for v in get("years")]
        if get("date_from"):
            out.append(("from", get("date_from")))
        if get("date_to"):
            out.append(("to", get("date_to")))
        if get("sort") != "relevance":
            out.append(("sort", get("sort")))
        if get("page") > 1:
            out.append(("page", str(get("page"))))
        if get("limit"):
            out.append(("limit", str(get("limit"))))
        return out

    def url(self, **changes: Any) -> str:
        """The link to the search page in this state with ``changes`` applied; any change but
        ``page`` resets paging to the first page."""
        if changes and "page" not in changes:
            changes["page"] = 1
        query = "&".join(_pair(name, value) for name, value in self._params(changes))
        return f"/?{query}" if query else "/"

    def toggle(self, facet: str, value: str) -> str:
        """The link that adds (or, when active, removes) one facet value."""
        attr = _FACET_ATTR[facet]
        current = getattr(self, attr)
        typed: Any = int(value) if facet == "year" else value
        if typed in current:
            return self.url(**{attr: tuple(v for v in current if v != typed)})
        return self.url(**{attr: current + (typed,)})

    def is_active(self, facet: str, value: str) -> bool:
        typed: Any = int(value) if facet == "year" else value
        return typed in getattr(self, _FACET_ATTR[facet])

    def chips(self) -> list[tuple[str, str, str]]:
        """(label, value, removal link) for each active filter."""
        out: list[tuple[str, str, str]] = []
        for facet in FACETS:
            attr = _FACET_ATTR[facet]
            for value in getattr(self, attr):
                out.append(
                    (
                        FACET_LABELS[facet],
                        str(value),
                        self.url(**{attr: tuple(v for v in getattr(self, attr) if v != value)}),
                    )
                )
        if self.date_from or self.date_to:
            label = _date_range_label(self.date_from, self.date_to)
            out.append(("Created", label, self.url(date_from=None, date_to=None)))
        return out


@functools.lru_cache(maxsize=8192)
def _pair(name: str, value: str) -> str:
    """``name=value`` URL-encoded as a form would (cached: the same values recur on a page)."""
    return f"{name}={quote_plus(value)}"


_FACET_ATTR = {"tag": "tags", "origin": "origins", "classification": "classifications", "year": "years"}


@dataclass
class FacetValue:
    value: str
    count: int
    active: bool
    link: str  # adds the value to the filters, or removes it when active


def facet_lists(result: SearchResult, state: SearchState) -> list[tuple[str, list[FacetValue]]]:
    """The sidebar: each facet's values (years newest first) with counts and toggle links."""
    out: list[tuple[str, list[FacetValue]]] = []
    for facet in FACETS:
        values = list(result.facets.get(facet, []))
        if facet == "year":
            values.sort(key=lambda p: str(p[0]), reverse=True)
        attr = _FACET_ATTR[facet]
        current = getattr(state, attr)
        items = []
        for value, count in values:
            typed: Any = int(value) if facet == "year" else str(value)
            active = typed in current
            changed = tuple(v for v in current if v != typed) if active else current + (typed,)
            items.append(FacetValue(str(value), count, active, state.url(**{attr: changed})))
        if items:
            out.append((facet, items))
    return out


def _date_range_label(date_from: str | None, date_to: str | None) -> str:
    if date_from and date_to:
        return date_from if date_from == date_to else f"{date_from} – {date_to}"
    if date_from:
        return f"from {date_from}"
    return f"until {date_to}"


def _clean_values(name: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_FILTER_VALUES:
        raise BadParameter(f"parameter {name!r}: at most {MAX_FILTER_VALUES} values may be given")
    out: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if len(value) > MAX_FILTER_LENGTH or any(ord(c) < 32 for c in value):
            raise BadParameter(
                f"parameter {name!r}: {raw[:40]!r} is not a valid value "
                f"(at most {MAX_FILTER_LENGTH} printable characters)"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def _check_date(name: str, value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not DATE_PARAM.match(value):
        raise BadParameter(
            f"parameter {name!r}: {value[:40]!r} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD"
        )
    parts = [int(p) for p in value.split("-")]
    if len(parts) > 1 and not 1 <= parts[1] <= 12:
        raise BadParameter(f"parameter {name!r}: {value!r} has no month {parts[1]}")
    if len(parts) > 2:
        import calendar

        if not 1 <= parts[2] <= calendar.monthrange(parts[0], parts[1])[1]:
            raise BadParameter(f"parameter {name!r}: {value!r} is not a day of that month")
    return value


def state_dependency(config: Config) -> Callable[..., Awaitable[SearchState]]:
    """A FastAPI dependency reading (and checking) the search parameters, bounded by config."""
    max_page = max(1, MAX_RESULT_WINDOW // max(1, config.page_size))

    async def read(  # async: cheap checks, no trip through the thread pool
        q: str = Query(
            "",
            max_length=MAX_QUERY_LENGTH,
            description='Whoosh query: words, "phrases", AND/OR/NOT, field:value, '
            "wildcards*, created:[2008 to 2009-06]. Empty browses.",
        ),
        tag: list[str] = Query([], description="Filter by tag (repeatable; OR within tags)."),
        origin: list[str] = Query([], description="Filter by origin, e.g. 'Embassy Paris' (repeatable)."),
        classification: list[str] = Query([], description="Filter by classification (repeatable)."),
        year: list[int] = Query([], description="Filter by year created (repeatable)."),
        date_from: str | None = Query(
            None, alias="from", max_length=10, description="Created on or after: YYYY, YYYY-MM or YYYY-MM-DD."
        ),
        date_to: str | None = Query(
            None, alias="to", max_length=10, description="Created on or before: YYYY, YYYY-MM or YYYY-MM-DD."
        ),
        sort: str = Query("relevance", description="One of: " + ", ".join(SORTS)),
        page: int = Query(1, ge=1, le=max_page, description="Page number, from 1."),
        limit: int | None = Query(
            None,
            ge=1,
            le=config.max_page_size,
            description=f"Hits per page (1-{config.max_page_size}; default {config.page_size}).",
        ),
    ) -> SearchState:
        if sort not in SORTS:
            raise BadParameter(
                f"parameter 'sort': {sort[:40]!r} is not a sort; use one of {', '.join(SORTS)}"
            )
        for y in year:
            if not 1900 <= y <= 2100:
                raise BadParameter(f"parameter 'year': {y} is not a year between 1900 and 2100")
        if len(year) > MAX_FILTER_VALUES:
            raise BadParameter(f"parameter 'year': at most {MAX_FILTER_VALUES} values may be given")
        if page * (limit or config.page_size) > MAX_RESULT_WINDOW:
            raise BadParameter(
                f"parameter 'page': only the first {MAX_RESULT_WINDOW} hits can be "
                f"paged through; narrow the search instead"
            )
        if any(ord(c) < 32 and c not in "\t\n\r" for c in q):
            raise BadParameter("parameter 'q': control characters are not allowed")
        return SearchState(
            q=q.strip(),
            tags=_clean_values("tag", tag),
            origins=_clean_values("origin", origin),
            classifications=_clean_values("classification", classification),
            years=tuple(dict.fromkeys(year)),
            date_from=_check_date("from", date_from),
            date_to=_check_date("to", date_to),
            sort=sort,
            page=page,
            limit=limit,
        )

    return read


def check_reference_id(raw: str) -> str:
    """The canonical form of a reference ID from a URL, or CableNotFound if it cannot be one."""
    ref = raw.strip().upper()
    if not REFERENCE_ID.match(ref):
        raise CableNotFound(f"{raw[:80]!r} is not a cable reference ID (like 08TRIPOLI505)")
    return ref


# --------------------------------------------------------------------------------------------
# Cable text: paragraph anchors, tag links and highlighted query terms

# A numbered paragraph: "1. " at the start of a line (or after a sentence), or "1. (C)" with a
# classification marking anywhere (bodies that come as one long line).
_PARAGRAPH = re.compile(
    r"(?:(?:(?<=^)|(?<=\n)|(?<=\s\s)|(?<=[.:]\s))[ \t]*(\d{1,3})\.[ \t]+(?=\(|[A-Z])"
    r"|(?<=\s)(\d{1,3})\.[ \t]+(?=\((?:U|C|S|SBU|TS|S/NF|C/NF|SBU/NF|S//NF|C//NF|U//FOUO|NC|REL)\)))"
)
_TAGS_START = re.compile(r"(?:^|(?<=\s))TAGS:?[ \t]*")


def split_paragraphs(body: str) -> list[tuple[str | None, str]]:
    """The body as (anchor, text) pieces: a new piece starts at each numbered paragraph
    ("1. (C) ...", "2. ..."), in order, whether paragraphs start lines or follow each other
    on one long line. Numbers must rise (allowing a repeat) so "1.4 (b)" or a list of dates
    does not count. The anchor is ``par<N>`` (``par<N>-2`` for a repeated number)."""
    pieces: list[tuple[str | None, str]] = []
    last_end = 0
    expected = 1
    seen: dict[str, int] = {}
    anchor: str | None = None
    for m in _PARAGRAPH.finditer(body):
        group = 1 if m.group(1) is not None else 2
        n = int(m.group(group))
        if not (n == expected or (n == expected - 1 and n > 0) or (expected > 1 and n == expected + 1)):
            continue
        start = m.start(group)
        pieces.append((anchor, body[last_end:start]))
        name = f"par{n}"
        seen[name] = seen.get(name, 0) + 1
        anchor = name if seen[name] == 1 else f"{name}-{seen[name]}"
        last_end = start
        expected = n + 1
    pieces.append((anchor, body[last_end:]))
    return [(a, t) for a, t in pieces if a is not None or t]


_ANCHOR_MARK = "\ue000"  # a private-use character: where a paragraph anchor goes
# The search library's highlighter collapses whitespace runs (right for snippets); cable text
# is shown as laid out, so its whitespace travels through the highlighter as private-use
# characters (not whitespace, not word characters: words still split where they did).
_LAYOUT = {"\n": "\ue001", " ": "\ue002", "\t": "\ue003"}
_LAYOUT_IN = str.maketrans({**_LAYOUT, "\r": None})


def highlight_layout(highlight: Callable[[str, str], str], text: str, query: str) -> str:
    """``highlight(text, query)`` (escaped HTML with <mark>) with the text's line breaks and
    spacing kept."""
    html = str(highlight(text.translate(_LAYOUT_IN), query))
    for char, stand_in in _LAYOUT.items():
        html = html.replace(stand_in, char)
    return html


def render_body(
    body: str, query: str, tags: Iterable[str], highlight: Callable[[str, str], str] | None
) -> Markup:
    """The cable body as safe HTML: escaped text, ``¶`` anchors before numbered paragraphs,
    the TAGS line's tags linked to the tag filter, the query's terms in ``<mark>``.

    The body is highlighted in one call (paragraph starts carry a private-use character that
    the highlighter leaves alone), then the anchors and tag links are put in."""
    body = re.sub("[\ue000-\ue003]", "", body)
    pieces = split_paragraphs(body)
    anchors = [a for a, _ in pieces if a]
    marked = "".join((_ANCHOR_MARK if a else "") + t for a, t in pieces)
    if query and highlight is not None:
        html = highlight_layout(highlight, marked, query)
    else:
        html = str(escape(marked))
    found = iter(anchors)

    def anchor(m: re.Match[str]) -> str:
        name = next(found, None)
        if name is None:
            return ""
        # A body that came as one long line gets a break before each paragraph, to be read.
        gap = "" if m.start() == 0 or html[m.start() - 1] == "\n" else "\n\n"
        return f'{gap}<a class="para" id="{name}" href="#{name}" title="Link to this paragraph">¶</a>'

    html = re.sub(_ANCHOR_MARK, anchor, html)
    return Markup(_link_tags(html, set(tags)))


def _link_tags(html: str, known_tags: set[str]) -> str:
    """Links each known tag in the body's (first) TAGS line to the tag filter."""
    m = _TAGS_START.search(html)
    if not m or not known_tags:
        return html
    out = [html[: m.end()]]
    pos = m.end()
    for word in re.finditer(r"(\S+)(\s*)", html[pos:]):
        if word.group(1) not in known_tags:
            break
        tag = word.group(1)
        out.append(f'<a class="tag" href="/?{escape(urlencode({"tag": tag}))}">{tag}</a>' + word.group(2))
        pos = m.end() + word.end()
    out.append(html[pos:])
    return "".join(out)
    return Markup(html)


# --------------------------------------------------------------------------------------------
# Timeline


@dataclass
class TimelineBar:
    label: str  # "2008-06" or "2008"
    title: str  # "Jun 2008: 12 cables"
    count: int
    height: float  # percent of the tallest bar
    url: str
    active: bool = False
    tick: str = ""  # short axis label under the bar ("J" for January, "2008")


@dataclass
class Timeline:
    unit: str  # "month" or "year"
    bars: list[TimelineBar] = field(default_factory=list)
    first: str = ""
    last: str = ""
    reset_url: str | None = None
    ticks: bool = False  # whether the bars are few enough to label each one


def build_timeline(months: list[tuple[str, int]], state: SearchState, max_bars: int = 120) -> Timeline | None:
    """Bars over the span of the matches: one per month (empty months included) when the span
    fits in ``max_bars`` months, else one per year. A click narrows the created-date range to
    that month or year."""
    counts = {m: n for m, n in months if n > 0 and re.match(r"^\d{4}-\d{2}$", m)}
    if not counts:
        return None
    keys = sorted(counts)
    y0, m0 = map(int, keys[0].split("-"))
    y1, m1 = map(int, keys[-1].split("-"))
    span = (y1 - y0) * 12 + (m1 - m0) + 1
    reset = state.url(date_from=None, date_to=None) if (state.date_from or state.date_to) else None
    if span <= max_bars:
        if span < 12:
            # A short span is shown within its whole year(s), so a month or two is not one
            # bar as wide as the page.
            m0, m1 = 1, 12
            span = (y1 - y0) * 12 + 12
        series: list[tuple[str, str, int]] = []
        y, m = y0, m0
        for _ in range(span):
            key = f"{y:04d}-{m:02d}"
            series.append((key, f"{MONTHS[m - 1]} {y}", counts.get(key, 0)))
            m += 1
            if m > 12:
                y, m = y + 1, 1
        unit = "month"
    else:
        by_year: dict[int, int] = {}
        for key, n in counts.items():
            by_year[int(key[:4])] = by_year.get(int(key[:4]), 0) + n
        series = [(str(y), str(y), by_year.get(y, 0)) for y in range(y0, y1 + 1)]
        if len(series) > max_bars:
            series = [(str(y), str(y), n) for y, n in sorted(by_year.items())]
        unit = "year"
    top = max(n for _, _, n in series) or 1
    bars = []
    for key, label, n in series:
        noun = "cable" if n == 1 else "cables"
        bars.append(
            TimelineBar(
                label=key,
                title=f"{label}: {n} {noun}",
                count=n,
                height=round(100.0 * n / top, 1) if n else 0.0,
                url=state.url(date_from=key, date_to=key),
                active=bool(state.date_from == key and state.date_to == key),
                tick=(label[:3] if unit == "month" else label),
            )
        )
    return Timeline(
        unit=unit, bars=bars, first=series[0][1], last=series[-1][1], reset_url=reset, ticks=len(bars) <= 24
    )


# --------------------------------------------------------------------------------------------
# Pagination


def page_links(state: SearchState, total: int, page_size: int, window: int = 2) -> dict[str, Any]:
    """Previous/next links and a compact list of page numbers (None marks a gap)."""
    last = max(1, -(-total // page_size))
    last = min(last, max(1, MAX_RESULT_WINDOW // page_size))
    page = min(state.page, last)
    numbers: list[int | None] = []
    for n in range(1, last + 1):
        if n in (1, last) or abs(n - page) <= window:
            numbers.append(n)
        elif numbers and numbers[-1] is not None:
            numbers.append(None)
    return {
        "page": state.page,
        "last": last,
        "prev": state.url(page=state.page - 1) if state.page > 1 else None,
        "next": state.url(page=state.page + 1) if state.page < last else None,
        "numbers": [(n, state.url(page=n) if n else None) for n in numbers],
    }


# --------------------------------------------------------------------------------------------
# Timing and security headers


# The Server-Timing entries of the request being handled (a fresh dict per request, set by
# TimingMiddleware; the search thread runs each handler's work in a copy of this context).
_TIMINGS: ContextVar[dict[str, float] | None] = ContextVar("cablesearch_timings", default=None)


def add_timing(name: str, ms: float) -> None:
    """Adds ``ms`` to the current request's Server-Timing entry ``name``."""
    timings = _TIMINGS.get()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + ms


class TimingMiddleware:
    """Adds ``Server-Timing`` / ``X-Response-Time`` (time from the request's arrival to the start
    of the response, in ms, plus what the handler measured) and the security headers."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        timings: dict[str, float] = {}
        token = _TIMINGS.set(timings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                total = (time.perf_counter() - start) * 1000.0
                headers = MutableHeaders(scope=message)
                parts = [f"{name};dur={dur:.2f}" for name, dur in timings.items()]
                parts.append(f"total;dur={total:.2f}")
                headers.append("Server-Timing", ", ".join(parts))
                headers.append("X-Response-Time", f"{total:.2f}ms")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault(
                    "Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                    "frame-ancestors 'none'",
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _TIMINGS.reset(token)


class _Timer:
    """Measures a named step of a handler into the request's Server-Timing entries."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        add_timing(self.name, (time.perf_counter() - self.start) * 1000.0)


_METHOD = {"highlight": "highlight_text"}


class SerializedService:
    """The search service behind one lock. Whoosh readers are not safe to share between threads
    (stored fields are read through one shared file position, so concurrent reads get each
    other's bytes); the handlers run their work on one search thread, and anything else that
    shares the service (a test, a second thread) is kept out by the lock. Time spent
    waiting for it is the ``wait`` entry of Server-Timing; each call's own time is the entry
    named after it (``search``, ``get``, ...)."""

    def __init__(self, service: Service):
        self.service = service
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        with self._lock:
            t1 = time.perf_counter()
            add_timing("wait", (t1 - t0) * 1000.0)
            try:
                return getattr(self.service, _METHOD.get(name, name))(*args, **kwargs)
            finally:
                add_timing(name, (time.perf_counter() - t1) * 1000.0)

    def search(self, request: SearchRequest) -> SearchResult:
        return self._call("search", request)  # type: ignore[no-any-return]

    def get(self, reference_id: str) -> Cable:
        return self._call("get", reference_id)  # type: ignore[no-any-return]

    def cited_by(self, reference_id: str) -> list[Hit]:
        return self._call("cited_by", reference_id)  # type: ignore[no-any-return]

    def similar(self, reference_id: str, limit: int = 10) -> list[Hit]:
        return self._call("similar", reference_id, limit=limit)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        return self._call("stats")  # type: ignore[no-any-return]

    def browse(self) -> dict[str, list[tuple[str, int]]]:
        return self._call("browse")  # type: ignore[no-any-return]

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        return self._call("known_ids", list(ids))  # type: ignore[no-any-return]

    def highlight_text(self, text: str, query: str) -> str:
        return self._call("highlight", text, query)  # type: ignore[no-any-return]

    def warm(self) -> None:
        self._call("warm")


# --------------------------------------------------------------------------------------------
# The app


def _open_service(config: Config) -> Service:
    from ..index.store import CableIndex
    from ..search.service import SearchService

    index = CableIndex.open(config.index_dir, create=True)
    return SearchService(index, config)  # type: ignore[return-value]


def _error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


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


def create_app(
    config: Config,
    daemon: Any = None,
    *,
    service: Service | None = None,
    start_daemon: bool = True,
    watching: bool | None = None,
) -> FastAPI:
    """The FastAPI app for ``config``'s index.

    ``daemon`` (a :class:`cablesearch.daemon.service.Daemon`) runs in the same process, so one process both
    serves and indexes; it is started and stopped with the app unless ``start_daemon`` is False
    (the caller runs it). ``service`` replaces the SearchService opened on ``config.index_dir``.
    ``watching`` tells the pages that a daemon keeps the index current (default: a daemon is
    given); worker processes of ``serve --workers`` get it while the daemon runs in the parent.
    """
    if watching is None:
        watching = daemon is not None

    state: dict[str, Any] = {"service": SerializedService(service) if service else None}
    open_lock = threading.Lock()

    def get_service() -> Service:
        with open_lock:
            if state["service"] is None:
                state["service"] = SerializedService(_open_service(config))
            return state["service"]  # type: ignore[no-any-return]

    # Every handler's work (searching and rendering) runs on this one thread, in arrival order.
    # Whoosh readers are not thread-safe and the work is CPU-bound under the GIL: a pool of
    # threads would only take turns at the service lock and fight over the GIL (a convoy that
    # measured ~2x slower under 20 concurrent clients). The event loop keeps reading requests
    # and writing responses meanwhile. Time spent queued is Server-Timing's ``wait``.
    def search_thread() -> ThreadPoolExecutor:
        with open_lock:
            if state.get("thread") is None:
                state["thread"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cablesearch-search")
            return state["thread"]  # type: ignore[no-any-return]

    async def serial(fn: Callable[[], T]) -> T:
        queued = time.perf_counter()

        def job() -> T:
            add_timing("wait", (time.perf_counter() - queued) * 1000.0)
            return fn()

        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(search_thread(), ctx.run, job)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        managed = daemon is not None and start_daemon
        if managed:
            daemon.start()

        def warm_up() -> None:
            # open the searcher and build its arrays now (about a second on the full release)
            # rather than on the first visitor's request; a failure is reported by that request
            try:
                get_service().warm()
            except Exception as exc:
                log.debug("warm-up failed: %s", exc)

        asyncio.get_running_loop().run_in_executor(search_thread(), warm_up)
        try:
            yield
        finally:
            with open_lock:
                thread, state["thread"] = state.get("thread"), None
            if thread is not None:
                thread.shutdown(wait=True, cancel_futures=True)
            if managed:
                daemon.stop()

    app = FastAPI(
        title="cablesearch",
        version=__version__,
        description="Full-text search over the Cablegate diplomatic cables. Every error has the "
        'shape {"error": {"status": <int>, "message": <str>}}.',
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its scripts from a CDN; /api/docs is our own page
        redoc_url=None,
    )
    app.add_middleware(TimingMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static")

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
        SORT_LABELS=SORT_LABELS,
        MONTHS=MONTHS,
        urlencode=urlencode,
        watching=watching,
    )
    env.filters["date"] = lambda d: d.strftime("%Y-%m-%d") if d else "—"
    env.filters["datetime"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else "—"
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    read_state = state_dependency(config)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        with _Timer("render"):
            html = env.get_template(template).render(request_path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"

    def error_response(
        request: Request, status: int, message: str, details: list[dict[str, Any]] | None = None
    ) -> Response:
        if is_api(request):
            return JSONResponse(_error_body(status, message, details), status_code=status)
        return page(
            request, "error.html", status=status, status_code=status, message=message, state=SearchState()
        )

    # Errors: every library error, validation error and HTTP error, in one place each.

    @app.exception_handler(CablesearchError)
    async def on_library_error(request: Request, exc: CablesearchError) -> Response:
        return error_response(request, exc.http_status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        message, details = _validation_message(exc)
        return error_response(request, 422, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path[:200]}; see /api/docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed here"
        response = error_response(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(
            request, 500, f"internal error ({type(exc).__name__}); the server log has the details"
        )

    # ---------------------------------------------------------------------------------- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def search_page(request: Request, st: SearchState = Depends(read_state)) -> HTMLResponse:
        return await serial(lambda: render_search_page(request, st))

    def render_search_page(request: Request, st: SearchState) -> HTMLResponse:
        svc = get_service()
        page_size = st.limit or config.page_size
        try:
            result = svc.search(st.to_request(config.page_size))
        except CablesearchError as exc:
            if exc.http_status == 404 or exc.http_status >= 500:
                raise
            return page(
                request,
                "search.html",
                status=exc.http_status,
                state=st,
                result=None,
                error=str(exc),
                timeline=None,
                paging=None,
                facets=[],
            )
        timeline = build_timeline(result.facets.get("month", []), st)
        return page(
            request,
            "search.html",
            state=st,
            result=result,
            error=None,
            timeline=timeline,
            paging=page_links(st, result.total, page_size),
            facets=facet_lists(result, st),
        )

    @app.get("/cable/{ref_id}", response_class=HTMLResponse, include_in_schema=False)
    async def cable_page(
        request: Request, ref_id: str, q: str = Query("", max_length=MAX_QUERY_LENGTH)
    ) -> Response:
        ref = check_reference_id(ref_id)
        if ref != ref_id:
            suffix = f"?{urlencode({'q': q})}" if q else ""
            return RedirectResponse(f"/cable/{ref}{suffix}", status_code=308)
        return await serial(lambda: render_cable_page(request, ref, q))

    def render_cable_page(request: Request, ref: str, q: str) -> Response:
        svc = get_service()
        cable = svc.get(ref)
        known = svc.known_ids(cable.references) if cable.references else set()
        cited_by = svc.cited_by(ref)
        similar = svc.similar(ref, limit=8)
        q = q.strip()
        try:
            body = render_body(cable.body, q, cable.tags, svc.highlight_text)
            header = Markup(highlight_layout(svc.highlight_text, cable.header, q)) if q else cable.header
            subject = Markup(svc.highlight_text(cable.subject, q)) if q else cable.subject
        except CablesearchError:
            # A query that cannot be parsed still shows the cable, without marks.
            body = render_body(cable.body, "", cable.tags, None)
            header, subject = cable.header, cable.subject
        return page(
            request,
            "cable.html",
            cable=cable,
            body=body,
            header=header,
            subject=subject,
            q=q,
            known=known,
            cited_by=cited_by,
            similar=similar,
            state=SearchState(q=q),
        )

    @app.get("/browse", response_class=HTMLResponse, include_in_schema=False)
    async def browse_page(request: Request) -> HTMLResponse:
        return await serial(lambda: render_browse_page(request))

    def render_browse_page(request: Request) -> HTMLResponse:
        svc = get_service()
        lists = svc.browse()
        stats = svc.stats()
        return page(request, "browse.html", browse=browse_groups(lists), stats=stats, state=SearchState())

    @app.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        """The API described for people, from the OpenAPI document (no external scripts)."""
        return await serial(lambda: render_api_docs(request))

    def render_api_docs(request: Request) -> HTMLResponse:
        spec = app.openapi()
        endpoints = []
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
        return page(
            request, "api.html", endpoints=endpoints, state=SearchState(), max_page_size=config.max_page_size
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    # ------------------------------------------------------------------------------------ API

    @app.get(
        "/api/search",
        tags=["search"],
        summary="Search cables",
        responses={400: {"description": "Bad query"}, 422: {"description": "Bad parameter"}},
    )
    async def api_search(request: Request, st: SearchState = Depends(read_state)) -> JSONResponse:
        """Search with the CLI's parameters; the answer is `cablesearch search --json`'s object:
        query, total, page, page_size, hits (with HTML-safe snippets), facets over all matches,
        suggestion and elapsed_ms."""
        return await serial(
            lambda: JSONResponse(get_service().search(st.to_request(config.page_size)).to_json())
        )

    @app.get(
        "/api/facets",
        tags=["search"],
        summary="Facet counts for a search",
        responses={400: {"description": "Bad query"}, 422: {"description": "Bad parameter"}},
    )
    async def api_facets(
        request: Request,
        st: SearchState = Depends(read_state),
        facet_limit: int = Query(20, ge=1, le=1000, description="Values per facet."),
    ) -> JSONResponse:
        """Counts per tag, origin, classification and year over all matches of the search (all
        cables when no query or filter is given), and the matches by month created."""
        return await serial(lambda: facets_json(st, facet_limit))

    def facets_json(st: SearchState, facet_limit: int) -> JSONResponse:
        svc = get_service()
        req = replace(
            st.to_request(config.page_size, highlight=False), page=1, page_size=1, facet_limit=facet_limit
        )
        result = svc.search(req)
        return JSONResponse(
            {
                "query": result.query,
                "total": result.total,
                "facets": result.to_json()["facets"],
                "months": [[m, n] for m, n in result.facets.get("month", [])],
            }
        )

    @app.get(
        "/api/cables/{ref_id}",
        tags=["cables"],
        summary="One cable",
        responses={404: {"description": "Unknown cable"}},
    )
    async def api_cable(request: Request, ref_id: str) -> JSONResponse:
        """The whole cable (`cablesearch show --json`'s object), plus `cited_by`: the reference
        IDs of indexed cables whose REF line cites it, and `references_in_index`: which of its
        own references are indexed."""
        ref = check_reference_id(ref_id)
        return await serial(lambda: cable_json(ref))

    def cable_json(ref: str) -> JSONResponse:
        svc = get_service()
        cable = svc.get(ref)
        data = cable.to_json()
        data["cited_by"] = [h.reference_id for h in svc.cited_by(ref)]
        data["references_in_index"] = sorted(svc.known_ids(cable.references)) if cable.references else []
        return JSONResponse(data)

    @app.get("/api/stats", tags=["index"], summary="Index statistics")
    async def api_stats(request: Request) -> JSONResponse:
        """Counts, date range, index size and last update (`cablesearch stats --json`)."""
        return await serial(lambda: JSONResponse(jsonable(get_service().stats())))

    @app.api_route(
        "/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
    )
    async def api_unknown(rest: str) -> None:
        raise StarletteHTTPException(
            404, f"no API endpoint /api/{rest[:100]}; the API is described at /openapi.json"
        )

    return app


def jsonable(value: Any) -> Any:
    """Dates as ``YYYY-MM-DDTHH:MM``, paths as strings, tuples as lists, recursively."""
    from datetime import date, datetime

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


# --------------------------------------------------------------------------------------------
# Browse


@dataclass
class BrowseGroup:
    key: str
    title: str
    items: list[tuple[str, int, str]]  # (label, count, link)
    years: list[tuple[str, int, list[tuple[str, int, str]]]] | None = None


def browse_groups(lists: dict[str, list[tuple[str, int]]]) -> list[BrowseGroup]:
    """The browse page's sections, each value linked to the search that lists its cables."""

    def first(*names: str) -> list[tuple[str, int]]:
        for name in names:
            if name in lists:
                return lists[name]
        return []

    groups: list[BrowseGroup] = []
    months = first("created", "created_month", "month")
    years: dict[str, list[tuple[str, int, str]]] = {}
    for ym, n in sorted(months):
        y = ym[:4]
        label = (
            MONTHS[int(ym[5:7]) - 1] if len(ym) >= 7 and ym[5:7].isdigit() and 1 <= int(ym[5:7]) <= 12 else ym
        )
        years.setdefault(y, []).append((label, n, SearchState(sort="created").url(date_from=ym, date_to=ym)))
    groups.append(
        BrowseGroup(
            "created",
            "By date created",
            [],
            years=[(y, sum(n for _, n, _ in ms), ms) for y, ms in sorted(years.items(), reverse=True)],
        )
    )
    released = first("released", "released_date")
    groups.append(
        BrowseGroup(
            "released",
            "By release date",
            [
                (d, n, SearchState(q=f"released:[{d} to {d}]", sort="-created").url())
                for d, n in sorted(released, reverse=True)
            ],
        )
    )
    groups.append(
        BrowseGroup(
            "origin",
            "By origin",
            [
                (o, n, SearchState(origins=(o,), sort="-created").url())
                for o, n in sorted(first("origin"), key=lambda p: p[0].lower())
            ],
        )
    )
    groups.append(
        BrowseGroup(
            "tag",
            "By tag",
            [(t, n, SearchState(tags=(t,), sort="-created").url()) for t, n in sorted(first("tag", "tags"))],
        )
    )
    groups.append(
        BrowseGroup(
            "classification",
            "By classification",
            [
                (c, n, SearchState(classifications=(c,), sort="-created").url())
                for c, n in sorted(first("classification"), key=lambda p: -p[1])
            ],
        )
    )
    return groups
