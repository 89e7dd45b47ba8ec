"""What a search asks and answers: the shape shared by the query module, the CLI, the web UI
and the JSON API (``SearchResult.to_json`` is the ``--json`` / ``/api/search`` object), and
:data:`LIMITS`, the one table of how much a request may ask for (checked by
:func:`check_request`; the web layer declares the same bounds on its parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cablesearch.errors import QuerySyntaxError

SORTS = ("relevance", "created", "-created", "released", "-released")
FACETS = ("tag", "origin", "classification", "year")
#: Facets a search counts: FACETS, ``warning`` (kinds of parse warnings, records to distrust)
#: and ``person`` (people after merging spellings).
SEARCH_FACETS = FACETS + ("warning", "person")


@dataclass(frozen=True)
class RequestLimits:
    """How much one search request may ask for. ``max_page_size`` is the default of the
    ``max_page_size`` setting (config.toml), which replaces it where a config is at hand."""

    max_query_length: int = 10_000  # characters of query text
    max_page_size: int = 100  # hits per page
    max_result_window: int = 10_000  # page × page size: the deepest hit a request may reach
    max_facet_limit: int = 1000  # values per facet
    max_filter_values: int = 20  # values of one filter (tags, origins, ...)
    max_filter_length: int = 100  # characters of one filter value
    min_year: int = 1900
    max_year: int = 2100

    def max_page(self, page_size: int) -> int:
        """The last page a request with this page size may ask for."""
        return max(1, self.max_result_window // max(1, page_size))


LIMITS = RequestLimits()


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""  # Whoosh query language; "" browses
    tags: tuple[str, ...] = ()  # each filter: OR within a facet, AND across facets
    origins: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()  # kinds of parse warnings ("subject", "reference_id", ...)
    persons: tuple[str, ...] = ()  # whole names (any spelling) or bare surnames
    date_from: str | None = None  # "2008", "2008-06", "2008-06-26" (created)
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    facet_limit: int = 20  # values per facet returned (counted over all; 0: every value)
    highlight: bool = True


@dataclass
class Hit:
    reference_id: str
    subject: str
    created: datetime | None
    released: datetime | None
    origin: str
    classification: str
    tags: list[str]
    score: float
    snippet: str  # HTML-safe: text escaped, matches in <mark>..</mark>

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "subject": self.subject,
            "created": self.created.strftime("%Y-%m-%dT%H:%M") if self.created else None,
            "released": self.released.strftime("%Y-%m-%dT%H:%M") if self.released else None,
            "origin": self.origin,
            "classification": self.classification,
            "tags": self.tags,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    page_size: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestion: str | None = None  # the best of ``suggestions`` (kept for compatibility)
    elapsed_ms: float = 0.0
    notice: str | None = None  # a word for the user about the query (e.g. only stop words)
    suggestions: list[tuple[str, int]] = field(default_factory=list)  # (corrected query, cables)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "hits": [h.to_json() for h in self.hits],
            "facets": {k: [[v, n] for v, n in self.facets.get(k, [])] for k in SEARCH_FACETS},
            "suggestion": self.suggestion,
            "suggestions": [[text, n] for text, n in self.suggestions],
            "notice": self.notice,
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_request(
    request: SearchRequest, max_page_size: int | None = None, limits: RequestLimits = LIMITS
) -> None:
    """Raise QuerySyntaxError (one line, naming the parameter) for a request over the limits."""
    size_cap = max_page_size or limits.max_page_size
    if request.sort not in SORTS:
        raise QuerySyntaxError(f"unknown sort {request.sort!r}; use one of: {', '.join(SORTS)}")
    if len(request.query) > limits.max_query_length:
        raise QuerySyntaxError(
            f"the query has {len(request.query):,} characters, more than {limits.max_query_length:,}; shorten it"
        )
    if not _is_int(request.page) or request.page < 1:
        raise QuerySyntaxError(f"page must be a whole number from 1 up, not {request.page!r}")
    if not _is_int(request.page_size) or not 1 <= request.page_size <= size_cap:
        raise QuerySyntaxError(
            f"limit must be a whole number from 1 to {size_cap}, not {request.page_size!r}"
        )
    if request.page > limits.max_page(request.page_size):
        raise QuerySyntaxError(
            f"page {request.page} is too deep; narrow the search instead (at most the first "
            f"{limits.max_result_window:,} hits can be paged through)"
        )
    if not _is_int(request.facet_limit) or not 0 <= request.facet_limit <= limits.max_facet_limit:
        raise QuerySyntaxError(
            f"facet limit must be a whole number from 0 to {limits.max_facet_limit}, not {request.facet_limit!r}"
        )
    for name in ("tags", "origins", "classifications", "warnings", "persons"):
        values = getattr(request, name)
        if len(values) > limits.max_filter_values:
            raise QuerySyntaxError(f"{name}: at most {limits.max_filter_values} values, not {len(values)}")
        for v in values:
            if len(v) > limits.max_filter_length:
                raise QuerySyntaxError(
                    f"{name}: a value of {len(v)} characters is longer than {limits.max_filter_length}"
                )
    for y in request.years:
        if not _is_int(y) or not limits.min_year <= y <= limits.max_year:
            raise QuerySyntaxError(f"year {y!r} is not a year; write e.g. 2009")
