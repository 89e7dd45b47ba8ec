"""The web layer's request limits: the library's one table (:data:`cablesearch.results.LIMITS`)
plus what only HTTP has (how long a client is told to wait after a 503)."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import LIMITS as REQUEST_LIMITS


@dataclass(frozen=True)
class Limits:
    max_result_window: int = REQUEST_LIMITS.max_result_window
    max_query_length: int = REQUEST_LIMITS.max_query_length
    max_filter_values: int = REQUEST_LIMITS.max_filter_values
    max_filter_length: int = REQUEST_LIMITS.max_filter_length
    max_facet_limit: int = REQUEST_LIMITS.max_facet_limit
    retry_after: int = 5  # seconds a client is told to wait after a 503
    max_batch_queries: int = 1000  # queries of one batch search
    max_batch_bytes: int = 1_000_000  # bytes of one batch request (pasted text or uploaded file)
    batch_chunk: int = 20  # queries run per turn on a search service (others interleave)
    export_slots: int = 1  # exports streamed at once, on services of their own


LIMITS = Limits()
