"""The citation graph built incrementally across commits (segment pieces kept between
snapshots) is the graph built from scratch, and the graph of what is indexed: checked after
commits that add, replace and delete cables, by hand and with hypothesis; only new segments
are read; pieces of segments no open snapshot has are dropped."""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from cablesearch.config import Config
from cablesearch.engine import schema
from cablesearch.engine.citations import PieceCache
from cablesearch.engine.graph import CitationGraph, cached_segments, graph_of, segment_reads
from cablesearch.engine.snapshot import Snapshot
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.search.service import SearchService

T0 = datetime(2008, 1, 1)


def cable(i: int, refs: list[str], version: int = 0) -> Cable:
    return Cable(
        reference_id=f"08POST{i}",
        created=T0 + timedelta(days=i, hours=version),
        subject=f"cable {i} version {version}",
        body="embassy report",
        tags=["PREL"],
        origin="Embassy Post",
        references=list(dict.fromkeys(refs)),
    )


Labelled = tuple[set[tuple[str, str]], set[str], set[str]]


def labelled(g: CitationGraph, snap: Snapshot) -> Labelled:
    """(edges as (citing ID, cited ID), IDs of live documents that are nodes, missing IDs),
    with both CSR directions checked against each other."""

    def name(node: int) -> str:
        return g.label(node) or snap.reference_id(node)

    out = {(name(a), name(int(b))) for a in range(g.nodes) for b in g.cited(a)}
    back = {(name(int(a)), name(b)) for b in range(g.nodes) for a in g.citing(b)}
    assert out == back
    for a in range(g.nodes):
        assert list(g.cited(a)) == sorted(g.cited(a)) and list(g.citing(a)) == sorted(g.citing(a))
    live = {snap.reference_id(d) for d in np.flatnonzero(snap.arrays.live).tolist()}
    for rid in live:
        node = g.node(rid)
        assert node is not None and node < g.n and snap.arrays.live[node]
        assert snap.reference_id(node) == rid
    for rid in g.missing:
        node = g.node(rid)
        assert node is not None and node >= g.n and g.label(node) == rid
    return out, live, set(g.missing)


def brute(cables: dict[str, Cable]) -> Labelled:
    """What the graph must be, from the cables indexed (the last version of each)."""
    edges = {(c.reference_id, r) for c in cables.values() for r in c.references if r != c.reference_id}
    cited = {r for _, r in edges}
    return edges, set(cables), cited - set(cables)


def check(svc: SearchService, cables: dict[str, Cable]) -> tuple[CitationGraph, set[str]]:
    """The incremental graph equals a from-scratch build and the brute-force one; returns it
    with its snapshot's segment ids."""
    with svc.snapshot() as snap:
        g = graph_of(snap)
        fresh = CitationGraph.build(snap, PieceCache())
        got = labelled(g, snap)
        assert got == labelled(fresh, snap) == brute(cables)
        assert (g.n, g.nodes, g.edges) == (fresh.n, fresh.nodes, fresh.edges)
        for start in list(cables)[:5]:
            a, b = g.walk(g.node(start) or 0), fresh.walk(fresh.node(start) or 0)
            # (missing cables may be numbered differently: compare by ID)
            assert {(name_of(g, snap, x), int(d)) for x, d in zip(a.nodes, a.depths, strict=True)} == {
                (name_of(fresh, snap, x), int(d)) for x, d in zip(b.nodes, b.depths, strict=True)
            }
        assert g.node("99NOWHERE1") is None
        segments = {s for s, _, _ in snap.segment_spans()}
        return g, segments


def name_of(g: CitationGraph, snap: Snapshot, node: int) -> str:
    return g.label(int(node)) or snap.reference_id(int(node))


def commit(ix: CableIndex, cables: dict[str, Cable], put: list[Cable], delete: list[str] = ()) -> None:  # type: ignore[assignment]
    with ix.writer(timeout=10) as w:
        for c in put:
            w.put(c)
            cables[c.reference_id] = c
        for rid in delete:
            w.delete(rid)
            cables.pop(rid, None)


def test_incremental_over_commits_equals_a_fresh_build(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    cables: dict[str, Cable] = {}
    # 08POST0 is cited by 300 cables: its postings span several blocks
    commit(
        ix,
        cables,
        [cable(i, ["08POST0"] + [f"08POST{j}" for j in range(max(0, i - 3), i)]) for i in range(300)],
    )
    with SearchService(ix, Config()) as svc:
        _, before = check(svc, cables)
        with svc.snapshot() as snap:
            assert graph_of(snap).citing(graph_of(snap).node("08POST0") or 0).size == 299
        steps: list[tuple[list[Cable], list[str]]] = [
            ([cable(i, ["08POST1", "07GONE1"]) for i in range(300, 305)], []),  # new cables
            ([cable(5, ["08POST304", "07GONE2"], version=1)], ["08POST10"]),  # replaced, deleted
            ([], ["08POST1", "08POST304"]),  # deletions only: 08POST1 becomes a missing cable
            ([cable(1, ["08POST5"], version=2), cable(306, ["08POST306", "08POST10"])], []),  # back
        ]
        for put, delete in steps:
            reads = segment_reads()
            commit(ix, cables, put, delete)
            g, now = check(svc, cables)
            assert segment_reads() - reads == len(now - before)  # only new segments are read
            before = now
        assert "08POST10" in g.missing and g.node("08POST1") is not None


def test_a_compound_segment_written_by_plain_whoosh(tmp_path: Path) -> None:
    """Plain Whoosh's writer adds a compound segment (one ``.seg`` file): its citations are
    read too (through the overlay storage), and kept like any other segment's."""
    ix = CableIndex.open(tmp_path / "ix")
    cables: dict[str, Cable] = {}
    commit(ix, cables, [cable(i, [f"08POST{i - 1}", "07GONE1"]) for i in range(1, 20)])
    extra = cable(30, ["08POST3", "08POST3", "07GONE9", "08POST30"])
    pw = whoosh_index.open_dir(str(tmp_path / "ix")).writer()
    pw.add_document(**schema.cable_to_doc(extra))
    pw.commit()
    assert list((tmp_path / "ix").glob("*.seg")), "plain Whoosh wrote no compound segment"
    cables[extra.reference_id] = extra
    with SearchService(CableIndex.open(tmp_path / "ix", create=False), Config()) as svc:
        check(svc, cables)
        commit(svc.index, cables, [cable(31, ["08POST30"])])
        check(svc, cables)


def test_searchers_of_one_commit_share_a_graph_and_deletions_part_them(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    cables: dict[str, Cable] = {}
    commit(ix, cables, [cable(i, [f"08POST{i - 1}", "07GONE1"]) for i in range(1, 12)])
    before = dict(cables)
    with SearchService(ix, Config()) as one, SearchService(ix, Config()) as two:
        with one.snapshot() as a, two.snapshot() as b:
            assert a is not b and graph_of(a) is graph_of(b)
            commit(ix, cables, [], ["08POST5"])  # deletions only: the same segments
            with two.snapshot() as c:
                assert c is not b and {s for s, _, _ in c.segment_spans()} == {
                    s for s, _, _ in b.segment_spans()
                }
                assert graph_of(c) is not graph_of(b)
                assert labelled(graph_of(c), c) == brute(cables)
            assert labelled(graph_of(a), a) == brute(before)
        check(one, cables)


def test_pieces_of_segments_no_open_snapshot_has_are_dropped(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    cables: dict[str, Cable] = {}
    commit(ix, cables, [cable(i, [f"08POST{i - 1}"]) for i in range(10)])
    with SearchService(ix, Config()) as svc:
        _, seen = check(svc, cables)
        with svc.snapshot() as old:  # held open across commits: its pieces are kept
            graph_of(old)
            kept = {s for s, _, _ in old.segment_spans()}
            for i in range(10, 14):
                commit(ix, cables, [cable(i, [f"08POST{i - 1}"])], ["08POST0"] if i == 12 else [])
                _, now = check(svc, cables)
                seen |= now
                # (other tests' snapshots may be open too: look at this index's segments only)
                assert cached_segments() & seen == now | kept
        commit(ix, cables, [cable(20, [])])  # the old snapshot is closed now
        _, now = check(svc, cables)
        seen |= now
        assert cached_segments() & seen == now


def test_two_indexes_with_the_same_segment_ids_keep_their_own_graphs(tmp_path: Path) -> None:
    """Whoosh names segments from the global ``random``: seeded alike, two indexes get the
    same segment ids, and neither may be given the other's citations."""
    made: list[tuple[SearchService, dict[str, Cable]]] = []
    for k, name in enumerate(("a", "b")):
        random.seed(1234)
        ix = CableIndex.open(tmp_path / name)
        cables: dict[str, Cable] = {}
        commit(ix, cables, [cable(i, [f"08POST{(i + 1 + k) % 8}"]) for i in range(8)])
        made.append((SearchService(ix, Config()), cables))
    try:
        segments = [check(svc, cables)[1] for svc, cables in made]
        assert segments[0] == segments[1]  # the hazard is real
    finally:
        for svc, _ in made:
            svc.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 11),  # the cable (IDs repeat: replaced cables)
                st.lists(st.integers(0, 14), max_size=3),  # what it cites: 12..14 never indexed
                st.booleans(),  # delete it instead
            ),
            min_size=1,
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_incremental_equals_fresh_on_random_commits(
    commits: list[list[tuple[int, list[int], bool]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ix = CableIndex.open(Path(tmp) / "ix")
        cables: dict[str, Cable] = {}
        with SearchService(ix, Config()) as svc:
            for k, ops in enumerate(commits):
                put: dict[str, Cable] = {}
                delete: list[str] = []
                for i, refs, gone in ops:
                    rid = f"08POST{i}"
                    if gone:
                        delete.append(rid)
                        put.pop(rid, None)
                    else:
                        cited = [f"08POST{j}" if j < 12 else f"07GONE{j}" for j in refs]
                        put[rid] = cable(i, cited, version=k)
                        delete = [d for d in delete if d != rid]
                commit(ix, cables, list(put.values()), delete)
                check(svc, cables)
