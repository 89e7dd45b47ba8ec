"""Multi-select facets: values of one facet are OR'ed, and each facet is counted with every
filter except its own, so a count is what choosing that value adds. Held against brute force
on real indexes (tests/data, and the whole shared corpus where present); and the facet of
parse-warning kinds with its filter."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.config import Config
from cablesearch.engine.schema import warning_kinds
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

Corpus = tuple[SearchService, dict[str, Cable], Path]


def values(c: Cable, facet: str) -> set[str]:
    if facet == "tag":
        return set(c.tags)
    if facet == "origin":
        return {c.origin} if c.origin else set()
    if facet == "classification":
        return {c.classification} if c.classification else set()
    if facet == "year":
        return {str(c.created.year)} if c.created else set()
    return set(warning_kinds(c.warnings)) if c.warnings else set()


FILTER_OF = {
    "tag": "tags",
    "origin": "origins",
    "classification": "classifications",
    "year": "years",
    "warning": "warnings",
}


@pytest.fixture(scope="module", params=["tests-data", pytest.param("shared-corpus", marks=pytest.mark.slow)])
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    root = (
        request.getfixturevalue("data_dir")
        if request.param == "tests-data"
        else request.getfixturevalue("shared_corpus")
    )
    path = tmp_path_factory.mktemp("ms")
    cables: dict[str, Cable] = {}
    for c in parse.iter_cables([root / "html"]):
        cables[c.reference_id] = c
    ix = CableIndex.open(path)
    with ix.writer(timeout=30) as w:
        for c in cables.values():
            w.put(c)
    with SearchService(ix, Config()) as svc:
        yield svc, cables, path


def brute_facets(
    cables: dict[str, Cable], matched: set[str], chosen: dict[str, set[str]]
) -> dict[str, Counter[str]]:
    """Each facet counted over the matched cables passing every filter but its own."""

    def passes(c: Cable, skip: str) -> bool:
        return all(chose(c, f, vals) for f, vals in chosen.items() if f != skip and vals)

    out: dict[str, Counter[str]] = {}
    for facet in FILTER_OF:
        out[facet] = Counter(
            v for rid in matched if passes(cables[rid], facet) for v in values(cables[rid], facet)
        )
    return out


def chose(c: Cable, facet: str, vals: set[str]) -> bool:
    """Does the cable have one of the chosen values (case-insensitively, as filters do)?"""
    return bool({x.casefold() for x in values(c, facet)} & {v.casefold() for v in vals})


def request_of(query: str, chosen: dict[str, set[str]]) -> SearchRequest:
    kw: dict[str, tuple] = {}
    for facet, vals in chosen.items():
        kw[FILTER_OF[facet]] = tuple(int(v) for v in sorted(vals)) if facet == "year" else tuple(sorted(vals))
    return SearchRequest(query=query, facet_limit=0, **kw)


def check(svc: SearchService, cables: dict[str, Cable], query: str, chosen: dict[str, set[str]]) -> None:
    matched = {c.reference_id for c, _ in svc.iter_matches(SearchRequest(query=query))}
    result = svc.search(request_of(query, chosen))
    want = brute_facets(cables, matched, chosen)
    for facet in FILTER_OF:
        assert dict(result.facets[facet]) == dict(want[facet]), (facet, query, chosen)
    total = {rid for rid in matched if all(chose(cables[rid], f, vals) for f, vals in chosen.items() if vals)}
    assert result.total == len(total)


QUERIES = ["", "government", '"human rights"', "oil OR security"]


@pytest.mark.parametrize("query", QUERIES)
def test_each_facet_is_counted_with_every_filter_but_its_own(corpus: Corpus, query: str) -> None:
    svc, cables, _ = corpus
    top = svc.facet_counts(limit=3)
    tags = [v for v, _ in top["tag"]]
    chosen_sets = [
        {"tag": {tags[0]}},
        {"tag": {tags[0], tags[1]}},
        {"tag": {tags[0]}, "origin": {top["origin"][0][0]}},
        {"tag": {tags[1]}, "classification": {top["classification"][0][0]}, "year": {top["year"][0][0]}},
    ]
    for chosen in chosen_sets:
        check(svc, cables, query, chosen)


def test_choosing_a_second_value_adds_what_its_count_promised(corpus: Corpus) -> None:
    """The "human rights" + PREL case: a tag's count, PREL chosen, is the cables that tag has;
    choosing it too gives the union, never a surprise."""
    svc, _, _ = corpus
    query = "government"
    first = svc.search(SearchRequest(query=query, tags=("PREL",), facet_limit=0))
    counts = dict(first.facets["tag"])
    assert counts.get("PREL") == first.total
    for other, n in list(counts.items())[:6]:
        both = svc.search(SearchRequest(query=query, tags=("PREL", other))).total
        overlap = svc.search(SearchRequest(query=f"{query} tags:{other}", tags=("PREL",))).total
        assert both == first.total + n - overlap
    origins = svc.search(SearchRequest(query=query, origins=(dict(first.facets["origin"]).popitem()[0],)))
    assert len(origins.facets["origin"]) > 1  # other origins stay choosable


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_filter_combinations_against_brute_force(corpus: Corpus, data: st.DataObject) -> None:
    svc, cables, _ = corpus
    every = svc.facet_counts(limit=0)
    chosen: dict[str, set[str]] = {}
    for facet in ("tag", "origin", "classification", "year"):
        pool = [v for v, _ in every[facet]][:12]
        chosen[facet] = set(data.draw(st.lists(st.sampled_from(pool), max_size=2), label=facet))
    check(svc, cables, data.draw(st.sampled_from(QUERIES), label="query"), chosen)


def test_warning_facet_and_filter(corpus: Corpus) -> None:
    svc, cables, _ = corpus
    kinds = Counter(k for c in cables.values() if c.warnings for k in warning_kinds(c.warnings))
    result = svc.search(SearchRequest(facet_limit=0))
    assert dict(result.facets["warning"]) == dict(kinds)
    for kind, n in kinds.items():
        assert svc.search(SearchRequest(warnings=(kind,))).total == n
    assert svc.search(SearchRequest(warnings=("no such kind",))).total == 0


def test_warning_kinds() -> None:
    assert warning_kinds(["subject: the telegram says 'X', kept 'Y'", "subject: again", "no colon here"]) == [
        "subject",
        "other",
    ]
    assert warning_kinds(["created date '2008-01-01 12:30' not understood"]) == ["other"]
    assert warning_kinds(["a, b: c"]) == ["a b"]


def test_cli_facet_limit_and_warning(corpus: Corpus) -> None:
    _, cables, path = corpus
    args = ["--config", "/dev/null", "--index", str(path), "search", "--json"]
    got = CliRunner().invoke(main, [*args, "--facet-limit", "0"])
    assert got.exit_code == 0, got.output
    origins = {c.origin for c in cables.values() if c.origin}
    assert len(json.loads(got.output)["facets"]["origin"]) == len(origins)
    two = json.loads(CliRunner().invoke(main, [*args, "--facet-limit", "2"]).output)
    assert len(two["facets"]["origin"]) == min(2, len(origins))
    kinds = Counter(k for c in cables.values() for k in warning_kinds(c.warnings))
    if kinds:
        kind, n = kinds.most_common(1)[0]
        assert json.loads(CliRunner().invoke(main, [*args, "--warning", kind]).output)["total"] == n


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_counting_through_the_matching_documents_equals_the_full_pass(
    corpus: Corpus, data: st.DataObject
) -> None:
    """A sparse matching set is counted through its documents (each one's slice of the sorted
    (document, value) pairs): the same counts as the pass over every document, every facet."""
    import numpy as np

    from cablesearch.search.facets import facet_counts

    svc, _, _ = corpus
    with svc.snapshot() as snap:
        arrays = snap.arrays
        docs = sorted(set(data.draw(st.lists(st.integers(0, arrays.n - 1), max_size=12))))
        mask = np.zeros(arrays.n, bool)
        mask[docs] = True
        for name in ("tag", "origin", "classification", "year", "month", "warning", "person"):
            f = arrays.facet(name)
            sparse = facet_counts(f, mask, np.asarray(docs, np.int64), multi_share=1)
            assert sparse.tolist() == f.counts(mask).tolist(), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_filter_mask_by_comparisons_equals_the_facets_own(corpus: Corpus, data: st.DataObject) -> None:
    """A filter of a few values is built by comparing the value ids (found in a case-folded
    index of the values): the same ids as the facet's lookup and the same documents as its own
    mask (np.isin), for each facet, with values in any case, padded, and unknown ones."""
    from cablesearch.search.execution import FEW_VALUES, value_ids, value_mask

    svc, _, _ = corpus
    with svc.snapshot() as snap:
        for name in ("tag", "origin", "classification", "year", "warning", "person"):
            f = snap.arrays.facet(name)
            pool = list(f.values) + [v.lower() for v in f.values[:3]] + [f" {v} " for v in f.values[:2]]
            wanted = data.draw(st.lists(st.sampled_from([*pool, "NO SUCH VALUE"]), max_size=FEW_VALUES + 2))
            assert value_ids(f, wanted) == f.lookup(wanted), (name, wanted)
            assert value_mask(f, wanted).tolist() == f.mask(wanted).tolist(), (name, wanted)
