"""Every answer of a cold query set, as JSON, to check that a speed-up changed no result.

    cold_dump.py INDEX QUERIES.jsonl OUT.json [--profile PROFILE.out]

Asks each query of QUERIES.jsonl (``cold_queries.py``'s format) once through
``SearchService.search`` in this process (10 hits, the four facets and the timeline, as the
cold benchmark asks them) and writes every result whole: total, hits (reference ID, subject,
dates, origin, classification, tags, score, snippet), facets, suggestions and notice -- all but
the elapsed time (a query the library turns down: its error). Run it with the code before and after a change (the cablesearch imported is
the one of the checkout holding this script) and ``diff`` the two files. ``--profile`` also
writes a cProfile of the queries (``python -m pstats PROFILE.out``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cold_queries import load


def _hit(h: Any) -> dict[str, Any]:
    return {
        "reference_id": h.reference_id,
        "subject": h.subject,
        "created": str(h.created),
        "released": str(h.released),
        "origin": h.origin,
        "classification": h.classification,
        "tags": list(h.tags),
        "score": float(h.score),
        "snippet": h.snippet,
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("queries", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--profile", type=Path, default=None)
    args = ap.parse_args(argv)

    from cablesearch.config import Config
    from cablesearch.errors import CablesearchError
    from cablesearch.index.store import CableIndex
    from cablesearch.results import SearchRequest
    from cablesearch.search.service import SearchService

    service = SearchService(CableIndex.open(args.index, create=False), Config(query_time_limit=60.0))
    service.stats()
    out = []
    profiler = cProfile.Profile() if args.profile else None
    for q in load(args.queries):
        request = SearchRequest(query=q.query, tags=(q.tag,) if q.tag else (), page_size=10)
        if profiler is not None:
            profiler.enable()
        try:
            r = service.search(request)
        except CablesearchError as exc:  # a bad query's answer is its one-line error
            out.append({"query": q.query, "tag": q.tag, "error": f"{type(exc).__name__}: {exc}"})
            continue
        finally:
            if profiler is not None:
                profiler.disable()
        out.append(
            {
                "query": q.query,
                "tag": q.tag,
                "total": r.total,
                "hits": [_hit(h) for h in r.hits],
                "facets": {k: [list(x) for x in v] for k, v in r.facets.items()},
                "suggestions": [list(s) for s in r.suggestions],
                "notice": r.notice,
            }
        )
    if profiler is not None and args.profile is not None:
        profiler.dump_stats(str(args.profile))
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    service.close()


if __name__ == "__main__":
    main(sys.argv[1:])
