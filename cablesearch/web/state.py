"""Request state: the GET parameters of the search page and ``/api/search`` read and checked
(:func:`state_dependency`), the :class:`SearchState` they make, and the links built from it."""

from __future__ import annotations

import calendar
import functools
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from fastapi import Query, Request

from ..config import Config
from ..errors import CableNotFound, CablesearchError
from ..results import FACETS, SORTS, SearchRequest
from ..search.execution import FACET_FILTERS
from .limits import LIMITS

DEFAULT_FACET_LIMIT = SearchRequest().facet_limit

# A canonical reference ID: two digits of year, then capitals and digits only (08TRIPOLI505,
# 09STATE122950). Checked before any lookup, so no path-like value ever reaches the index.
REFERENCE_ID = re.compile(r"^[0-9]{2}[A-Z0-9]{2,60}$")
DATE_PARAM = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2008, 2008-06 or 2008-06-26)"
#: The facets of the sidebar and their URL parameters, in the order shown: the library's FACETS,
#: then the people named in the cables and the kinds of parse warnings (records to distrust).
WEB_FACETS = FACETS + ("person", "warning")
FACET_LABELS = {
    "tag": "Tag",
    "origin": "Origin",
    "classification": "Classification",
    "year": "Year",
    "person": "Person",
    "warning": "Parse warnings",
}
#: Each facet's URL parameter (its name) -> the SearchState / SearchRequest attribute: the
#: library's own table, so a filter the library learns is carried by every web path at once.
FACET_ATTR = {facet: FACET_FILTERS[facet] for facet in WEB_FACETS}
#: Every filter a search page can carry, set to "none": ``state.url(**NO_FILTERS)`` clears them.
NO_FILTERS: dict[str, Any] = {
    **{attr: () for attr in FACET_ATTR.values()},
    "date_from": None,
    "date_to": None,
}


class BadParameter(CablesearchError):
    """A request parameter has a value the web layer refuses (422)."""

    http_status = 422


@dataclass(frozen=True)
class SearchState:
    """Everything that defines a search page; ``url()`` gives the shareable link to it."""

    q: str = ""
    tags: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    persons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int | None = None
    facet_limit: int | None = None  # values listed per facet (None: the library's default)

    def to_request(self, default_page_size: int, highlight: bool = True) -> SearchRequest:
        return SearchRequest(
            query=self.q,
            tags=self.tags,
            origins=self.origins,
            classifications=self.classifications,
            years=self.years,
            persons=self.persons,
            warnings=self.warnings,
            date_from=self.date_from,
            date_to=self.date_to,
            sort=self.sort,
            page=self.page,
            page_size=self.limit or default_page_size,
            facet_limit=self.facet_limit or DEFAULT_FACET_LIMIT,
            highlight=highlight,
        )

    @property
    def has_filters(self) -> bool:
        return bool(
            any(getattr(self, attr) for attr in FACET_ATTR.values()) or self.date_from or self.date_to
        )

    @property
    def shown_sort(self) -> str:
        """The order the hits are really in: without a query there is no relevance, and the
        search service lists newest first."""
        return "-created" if self.sort == "relevance" and not self.q else self.sort

    @classmethod
    def of_request(cls, r: SearchRequest) -> SearchState:
        """The query and every filter of a request (a saved search's), as a search page state."""
        return cls(
            q=r.query,
            date_from=r.date_from,
            date_to=r.date_to,
            **{attr: getattr(r, attr) for attr in FACET_ATTR.values()},
        )

    def params(self) -> list[tuple[str, str]]:
        """The GET parameters of this state, in a fixed order, defaults left out."""
        return self._params({})

    def search_params(self) -> list[tuple[str, str]]:
        """The query and filter parameters alone (no sort, paging or facet limit): what a saved
        search keeps, e.g. the hidden fields of the "Save this search" form."""
        return self._params({"sort": "relevance", "page": 1, "limit": None, "facet_limit": None})

    def _params(self, changes: dict[str, Any]) -> list[tuple[str, str]]:
        def get(attr: str) -> Any:
            return changes[attr] if attr in changes else getattr(self, attr)

        out: list[tuple[str, str]] = []
        if get("q"):
            out.append(("q", get("q")))
        for facet, attr in FACET_ATTR.items():
            out += [(facet, str(v)) for v in get(attr)]
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
        if get("facet_limit"):
            out.append(("facet_limit", str(get("facet_limit"))))
        return out

    def url(self, **changes: Any) -> str:
        """The link to the search page in this state with ``changes`` applied; any change but
        ``page`` resets paging to the first page."""
        if changes and "page" not in changes:
            changes["page"] = 1
        query = "&".join(_pair(name, value) for name, value in self._params(changes))
        return f"/?{query}" if query else "/"

    def export_url(self, fmt: str) -> str:
        """The download of every match of this search (``/api/export``) in ``fmt``."""
        params = self._params({"page": 1, "limit": None, "facet_limit": None})
        return "/api/export?" + "&".join(_pair(n, v) for n, v in [("format", fmt), *params])

    def toggle(self, facet: str, value: str) -> str:
        """The link that adds (or, when active, removes) one facet value."""
        attr = FACET_ATTR[facet]
        current = getattr(self, attr)
        typed: Any = int(value) if facet == "year" else value
        if typed in current:
            return self.url(**{attr: tuple(v for v in current if v != typed)})
        return self.url(**{attr: current + (typed,)})

    def is_active(self, facet: str, value: str) -> bool:
        typed: Any = int(value) if facet == "year" else value
        return typed in getattr(self, FACET_ATTR[facet])

    def chips(self) -> list[tuple[str, str, str]]:
        """(label, value, removal link) for each active filter."""
        out: list[tuple[str, str, str]] = []
        for facet in WEB_FACETS:
            attr = FACET_ATTR[facet]
            for value in getattr(self, attr):
                rest = tuple(v for v in getattr(self, attr) if v != value)
                out.append((FACET_LABELS[facet], str(value), self.url(**{attr: rest})))
        if self.date_from or self.date_to:
            label = date_range_label(self.date_from, self.date_to)
            out.append(("Created", label, self.url(date_from=None, date_to=None)))
        return out


@functools.lru_cache(maxsize=8192)
def _pair(name: str, value: str) -> str:
    """``name=value`` URL-encoded as a form would (cached: the same values recur on a page)."""
    return f"{name}={quote_plus(value)}"


def person_url(name: str) -> str:
    """The person page of ``name`` (any spelling; a surname alone if only one person has it)."""
    return "/person/" + quote(name, safe="")


def thread_url(reference_id: str, depth: int | None = None) -> str:
    """The thread page of a cable, walked ``depth`` citation steps (None: the whole thread)."""
    return f"/cable/{reference_id}/thread" + (f"?depth={depth}" if depth is not None else "")


def date_range_label(date_from: str | None, date_to: str | None) -> str:
    if date_from and date_to:
        return date_from if date_from == date_to else f"{date_from} – {date_to}"
    if date_from:
        return f"from {date_from}"
    return f"until {date_to}"


def _clean_values(name: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > LIMITS.max_filter_values:
        raise BadParameter(f"parameter {name!r}: at most {LIMITS.max_filter_values} values may be given")
    out: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if len(value) > LIMITS.max_filter_length or any(ord(c) < 32 for c in value):
            raise BadParameter(
                f"parameter {name!r}: {raw[:40]!r} is not a valid value "
                f"(at most {LIMITS.max_filter_length} printable characters)"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def check_date(name: str, value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not DATE_PARAM.match(value):
        raise BadParameter(f"parameter {name!r}: {value[:40]!r} is not a date; write {DATE_HELP}")
    parts = [int(p) for p in value.split("-")]
    if len(parts) > 1 and not 1 <= parts[1] <= 12:
        raise BadParameter(f"parameter {name!r}: {value!r} has no month {parts[1]}")
    if len(parts) > 2 and not 1 <= parts[2] <= calendar.monthrange(parts[0], parts[1])[1]:
        raise BadParameter(f"parameter {name!r}: {value!r} is not a day of that month")
    return value


def _check_scalars(sort: str, year: list[int], page: int, page_size: int, q: str) -> None:
    if sort not in SORTS:
        raise BadParameter(f"parameter 'sort': {sort[:40]!r} is not a sort; use one of {', '.join(SORTS)}")
    for y in year:
        if not 1900 <= y <= 2100:
            raise BadParameter(f"parameter 'year': {y} is not a year between 1900 and 2100")
    if len(year) > LIMITS.max_filter_values:
        raise BadParameter(f"parameter 'year': at most {LIMITS.max_filter_values} values may be given")
    if page * page_size > LIMITS.max_result_window:
        raise BadParameter(
            f"parameter 'page': only the first {LIMITS.max_result_window} hits can be "
            f"paged through; narrow the search instead"
        )
    if any(ord(c) < 32 and c not in "\t\n\r" for c in q):
        raise BadParameter("parameter 'q': control characters are not allowed")


def config_of(request: Request) -> Config:
    """The app's settings (``create_app`` puts them on ``app.state.config``)."""
    config = request.app.state.config
    assert isinstance(config, Config)
    return config


async def search_state(  # async: cheap checks, no trip through the search threads
    request: Request,
    q: str = Query(
        "",
        max_length=LIMITS.max_query_length,
        description='Whoosh query: words, "phrases", AND/OR/NOT, field:value, '
        "wildcards*, created:[2008 to 2009-06]. Empty browses (newest first).",
    ),
    tag: list[str] = Query([], description="Filter by tag (repeatable; OR within tags)."),
    origin: list[str] = Query([], description="Filter by origin, e.g. 'Embassy Paris' (repeatable)."),
    classification: list[str] = Query([], description="Filter by classification (repeatable)."),
    year: list[int] = Query([], description="Filter by year created (repeatable)."),
    person: list[str] = Query(
        [],
        description="Filter by a person named in the cable (signer, classified by, tag): a whole "
        "name as the person facet lists it, e.g. 'GODEC, ROBERT F.', or a surname (repeatable).",
    ),
    warning: list[str] = Query(
        [],
        description="Filter by a kind of parse warning, as the warning facet lists it: records "
        "whose fields the parser had to guess or repair (repeatable).",
    ),
    date_from: str | None = Query(
        None,
        alias="from",
        max_length=10,
        description=f"Created on or after this date: {DATE_HELP}.",
        examples=["2008-06"],
        json_schema_extra={"pattern": DATE_PARAM.pattern},
    ),
    date_to: str | None = Query(
        None,
        alias="to",
        max_length=10,
        description=f"Created on or before this date: {DATE_HELP}.",
        examples=["2009-12-31"],
        json_schema_extra={"pattern": DATE_PARAM.pattern},
    ),
    sort: str = Query("relevance", description="One of: " + ", ".join(SORTS)),
    page: int = Query(
        1, ge=1, description=f"Page number, from 1 (page x limit at most {LIMITS.max_result_window})."
    ),
    limit: int | None = Query(
        None, ge=1, description="Hits per page (default: setting page_size; at most setting max_page_size)."
    ),
    facet_limit: int | None = Query(
        None,
        ge=1,
        le=LIMITS.max_facet_limit,
        description=f"Values listed per facet, most frequent first (default {DEFAULT_FACET_LIMIT}).",
    ),
) -> SearchState:
    """The search parameters of a request, read and checked (a FastAPI dependency)."""
    config = config_of(request)
    if limit is not None and limit > config.max_page_size:
        raise BadParameter(f"parameter 'limit': at most {config.max_page_size} hits per page (got {limit})")
    filters: dict[str, Sequence[str | int]] = {"tag": tag, "origin": origin, "year": year}
    filters |= {"classification": classification, "person": person, "warning": warning}
    return make_state(
        q,
        filters,
        date_from,
        date_to,
        sort=sort,
        page=page,
        page_size=limit or config.page_size,
        limit=limit,
        facet_limit=None if facet_limit == DEFAULT_FACET_LIMIT else facet_limit,
    )


# Every facet filter must be a parameter of the search page (and so of a saved search's form).
assert set(FACET_ATTR) <= set(inspect.signature(search_state).parameters), "a facet lacks its parameter"


def make_state(
    q: str,
    filters: Mapping[str, Sequence[str | int]],
    date_from: str | None,
    date_to: str | None,
    *,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 1,
    limit: int | None = None,
    facet_limit: int | None = None,
) -> SearchState:
    """THE one place a :class:`SearchState` is made from parameters, checked (BadParameter):
    the search page's GET parameters and a saved search's form or JSON body alike.
    ``filters``: facet parameter name (``tag``, ``person``, ...: :data:`FACET_ATTR`) -> values;
    a facet left out has none, an unknown one is refused."""
    unknown = sorted(set(filters) - set(FACET_ATTR))
    if unknown:
        raise BadParameter(f"unknown filter {unknown[0][:40]!r}; filters are {', '.join(FACET_ATTR)}")
    if len(q) > LIMITS.max_query_length:
        raise BadParameter(f"parameter 'q': at most {LIMITS.max_query_length} characters")
    years = _years(filters.get("year", ()))
    _check_scalars(sort, years, page, page_size, q)
    values: dict[str, Any] = {"years": tuple(dict.fromkeys(years))}
    for facet, attr in FACET_ATTR.items():
        if facet != "year":
            values[attr] = _clean_values(facet, [str(v) for v in filters.get(facet, ())])
    return SearchState(
        q=q.strip(),
        date_from=check_date("from", date_from),
        date_to=check_date("to", date_to),
        sort=sort,
        page=page,
        limit=limit,
        facet_limit=facet_limit,
        **values,
    )


def _years(raw: Sequence[str | int]) -> list[int]:
    out = []
    for y in raw:
        if isinstance(y, str) and not y.strip().isdigit():
            raise BadParameter(f"parameter 'year': {y[:20]!r} is not a year")
        out.append(int(y))
    return out


def check_reference_id(raw: str) -> str:
    """The canonical form of a reference ID from a URL, or CableNotFound if it cannot be one."""
    ref = raw.strip().upper()
    if not REFERENCE_ID.match(ref):
        raise CableNotFound(f"{raw[:80]!r} is not a cable reference ID (like 08TRIPOLI505)")
    return ref


def filters_state(
    q: str,
    filters: Mapping[str, Sequence[str | int]],
    date_from: str | None,
    date_to: str | None,
) -> SearchState:
    """A search's query and filters given outside a GET request (a form or JSON body: a saved
    search), checked as :func:`search_state` checks them (:func:`make_state`)."""
    return make_state(q, filters, date_from, date_to)
