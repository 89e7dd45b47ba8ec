"""Saved searches are evaluated only on what a commit added (``match_since`` runs each query
within the new segments' documents, sharing posting reads and filter masks between saved
searches); the answer must be exactly the whole-index evaluation masked to those documents.

The index: the 41 test cables and renamed copies, committed in five segments without merging,
then some updated (their old copies deleted) and some deleted; saved searches drawn by
hypothesis from the index's own words, phrases, tags, origins, people, warnings and years."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch.alerts.evaluate import SUMMARY_CHARS, summary_of
from cablesearch.engine.columns import IndexArrays
from cablesearch.engine.snapshot import Snapshot
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.parse import parse_file
from cablesearch.results import SearchRequest
from cablesearch.search.execution import execute
from cablesearch.search.query import build
from cablesearch.search.service import SearchService
from cablesearch.search.since import match_since

LIMIT = 30.0


def renamed(cable: Cable, n: int) -> Cable:
    """A copy of ``cable`` under another reference ID (a distinct cable to the index)."""
    rid = re.sub(r"[0-9]+$", lambda m: str(900000 + n), cable.reference_id)
    return replace(cable, reference_id=rid)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[SearchService]:
    cables = [c for f in sorted((data_dir / "telegram").iterdir()) for c in parse_file(f)]
    cables += [renamed(c, i) for i, c in enumerate(cables)]
    ix = tmp_path_factory.mktemp("since") / "index"
    index = CableIndex.open(ix)
    with index.writer() as w:
        for i, cable in enumerate(cables):
            w.put(cable)
            if i % 17 == 16:
                w.commit(merge=False)  # one segment per 17 cables
        w.commit(merge=False)
        for cable in cables[5:60:6]:  # updated: the old copy deleted in its segment
            w.put(replace(cable, subject=cable.subject + " REVISED", created=datetime(2010, 1, 2)))
        w.commit(merge=False)
        for cable in cables[3:80:9]:
            w.delete(cable.reference_id)
    with SearchService(index) as svc:
        yield svc


@pytest.fixture(scope="module")
def vocab(service: SearchService) -> dict[str, list[Any]]:
    with service.snapshot() as snap:
        a = snap.arrays
        body = [w for w in snap.lexicon("body") if w.isalpha() and len(w) > 3]
        subjects = [str(snap.stored(d).get("subject") or "") for d in np.flatnonzero(a.live)[:40].tolist()]
        segments = [seg for seg, _, _ in snap.segment_spans()]
        return {
            "words": body[:: max(1, len(body) // 300)],
            "phrases": [" ".join(s.lower().split()[i : i + 2]) for s in subjects for i in (0, 1)],
            "tags": a.facet("tag").values,
            "origins": a.facet("origin").values,
            "classifications": a.facet("classification").values,
            "years": [int(y) for y in a.facet("year").values],
            "persons": a.facet("person").values[:40],
            "warnings": a.facet("warning").values,
            "segments": segments,
        }


def whole_index(snap: Snapshot, request: SearchRequest, seen: frozenset[str]) -> list[str]:
    """The evaluation before: the query and filters over the whole index, then masked to the
    live documents of the segments not in ``seen``."""
    fresh = np.zeros(snap.n, bool)
    for seg_id, offset, count in snap.segment_spans():
        if seg_id not in seen:
            fresh[offset : offset + count] = True
    built = build(replace(request, page=1, page_size=1), snap.schema, 100)
    docs = np.flatnonzero(execute(snap, built, LIMIT).mask & fresh & snap.arrays.live)
    return [snap.reference_id(d) for d in docs.tolist()]


@st.composite
def saved_search(draw: st.DrawFn, v: dict[str, list[Any]]) -> SearchRequest:
    word = st.sampled_from(v["words"])
    kind = draw(st.sampled_from(["word", "and", "or", "not", "phrase", "prefix", "tag", "person", "browse"]))
    a, b = draw(word), draw(word)
    query = {
        "word": a,
        "and": f"{a} {b}",
        "or": f"{a} OR {b}",
        "not": f"{a} AND NOT {b}",
        "phrase": f'"{draw(st.sampled_from(v["phrases"]))}"',
        "prefix": f"{a[:3]}*",
        "tag": f"tag:{draw(st.sampled_from(v['tags']))} OR {a}",
        "person": f"person:{draw(st.sampled_from(v['persons'])).split(',')[0].lower()}",
        "browse": "",
    }[kind]

    def some(key: str) -> tuple[Any, ...]:
        return tuple(draw(st.lists(st.sampled_from(v[key]), max_size=2, unique=True))) if v[key] else ()

    filters = draw(
        st.sets(st.sampled_from(["tags", "origins", "classifications", "years", "persons", "warnings"]))
    )
    dates = draw(st.sampled_from([(None, None), ("2005", None), (None, "2008-06"), ("2006", "2010")]))
    return SearchRequest(
        query=query,
        date_from=dates[0],
        date_to=dates[1],
        **{key: some(key) for key in filters},
    )


def test_the_index_has_segments_and_deletions(service: SearchService, vocab: dict[str, list[Any]]) -> None:
    with service.snapshot() as snap:
        assert len(vocab["segments"]) >= 6 and not snap.arrays.live.all()
        assert vocab["persons"] and vocab["warnings"] and vocab["tags"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_evaluation_on_new_segments_equals_the_whole_index_masked(
    service: SearchService, vocab: dict[str, list[Any]], data: st.DataObject
) -> None:
    requests = data.draw(st.lists(saved_search(vocab), min_size=1, max_size=6), label="saved searches")
    seen = frozenset(data.draw(st.lists(st.sampled_from(vocab["segments"]), unique=True), label="seen"))
    with service.snapshot() as snap:
        got = match_since(snap, requests, seen, max_page_size=100, time_limit=LIMIT)
        assert got.matches == [whole_index(snap, r, seen) for r in requests]
        fresh = sum(count for seg, _, count in snap.segment_spans() if seg not in seen)
        assert got.evaluated <= fresh


def test_matches_are_found_in_new_segments_only(service: SearchService, vocab: dict[str, list[Any]]) -> None:
    """The property above is not vacuous: a browse of everything finds every live cable of the
    new segments, and none of the others."""
    with service.snapshot() as snap:
        spans = snap.segment_spans()
        seen = frozenset(seg for seg, _, _ in spans[: len(spans) // 2])
        got = match_since(snap, [SearchRequest()], seen, max_page_size=100, time_limit=LIMIT)
        live = snap.arrays.live
        want = [
            snap.reference_id(d)
            for seg, offset, count in spans
            if seg not in seen
            for d in range(offset, offset + count)
            if live[d]
        ]
        assert got.matches == [want] and got.evaluated == len(want) > 0


def test_snapshot_arrays_from_per_segment_pairs_equal_those_read_whole(
    tmp_path: Path, data_dir: Path
) -> None:
    """A search service keeps each segment's facet values for its next snapshot (each commit
    then reads only its new segments): after every commit -- new segments, updates, deletions
    and a merge -- the arrays equal those read from the whole index at once."""
    cables = [c for f in sorted((data_dir / "telegram").iterdir()) for c in parse_file(f)]
    cables += [renamed(c, i) for i, c in enumerate(cables)]
    index = CableIndex.open(tmp_path / "index")
    cache: dict[str, Any] = {}

    def same() -> None:
        with index.searcher() as searcher:
            reader = searcher.reader()
            got, want = IndexArrays.build(reader, cache), IndexArrays.build(reader)
            segments = len(list(reader.leaf_readers()))
        assert len(cache["tags"]) == segments  # the pairs of merged-away segments are dropped
        for name in ("origin", "classification", "tag", "warning", "person", "year"):
            g, w = got.facet(name), want.facet(name)
            assert g.values == w.values, name
            assert np.array_equal(g.counts(None), w.counts(None)), name
            for value in w.values[:5]:
                assert np.array_equal(g.mask([value]), w.mask([value])), (name, value)
        assert np.array_equal(got.tags.pair_docs, want.tags.pair_docs)
        assert np.array_equal(got.tags.pair_values, want.tags.pair_values)
        assert np.array_equal(got.origin.ids, want.origin.ids)
        assert np.array_equal(got.person.raw.pair_values, want.person.raw.pair_values)

    with index.writer() as w:
        for i, cable in enumerate(cables):
            w.put(cable)
            if i % 20 == 19:
                w.commit(merge=False)
                same()
        for cable in cables[::7]:
            w.put(replace(cable, tags=[*cable.tags, "ZZNEW"], origin="Embassy Elsewhere"))
        w.commit(merge=False)
        same()
        for cable in cables[1::5]:
            w.delete(cable.reference_id)
    same()
    with index.writer() as w:
        w.put(renamed(cables[0], 999))
        w.commit(merge=True)
    same()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["word", "é.", " ", "\n\n", " " * 40, "x" * 90]), min_size=1, max_size=3000).map(
        "".join
    )
    | st.text(max_size=3000)
)
def test_a_summary_is_the_text_normalised_then_cut(text: str) -> None:
    """Only a head of a long body is normalised (a burst's matches would split every body
    whole); the summary is the same as from the whole text."""
    whole = " ".join(text.split())
    if len(whole) > SUMMARY_CHARS:
        whole = whole[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    assert summary_of(text) == whole


def test_a_long_body_gives_a_cut_summary() -> None:
    body = ("1. (C) Word  \n\n" + " " * 300) * 500
    assert summary_of(body) == ("1. (C) Word " * 40)[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
