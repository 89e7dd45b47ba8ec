"""The did-you-mean word finder over real Whoosh segments: words of several segments add up,
a commit's new segment is read, only words of letters count, more documents win."""

from __future__ import annotations

from pathlib import Path

from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.search.spelling import Speller, max_distance


def put(ix: CableIndex, *cables: Cable) -> None:
    with ix.writer(timeout=10) as w:
        for c in cables:
            w.put(c)


def closest(ix: CableIndex, speller: Speller, word: str) -> str | None:
    with ix.searcher() as s:
        return speller.closest(s.reader(), word)


def test_closest_word_across_segments_and_commits(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    put(ix, Cable(reference_id="08A1", subject="pipeline", body="The pipeline talks."))
    speller = Speller(("subject", "body"))
    assert closest(ix, speller, "piplin") == "pipelin"  # the stem of "pipeline"
    assert closest(ix, speller, "pipelin") is None  # never the word itself
    assert closest(ix, speller, "qqqqqqq") is None
    # a second commit is a second segment: its words are found too
    put(ix, Cable(reference_id="08A2", subject="sideline", body="sideline"))
    with ix.searcher() as s:
        assert len(list(s.reader().leaf_readers())) == 2
    assert closest(ix, speller, "sidelines") == "sidelin"
    assert closest(ix, speller, "piplin") == "pipelin"


def test_only_words_of_letters_are_suggested(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    put(ix, Cable(reference_id="08A1", subject="x", body="number 123456 and 123457 here"))
    speller = Speller(("body",))
    assert closest(ix, speller, "123455") is None
    assert closest(ix, speller, "numbr") == "number"


def test_more_documents_win_among_equally_close_words(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    put(
        ix,
        Cable(reference_id="08A1", subject="x", body="cart"),
        Cable(reference_id="08A2", subject="x", body="card"),
        Cable(reference_id="08A3", subject="x", body="card"),
    )
    speller = Speller(("body",))
    assert closest(ix, speller, "carx") == "card"
    put(ix, *[Cable(reference_id=f"09B{i}", subject="x", body="cart") for i in range(3)])
    assert closest(ix, speller, "carx") == "cart"  # 4 documents against 2


def test_allowed_edits_grow_with_length() -> None:
    assert max_distance("oyl") == 1 and max_distance("embasy") == 2


def test_a_long_word_with_no_neighbour_of_its_first_letter_looks_at_all_words(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    put(
        ix,
        Cable(reference_id="08A1", subject="x", body="Qadhafi spoke. Qadhafi left."),
        Cable(reference_id="08A2", subject="x", body="qadhafi again"),
    )
    speller = Speller(("body",))
    assert closest(ix, speller, "gadhafi") == "qadhafi"  # g -> q: another first letter
    assert closest(ix, speller, "gdhfi") is None  # too far, even so
    # short words stay within their first letter: "oyl" would not become "ayl"
    put(ix, Cable(reference_id="08A3", subject="x", body="ayl"))
    assert closest(ix, speller, "oyl") is None


def test_warm_reads_the_words_before_the_first_lookup(tmp_path: Path) -> None:
    from cablesearch.config import Config
    from cablesearch.search.service import SearchService

    ix = CableIndex.open(tmp_path / "ix")
    put(ix, Cable(reference_id="08A1", subject="embassy", body="embassy staff"))
    with SearchService(ix, Config()) as svc:
        assert svc.suggester.speller.segments_read == 0
        svc.warm()
        assert svc.suggester.speller.segments_read == 1


def test_spelling_variants_of_the_nearest_word_come_together_more_documents_first(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    put(ix, *[Cable(reference_id=f"09T{i}", subject="leader", body="Qadhafi spoke.") for i in range(4)])
    put(ix, Cable(reference_id="09T9", subject="leader", body="Qaddafi spoke. It was easy."))
    speller = Speller(("subject", "body"))
    with ix.searcher() as s:
        # "qaddafi" is one edit from what was typed, "qadhafi" two: variants of each other, and
        # the cables mostly write "qadhafi"
        assert speller.candidates(s.reader(), "gaddafi") == [("qadhafi", 2, 4), ("qaddafi", 1, 1)]
        assert speller.closest(s.reader(), "gaddafi") == "qadhafi"
        # "spoke" is the nearest to "spokx"; "spoken" is not in the index, "leader" too far
        assert speller.candidates(s.reader(), "spokx") == [("spoke", 1, 5)]


def test_a_lookup_reads_only_the_words_of_its_first_letter(tmp_path: Path) -> None:
    from cablesearch.search.spelling import SegmentWords

    ix = CableIndex.open(tmp_path / "ix")
    put(ix, Cable(reference_id="08A1", subject="pipeline", body="pipeline talks about embassy staff"))
    with ix.searcher() as s:
        (leaf, _offset), *_ = list(s.reader().leaf_readers())
        words = SegmentWords(("subject", "body"))
        assert words.within(leaf, "piplin", 2) == [("pipelin", 1, 1)]
        assert words.letters_read == 1
        assert {w for w, _d, _df in words.within(leaf, "stafff", 2, any_first=True)} == {"staff"}
        assert words.letters_read == 5  # every first letter (p, t, a, e, s) read at once


def test_suggestion_counts_respect_the_filters(tmp_path: Path) -> None:
    """A corrected query is counted only among the cables passing the request's filters (the
    filters restrict its evaluation), and a variant found only outside them is not offered."""
    from cablesearch.config import Config
    from cablesearch.results import SearchRequest
    from cablesearch.search.service import SearchService

    ix = CableIndex.open(tmp_path / "ix")
    cables = [
        Cable(reference_id=f"09TRIPOLI{i}", subject="LEADER", body=f"Qadhafi spoke {i}.", tags=["PGOV"])
        for i in range(1, 4)
    ]
    cables += [
        Cable(reference_id=f"09CAIRO{i}", subject="LEADER", body="Qadhafi met them.", tags=["PREL"])
        for i in range(1, 6)
    ]
    cables.append(Cable(reference_id="09TUNIS1", subject="LEADER", body="Qaddafi spoke.", tags=["PREL"]))
    put(ix, *cables)
    with SearchService(ix, Config()) as svc:
        everywhere = svc.search(SearchRequest(query="gaddafi"))
        pgov = svc.search(SearchRequest(query="gaddafi", tags=("PGOV",)))
        prel = svc.search(SearchRequest(query="gaddafi", tags=("PREL",)))
    assert everywhere.suggestions == [("qadhafi", 8), ("qaddafi", 1)]
    assert pgov.suggestions == [("qadhafi", 3)]
    assert prel.suggestions == [("qadhafi", 5), ("qaddafi", 1)]
