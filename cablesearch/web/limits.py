"""The request limits of the web layer, in one place.

The library's table of limits lives in :mod:`cablesearch.results`; the names read here are
taken from it when it has them (``MAX_RESULT_WINDOW``, ``MAX_QUERY_LENGTH``,
``MAX_FILTER_VALUES``, ``MAX_FILTER_LENGTH``), and the web's own values are used otherwise.
Everything in :mod:`cablesearch.web` reads its limits from :data:`LIMITS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import results


@dataclass(frozen=True)
class Limits:
    max_result_window: int = 10_000  # the last hit a search may page to (page * page_size)
    max_query_length: int = 1000  # characters of q
    max_filter_values: int = 20  # values of one repeatable filter (tag=..&tag=..)
    max_filter_length: int = 100  # characters of one filter value
    retry_after: int = 5  # seconds a client is told to wait after a 503


def _limits() -> Limits:
    """:class:`Limits` with the values :mod:`cablesearch.results` defines, where it does."""
    default = Limits()
    found = {
        name.lower(): getattr(results, name)
        for name in ("MAX_RESULT_WINDOW", "MAX_QUERY_LENGTH", "MAX_FILTER_VALUES", "MAX_FILTER_LENGTH")
        if isinstance(getattr(results, name, None), int)
    }
    return Limits(**{**default.__dict__, **found})


LIMITS = _limits()
