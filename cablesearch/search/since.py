"""What a commit added or changed that matches saved searches: the evaluation behind alerts.

A Whoosh commit never changes a committed segment's documents (it only marks some deleted), so
every cable added or changed since the index had exactly the segments ``seen`` lies in a segment
not in ``seen`` (a merge can bring unchanged cables along: they are evaluated again, which is
harmless because matches are recorded once). The whole answer comes from one snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cablesearch.engine.snapshot import Snapshot
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.execution import execute
from cablesearch.search.hits import stored_cable
from cablesearch.search.query import build


@dataclass(frozen=True)
class SinceMatches:
    """The snapshot's segment ids and generation, the reference IDs matching each request (in
    document order), how many live cables were evaluated, and (when asked) their records."""

    segments: tuple[str, ...]
    generation: Any
    matches: list[list[str]]
    evaluated: int
    cables: dict[str, Cable] = field(default_factory=dict)


def match_since(
    snap: Snapshot,
    requests: Sequence[SearchRequest],
    seen: Collection[str],
    *,
    max_page_size: int,
    time_limit: float,
    with_cables: bool = False,
) -> SinceMatches:
    """Which cables of the segments NOT in ``seen`` match each request (``seen=()``: all).
    Raises QuerySyntaxError for a bad request, QueryTimeout as a search does."""
    seen = frozenset(seen)
    spans = snap.segment_spans()
    fresh = np.zeros(snap.n, bool)
    for seg_id, offset, count in spans:
        if seg_id not in seen:
            fresh[offset : offset + count] = True
    fresh &= snap.arrays.live
    matches: list[list[str]] = []
    ids: dict[int, str] = {}
    for request in requests:
        built = build(replace(request, page=1, page_size=1), snap.schema, max_page_size)
        if not fresh.any():
            matches.append([])
            continue
        docs = np.flatnonzero(execute(snap, built, time_limit).mask & fresh).tolist()
        for d in docs:
            if d not in ids:
                ids[d] = snap.reference_id(d)
        matches.append([ids[d] for d in docs])
    cables: dict[str, Cable] = {}
    if with_cables:
        for d, rid in ids.items():
            cable = stored_cable(snap, d)
            if cable is not None:
                cables[rid] = cable
    segments = tuple(sorted(seg_id for seg_id, _, _ in spans))
    return SinceMatches(segments, snap.generation, matches, int(fresh.sum()), cables)
