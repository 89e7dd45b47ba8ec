"""The segments' NumPy side files (cablesearch.engine.sidefile): written at the commit of every
new segment (flushes and merges), read instead of the W3 blocks for common terms with exactly
the same answers, ignored when damaged, deleted with their segment, invisible to plain Whoosh,
and covered by ``cablesearch check``.

The tests/data cables are few, so the side files here hold every term with at least 2 postings
in a segment (``MIN_DF`` lowered for the module) rather than 64: every read path is exercised.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cable_text import adjacent_words
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.qparser import QueryParser

from cablesearch import parse
from cablesearch.engine import sidefile, verify
from cablesearch.engine.matcher import FULL_TEXT_FIELDS, Matcher
from cablesearch.engine.postings import (
    decode_positions,
    doc_frequency,
    live_mask,
    positions_at,
    read_postings,
    segment_words,
)
from cablesearch.engine.schema import encode_positions
from cablesearch.engine.snapshot import Snapshot
from cablesearch.index.check import check_index
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.search.query import parse_query
from cablesearch.search.spelling import SegmentWords, Speller

FIELDS = ("subject", "body", "tags", "origin", "recipients", "signers", "references", "person")


@pytest.fixture(scope="module", autouse=True)
def small_min_df() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sidefile, "MIN_DF", 2)
        yield


@pytest.fixture(scope="module")
def cables(data_dir: Path) -> list[Cable]:
    return sorted(parse.iter_cables([data_dir / "html"]), key=lambda c: c.reference_id)


def _build(folder: Path, cables: list[Cable], parts: int = 3) -> CableIndex:
    """``cables`` in ``parts`` segments, then 2 deleted and 1 replaced (a fourth segment)."""
    ix = CableIndex.open(folder)
    for part in range(parts):
        with ix.writer(timeout=10) as w:
            for c in cables[part::parts]:
                w.put(c)
    with ix.writer(timeout=10) as w:
        for c in cables[:2]:
            w.delete(c.reference_id)
        w.put(Cable(**{**cables[4].__dict__, "subject": cables[4].subject + " again"}))
    return ix


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, cables: list[Cable], small_min_df: None) -> CableIndex:
    return _build(tmp_path_factory.mktemp("side") / "ix", cables)


@pytest.fixture(scope="module")
def w3_index(tmp_path_factory: pytest.TempPathFactory, index: CableIndex) -> CableIndex:
    """The same index without its side files: every read takes the W3 path."""
    target = tmp_path_factory.mktemp("w3") / "ix"
    shutil.copytree(index.index_dir, target)
    for f in target.glob(f"*{sidefile.SUFFIX}"):
        f.unlink()
    return CableIndex.open(target, create=False)


def _segment_ids(ix: CableIndex) -> list[str]:
    return [s.segment_id for s in verify.toc_segments(ix.whoosh_index)]


def _side_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if sidefile.is_side_file(p.name))


def _all_postings(ix: CableIndex) -> dict[tuple[str, bytes], tuple[list[int], list[float]]]:
    out = {}
    with ix.searcher() as s:
        reader = s.reader()
        for fieldname in FIELDS:
            if fieldname not in reader.schema:
                continue
            for btext in list(reader.lexicon(fieldname)):
                p = read_postings(reader, fieldname, btext)
                out[fieldname, btext] = (p.docs.tolist(), p.weights.tolist())
    return out


def test_every_segment_has_its_side_file_and_no_other(index: CableIndex) -> None:
    ids = _segment_ids(index)
    assert len(ids) == 4
    assert _side_files(index.index_dir) == sorted(f"{i}{sidefile.SUFFIX}" for i in ids)


def test_side_files_are_used_and_hold_common_terms(index: CableIndex) -> None:
    with index.searcher() as s:
        sides = [sidefile.open_side(leaf) for leaf, _ in s.reader().leaf_readers()]
        assert all(side is not None for side in sides)
        terms = [t for side in sides if side is not None for t in side.terms("body")]
        assert len(terms) > 100


def test_every_term_reads_the_same_from_side_files_and_w3(index: CableIndex, w3_index: CableIndex) -> None:
    side, w3 = _all_postings(index), _all_postings(w3_index)
    assert side.keys() == w3.keys() and len(side) > 500
    for key, (docs, weights) in w3.items():
        assert side[key][0] == docs, key
        assert side[key][1] == weights, key


def test_document_frequencies_from_side_files_equal_whooshs(index: CableIndex) -> None:
    """doc_frequency answers from the side files' directories where they hold the term, and
    gives what Whoosh's reader gives for every term (deleted documents counted as Whoosh does),
    also for terms no segment has and fields the schema lacks."""
    with index.searcher() as s:
        reader = s.reader()
        from_side = 0
        for fieldname in FIELDS:
            if fieldname not in reader.schema:
                continue
            for btext in list(reader.lexicon(fieldname)):
                assert doc_frequency(reader, fieldname, btext) == reader.doc_frequency(fieldname, btext)
                from_side += any(
                    (side := sidefile.open_side(leaf)) is not None
                    and side.doc_frequency(fieldname, btext) is not None
                    for leaf, _ in reader.leaf_readers()
                )
        assert from_side > 100  # the side files answered, not only the term tables
        assert doc_frequency(reader, "body", b"zzzznotaword") == 0
        snap = Snapshot(s, generation=0)
        assert snap.doc_frequency("body", "zzzznotaword") == 0
        assert snap.doc_frequency("nosuchfield", "x") == 0
        word = max(reader.lexicon("body"), key=lambda t: reader.doc_frequency("body", t))
        assert snap.doc_frequency("body", word) == reader.doc_frequency("body", word)
        assert snap.doc_frequency("body", word.decode()) == reader.doc_frequency("body", word)


def test_the_spellers_words_come_from_side_files_and_equal_the_term_tables(
    index: CableIndex, w3_index: CableIndex
) -> None:
    """Each segment's word list (all of it, and one first letter at a time) is the same read
    from the side file as from the term tables, and "did you mean" answers the same."""
    fields = FULL_TEXT_FIELDS
    with index.searcher() as s, w3_index.searcher() as s3:
        leaves = [leaf for leaf, _ in s.reader().leaf_readers()]
        leaves3 = [leaf for leaf, _ in s3.reader().leaf_readers()]
        assert all(segment_words(leaf, fields) is not None for leaf in leaves)
        assert all(segment_words(leaf, fields) is None for leaf in leaves3)
        assert segment_words(leaves[0], ("body",)) is None  # listed for subject+body only
        for leaf, leaf3 in zip(leaves, leaves3, strict=True):
            side_words, w3_words = SegmentWords(fields), SegmentWords(fields)
            assert side_words.all_words(leaf) == w3_words.all_words(leaf3)
            assert len(side_words.all_words(leaf)) > 200
            for first in "aemqz":
                assert SegmentWords(fields)._read(leaf, first.encode()) == w3_words._read(
                    leaf3, first.encode()
                )
        speller, speller3 = Speller(fields), Speller(fields)
        found = 0
        for typo in ("embasy", "goverment", "minstry", "ambasador", "securty", "qadaffi", "xqzv"):
            got = speller.candidates(s.reader(), typo)
            assert got == speller3.candidates(s3.reader(), typo)
            found += bool(got)
        assert found >= 3


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory: pytest.TempPathFactory, index: CableIndex) -> CableIndex:
    """The same index with the side files of every other segment removed."""
    target = tmp_path_factory.mktemp("mixed") / "ix"
    shutil.copytree(index.index_dir, target)
    for seg in _segment_ids(index)[::2]:
        sidefile.side_path(target, seg).unlink()
    return CableIndex.open(target, create=False)


def _all_positions(ix: CableIndex) -> dict[tuple[str, bytes], tuple[list[int], list[int]]]:
    out = {}
    with ix.searcher() as s:
        reader = s.reader()
        for fieldname in ("subject", "body", "recipients", "signers"):
            for btext in list(reader.lexicon(fieldname)):
                p = read_postings(reader, fieldname, btext, with_values=True)
                assert p.values is not None and len(p.values) == p.df
                d, pos = positions_at(p.values, p.docs, np.arange(p.df))
                out[fieldname, btext] = (d.tolist(), pos.tolist())
    return out


def test_positions_read_the_same_from_side_files_w3_and_a_mix(
    index: CableIndex, w3_index: CableIndex, mixed_index: CableIndex
) -> None:
    w3 = _all_positions(w3_index)
    assert len(w3) > 500
    assert _all_positions(index) == w3
    assert _all_positions(mixed_index) == w3
    assert _all_postings(mixed_index) == _all_postings(w3_index)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_positions_in_chosen_documents_equal_w3s(
    index: CableIndex, mixed_index: CableIndex, data: Any
) -> None:
    """Positions decoded only in some postings (what phrases do) are those of the W3 path."""
    with index.searcher() as s:
        reader = s.reader()
        words = [w for w in reader.lexicon("body")][:400]
        btext = data.draw(st.sampled_from(words))
        full = read_postings(reader, "body", btext, with_values=True)
        chosen = np.array(sorted(data.draw(st.sets(st.integers(0, full.df - 1)))), dtype=np.int64)
        got = positions_at(full.values, full.docs[chosen], chosen)  # type: ignore[arg-type]
    with mixed_index.searcher() as s:
        mixed = read_postings(s.reader(), "body", btext, with_values=True)
        want = positions_at(mixed.values, mixed.docs[chosen], chosen)  # type: ignore[arg-type]
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_side_file_postings_equal_plain_whooshs(index: CableIndex) -> None:
    with index.searcher() as s:
        reader = s.reader()
        live = live_mask(reader)
        for fieldname in ("body", "subject", "tags"):
            for btext in list(reader.lexicon(fieldname)):
                p = read_postings(reader, fieldname, btext)
                keep = live[p.docs]
                ids = list(s.postings(fieldname, btext).all_ids()) if (fieldname, btext) in reader else []
                # the searcher's matcher numbers globally and leaves deleted documents out
                assert p.docs[keep].tolist() == sorted(ids), (fieldname, btext)


@pytest.fixture(scope="module")
def snaps(index: CableIndex, w3_index: CableIndex) -> Iterator[tuple[Snapshot, Snapshot, list[str]]]:
    a = Snapshot(index.searcher(), "side")
    b = Snapshot(w3_index.searcher(), "w3")
    lex = a.lexicon("body")
    words = sorted((w for w in lex if w.isalpha()), key=lambda w: -a.doc_frequency("body", w))
    try:
        yield a, b, words[:60] + words[-20:]
    finally:
        a.close()
        b.close()


SHAPES = [
    "{0}",
    "{0} AND {1}",
    "{0} OR {1} OR {2}",
    "{0} AND NOT {1}",
    '"{0} {1}"',
    "subject:{0} OR {1}",
    "{0}*",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_queries_answer_the_same_with_and_without_side_files(
    snaps: tuple[Snapshot, Snapshot, list[str]], data: Any
) -> None:
    side, w3, words = snaps
    shape = data.draw(st.sampled_from(SHAPES))
    picked = data.draw(st.lists(st.sampled_from(words), min_size=3, max_size=3))
    q = parse_query(shape.format(*picked), side.schema)
    assume(q is not None)
    assert q is not None
    within = data.draw(st.one_of(st.none(), st.sets(st.integers(0, side.n - 1), max_size=side.n)))
    w = None if within is None else np.array(sorted(within), dtype=np.int64)
    m1, s1 = Matcher(side, 30, within=w).run(q)
    m2, s2 = Matcher(w3, 30, within=w).run(q)
    where = np.arange(side.n) if w is None else w
    assert m1[where].tolist() == m2[where].tolist()
    hits = where[m1[where]]
    if hits.size and s2 is not None:
        assert s1 is not None and s1[hits] == pytest.approx(s2[hits], rel=1e-6)


def _copy(index: CableIndex, tmp_path: Path) -> Path:
    target = tmp_path / "ix"
    shutil.copytree(index.index_dir, target)
    return target


def _biggest_side(folder: Path) -> Path:
    return max(folder.glob(f"*{sidefile.SUFFIX}"), key=lambda p: p.stat().st_size)


@pytest.mark.parametrize("damage", ["flip-data", "flip-header", "truncate", "empty", "garbage"])
def test_a_damaged_side_file_is_ignored_and_answers_stay_right(
    index: CableIndex, w3_index: CableIndex, tmp_path: Path, damage: str
) -> None:
    folder = _copy(index, tmp_path)
    path = _biggest_side(folder)
    data = bytearray(path.read_bytes())
    if damage == "flip-data":
        data[-(len(data) // 3)] ^= 0xFF  # inside the postings (the directory is at the end)
        data[len(data) // 2] ^= 0x55
    elif damage == "flip-header":
        data[20] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not a side file at all" * 10)
    path.write_bytes(bytes(data))
    damaged = CableIndex.open(folder, create=False)  # no damage to the index at open
    assert _all_postings(damaged) == _all_postings(w3_index)
    report = check_index(folder)
    assert any("side file damaged" in p for p in report.problems), report.problems
    assert not report.affected


def test_check_notes_missing_side_files_and_is_clean_with_them(
    index: CableIndex, w3_index: CableIndex
) -> None:
    sound = check_index(index.index_dir)
    assert not sound.problems and not any("side file" in n for n in sound.notes)
    without = check_index(w3_index.index_dir)
    assert not without.problems
    notes = [n for n in without.notes if "side file" in n]
    assert len(notes) == 1 and "4 of 4 segment(s)" in notes[0] and "--rebuild" in notes[0]


def test_a_merge_writes_the_merged_segments_side_file_and_drops_the_old_ones(
    tmp_path: Path, cables: list[Cable]
) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    for i in range(11):  # the tenth small segment makes the policy merge
        with ix.writer(timeout=10) as w:
            for c in cables[i * 3 : i * 3 + 3]:
                w.put(c)
    segments = _segment_ids(ix)
    assert len(segments) < 11  # merged
    assert _side_files(ix.index_dir) == sorted(f"{i}{sidefile.SUFFIX}" for i in segments)
    with ix.searcher() as s:
        assert all(sidefile.open_side(leaf) is not None for leaf, _ in s.reader().leaf_readers())
    w3 = tmp_path / "w3"
    shutil.copytree(ix.index_dir, w3)
    for f in w3.glob(f"*{sidefile.SUFFIX}"):
        f.unlink()
    assert _all_postings(ix) == _all_postings(CableIndex.open(w3, create=False))


def test_plain_whoosh_opens_searches_and_merges_an_index_with_side_files(
    index: CableIndex, w3_index: CableIndex, tmp_path: Path
) -> None:
    folder = _copy(index, tmp_path)
    ix = whoosh_index.open_dir(str(folder))
    with ix.searcher() as s:
        q = QueryParser("body", ix.schema).parse("government")
        expected = sorted(h["reference_id"] for h in s.search(q, limit=None))
        assert expected
    w = ix.writer()
    w.commit(optimize=True)  # plain Whoosh merges every segment into one of its own
    assert _side_files(folder) == []  # the merged segments' side files went with them
    with ix.searcher() as s:
        assert sorted(h["reference_id"] for h in s.search(q, limit=None)) == expected
    merged = CableIndex.open(folder, create=False)
    with merged.searcher() as s:
        assert [sidefile.open_side(leaf) for leaf, _ in s.reader().leaf_readers()] == [None]
    report = check_index(folder)
    assert any("1 of 1 segment(s) have no side file" in n for n in report.notes)


def test_leftover_temporary_side_files_are_removed(
    index: CableIndex, cables: list[Cable], tmp_path: Path
) -> None:
    folder = _copy(index, tmp_path)
    live_seg = _segment_ids(index)[0]
    stale = [
        folder / f"{live_seg}{sidefile.TMP_SUFFIX}",
        folder / f"MAIN_zzzzzzzzzzzzzzzz{sidefile.TMP_SUFFIX}",
    ]
    orphan = folder / f"MAIN_yyyyyyyyyyyyyyyy{sidefile.SUFFIX}"  # renamed, then the crash: no TOC
    for p in [*stale, orphan]:
        p.write_bytes(b"half written")
    ix = CableIndex.open(folder, create=False)
    with ix.writer(timeout=10) as w:
        w.put(Cable(**{**cables[7].__dict__, "subject": "yet another subject"}))
    assert not any(p.exists() for p in [*stale, orphan])
    assert _side_files(folder) == sorted(f"{i}{sidefile.SUFFIX}" for i in _segment_ids(ix))


def test_the_old_fixture_index_opens_and_grows_with_side_files_for_new_segments(
    tmp_path: Path, cables: list[Cable]
) -> None:
    target = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", target)
    ix = CableIndex.open(target, create=False)
    before = _segment_ids(ix)
    with ix.writer(timeout=10) as w:
        for c in cables[:12]:
            w.put(Cable(**{**c.__dict__, "reference_id": c.reference_id + "X"}))
    new = [s for s in _segment_ids(ix) if s not in before]
    assert new and all((target / f"{s}{sidefile.SUFFIX}").exists() for s in new)
    with ix.searcher() as s:
        reader = s.reader()
        live = live_mask(reader)
        for btext in list(reader.lexicon("body"))[:300]:
            p = read_postings(reader, "body", btext)
            ids = list(s.postings("body", btext).all_ids())
            assert p.docs[live[p.docs]].tolist() == sorted(ids)
    report = check_index(target)
    assert not report.problems
    assert any(f"{len(before)} of " in n and "no side file" in n for n in report.notes)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.binary(min_size=1, max_size=12),
        st.lists(
            st.tuples(st.integers(1, 70_000), st.sampled_from([1.0, 2.0, 300.0, 70_000.0, 0.5])),
            min_size=1,
            max_size=40,
        ),
        max_size=20,
    )
)
def test_build_and_read_round_trip(
    tmp_path_factory: pytest.TempPathFactory, terms: dict[bytes, list[tuple[int, float]]]
) -> None:
    """Any posting lists (doc gaps of every width, whole and fractional weights) read back as
    written; terms below MIN_DF are left out."""
    flats: dict[bytes, list[Any]] = {}
    expected = {}
    for t, plist in terms.items():
        docs = np.cumsum([gap for gap, _ in plist]) - 1
        flats[t] = [x for d, (_, wt) in zip(docs.tolist(), plist, strict=True) for x in (d, wt, b"", 1)]
        expected[t] = (docs.tolist(), [wt for _, wt in plist])
    folder = tmp_path_factory.mktemp("rt")
    n = 40 * 70_000
    path = sidefile.write(folder, "MAIN_test", n, [("body", flats)])
    side = sidefile.read_side(path, "MAIN_test", n)
    try:
        side.verify()
        for t, (docs, weights) in expected.items():
            got = side.postings("body", t)
            if len(docs) < sidefile.MIN_DF:
                assert got is None
                continue
            assert got is not None
            assert got[0].tolist() == docs and got[1].tolist() == pytest.approx(weights)
        assert side.postings("body", b"\xff" * 13) is None and side.postings("subject", b"a") is None
    finally:
        side.close()
    with pytest.raises(sidefile.SideFileDamaged):
        sidefile.read_side(path, "MAIN_other", n)


def test_a_damaged_position_fails_only_reads_that_need_positions(tmp_path: Path) -> None:
    """Deltas and weights have one CRC, positions another: a flipped position byte leaves a
    read without positions sound and fails one with them, and ``verify`` (check) finds it."""
    from cablesearch.engine.schema import encode_positions

    n = 3 * sidefile.MIN_DF
    flat: list[Any] = []
    for d in range(0, n, 3):
        pos = [d % 7, d % 7 + 5]
        flat += [d, 2.0, encode_positions(pos), 10]
    path = sidefile.write(tmp_path, "MAIN_pos", n, [("body", {b"word": flat})], positional=["body"])
    side = sidefile.read_side(path, "MAIN_pos", n)
    e = side.fields["body"].entries[0]
    first_position = (
        side.base + int(e["data"]) + (int(e["df"]) - 1) * int(e["dw"]) + int(e["df"]) * int(e["tw"])
    )
    assert int(e["npos"]) > 0
    side.close()
    raw = bytearray(path.read_bytes())
    raw[first_position] ^= 0xFF
    path.write_bytes(bytes(raw))
    side = sidefile.read_side(path, "MAIN_pos", n)
    try:
        got = side.postings("body", b"word")
        assert got is not None and got[0].tolist() == list(range(0, n, 3))
        with pytest.raises(sidefile.SideFileDamaged):
            side.postings("body", b"word", positions=True)
        with pytest.raises(sidefile.SideFileDamaged):
            side.verify()
    finally:
        side.close()


def test_phrases_of_the_cables_match_the_same_with_side_files(
    snaps: tuple[Snapshot, Snapshot, list[str]], data_dir: Path
) -> None:
    side, w3, _words = snaps
    matched = 0
    for phrase in adjacent_words(data_dir, every=23):
        q = parse_query(f'"{phrase}"', side.schema)
        if q is None:
            continue
        m1, s1 = Matcher(side, 30).run(q)
        m2, s2 = Matcher(w3, 30).run(q)
        assert m1.tolist() == m2.tolist(), phrase
        matched += int(m1.any())
        if s1 is not None and s2 is not None:
            assert s1[m1] == pytest.approx(s2[m2], rel=1e-6)
    assert matched > 50


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 70_000), min_size=1, max_size=30, unique=True).map(sorted),
        min_size=1,
        max_size=50,
    )
)
def test_pickled_positions_parse_what_encode_positions_writes(postings: list[list[int]]) -> None:
    """The side file's NumPy parser of ``Positions`` values gives what the read side's decoder
    gives (or None, for 4-byte deltas, and the writer then uses the decoder)."""
    values = [encode_positions(p) for p in postings]
    got = sidefile.pickled_positions(values)
    _d, want = decode_positions(np.zeros(len(values), np.int64), values)
    assert want.tolist() == [x for p in postings for x in p]
    if got is None:
        assert any(b - a >= 65536 for p in postings for a, b in zip([0, *p], p, strict=False))
        return
    assert got[0].tolist() == [len(p) for p in postings]
    assert got[1].tolist() == want.tolist()
