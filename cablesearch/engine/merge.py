"""The merge policy: which segments a commit merges, by size tier.

Segments are grouped by size tier (under 100 documents, under 1,000, under MERGE_MAX_DOCS); a
tier holding ``MERGE_FANOUT`` segments is merged into a new segment. Each document is merged at
most once per tier, and big segments (bulk commits) never, so a commit never turns into a
rewrite of the whole index (Whoosh's MERGE_SMALL can).
"""

from __future__ import annotations

from typing import Any

from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

MERGE_FANOUT = 10  # this many segments of one size tier are merged into one
MERGE_MAX_DOCS = 5_000  # segments this big are never merged (bulk commits make them)


def tier_merges(segments: list[Any]) -> set[int]:
    """The ids (``id()``) of the segments the policy merges now."""
    tiers: dict[int, list[Any]] = {}
    for seg in segments:
        n = seg.doc_count_all()
        if n < MERGE_MAX_DOCS:
            tiers.setdefault(len(str(max(n, 1))) if n >= 100 else 2, []).append(seg)
    return {id(seg) for group in tiers.values() if len(group) >= MERGE_FANOUT for seg in group}


def merge_tiers(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """The policy as a Whoosh ``mergetype``: the segments of full tiers are added to
    ``writer``'s new segment; the others are kept."""
    merge = tier_merges(segments)
    if not merge:
        return segments
    keep = []
    for seg in segments:
        if id(seg) in merge:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            try:
                writer.add_reader(reader)
            finally:
                reader.close()
        else:
            keep.append(seg)
    return keep
