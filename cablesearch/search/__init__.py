"""Searching: the service and its snapshot lifecycle, query building, facets, highlighting,
suggestions ("did you mean") and similar cables."""

from cablesearch.search.service import SearchService

__all__ = ["SearchService"]
