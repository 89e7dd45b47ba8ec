"""What a search asks and answers: the shape shared by the query module, the CLI, the web UI
and the JSON API (``SearchResult.to_json`` is the ``--json`` / ``/api/search`` object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SORTS = ("relevance", "created", "-created", "released", "-released")
FACETS = ("tag", "origin", "classification", "year")


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""  # Whoosh query language; "" browses
    tags: tuple[str, ...] = ()  # each filter: OR within a facet, AND across facets
    origins: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    date_from: str | None = None  # "2008", "2008-06", "2008-06-26" (created)
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    facet_limit: int = 20  # values per facet returned (counted over all)
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
    suggestion: str | None = None
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "hits": [h.to_json() for h in self.hits],
            "facets": {k: [[v, n] for v, n in self.facets.get(k, [])] for k in FACETS},
            "suggestion": self.suggestion,
            "elapsed_ms": round(self.elapsed_ms, 2),
        }
