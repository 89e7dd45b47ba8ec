"""What a commit added or changed that matches saved searches: the evaluation behind alerts.

A Whoosh commit never changes a committed segment's documents (it only marks some deleted), so
every cable added or changed since the index had exactly the segments ``seen`` lies in a segment
not in ``seen`` (a merge can bring unchanged cables along: they are evaluated again, which is
harmless because matches are recorded once). The whole answer comes from one snapshot.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from whoosh.fields import Schema

from cablesearch.engine.snapshot import SharedReads, Snapshot
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.execution import match_within
from cablesearch.search.hits import stored_cable
from cablesearch.search.query import build

_SCHEMA_LOCK = threading.Lock()
_SCHEMAS: dict[bytes, Schema] = {}


def same_schema(schema: Schema) -> Schema:
    """The schema object first seen with the same pickle as ``schema``: each commit's snapshot
    unpickles its own copy of the index's schema, and the parsed queries are cached per schema
    object, so without this every saved search would be parsed again after every commit."""
    key = pickle.dumps(schema)
    with _SCHEMA_LOCK:
        if len(_SCHEMAS) > 16:
            _SCHEMAS.clear()
        return _SCHEMAS.setdefault(key, schema)


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
    Raises QuerySyntaxError for a bad request, QueryTimeout as a search does.

    The cost follows what the commit added, not the index: each request is evaluated only on
    the live documents of the new segments (:func:`match_within`; the old segments' postings
    are not read), and the requests share their posting reads and filter masks."""
    seen = frozenset(seen)
    spans = snap.segment_spans()
    parts = [np.arange(offset, offset + count) for seg_id, offset, count in spans if seg_id not in seen]
    docs = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    docs = docs[snap.arrays.live[docs]]
    schema = same_schema(snap.schema)
    shared = SharedReads(docs)
    masks: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
    matches: list[list[str]] = []
    ids: dict[int, str] = {}
    for request in requests:
        built = build(replace(request, page=1, page_size=1), schema, max_page_size)
        found = match_within(snap, built, docs, time_limit, shared, masks).tolist() if docs.size else []
        for d in found:
            if d not in ids:
                ids[d] = snap.reference_id(d)
        matches.append([ids[d] for d in found])
    cables: dict[str, Cable] = {}
    if with_cables:
        for d, rid in ids.items():
            cable = stored_cable(snap, d)
            if cable is not None:
                cables[rid] = cable
    segments = tuple(sorted(seg_id for seg_id, _, _ in spans))
    return SinceMatches(segments, snap.generation, matches, int(docs.size), cables)
