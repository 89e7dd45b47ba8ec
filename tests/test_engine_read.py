"""The engine's read side against Whoosh's own readers: posting lists decoded straight from the
W3 blocks, field lengths, positions decoded only in the documents a phrase needs, and the
snapshot's posting cache bounded by bytes. Runs on a real index of tests/data in several
segments with deletions, and on the old index tests/indexes/v1c893c8 (other pickle protocol)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cable_text import adjacent_words
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.engine.postings import (
    Postings,
    decode_positions,
    field_lengths,
    live_mask,
    read_postings,
    segment_terms,
)
from cablesearch.engine.snapshot import ByteLRU, Snapshot
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable

FIELDS = ("subject", "body", "tags", "origin", "reference_id", "recipients")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> CableIndex:
    """The 41 cables of tests/data in 3 segments, 2 deleted and 1 replaced."""
    cables = sorted(parse.iter_cables([data_dir / "html"]), key=lambda c: c.reference_id)
    ix = CableIndex.open(tmp_path_factory.mktemp("read"))
    for part in range(3):
        with ix.writer(timeout=10) as w:
            for c in cables[part::3]:
                w.put(c)
    with ix.writer(timeout=10) as w:
        for c in cables[:2]:
            w.delete(c.reference_id)
        w.put(Cable(**{**cables[4].__dict__, "subject": cables[4].subject + " again"}))
    return ix


@pytest.fixture(scope="module")
def old_index(tmp_path_factory: pytest.TempPathFactory) -> CableIndex:
    target = tmp_path_factory.mktemp("old") / "old"
    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", target)
    return CableIndex.open(target, create=False)


@pytest.fixture(params=["new", "old"])
def reader(request: pytest.FixtureRequest, index: CableIndex, old_index: CableIndex) -> Iterator[Any]:
    searcher = (index if request.param == "new" else old_index).searcher()
    try:
        yield searcher.reader()
    finally:
        searcher.close()


def whoosh_postings(reader: Any, fieldname: str, btext: bytes) -> tuple[list[int], list[float], list[Any]]:
    """A term's postings through Whoosh's public matcher, segment by segment (it leaves out
    deleted documents)."""
    ids: list[int] = []
    weights: list[float] = []
    values: list[Any] = []
    for leaf, offset in reader.leaf_readers():
        if (fieldname, btext) not in leaf:
            continue
        m = leaf.postings(fieldname, btext)
        while m.is_active():
            ids.append(m.id() + offset)
            weights.append(m.weight())
            values.append(m.value())
            m.next()
    return ids, weights, values


def test_postings_equal_whooshs_for_every_term(reader: Any) -> None:
    assert len(list(reader.leaf_readers())) >= 1
    seen = 0
    live = live_mask(reader)
    for fieldname in FIELDS:
        if fieldname not in reader.schema:
            continue
        with_values = reader.schema[fieldname].format.fixed_value_size() is None
        for btext in list(reader.lexicon(fieldname)):
            ids, weights, values = whoosh_postings(reader, fieldname, btext)
            p = read_postings(reader, fieldname, btext, with_values=with_values)
            keep = live[p.docs]
            assert p.docs[keep].tolist() == ids, (fieldname, btext)
            assert p.weights[keep].tolist() == pytest.approx(weights), (fieldname, btext)
            if with_values:
                assert p.values is not None and len(p.values) == p.df
                assert [v for v, k in zip(p.values, keep, strict=True) if k] == values, (fieldname, btext)
            seen += 1
    assert seen > 500


def test_a_term_with_no_posting_reads_empty(reader: Any) -> None:
    p = read_postings(reader, "body", b"zzqqxxnotaword", with_values=True)
    assert p.df == 0 and p.values == []


def test_field_lengths_equal_whooshs(reader: Any) -> None:
    n = reader.doc_count_all()
    for fieldname in ("subject", "body"):
        got = field_lengths(reader, fieldname, n)
        want = [reader.doc_field_length(i, fieldname, 0) or 0 for i in range(n)]
        assert got.tolist() == pytest.approx(want)
        assert got.max() > 0


def test_phrase_keys_decode_positions_only_in_the_given_documents(index: CableIndex) -> None:
    snap = Snapshot(index.searcher(), "g")
    try:
        docs = snap.term_postings("body", b"embassi", positions=True)
        assert docs.df > 5 and docs.values is not None
        full_d, full_p = decode_positions(docs.docs, docs.values)
        some = docs.docs[::3]
        keys = Snapshot.phrase_keys(docs, some)
        want = ((full_d << 32) + full_p)[np.isin(full_d, some)]
        assert keys.tolist() == sorted(want.tolist())
        with pytest.raises(ValueError):
            Snapshot.phrase_keys(snap.term_postings("body", b"zzqqxx"), some)
    finally:
        snap.close()


def _postings(n: int) -> Postings:
    return Postings(np.arange(n, dtype=np.int64), np.ones(n, np.float32))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 400)), max_size=60))
def test_byte_lru_stays_within_its_bytes_and_keeps_the_most_recent(ops: list[tuple[int, int]]) -> None:
    lru = ByteLRU(4000)
    for key, n in ops:
        p = _postings(n)
        lru.put(("body", bytes([key])), p)
        assert lru.nbytes <= lru.max_bytes
        if p.nbytes <= lru.max_bytes:
            assert lru.get(("body", bytes([key]))) is p  # the newest entry is never evicted
    assert lru.nbytes == sum(
        lru.get(k).nbytes for k in [("body", bytes([i])) for i in range(31)] if lru.get(k)
    )  # type: ignore[union-attr]


def test_byte_lru_evicts_least_recently_used_first() -> None:
    a, b, c = _postings(100), _postings(100), _postings(100)
    lru = ByteLRU(a.nbytes * 2 + 10)
    lru.put(("f", b"a"), a)
    lru.put(("f", b"b"), b)
    assert lru.get(("f", b"a")) is a  # now b is the oldest
    lru.put(("f", b"c"), c)
    assert lru.get(("f", b"b")) is None
    assert lru.get(("f", b"a")) is a and lru.get(("f", b"c")) is c
    lru.put(("f", b"huge"), _postings(10_000))  # bigger than the budget: not kept, nothing lost
    assert lru.get(("f", b"huge")) is None and len(lru) == 2


def test_snapshot_cache_is_bounded_by_bytes_and_answers_stay_right(index: CableIndex) -> None:
    searcher = index.searcher()
    words = [t for t in searcher.reader().lexicon("body")][:400]
    small = Snapshot(index.searcher(), "g", cache_bytes=20_000)
    big = Snapshot(searcher, "g")
    try:
        for w in words:
            d1, s1 = small.term_scores("body", w)
            small.term_postings("body", w, positions=True)
            d2, s2 = big.term_scores("body", w)
            assert d1.tolist() == d2.tolist() and s1.tolist() == s2.tolist()
            assert small.cache.nbytes <= 20_000
        assert 0 < len(small.cache) < len(big.cache) == len(words)
    finally:
        small.close()
        big.close()


@pytest.mark.parametrize("prefix", [b"", b"a", b"em", b"z", b"\xff", b"qqqq"])
def test_segment_terms_equal_whooshs_prefix_expansion(reader: Any, prefix: bytes) -> None:
    for leaf, _offset in reader.leaf_readers():
        for fieldname in (*FIELDS, "no_such_field"):
            want = list(leaf.expand_prefix(fieldname, prefix)) if fieldname in leaf.schema else []
            assert segment_terms(leaf, fieldname, prefix) == want, (fieldname, prefix)


def test_snapshot_word_list_is_the_merged_lexicon(index: CableIndex) -> None:
    snap = Snapshot(index.searcher(), "g")
    try:
        assert snap.lexicon("body") == [t.decode("utf-8") for t in snap.reader.lexicon("body")]
        assert snap.lexicon("no_such_field") == []
    finally:
        snap.close()


@pytest.fixture(scope="module")
def snaps(index: CableIndex) -> Iterator[tuple[Snapshot, Snapshot, list[str]]]:
    """A plain snapshot, one that reads only the candidates' blocks whenever it may, and
    words of the bodies from the most to the least common."""
    plain = Snapshot(index.searcher(), "g")
    eager = Snapshot(index.searcher(), "g")
    eager.within_ratio = 0
    lex = plain.lexicon("body")
    words = sorted((w for w in lex if w.isalpha()), key=lambda w: -plain.doc_frequency("body", w))
    try:
        yield plain, eager, words[:40] + words[-40:]
    finally:
        plain.close()
        eager.close()


phrases_of_the_cables = adjacent_words(Path(__file__).parent / "data", every=37)

SHAPES = [
    "{0} AND {1}",
    "{0} AND ({1} OR {2})",
    "{0} AND NOT {1}",
    "{0} {1} AND {2}",
    '"{0} {1}" AND {2}',
    "{0} OR {1}",
    '"{0} {1} {2}"',
    '"{3}" AND {0}',
    '"{3}" OR {1}',
    '{0} AND "{3}" AND "{4}"',
]


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_restricted_evaluation_is_exact_where_asked(
    snaps: tuple[Snapshot, Snapshot, list[str]], data: Any
) -> None:
    """An AND reads its later words only where the earlier ones matched, and a filter's
    documents restrict the whole query: the answer is the same where it is asked for."""
    from cablesearch.engine.matcher import Matcher
    from cablesearch.search.query import parse_query

    plain, eager, words = snaps
    shape = data.draw(st.sampled_from(SHAPES))
    picked = data.draw(st.lists(st.sampled_from(words), min_size=3, max_size=3))
    phrases = data.draw(st.lists(st.sampled_from(phrases_of_the_cables), min_size=2, max_size=2))
    q = parse_query(shape.format(*picked, *phrases), plain.schema)
    assume(q is not None)  # a query of stop words only is not evaluated (the user gets a notice)
    assert q is not None
    n = plain.n
    subset = data.draw(st.one_of(st.none(), st.sets(st.integers(0, n - 1), max_size=n)))
    within = None if subset is None else np.array(sorted(subset), dtype=np.int64)
    m1, s1 = Matcher(plain, 30).run(q)
    restricted = Matcher(eager, 30, within=within)
    m2, s2 = restricted.run(q)
    where = np.arange(n) if within is None else within
    assert m1[where].tolist() == m2[where].tolist()
    hits = where[m1[where]]
    if s1 is not None and hits.size:  # scores are owed only where a document matched
        assert s2 is not None
        assert s2[hits] == pytest.approx(s1[hits], rel=1e-5)
    plain_units = Matcher(plain, 30)
    plain_units.run(q)
    for d in hits.tolist():
        assert restricted.units(d) == plain_units.units(d)
