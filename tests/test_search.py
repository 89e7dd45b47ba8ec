"""SearchService over real indexes (built with parse.iter_cables + CableIndex): totals, facets,
paging, sorting, filters, highlighting, suggestions, single-cable calls, and agreement with
plain Whoosh on what matches."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from whoosh import query as wq

from cablesearch import parse
from cablesearch.config import Config
from cablesearch.errors import CableNotFound, QuerySyntaxError, QueryTimeout
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.facets import UnknownFilterValue
from cablesearch.search.query import parse_query
from cablesearch.search.service import SearchService, check_page


def build_index(path: Path, cables: list[Cable]) -> CableIndex:
    ix = CableIndex.open(path)
    with ix.writer(timeout=10) as w:
        for c in cables:
            w.put(c)
    return ix


@pytest.fixture(scope="module")
def data_cables(data_dir: Path) -> list[Cable]:
    return list(parse.iter_cables([data_dir / "html"]))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, data_cables: list[Cable]) -> Iterator[SearchService]:
    ix = build_index(tmp_path_factory.mktemp("ix41"), data_cables)
    with SearchService(ix, Config()) as svc:
        yield svc


def cable(rid: str, subject: str, body: str, created: str | None, **kw: object) -> Cable:
    return Cable(
        reference_id=rid,
        subject=subject,
        body=body,
        created=datetime.fromisoformat(created) if created else None,
        **kw,
    )  # type: ignore[arg-type]


SMALL = [
    cable(
        "08TRIPOLI1",
        "LIBYA OIL TALKS",
        "The embassy met oil officials. <script>alert('x')</script> & more oil.",
        "2008-01-10 10:00",
        origin="Embassy Tripoli",
        classification="SECRET",
        tags=["PREL", "EPET", "LY"],
    ),
    cable(
        "08TRIPOLI2",
        "LIBYA ELECTIONS",
        "Elections were held; the elected council met.",
        "2008-06-30 23:59",
        origin="Embassy Tripoli",
        classification="CONFIDENTIAL",
        tags=["PGOV", "LY"],
        references=["08TRIPOLI1"],
    ),
    cable(
        "09CAIRO3",
        "EGYPT OIL AND GAS",
        "Gas exports and oil. Egypt's gas pipeline.",
        "2009-03-01 08:00",
        origin="Embassy Cairo",
        classification="CONFIDENTIAL",
        tags=["EPET", "EG"],
        references=["08TRIPOLI1", "08TRIPOLI2"],
        released=datetime(2011, 2, 1),
    ),
    cable(
        "09CAIRO4",
        "EGYPT HUMAN RIGHTS",
        "Human rights groups said rights of detainees were ignored. Rights human.",
        "2009-07-15 12:00",
        origin="Embassy Cairo",
        classification="UNCLASSIFIED",
        tags=["PHUM", "EG"],
        released=datetime(2010, 11, 28),
    ),
    cable(
        "10STATE5",
        "DEMARCHE ON HUMAN RIGHTS",
        "Posts should raise human rights and the rights of the human person.",
        "2010-02-02 02:02",
        origin="Secretary of State",
        classification="UNCLASSIFIED",
        tags=["PHUM", "PREL"],
    ),
    cable(
        "XXUNDATED6",
        "NO DATE",
        "An undated cable about oil.",
        None,
        origin="Embassy Cairo",
        classification="SECRET",
        tags=["EPET"],
    ),
]


@pytest.fixture()
def small(tmp_path: Path) -> Iterator[SearchService]:
    ix = build_index(tmp_path / "ix", SMALL)
    with SearchService(ix, Config()) as svc:
        yield svc


def ids(result: object) -> list[str]:
    return [h.reference_id for h in result.hits]  # type: ignore[attr-defined]


def search(svc: SearchService, query: str = "", **kw: object):  # type: ignore[no-untyped-def]
    return svc.search(SearchRequest(query=query, **kw))  # type: ignore[arg-type]


def test_a_typed_reference_id_finds_the_cable_then_the_cables_citing_it(small: SearchService) -> None:
    for typed in ("08TRIPOLI1", "08tripoli1", "08TRIPOLI0001"):
        result = search(small, typed)
        assert ids(result)[0] == "08TRIPOLI1", typed
        assert set(ids(result)) == {"08TRIPOLI1", "08TRIPOLI2", "09CAIRO3"}, typed
    assert ids(search(small, "oil 08TRIPOLI1")) == ["08TRIPOLI1", "09CAIRO3"]
    assert ids(search(small, '"08TRIPOLI1"')) == []  # in quotes: the literal text only


# -- what matches: the same documents as plain Whoosh --------------------------------------

AGREEMENT_QUERIES = [
    "embassy",
    "minister",
    "oil OR gas",
    "oil AND gas",
    "iran NOT nuclear",
    "iran -nuclear",
    '"human rights"',
    '"foreign minister"',
    '"prime minister"~3',
    '"security council" OR iran',
    "embass*",
    "terror*",
    "wom?n",
    "tags:PREL",
    "tags:PREL AND NOT tags:PGOV",
    "classification:SECRET",
    'origin:"Embassy Madrid"',
    "created:[2008 to 2009-06]",
    "created:>=2009 AND minister",
    "subject:brazil",
    "body:brazil",
    "+iran nuclear",
    "(china OR russia) AND trade",
    "reference_id:08BRASILIA429",
    "nuclear^3 iran",
]


@pytest.mark.parametrize("text", AGREEMENT_QUERIES)
def test_matches_and_totals_agree_with_whoosh(service: SearchService, text: str) -> None:
    result = search(service, text, page_size=100, facet_limit=0)
    ix = service.index
    with ix.searcher() as s:
        q = parse_query(text, s.schema)
        expected = {hit["reference_id"] for hit in s.search(q, limit=None)}
    got = {h.reference_id for h in result.hits}
    assert result.total == len(expected)
    assert got == expected


@pytest.mark.parametrize("text", ["embassy", "minister", "oil OR gas", "iran AND nuclear"])
def test_scores_and_order_agree_with_whoosh_bm25f(service: SearchService, text: str) -> None:
    result = search(service, text, page_size=100)
    with service.index.searcher() as s:
        hits = s.search(parse_query(text, s.schema), limit=None)
        expected = {h["reference_id"]: h.score for h in hits}
    assert result.total == len(expected)
    for h in result.hits:
        assert h.score == pytest.approx(expected[h.reference_id], rel=1e-4)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


# -- known-item search ---------------------------------------------------------------------


def test_known_item_distinctive_subject_words_find_the_cable_first(
    service: SearchService, data_cables: list[Cable]
) -> None:
    misses = []
    for c in data_cables:
        words = sorted({w for w in re.findall(r"[A-Za-z]{4,}", c.subject)}, key=lambda w: (-len(w), w))[:3]
        result = search(service, " ".join(words))
        if not result.hits or result.hits[0].reference_id != c.reference_id:
            misses.append((c.reference_id, words, ids(result)[:3]))
    assert misses == []


# -- facets over all matches ---------------------------------------------------------------


def test_facets_count_all_matches_not_just_the_page(service: SearchService, data_cables: list[Cable]) -> None:
    result = search(service, "minister", page_size=3, facet_limit=0)
    by_id = {c.reference_id: c for c in data_cables}
    everything = search(service, "minister", page_size=100)
    matched = [by_id[h.reference_id] for h in everything.hits]
    assert len(matched) == result.total > 3
    assert dict(result.facets["origin"]) == Counter(c.origin for c in matched)
    assert dict(result.facets["classification"]) == Counter(c.classification for c in matched)
    assert dict(result.facets["year"]) == Counter(str(c.created.year) for c in matched if c.created)
    assert dict(result.facets["tag"]) == Counter(t for c in matched for t in set(c.tags))
    months = [m for m, _ in result.facets["month"]]
    assert months == sorted(months)
    assert sum(n for _, n in result.facets["month"]) == sum(1 for c in matched if c.created)


def test_facet_order_and_limit(small: SearchService) -> None:
    result = search(small, "", facet_limit=2)
    assert result.facets["tag"] == [("EPET", 3), ("EG", 2)]
    assert result.facets["origin"] == [("Embassy Cairo", 3), ("Embassy Tripoli", 2)]
    assert result.to_json()["facets"]["classification"] == [["CONFIDENTIAL", 2], ["SECRET", 2]]


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({"tags": ("LY",)}, {"08TRIPOLI1", "08TRIPOLI2"}),
        ({"tags": ("ly",)}, {"08TRIPOLI1", "08TRIPOLI2"}),
        ({"tags": ("LY", "EG")}, {"08TRIPOLI1", "08TRIPOLI2", "09CAIRO3", "09CAIRO4"}),
        ({"tags": ("EPET",), "origins": ("Embassy Cairo",)}, {"09CAIRO3", "XXUNDATED6"}),
        ({"classifications": ("UNCLASSIFIED",)}, {"09CAIRO4", "10STATE5"}),
        ({"years": (2009,)}, {"09CAIRO3", "09CAIRO4"}),
        ({"date_from": "2008-06-30", "date_to": "2009-03"}, {"08TRIPOLI2", "09CAIRO3"}),
        ({"date_from": "2009-07"}, {"09CAIRO4", "10STATE5"}),
        ({"date_to": "2008"}, {"08TRIPOLI1", "08TRIPOLI2"}),
    ],
)
def test_filters_browse(small: SearchService, kw: dict, expected: set[str]) -> None:
    result = search(small, "", **kw)
    assert set(ids(result)) == expected and result.total == len(expected)


def test_filters_combine_with_the_query(small: SearchService) -> None:
    result = search(small, "oil", tags=("LY",))
    assert ids(result) == ["08TRIPOLI1"]
    assert result.facets["origin"] == [("Embassy Tripoli", 1)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("origin:tripoli", {"08TRIPOLI1", "08TRIPOLI2"}),
        ("from:cairo AND oil", {"09CAIRO3", "XXUNDATED6"}),
        ("tag:phum", {"09CAIRO4", "10STATE5"}),
        ("ref:08tripoli1", {"08TRIPOLI2", "09CAIRO3"}),
        ("id:09cairo3", {"09CAIRO3"}),
        ("created:2008-06", {"08TRIPOLI2"}),
        ("released:[2010 to 2011-01]", {"09CAIRO4"}),
        ("tags:*", {"08TRIPOLI1", "08TRIPOLI2", "09CAIRO3", "09CAIRO4", "10STATE5", "XXUNDATED6"}),
        ("tags:PH*", {"09CAIRO4", "10STATE5"}),
        ("elect*", {"08TRIPOLI2"}),
        ('"human rights"', {"09CAIRO4", "10STATE5"}),
        ('"rights human"', {"09CAIRO4", "10STATE5"}),  # "rights of the human": stop words go
        ('"human rights"~3', {"09CAIRO4", "10STATE5"}),
        ('"human person"~3', {"10STATE5"}),
        ("oil NOT egypt", {"08TRIPOLI1", "XXUNDATED6"}),
    ],
)
def test_query_syntax_on_small_index(small: SearchService, text: str, expected: set[str]) -> None:
    assert set(ids(search(small, text))) == expected


# -- sorting and paging --------------------------------------------------------------------


def test_sorts(small: SearchService) -> None:
    dated = ["08TRIPOLI1", "08TRIPOLI2", "09CAIRO3", "09CAIRO4", "10STATE5"]
    assert ids(search(small, "", sort="created")) == dated + ["XXUNDATED6"]
    assert ids(search(small, "", sort="-created")) == dated[::-1] + ["XXUNDATED6"]
    assert ids(search(small, "")) == dated[::-1] + ["XXUNDATED6"]  # browse: newest first
    assert ids(search(small, "", sort="released"))[:2] == ["09CAIRO4", "09CAIRO3"]
    assert ids(search(small, "", sort="-released"))[:2] == ["09CAIRO3", "09CAIRO4"]


def test_relevance_puts_the_subject_match_first(small: SearchService) -> None:
    result = search(small, "gas")
    assert ids(result)[0] == "09CAIRO3"
    assert result.hits[0].score > 0


def test_paging_is_consistent(service: SearchService) -> None:
    whole = search(service, "embassy OR minister", page_size=100)
    pages = []
    for page in range(1, 10):
        r = search(service, "embassy OR minister", page=page, page_size=4)
        assert r.total == whole.total and r.page == page
        pages.extend(ids(r))
        if not r.hits:
            break
    assert pages == ids(whole)
    assert search(service, "embassy", page=50, page_size=10).hits == []


# -- hits and snippets ---------------------------------------------------------------------


def test_hit_fields(small: SearchService) -> None:
    hit = search(small, "elections").hits[0]
    assert (hit.reference_id, hit.subject, hit.origin, hit.classification, hit.tags) == (
        "08TRIPOLI2",
        "LIBYA ELECTIONS",
        "Embassy Tripoli",
        "CONFIDENTIAL",
        ["PGOV", "LY"],
    )
    assert hit.created == datetime(2008, 6, 30, 23, 59)
    assert hit.to_json()["created"] == "2008-06-30T23:59"


def test_snippets_are_escaped_and_marked(small: SearchService) -> None:
    snippet = search(small, "oil embassy").hits[0].snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "&amp; more" in snippet
    assert "<mark>embassy</mark>" in snippet and "<mark>oil</mark>" in snippet
    plain = re.sub(r"</?mark>", "", snippet)
    assert html.escape(html.unescape(plain), quote=False) == plain


def test_snippets_mark_stemmed_forms_but_not_negated_words(small: SearchService) -> None:
    snippet = search(small, "election").hits[0].snippet
    assert snippet == "<mark>Elections</mark> were held; the <mark>elected</mark> council met."
    snippet = search(small, "oil -egypt", tags=("LY",)).hits[0].snippet
    assert "<mark>oil</mark>" in snippet
    snippet = search(small, "rights NOT oil").hits[0].snippet
    assert "oil" not in re.findall(r"<mark>(.*?)</mark>", snippet)


def test_long_cables_are_highlighted_past_32k(tmp_path: Path) -> None:
    body = ("filler words here. " * 3000) + "The needle is at the end."
    ix = build_index(tmp_path / "ix", [cable("10LONG1", "LONG", body, "2010-01-01 00:00")])
    with SearchService(ix, Config()) as svc:
        snippet = search(svc, "needle").hits[0].snippet
    assert len(body) > 32_000 and "<mark>needle</mark>" in snippet


def test_highlight_text_marks_a_whole_text(small: SearchService) -> None:
    out = small.highlight_text("Human <b>rights</b> & the humans.", '"human rights" OR oil')
    # the phrase is marked as the phrase matched (one mark), "humans" alone is not the phrase
    assert out == "<mark>Human &lt;b&gt;rights</mark>&lt;/b&gt; &amp; the humans."
    assert small.highlight_text("Human rights & the humans.", "human OR oil") == (
        "<mark>Human</mark> rights &amp; the <mark>humans</mark>."
    )
    assert small.highlight_text("a <b>", '"unbalanced') == "a &lt;b&gt;"


# -- did you mean --------------------------------------------------------------------------


def test_suggestion_for_a_misspelt_word(service: SearchService) -> None:
    result = search(service, "embasy")
    assert result.total == 0 and result.suggestion == "embassy"
    result = search(service, "embasy AND brazil")
    assert result.suggestion == "embassy AND brazil"
    assert search(service, "embassy").suggestion is None


def test_no_suggestion_when_the_corrected_query_finds_nothing(small: SearchService) -> None:
    # "oyl" → "oil" exists, but not together with the tag filter PHUM
    assert search(small, "oyl").suggestion == "oil"
    assert search(small, "oyl", tags=("PHUM",)).suggestion is None
    assert search(small, "qqqqqqqq").suggestion is None


# -- time limit ----------------------------------------------------------------------------


def test_runaway_queries_hit_the_time_limit(tmp_path: Path) -> None:
    ix = build_index(tmp_path / "ix", SMALL)
    with SearchService(ix, Config(query_time_limit=0.0)) as svc:
        for text in ("*", "e*", '"human rights"~5'):
            with pytest.raises(QueryTimeout) as err:
                search(svc, text)
            assert str(err.value) == (
                "the query ran past the 0 s time limit; make it more specific (fewer or longer "
                "wildcard prefixes, fewer very common words)"
            )
    with SearchService(ix, Config()) as svc:
        assert search(svc, "*").total == len(SMALL)


def test_bad_input_raises_query_syntax_error(small: SearchService) -> None:
    with pytest.raises(QuerySyntaxError):
        search(small, "oil AND (gas")
    with pytest.raises(QuerySyntaxError):
        search(small, "oil", sort="sideways")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tag:", "tag: has no value in 'tag:'"),
        ("oil AND tag: ", "tag: has no value"),
        ("year:abc", "year: needs a whole number (e.g. year:2009), not 'abc'"),
        ("year:[2009 to 2008]", "the range of year: starts at 2009, after its end 2008"),
        (
            "created:[2009 to 2008]",
            "the range of created: starts at 2009, after its end 2008; swap the dates",
        ),
    ],
)
def test_queries_that_would_silently_find_everything_or_nothing_are_refused(
    small: SearchService, text: str, message: str
) -> None:
    with pytest.raises(QuerySyntaxError, match=re.escape(message)):
        search(small, text)


def test_a_query_of_stop_words_only_says_so(small: SearchService) -> None:
    result = search(small, "the")
    assert result.total == 0
    assert result.notice is not None and "stop words" in result.notice and "'the'" in result.notice
    assert result.to_json()["notice"] == result.notice
    assert search(small, "the oil").notice is None and search(small, "the oil").total == 3


def test_minus_inside_parentheses(small: SearchService) -> None:
    assert set(ids(search(small, "elections OR (oil -gas)"))) == {"08TRIPOLI1", "08TRIPOLI2", "XXUNDATED6"}
    assert set(ids(search(small, "elections OR (oil AND NOT gas)"))) == {
        "08TRIPOLI1",
        "08TRIPOLI2",
        "XXUNDATED6",
    }


def test_recipients_and_signers_are_scored_by_bm25f(tmp_path: Path) -> None:
    """A name in a short recipient list scores more than the same name in a long one (BM25F
    length normalisation), not the same (raw frequency)."""
    short = cable("08A1", "A", "text", "2008-01-01 00:00", to=["SECSTATE WASHDC"])
    long_ = cable(
        "08A2", "B", "text", "2008-01-01 00:00", to=["SECSTATE WASHDC"] + [f"POST{i} CITY" for i in range(30)]
    )
    with SearchService(build_index(tmp_path / "ix", [short, long_]), Config()) as svc:
        hits = search(svc, "recipients:secstate").hits
        assert [h.reference_id for h in hits] == ["08A1", "08A2"]
        assert hits[0].score > hits[1].score


def test_accents_are_folded_in_new_indexes(tmp_path: Path) -> None:
    c = cable(
        "08BUENOSAIRES1", "VISIT TO CÓRDOBA", "The governor of Córdoba met the señor.", "2008-01-01 00:00"
    )
    with SearchService(build_index(tmp_path / "ix", [c]), Config()) as svc:
        for text in ("cordoba", "Córdoba", "CORDOBA", "senor", '"governor of cordoba"'):
            assert ids(search(svc, text)) == ["08BUENOSAIRES1"], text
        assert "<mark>Córdoba</mark>" in search(svc, "cordoba").hits[0].snippet
        assert "<mark>Córdoba</mark>" in svc.highlight_text(c.body, "cordoba")


def test_an_index_from_before_folding_keeps_its_analysis_and_grows(tmp_path: Path) -> None:
    """tests/indexes/v1c893c8 pickles an analyzer without ``fold``: it is searched as written
    (accented words match only with their accents) and new cables are added the same way."""
    import shutil

    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", tmp_path / "old")
    ix = CableIndex.open(tmp_path / "old", create=False)
    with SearchService(ix, Config()) as svc:
        before = search(svc, "").total
        assert before == 6
        with ix.writer(timeout=10) as w:
            w.put(cable("08BUENOSAIRES1", "VISIT TO CÓRDOBA", "The governor of Córdoba.", "2008-01-01 00:00"))
        assert search(svc, "").total == before + 1
        assert ids(search(svc, "córdoba")) == ["08BUENOSAIRES1"]
        assert ids(search(svc, "cordoba")) == []
        assert search(svc, "governor").total >= 1


# -- single cables -------------------------------------------------------------------------


def test_get_returns_the_whole_cable(service: SearchService, data_cables: list[Cable]) -> None:
    c = data_cables[0]
    got = service.get(c.reference_id)
    assert got == c
    assert service.get(c.reference_id.lower()).reference_id == c.reference_id


def test_get_unknown(service: SearchService) -> None:
    with pytest.raises(CableNotFound) as err:
        service.get("99NOWHERE1")
    assert str(err.value) == (
        "no cable '99NOWHERE1' in the index; search for it with: cablesearch search 'id:99NOWHERE1*'"
    )


def test_cited_by_and_known_ids(small: SearchService) -> None:
    assert [h.reference_id for h in small.cited_by("08TRIPOLI1")] == ["08TRIPOLI2", "09CAIRO3"]
    assert [h.reference_id for h in small.cited_by("08tripoli2")] == ["09CAIRO3"]
    assert small.cited_by("10STATE5") == []
    assert small.known_ids(["08TRIPOLI1", "07NOPE1", "09cairo3"]) == {"08TRIPOLI1", "09cairo3"}


def test_similar(service: SearchService, data_cables: list[Cable]) -> None:
    rid = data_cables[0].reference_id
    hits = service.similar(rid, limit=5)
    assert 0 < len(hits) <= 5
    assert rid not in {h.reference_id for h in hits}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(CableNotFound):
        service.similar("99NOWHERE1")


def test_similar_finds_the_same_topic(small: SearchService) -> None:
    assert small.similar("09CAIRO4", limit=1)[0].reference_id == "10STATE5"


# -- overviews -----------------------------------------------------------------------------


def test_browse_counts(small: SearchService) -> None:
    b = small.browse()
    assert b["created"] == [("2008-01", 1), ("2008-06", 1), ("2009-03", 1), ("2009-07", 1), ("2010-02", 1)]
    assert b["released"] == [("2010-11-28", 1), ("2011-02-01", 1)]
    assert b["origin"] == [("Embassy Cairo", 3), ("Embassy Tripoli", 2), ("Secretary of State", 1)]
    assert dict(b["classification"]) == {"SECRET": 2, "CONFIDENTIAL": 2, "UNCLASSIFIED": 2}
    assert dict(b["tag"])["EPET"] == 3


def test_stats(small: SearchService) -> None:
    st = small.stats()
    assert st["cables"] == 6
    assert (st["created_first"], st["created_last"]) == ("2008-01-10T10:00", "2010-02-02T02:02")
    assert (st["released_first"], st["released_last"]) == ("2010-11-28T00:00", "2011-02-01T00:00")
    assert st["origins"] == 3 and st["tags"] == 6
    assert st["index_bytes"] > 0 and st["last_update"] and st["segments"] >= 1


# -- the index changes under the service ---------------------------------------------------


def test_new_commits_are_seen_and_old_searchers_closed(tmp_path: Path) -> None:
    ix = build_index(tmp_path / "ix", SMALL[:2])
    with SearchService(ix, Config()) as svc:
        assert search(svc, "egypt").total == 0
        with svc.snapshot() as first:  # the one the search used
            pass
        assert not first.closed
        with ix.writer(timeout=10) as w:
            w.put(SMALL[2])
        result = search(svc, "egypt")
        assert ids(result) == ["09CAIRO3"]
        assert first.closed
        assert result.facets["origin"] == [("Embassy Cairo", 1)]
        with ix.writer(timeout=10) as w:
            w.delete("08TRIPOLI1")
        assert search(svc, "").total == 2
        with pytest.raises(UnknownFilterValue):  # only the deleted cable had it
            search(svc, "", tags=("PREL",))
        with pytest.raises(CableNotFound):
            svc.get("08TRIPOLI1")
        replaced = Cable(**{**SMALL[1].__dict__, "subject": "LIBYA VOTE COUNT"})
        with ix.writer(timeout=10) as w:
            w.put(replaced)
        assert search(svc, "vote").total == 1 and search(svc, "").total == 2


def test_whoosh_query_types_outside_the_parser(small: SearchService) -> None:
    """Queries the engine handles through Whoosh's own matcher still agree."""
    from cablesearch.engine.matcher import Matcher

    with small.snapshot() as snap:
        engine = Matcher(snap, 60.0)
        mask, _ = engine.run(wq.Or([wq.Term("body", "oil"), wq.Every("subject")]))
        assert int((mask & snap.arrays.live).sum()) == 6
        mask, _ = engine.run(wq.Regex("body", "^pip.*"))
        assert int(mask.sum()) == 1


@pytest.mark.slow
def test_concurrent_searches_give_the_same_answers(tmp_path: Path, data_cables: list[Cable]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ix = build_index(tmp_path / "ix", data_cables)
    queries = [
        "embassy",
        '"foreign minister"',
        "oil OR gas",
        "emb*",
        "minister",
        "iran -nuclear",
        "tags:PREL",
        "embasy",
    ] * 4

    def answer(svc: SearchService, q: str) -> tuple:
        r = search(svc, q, page_size=20)
        return r.total, [(h.reference_id, h.snippet) for h in r.hits], r.facets, r.suggestion

    with SearchService(ix, Config()) as one:
        expected = [answer(one, q) for q in queries]
    with SearchService(ix, Config()) as shared, ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: answer(shared, q), queries))
        cables = list(pool.map(shared.get, [c.reference_id for c in data_cables]))
    assert got == expected
    assert cables == data_cables


# -- highlighting that means what the query means (issue 16) -------------------------------

MEANING = [
    cable(
        "09GENEVA1",
        "COUNCIL SESSION",
        "Human rights groups met. Right-wing parties and a rights activist spoke of humanity. "
        "The human rights record was discussed.",
        "2009-03-01 10:00",
    ),
    cable("09BAKU2", "ENERGY", "Oil and gas exports rose.", "2009-04-01 10:00"),
    cable("09BAKU3", "VOTE", "Oil exports fell; elections were held.", "2009-05-01 10:00"),
]


@pytest.fixture()
def meaning(tmp_path: Path) -> Iterator[SearchService]:
    with SearchService(build_index(tmp_path / "ix", MEANING), Config()) as svc:
        yield svc


def marked(snippet: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet)


def test_a_phrase_query_marks_only_the_phrase(meaning: SearchService) -> None:
    hit = search(meaning, '"human rights"').hits[0]
    assert marked(hit.snippet) == ["Human rights", "human rights"]
    body = MEANING[0].body
    assert marked(meaning.highlight_text(body, '"human rights"')) == ["Human rights", "human rights"]
    # with slop, the words of the phrase within the window
    assert marked(search(meaning, '"human groups"~3').hits[0].snippet) == ["Human", "groups"]


def test_only_the_branches_that_matched_a_cable_are_marked(meaning: SearchService) -> None:
    result = search(meaning, "(oil AND gas) OR elections")
    snippets = {h.reference_id: marked(h.snippet) for h in result.hits}
    assert snippets == {"09BAKU2": ["Oil", "gas"], "09BAKU3": ["elections"]}
    body = MEANING[2].body
    q = "(oil AND gas) OR elections"
    assert marked(meaning.highlight_text(body, q, reference_id="09BAKU3")) == ["elections"]
    assert marked(meaning.highlight_text(body, q)) == ["Oil", "elections"]  # no cable: every branch


def test_browsing_shows_the_lead_not_the_telegram_header(tmp_path: Path) -> None:
    body = (
        "C O N F I D E N T I A L SECTION 01 OF 03 MEXICO 000141\n\nSIPDIS\nNOFORN\n\n"
        "E.O. 12958: DECL: 02/25/2020\nTAGS: PREL PGOV\nSUBJECT: THE SUMMIT\n\n"
        "Classified By: Ambassador for reasons 1.4 (b) and (d)\n\n"
        "1. (C) Mexico's plan to use the summit failed dramatically.\n"
    )
    ix = build_index(tmp_path / "ix", [cable("10MEXICO1", "GATHERING", body, "2010-02-26 10:00")])
    with SearchService(ix, Config()) as svc:
        assert search(svc, "").hits[0].snippet == "Mexico's plan to use the summit failed dramatically."
        # a match only in the subject: the lead too, not the header
        assert search(svc, "title:gathering").hits[0].snippet.startswith("Mexico's plan")


# -- time limit on every path (issue 15) -----------------------------------------------------


def test_expansion_and_highlighting_honour_the_time_limit(tmp_path: Path) -> None:
    ix = build_index(tmp_path / "ix", SMALL)
    with SearchService(ix, Config(query_time_limit=0.0)) as svc:
        for text in ("qadhafi~5", "q*~2", "*a*"):
            with pytest.raises(QueryTimeout):
                search(svc, text)
            # the cable page still shows the text, unmarked
            assert svc.highlight_text("Oil & gas, quickly.", text) == "Oil &amp; gas, quickly."
        with pytest.raises(QueryTimeout):
            svc.similar("08TRIPOLI1")
        with pytest.raises(QueryTimeout):
            svc.cited_by("08TRIPOLI1")


def test_expansion_stops_when_told(service: SearchService) -> None:
    def stop() -> None:
        raise QueryTimeout("stopped")

    with service.snapshot() as snap:
        for q in (wq.FuzzyTerm("body", "qadhafi", maxdist=5, prefixlength=0), wq.Wildcard("body", "*a*")):
            with pytest.raises(QueryTimeout):
                snap.expand(q, ("subject", "body"), 50_000, stop)


@pytest.mark.parametrize(
    "word, maxdist, prefix",
    [("embasi", 1, 1), ("govrn", 2, 0), ("libia", 2, 0), ("oil", 1, 0), ("ministr", 2, 3)],
)
def test_fuzzy_expansion_finds_what_whoosh_finds(
    service: SearchService, word: str, maxdist: int, prefix: int
) -> None:
    with service.snapshot() as snap:
        q = wq.FuzzyTerm("body", word, maxdist=maxdist, prefixlength=prefix)
        ours = snap.expand(q, ("subject", "body"), 50_000)
        whoosh = sorted(
            t.encode() if isinstance(t, str) else t
            for t in snap.reader.terms_within("body", word, maxdist, prefix)
        )
    assert ours == whoosh and ours


# -- unknown filter values, pages, quotes, spelling variants (issue 16) ----------------------


def test_an_unknown_filter_value_is_an_error_naming_the_nearest(small: SearchService) -> None:
    with pytest.raises(UnknownFilterValue) as err:
        search(small, "", tags=("EPETT",))
    assert err.value.field == "tag" and err.value.suggestions[0] == ("EPET", 3)
    assert str(err.value).startswith("no cable has the tag 'EPETT'; did you mean EPET (3 cables)")
    with pytest.raises(UnknownFilterValue) as err:
        search(small, "oil", origins=("tripoli",))
    assert err.value.suggestions == [("Embassy Tripoli", 2)]
    with pytest.raises(UnknownFilterValue) as err:
        search(small, "", classifications=("zzzzzzzz",))
    assert err.value.suggestions == [] and "nothing is close" in str(err.value)
    # case-insensitive exact values are fine
    assert search(small, "", classifications=("secret",)).total == 2


def test_a_page_past_the_last_is_an_error(small: SearchService) -> None:
    result = search(small, "oil", page=999)
    assert result.hits == []
    with pytest.raises(QuerySyntaxError) as err:
        check_page(result)
    assert str(err.value) == "there is no page 999: 3 cables match, on 1 page of 10; the last page is 1"
    check_page(search(small, "oil"))
    check_page(search(small, "qqqqqqqq"))  # page 1 of nothing is an answer


@pytest.mark.parametrize(
    "text, hint",
    [
        ('"iran nuclear', 'close the phrase ("iran nuclear") or remove the quote'),
        ('libya "human rights', 'close the phrase ("human rights") or remove the quote'),
        ('iran nuclear"', 'remove the last quote, or open the phrase it closes ("iran nuclear")'),
    ],
)
def test_an_unbalanced_quote_suggests_the_users_own_phrase(
    small: SearchService, text: str, hint: str
) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        search(small, text)
    assert str(err.value) == f"unbalanced double quote in {text!r}; {hint}"


def test_spelling_variants_are_offered_together_most_cables_first(tmp_path: Path) -> None:
    cables = [
        cable(f"09TRIPOLI{i}", "LEADER", f"Qadhafi spoke {i}.", "2009-01-01 10:00") for i in range(1, 4)
    ]
    cables.append(cable("09TRIPOLI9", "LEADER", "Qaddafi spoke.", "2009-01-02 10:00"))
    with SearchService(build_index(tmp_path / "ix", cables), Config()) as svc:
        result = search(svc, "gaddafi")
    assert result.suggestions == [("qadhafi", 3), ("qaddafi", 1)]
    assert result.suggestion == "qadhafi"
    assert result.to_json()["suggestions"] == [["qadhafi", 3], ["qaddafi", 1]]


@pytest.mark.parametrize("pattern", ["*a*", "emb?ss*", "gov*t", "*tion", "q*"])
def test_wildcard_expansion_finds_what_whoosh_finds(service: SearchService, pattern: str) -> None:
    with service.snapshot() as snap:
        q = wq.Wildcard("body", pattern)
        ours = snap.expand(q, ("subject", "body"), 50_000)
        whoosh = list(q._btexts(snap.reader))
    assert ours == whoosh
    assert pattern.startswith("q") or ours
