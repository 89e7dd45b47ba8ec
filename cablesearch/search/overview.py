"""Overviews of a whole index: facet counts over all cables (the browse sidebar) and the
figures of ``cablesearch stats`` / ``/api/stats`` (counts, date spans, size on disk)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cablesearch.engine.postings import MISSING, to_datetime
from cablesearch.engine.snapshot import Snapshot
from cablesearch.search.facets import count_facets, top_counts


def browse(snap: Snapshot) -> dict[str, list[tuple[str, int]]]:
    """Counts over all live cables: ``created`` ("YYYY-MM") and ``released`` ("YYYY-MM-DD")
    chronological; ``origin``, ``tag``, ``classification`` most frequent first (all values)."""
    out = count_facets(
        snap.arrays, snap.arrays.live, 0, ("month", "released", "origin", "tag", "classification")
    )
    out["created"] = out.pop("month")
    return out


def _span(col: np.ndarray, live: np.ndarray) -> tuple[str | None, str | None]:
    vals = col[live & (col != MISSING)]
    if not vals.size:
        return None, None
    lo, hi = to_datetime(int(vals.min())), to_datetime(int(vals.max()))
    return (lo.strftime("%Y-%m-%dT%H:%M") if lo else None, hi.strftime("%Y-%m-%dT%H:%M") if hi else None)


def stats(snap: Snapshot, folder: Path | None) -> dict[str, Any]:
    """Counts, date ranges, index size on disk and last update, as a JSON-ready dict."""
    a = snap.arrays
    live = a.live
    size, mtime = folder_size(folder)
    c0, c1 = _span(a.created, live)
    r0, r1 = _span(a.released, live)
    return {
        "cables": int(live.sum()),
        "created_first": c0,
        "created_last": c1,
        "released_first": r0,
        "released_last": r1,
        "origins": int(np.count_nonzero(a.origin.counts(live))),
        "tags": int(np.count_nonzero(a.tags.counts(live))),
        "classifications": top_counts(a.classification.values, a.classification.counts(live), None),
        "segments": snap.segment_count(),
        "generation": snap.generation if isinstance(snap.generation, int) else None,
        "index_dir": str(folder) if folder else None,
        "index_bytes": size,
        "last_update": datetime.fromtimestamp(mtime).strftime("%Y-%m-%dT%H:%M:%S") if mtime else None,
    }


def folder_size(folder: Path | None) -> tuple[int, float | None]:
    """(bytes of the files in ``folder``, newest mtime of its index files)."""
    if folder is None or not folder.is_dir():
        return 0, None
    size = 0
    newest = None
    for entry in os.scandir(folder):
        if entry.is_file():
            st = entry.stat()
            size += st.st_size
            if entry.name.endswith(".toc") or entry.name.endswith(".seg") or entry.name.startswith("_"):
                newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
    return size, newest
