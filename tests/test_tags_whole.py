"""Tags are whole values in new indexes (issue 14); an old index keeps its space-split tags and
keeps opening, searching and growing."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from whoosh.qparser import QueryParser

from cablesearch import parse
from cablesearch.config import Config
from cablesearch.engine.schema import WholeValueAnalyzer, build_schema, cable_to_doc
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

TAGGED = [
    Cable(
        reference_id="09SINGAPORE1",
        created=datetime(2009, 6, 1),
        origin="Embassy Singapore",
        subject="VISIT OF THE DEPUTY SECRETARY",
        body="The deputy secretary met the minister.",
        tags=["OVIP", "STEINBERG, JAMES B.", "PREL", "SN"],
    ),
    Cable(
        reference_id="09CAIRO2",
        created=datetime(2009, 7, 1),
        origin="Embassy Cairo",
        subject="HUMAN RIGHTS REPORT",
        body="Human rights groups met the embassy.",
        tags=["HUMAN RIGHTS", "PHUM", "EG"],
    ),
    Cable(
        reference_id="09CAIRO3",
        created=datetime(2009, 8, 1),
        origin="Embassy Cairo",
        subject="HUMAN TRAFFICKING",
        body="Trafficking in persons.",
        tags=["HUMAN", "KTIP", "EG"],
    ),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    ix = CableIndex.open(tmp_path_factory.mktemp("whole"))
    with ix.writer(timeout=10) as w:
        for c in TAGGED:
            w.put(c)
    with SearchService(ix, Config()) as svc:
        yield svc


def ids(svc: SearchService, **kw: object) -> set[str]:
    return {h.reference_id for h in svc.search(SearchRequest(**kw)).hits}  # type: ignore[arg-type]


def test_the_analyzer_gives_one_term_per_tag() -> None:
    doc = cable_to_doc(TAGGED[0])
    terms = [t.text for t in build_schema()["tags"].analyzer(doc["tags"])]
    assert terms == ["OVIP", "STEINBERG, JAMES B.", "PREL", "SN"]
    # white space inside a tag is collapsed; a tag never carries the separator
    odd = Cable(reference_id="X", tags=["HUMAN \n  RIGHTS", " PREL "])
    assert [t.text for t in WholeValueAnalyzer()(cable_to_doc(odd)["tags"])] == ["HUMAN RIGHTS", "PREL"]


def test_facet_counts_whole_tags(service: SearchService) -> None:
    facets = dict(service.search(SearchRequest(facet_limit=0)).facets["tag"])
    assert facets == dict(Counter(t for c in TAGGED for t in c.tags))
    assert "STEINBERG," not in facets and "RIGHTS" not in facets


def test_tag_filter_and_queries_use_whole_values(service: SearchService) -> None:
    assert ids(service, tags=("HUMAN RIGHTS",)) == {"09CAIRO2"}
    assert ids(service, tags=("human rights",)) == {"09CAIRO2"}  # filters ignore case
    assert ids(service, tags=("STEINBERG, JAMES B.",)) == {"09SINGAPORE1"}
    assert ids(service, query='tag:"HUMAN RIGHTS"') == {"09CAIRO2"}
    assert ids(service, query='tag:"STEINBERG, JAMES B."') == {"09SINGAPORE1"}
    assert ids(service, query="tag:PREL") == {"09SINGAPORE1"}
    assert ids(service, query="tag:human") == {"09CAIRO3"}  # the tag HUMAN, not HUMAN RIGHTS
    assert ids(service, query="tag:HUMAN*") == {"09CAIRO2", "09CAIRO3"}
    assert ids(service, query="tag:RIGHTS") == set()


def test_hits_carry_whole_tags(service: SearchService) -> None:
    hit = service.search(SearchRequest(query="tag:OVIP")).hits[0]
    assert hit.tags == TAGGED[0].tags


def test_plain_whoosh_reads_whole_tags(tmp_path: Path) -> None:
    """The analyzer pickled in the schema is what plain Whoosh queries with."""
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer(timeout=10) as w:
        w.put(TAGGED[1])
    with ix.searcher() as s:
        q = QueryParser("tags", ix.schema).parse('"HUMAN RIGHTS"')
        assert [h["reference_id"] for h in s.search(q)] == ["09CAIRO2"]


def test_old_index_keeps_space_split_tags_and_grows(tmp_path: Path, data_dir: Path) -> None:
    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", tmp_path / "old")
    ix = CableIndex.open(tmp_path / "old", create=False)
    assert not isinstance(ix.schema["tags"].analyzer, WholeValueAnalyzer)
    assert "person" not in ix.schema
    with ix.writer(timeout=10) as w:
        for c in TAGGED:
            w.put(c)
    with SearchService(ix, Config()) as svc:
        facets = dict(svc.search(SearchRequest(facet_limit=0, query="tag:OVIP OR tag:PHUM")).facets["tag"])
        # this index splits tags on spaces, as it always did
        assert facets["STEINBERG,"] == 1 and facets["RIGHTS"] == 1
        assert ids(svc, query="tag:RIGHTS") == {"09CAIRO2"}
        # its hits still show whole tags (from the stored cable), and its people facet is empty
        assert svc.search(SearchRequest(query="tag:OVIP")).hits[0].tags == TAGGED[0].tags
        assert svc.search(SearchRequest(facet_limit=0)).facets["person"] == []


def test_whole_tags_on_real_cables(tmp_path: Path, data_dir: Path) -> None:
    cables = list(parse.iter_cables([data_dir / "telegram"]))
    multi = [t for c in cables for t in c.tags if " " in t]
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer(timeout=10) as w:
        for c in cables:
            w.put(c)
    with SearchService(ix, Config()) as svc:
        facets = dict(svc.search(SearchRequest(facet_limit=0)).facets["tag"])
        assert facets == dict(
            Counter(t for c in {c.reference_id: c for c in cables}.values() for t in set(c.tags))
        )
        for tag in multi:
            assert facets[tag] >= 1
            assert ids(svc, tags=(tag,), page_size=100)
