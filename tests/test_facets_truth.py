"""Facet counts equal the counts computed from truth.jsonl (the fields as the cablegate pages'
markup gives them), on tests/data and on the whole shared corpus, for indexes built with the
real pipeline (parse.iter_cables + CableIndex)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from site_errata import expected_tags

from cablesearch import parse
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService


def load_truth(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def index_of(folder: Path, path: Path) -> SearchService:
    ix = CableIndex.open(path)
    with ix.writer(timeout=30) as w:
        for c in parse.iter_cables([folder]):
            w.put(c)
    return SearchService(ix, Config())


@pytest.fixture(scope="module", params=["tests-data", pytest.param("shared-corpus", marks=pytest.mark.slow)])
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SearchService, list[dict]]:
    if request.param == "tests-data":
        root = request.getfixturevalue("data_dir")
    else:
        root = request.getfixturevalue("shared_corpus")
    svc = index_of(root / "html", tmp_path_factory.mktemp(request.param))
    yield svc, load_truth(root / "truth.jsonl")
    svc.close()


def test_every_cable_is_indexed_once(corpus: tuple[SearchService, list[dict]]) -> None:
    svc, truth = corpus
    result = svc.search(SearchRequest(query="", facet_limit=0))
    assert result.total == len(truth) == len({t["reference_id"] for t in truth})


@pytest.mark.parametrize("facet, key", [("origin", "origin"), ("classification", "classification")])
def test_single_valued_facets_equal_truth(
    corpus: tuple[SearchService, list[dict]], facet: str, key: str
) -> None:
    svc, truth = corpus
    result = svc.search(SearchRequest(query="", facet_limit=0))
    assert dict(result.facets[facet]) == Counter(t[key] for t in truth)


def test_year_and_month_facets_equal_truth(corpus: tuple[SearchService, list[dict]]) -> None:
    svc, truth = corpus
    result = svc.search(SearchRequest(query="", facet_limit=0))
    assert dict(result.facets["year"]) == Counter(t["created"][:4] for t in truth if t["created"])
    assert result.facets["month"] == sorted(Counter(t["created"][:7] for t in truth if t["created"]).items())


def test_browse_equals_truth(corpus: tuple[SearchService, list[dict]]) -> None:
    svc, truth = corpus
    b = svc.browse()
    assert b["created"] == sorted(Counter(t["created"][:7] for t in truth).items())
    assert b["released"] == sorted(Counter(t["released"][:10] for t in truth if t["released"]).items())
    assert dict(b["origin"]) == Counter(t["origin"] for t in truth)


def test_tag_facet_equals_truth_over_cables_whose_page_lists_tags(
    corpus: tuple[SearchService, list[dict]],
) -> None:
    """Some pages list no tags (the parser then reads them from the TAGS line, which truth does
    not record), so the tag facet is compared over exactly the cables whose page lists tags —
    selected with an id: query, which also exercises facets over a match set."""
    svc, truth = corpus
    tagged = [t for t in truth if t["tags"]]
    query = " OR ".join(f"id:{t['reference_id']}" for t in tagged)
    result = svc.search(SearchRequest(query=query, facet_limit=0))
    assert result.total == len(tagged)
    # tags are whole values: a multi-word or person tag ("BIDEN, JOSEPH") counts as one
    want = Counter(tag for t in tagged for tag in set(expected_tags(t)))
    assert dict(result.facets["tag"]) == want


def test_facets_of_a_query_equal_truth_counts_of_its_matches(
    corpus: tuple[SearchService, list[dict]],
) -> None:
    svc, truth = corpus
    by_id = {t["reference_id"]: t for t in truth}
    for text in ("embassy", "minister OR president", '"foreign minister"', "classification:SECRET"):
        result = svc.search(SearchRequest(query=text, facet_limit=0, page_size=100))
        everything = [
            by_id[h.reference_id]
            for page in range(1, 1 + result.total // 100 + 1)
            for h in svc.search(SearchRequest(query=text, page=page, page_size=100)).hits
        ]
        assert len(everything) == result.total
        assert dict(result.facets["origin"]) == Counter(t["origin"] for t in everything)
        assert dict(result.facets["classification"]) == Counter(t["classification"] for t in everything)
        assert dict(result.facets["year"]) == Counter(t["created"][:4] for t in everything)
