"""Printing for benchmarks/cold_search.py: indexing figures, per-kind latency tables, ratios."""

from __future__ import annotations

from typing import Any

from cold_queries import KINDS

LABELS = {
    "library": "cablesearch library (SearchService in-process)",
    "baseline": "cablesearch library, the --baseline tree's code (SearchService in-process)",
    "api": "cablesearch /api/search (serve --workers 2, HTTP on 127.0.0.1, client time)",
    "tantivy": "Tantivy (tantivy-py, in-process)",
}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
    return ordered[int(k)]


def by_kind(records: list[dict[str, Any]]) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {k: [] for k in KINDS}
    for r in records:
        groups.setdefault(r["kind"], []).append(r["ms"])
    groups["overall"] = [r["ms"] for r in records]
    return {k: v for k, v in groups.items() if v}


def print_index(results: list[dict[str, Any]]) -> None:
    print("\nbulk indexing (the same files through cablesearch's parser, 2 parsing processes):")
    for r in results:
        rss = r["peak_rss_mb"]
        note = "  (built by an earlier run, figures from then)" if r.get("reused") else ""
        print(
            f"  {r['engine']:<12} {r['cables']:>8,} cables in {r['seconds']:8.1f} s "
            f"({r['cables'] / r['seconds']:7,.0f} cables/s); peak RSS {rss['self']:6.0f} MB, "
            f"largest child {rss['largest_child']:5.0f} MB{note}"
        )
    if len(results) == 2:
        print(
            f"  indexing time ratio cablesearch/Tantivy: {results[0]['seconds'] / results[1]['seconds']:.1f}x"
        )


def _rows(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    for kind, ms in by_kind(records).items():
        lines.append(
            f"    {kind:<9} {len(ms):5d}  p50 {percentile(ms, 50):8.1f}  p95 {percentile(ms, 95):8.1f}  "
            f"max {max(ms):8.1f} ms"
        )
    return lines


def print_table(name: str, res: dict[str, Any]) -> None:
    print(f"\n{LABELS.get(name, name)}:")
    if "startup_ms" in res:
        print(f"  opening the index (not counted): {res['startup_ms']:.0f} ms")
    print("  COLD (each query once):")
    print("\n".join(_rows(res["cold"])))
    if res.get("warm"):
        print("  warm (the same queries asked again in the same process; for comparison only):")
        print("\n".join(_rows(res["warm"])))
    misspelt = [r for r in res["cold"] if r["kind"] == "misspelt"]
    if misspelt and name != "tantivy":
        zero = sum(1 for r in misspelt if r.get("total") == 0)
        suggested = sum(1 for r in misspelt if r.get("suggestion"))
        print(
            f"  misspelt: {zero} of {len(misspelt)} found nothing"
            + (f", {suggested} got a suggestion" if name == "library" else "")
        )
    if "rss_mb" in res:
        print(f"  RSS after the queries: {res['rss_mb']:.0f} MB")
    if "servers" in res:
        print(f"  RSS of the server processes after {res['asked_before_rss']:,} distinct queries:")
        for pid, role, mb, *mapped in res["servers"]:
            files = f"  (of which mapped index files {mapped[0]:.0f} MB)" if mapped else ""
            print(f"    pid {pid:<7} {role:<17} {mb:7.0f} MB{files}")


def print_ratio(cs: dict[str, Any], tv: dict[str, Any], name: str) -> None:
    """cablesearch/Tantivy per kind, over the queries both asked."""
    n = min(len(cs["cold"]), len(tv["cold"]))
    a, b = by_kind(cs["cold"][:n]), by_kind(tv["cold"][:n])
    print(f"\nratio cablesearch {name} / Tantivy, cold (the same {n} queries; higher = Tantivy faster):")
    for kind in a:
        if kind in b:
            p50 = percentile(a[kind], 50) / max(percentile(b[kind], 50), 1e-9)
            p95 = percentile(a[kind], 95) / max(percentile(b[kind], 95), 1e-9)
            print(f"    {kind:<9} p50 {p50:7.1f}x   p95 {p95:7.1f}x")


def print_before_after(before: dict[str, Any], after: dict[str, Any], round_no: int) -> None:
    """This tree against the --baseline tree, per kind (p50, p95; below 1 = this tree faster),
    and whether both gave the same totals and suggestions."""
    n = min(len(before["cold"]), len(after["cold"]))
    a, b = by_kind(after["cold"][:n]), by_kind(before["cold"][:n])
    print(
        f"\nround {round_no}: this tree / baseline, cold (the same {n} queries; below 1 = this tree faster):"
    )
    for kind in a:
        if kind in b:
            p50 = percentile(a[kind], 50) / max(percentile(b[kind], 50), 1e-9)
            p95 = percentile(a[kind], 95) / max(percentile(b[kind], 95), 1e-9)
            print(
                f"    {kind:<9} p50 {percentile(b[kind], 50):7.1f} -> {percentile(a[kind], 50):7.1f} ms ({p50:4.2f}x)"
                f"   p95 {percentile(b[kind], 95):7.1f} -> {percentile(a[kind], 95):7.1f} ms ({p95:4.2f}x)"
            )
    same = sum(
        1
        for x, y in zip(before["cold"][:n], after["cold"][:n], strict=True)
        if x["total"] == y["total"] and x.get("suggestion") == y.get("suggestion")
    )
    print(
        f"    same totals and suggestions on {same} of {n} queries; RSS {before.get('rss_mb', 0):.0f} -> {after.get('rss_mb', 0):.0f} MB"
    )


def print_agreement(cs: dict[str, Any], tv: dict[str, Any], queries: list[Any]) -> None:
    """Whether both engines answered the same question: totals compared query by query (not for
    misspellings, which Tantivy asks as fuzzy queries). Tokenizers differ at the edges (e.g.
    cablesearch keeps ``www.intelink.sgov.gov`` as one word), so a few differences are expected."""
    pairs = [
        (q, a["total"], b["total"])
        for q, a, b in zip(queries, cs["cold"], tv["cold"], strict=False)
        if q.kind != "misspelt"
    ]
    differ = [(q, a, b) for q, a, b in pairs if a != b]
    near = sum(1 for _q, a, b in differ if abs(a - b) <= max(1, 0.01 * max(a, b)))
    print(
        f"\ntotals agree (cablesearch library vs Tantivy) on {len(pairs) - len(differ)} of {len(pairs)} "
        f"queries, and {near} more within 1% (the tokenizers differ at the edges)"
    )
    differ.sort(key=lambda d: -abs(d[1] - d[2]) / max(d[1], d[2], 1))
    for q, a, b in differ[:8]:
        tag = f" [tag {q.tag}]" if q.tag else ""
        print(f"    {q.kind:<8} {q.query}{tag}: cablesearch {a:,}, Tantivy {b:,}")
    if len(differ) > 8:
        print(f"    ... and {len(differ) - 8} more (the largest relative differences are shown)")
