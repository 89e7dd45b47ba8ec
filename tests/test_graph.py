"""The citation graph: cites:/citedby:/thread: in the query language and the thread listing,
held against a brute-force walk over the cables' references (what was indexed), on a
synthetic graph with deletions and missing cables, and on the real cables of tests/data."""

from __future__ import annotations

import json
import random
import shutil
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.config import Config
from cablesearch.engine import graph as graph_mod
from cablesearch.errors import CableNotFound, QuerySyntaxError
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

N = 240
DELETED = {f"08POST{i}" for i in (3, 50, 51, 120, 199)}


def synthetic_cables() -> list[Cable]:
    """Cables citing a few earlier ones (sometimes a cable that is not in the index), in
    chains and clusters, with tags A/B/C: several threads, some of one cable."""
    rng = random.Random(13)
    out = []
    t0 = datetime(2008, 1, 1)
    for i in range(N):
        refs: list[str] = []
        if i % 7 and i > 0:  # every 7th cable starts a thread of its own
            for _ in range(rng.choice([1, 1, 2, 3])):
                j = rng.randrange(max(0, i - 12), i)
                refs.append(f"08POST{j}")
        if rng.random() < 0.15:
            refs.append(f"07GONE{rng.randrange(20)}")  # cited, never indexed
        out.append(
            Cable(
                reference_id=f"08POST{i}",
                created=t0 + timedelta(days=(i * 37) % N),  # not in ID order
                subject=f"cable number {i}",
                body="oil talks" if i % 3 == 0 else "embassy report",
                tags=[rng.choice("ABC")],
                origin="Embassy Post",
                references=list(dict.fromkeys(refs)),
            )
        )
    return out


def brute_adjacency(cables: list[Cable]) -> dict[str, set[str]]:
    """Undirected citation adjacency over IDs (missing cables included) of live cables."""
    adj: dict[str, set[str]] = {}
    for c in cables:
        adj.setdefault(c.reference_id, set())
        for r in c.references:
            if r != c.reference_id:
                adj[c.reference_id].add(r)
                adj.setdefault(r, set()).add(c.reference_id)
    return adj


def brute_levels(adj: dict[str, set[str]], start: str) -> dict[str, int]:
    dist = {start: 0}
    todo = deque([start])
    while todo:
        x = todo.popleft()
        for y in adj.get(x, ()):
            if y not in dist:
                dist[y] = dist[x] + 1
                todo.append(y)
    return dist


@pytest.fixture(scope="module")
def live() -> list[Cable]:
    return [c for c in synthetic_cables() if c.reference_id not in DELETED]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    ix = CableIndex.open(tmp_path_factory.mktemp("graph"))
    cables = synthetic_cables()
    with ix.writer(timeout=10) as w:
        for c in cables[: N // 2]:
            w.put(c)
    with ix.writer(timeout=10) as w:  # a second segment, then deletions
        for c in cables[N // 2 :]:
            w.put(c)
    with ix.writer(timeout=10) as w:
        for rid in DELETED:
            w.delete(rid)
    with SearchService(ix, Config()) as service:
        yield service


def matches(svc: SearchService, query: str, **kw: object) -> set[str]:
    return {c.reference_id for c, _ in svc.iter_matches(SearchRequest(query=query, **kw))}  # type: ignore[arg-type]


GONE = min(
    r for c in synthetic_cables() if c.reference_id not in DELETED for r in c.references if "GONE" in r
)
STARTS = [f"08POST{i}" for i in range(0, N, 9)] + ["08POST3", GONE, "07GONE99"]


@pytest.mark.parametrize("start", STARTS)
def test_thread_cites_citedby_equal_a_brute_force_walk(
    svc: SearchService, live: list[Cable], start: str
) -> None:
    adj = brute_adjacency(live)
    indexed = {c.reference_id for c in live}
    by_id = {c.reference_id: c for c in live}
    levels = brute_levels(adj, start) if start in adj else {}
    assert matches(svc, f"thread:{start}") == {r for r in levels if r in indexed}
    for depth in (0, 1, 2):
        want = {r for r, d in levels.items() if d <= depth and r in indexed}
        assert matches(svc, f"thread:{start}~{depth}") == want
    citing = {c.reference_id for c in live if start in c.references and c.reference_id != start}
    assert matches(svc, f"cites:{start}") == citing
    cited = set(by_id[start].references) & indexed - {start} if start in by_id else set()
    assert matches(svc, f"citedby:{start}") == cited


def test_graph_operators_combine_with_words_filters_and_sort(svc: SearchService, live: list[Cable]) -> None:
    start = "08POST100"
    levels = brute_levels(brute_adjacency(live), start)
    by_id = {c.reference_id: c for c in live}
    thread = {r for r in levels if r in by_id}
    tag_a = {r for r in thread if by_id[r].tags == ["A"]}
    assert tag_a and tag_a != thread
    assert matches(svc, f"thread:{start} AND tags:A") == tag_a
    assert matches(svc, f"thread:{start}", tags=("A",)) == tag_a
    assert matches(svc, f"thread:{start} oil") == {r for r in thread if "oil" in by_id[r].body}
    assert matches(svc, f"thread:{start} -tags:A") == thread - tag_a
    assert matches(svc, f"thread:{start} OR cites:08POST5") == thread | matches(svc, "cites:08POST5")
    result = svc.search(SearchRequest(query=f"thread:{start}", sort="created", page_size=100))
    dates = [h.created for h in result.hits]
    assert result.total == len(thread) and dates == sorted(dates)  # type: ignore[type-var]
    tags = dict(result.facets["tag"])
    assert sum(tags.values()) == len(thread)


def test_ids_in_any_case_and_zero_padding(svc: SearchService) -> None:
    assert matches(svc, "thread:08post0012") == matches(svc, "thread:08POST12") != set()
    assert matches(svc, "cites:08Post07") == matches(svc, "cites:08POST7")


def test_an_unknown_id_finds_nothing_with_a_notice(svc: SearchService) -> None:
    for q in ("thread:99NOWHERE1", "cites:99NOWHERE1", "citedby:99NOWHERE1", "oil AND thread:99NOWHERE1"):
        result = svc.search(SearchRequest(query=q))
        assert result.total == 0
        assert result.notice and "99NOWHERE1" in result.notice and "not in the index" not in q
    gone = svc.search(SearchRequest(query=f"citedby:{GONE}"))
    assert gone.total == 0 and gone.notice and "not in the index" in gone.notice


def test_bad_graph_values_are_one_line_errors(svc: SearchService) -> None:
    for q, word in (
        ("thread:foo", "reference ID"),
        ("cites:08POST1~2", "only goes with thread"),
        ("thread:", "no value"),
    ):
        with pytest.raises(QuerySyntaxError, match=word):
            svc.search(SearchRequest(query=q))


def test_a_thread_past_the_cap_is_cut_at_a_whole_level_with_a_notice(
    svc: SearchService, live: list[Cable], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = "08POST100"
    levels = brute_levels(brute_adjacency(live), start)
    per_level = [sum(1 for d in levels.values() if d <= k) for k in range(max(levels.values()) + 1)]
    cap = per_level[2] + 1  # the third level does not fit
    assert per_level[3] > cap
    monkeypatch.setattr(graph_mod, "THREAD_MAX_NODES", cap)
    indexed = {c.reference_id for c in live}
    result = svc.search(SearchRequest(query=f"thread:{start}"))
    assert result.total == len({r for r, d in levels.items() if d <= 2 and r in indexed})
    assert result.notice and "cut at 2 step" in result.notice
    t = svc.thread(start)
    assert t.cut == 3 and max(c.depth for c in t.cables) == 2 and t.notice
    assert "cut" not in (svc.search(SearchRequest(query=f"thread:{start}~2")).notice or "")


def test_thread_lists_cables_oldest_first_with_who_cites_whom(svc: SearchService, live: list[Cable]) -> None:
    start = "08POST100"
    levels = brute_levels(brute_adjacency(live), start)
    by_id = {c.reference_id: c for c in live}
    t = svc.thread("08post100")
    assert t.reference_id == start
    assert {c.reference_id: c.depth for c in t.cables} == levels
    dated = [c.created for c in t.cables if c.in_index]
    assert dated == sorted(dated)  # type: ignore[type-var]
    assert all(not c.in_index for c in t.cables[len(dated) :])  # missing ones last
    assert set(t.missing) == {r for r in levels if r not in by_id} != set()
    for c in t.cables:
        own = set(by_id[c.reference_id].references) - {c.reference_id} if c.in_index else set()
        assert set(c.cites) == own & set(levels)
        assert set(c.cited_by) == {
            r for r in levels if r in by_id and c.reference_id in by_id[r].references
        } - {c.reference_id}
        if c.in_index:
            assert c.subject == by_id[c.reference_id].subject
    j = t.to_json()
    assert j["total"] == len(levels) and j["missing"] == t.missing and j["cut"] is None
    assert json.loads(json.dumps(j)) == j
    assert {c.reference_id for c in svc.thread(start, depth=1).cables} == {
        r for r, d in levels.items() if d <= 1
    }


def test_thread_of_a_missing_cable_and_of_an_unknown_id(svc: SearchService) -> None:
    t = svc.thread(GONE)
    assert len(t.cables) > 1 and not t.cables[-1].in_index
    assert any(c.reference_id == GONE and not c.in_index and c.depth == 0 for c in t.cables)
    with pytest.raises(CableNotFound, match="99NOWHERE1"):
        svc.thread("99NOWHERE1")
    with pytest.raises(QuerySyntaxError, match="depth"):
        svc.thread("08POST1", depth=-1)


def test_real_cables_threads_equal_a_brute_force_walk(tmp_path: Path, data_dir: Path) -> None:
    cables = list(parse.iter_cables([data_dir / "html"]))
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer(timeout=10) as w:
        for c in cables:
            w.put(c)
    adj = brute_adjacency(cables)
    indexed = {c.reference_id for c in cables}
    with SearchService(ix, Config()) as svc:
        for c in cables:
            levels = brute_levels(adj, c.reference_id)
            assert matches(svc, f"thread:{c.reference_id}") == {r for r in levels if r in indexed}
            assert matches(svc, f"citedby:{c.reference_id}") == set(c.references) & indexed - {c.reference_id}
            assert {x.reference_id for x in svc.thread(c.reference_id).cables} == set(levels)


def test_an_old_index_answers_graph_queries(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", tmp_path / "old")
    with SearchService(CableIndex.open(tmp_path / "old", create=False), Config()) as svc:
        some = next(iter(svc.iter_matches(SearchRequest())))[0]
        assert some.reference_id in matches(svc, f"thread:{some.reference_id}")
        assert svc.search(SearchRequest()).facets["warning"] == []


def test_cli_thread(svc: SearchService, tmp_path: Path, live: list[Cable]) -> None:
    index_dir = Path(svc.index.index_dir)
    args = ["--config", "/dev/null", "--index", str(index_dir), "thread"]
    got = CliRunner().invoke(main, [*args, "08post100", "--json"])
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    assert data["reference_id"] == "08POST100" and data["total"] == len(svc.thread("08POST100").cables)
    text = CliRunner().invoke(main, [*args, "08POST100", "--depth", "1"])
    assert (
        text.exit_code == 0 and "Thread of 08POST100" in text.output and "(not in the index)" in text.output
    )
    bad = CliRunner().invoke(main, [*args, "99NOWHERE1"])
    assert bad.exit_code != 0 and "Error:" in bad.output and "Traceback" not in bad.output
