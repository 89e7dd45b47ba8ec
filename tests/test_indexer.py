"""The index: writing cables, replacing them, the fast writer's output, analysis, and the lock."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import QueryParser

from cablesearch import parse
from cablesearch.engine import flush, merge, schema
from cablesearch.engine import writer as engine_writer
from cablesearch.engine.schema import unpack_cable
from cablesearch.errors import IndexLocked, IndexNotFound
from cablesearch.index import store as indexer
from cablesearch.index.store import CableIndex, read_lock_holder
from cablesearch.model import Cable

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cables(data_dir: Path) -> list[Cable]:
    return list(parse.iter_cables([data_dir / "page"]))


def ids_in(ix: CableIndex) -> list[str]:
    with ix.searcher() as s:
        return sorted(f["reference_id"] for f in s.all_stored_fields())


def search(ix: CableIndex, q: str, field: str = "body") -> list[str]:
    with ix.searcher() as s:
        return [h["reference_id"] for h in s.search(QueryParser(field, ix.schema).parse(q), limit=None)]


def test_put_replaces_never_duplicates(tmp_path: Path, cables: list[Cable]) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    g0 = ix.generation
    with ix.writer() as w:
        for c in cables:
            assert w.put(c) is False
    g1 = ix.generation
    assert g1 != g0
    assert ix.doc_count() == len(cables) == 41
    first = cables[0]
    changed = Cable(**{**first.__dict__, "subject": "QUUXWORD replaced subject"})
    with ix.writer() as w:
        assert w.put(changed) is True
        # the same ID again in the same writer: still one document, and one commit
        assert w.put(changed) is True
        assert w.put(changed) is True
    assert ix.generation == g1 + 1
    assert ix.doc_count() == 41
    assert ids_in(ix).count(first.reference_id) == 1
    assert search(ix, "quuxword", "subject") == [first.reference_id]
    assert ix.generation != g1


@pytest.mark.parametrize("id_map_after", [0, 10_000])
def test_replacing_finds_every_copy_by_term_or_by_id_map(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch, id_map_after: int
) -> None:
    """After ID_MAP_AFTER lookups a writer finds reference IDs through each segment's column
    read into a dict (kept with the index per segment) instead of the term table: the same
    answers, over several segments, deleted copies and an ID twice in one segment."""

    monkeypatch.setattr(indexer, "ID_MAP_AFTER", id_map_after)
    ix = CableIndex.open(tmp_path / "ix")
    answers = []
    with ix.writer() as w:
        answers += [w.put(c) for c in cables[:20]]
    with ix.writer() as w:
        answers += [w.put(c) for c in cables[10:30]]
        answers.append(w.put(cables[25]))  # twice in this segment, one copy deleted
    with ix.writer() as w:
        answers += [
            w.put(cables[25]),
            w.put(cables[0]),
            w.delete(cables[5].reference_id),
            w.delete("99NOSUCHPLACE1"),
            w.put(cables[35]),
        ]
        assert (w._id_maps is not None) == (id_map_after == 0)
    assert answers == [False] * 20 + [True] * 10 + [False] * 10 + [True] + [True, True, True, False, False]
    expected = sorted({c.reference_id for c in cables[:30] + [cables[35]]} - {cables[5].reference_id})
    assert ids_in(ix) == expected
    if id_map_after == 0:  # one entry per segment of the index the last writer saw
        assert len(ix._segment_ids) == 2
    with ix.writer() as w:  # a new writer uses the kept dicts, and the new one
        assert w.put(cables[35]) is True and w.put(cables[1]) is True
    assert ids_in(ix) == expected


def test_delete_and_stored_record(tmp_path: Path, cables: list[Cable]) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer() as w:
        for c in cables[:5]:
            w.put(c)
    with ix.writer() as w:
        assert w.delete(cables[0].reference_id) is True
        assert w.delete("99NOWHERE1") is False
        w.put(cables[5])
        assert w.delete(cables[5].reference_id) is True  # put and deleted before the commit
    assert ix.doc_count() == 4
    assert cables[5].reference_id not in ids_in(ix)
    with ix.searcher() as s:
        doc = s.document(reference_id=cables[1].reference_id)
    assert schema.unpack_cable(doc["record"]) == cables[1]
    assert doc["year"] == cables[1].created.year


def test_error_in_block_cancels_and_releases_lock(tmp_path: Path, cables: list[Cable]) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    with pytest.raises(RuntimeError), ix.writer() as w:
        w.put(cables[0])
        raise RuntimeError("boom")
    assert ix.doc_count() == 0
    assert ix.lock_holder() is None
    with ix.writer(timeout=0) as w:
        w.put(cables[0])
    assert ix.doc_count() == 1


def test_open_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="cablesearch index"):
        CableIndex.open(tmp_path / "none", create=False)


def assert_same_as_plain_whoosh(tmp_path: Path, ix: CableIndex, docs: list[Cable]) -> None:
    """The index holds exactly the postings, statistics and lengths Whoosh's own writer writes
    for the same documents (so every Whoosh reader and scorer sees the same index)."""
    plain = whoosh_index.create_in(str(tmp_path), schema.build_schema(), indexname="plain")
    pw = plain.writer()
    for c in docs:
        pw.add_document(**schema.cable_to_doc(c))
    pw.commit()
    r1, r2 = ix.whoosh_index.reader(), plain.reader()
    try:
        terms = list(r1.all_terms())
        assert terms == list(r2.all_terms())
        for fieldname, text in terms:
            lists = []
            for r in (r1, r2):
                m = r.postings(fieldname, text)
                items = []
                while m.is_active():
                    items.append((m.id(), m.weight(), m.value()))
                    m.next()
                info = r.term_info(fieldname, text)
                lists.append(
                    (
                        items,
                        info.weight(),
                        info.doc_frequency(),
                        info.min_length(),
                        info.max_length(),
                        info.max_weight(),
                        info.min_id(),
                        info.max_id(),
                    )
                )
            assert lists[0] == lists[1], (fieldname, text)
        for docnum in range(r1.doc_count_all()):
            f1, f2 = r1.stored_fields(docnum), r2.stored_fields(docnum)
            assert {k: v for k, v in f1.items() if k != "record"} == {
                k: v for k, v in f2.items() if k != "record"
            }
            for fieldname in ("subject", "body", "recipients", "signers"):
                assert r1.doc_field_length(docnum, fieldname) == r2.doc_field_length(docnum, fieldname)
    finally:
        r1.close()
        r2.close()


def copies_of(cables: list[Cable], copies: int) -> list[Cable]:
    return [
        dataclasses.replace(c, reference_id=f"{c.reference_id}{'X' * k}")
        for k in range(copies)
        for c in cables
    ]


@pytest.mark.slow
@pytest.mark.parametrize("copies", [1, 8], ids=["41-cables", "328-cables"])
def test_fast_writer_matches_whoosh_writer(tmp_path: Path, cables: list[Cable], copies: int) -> None:
    """With 328 cables the common terms' posting lists span several blocks of 128."""
    docs = copies_of(cables, copies)
    ix = CableIndex.open(tmp_path / "fast")
    with ix.writer() as w:
        for c in docs:
            w.put(c)
    with ix.searcher() as s:
        assert (
            max(s.reader().doc_frequency(f, t) for f, t in s.reader().all_terms())
            == len(docs)
            > 128 * (copies > 1)
        )
    assert_same_as_plain_whoosh(tmp_path, ix, docs)


def segment_files(index_dir: Path) -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in index_dir.iterdir() if p.suffix in (".pst", ".trm")}


@pytest.mark.slow
def test_flush_split_with_a_forked_helper_writes_the_same_bytes(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big flush is cut in two and half of it encoded by a forked helper: the segment's
    postings and term table are byte for byte those of the same flush done in one process,
    and the helper's files are gone afterwards."""
    docs = copies_of(cables, 8)
    written = {}
    for mode, threshold in (("one process", 10**12), ("with a helper", 0)):
        monkeypatch.setattr(flush, "PARALLEL_POSTINGS", threshold)
        ix = CableIndex.open(tmp_path / mode)
        with ix.writer() as w:
            for c in docs:
                w.put(c)
        written[mode] = segment_files(tmp_path / mode)
        assert not list((tmp_path / mode).glob(".flush-*"))
    assert written["one process"] == written["with a helper"]
    assert set(written["one process"]) == {".pst", ".trm"}


def test_files_of_a_killed_flush_helper_are_removed_by_the_next_writer(
    tmp_path: Path, cables: list[Cable]
) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    stale = [tmp_path / "ix" / ".flush-4711-123.pst", tmp_path / "ix" / ".flush-4711-123.trm"]
    for path in stale:
        path.write_bytes(b"left by a writer killed mid-commit")
    with ix.writer() as w:
        w.put(cables[0])
    assert not any(path.exists() for path in stale)
    assert ids_in(ix) == [cables[0].reference_id]


@pytest.mark.slow
def test_flush_helper_that_fails_is_replaced_by_this_process(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If the helper cannot write its half (here: its folder does not exist), this process
    encodes that half itself: a warning, and the same index."""
    docs = copies_of(cables, 8)
    monkeypatch.setattr(flush, "PARALLEL_POSTINGS", 0)
    real = engine_writer.write_terms
    monkeypatch.setattr(
        engine_writer,
        "write_terms",
        lambda fw, fields, workdir, postings: real(fw, fields, tmp_path / "no-such-folder", postings),
    )
    ix = CableIndex.open(tmp_path / "ix")
    with caplog.at_level(logging.WARNING, logger="cablesearch.engine.flush"), ix.writer() as w:
        for c in docs:
            w.put(c)
    assert any("flush helper failed" in r.getMessage() for r in caplog.records)
    assert_same_as_plain_whoosh(tmp_path, ix, docs)


def test_analysis_is_shared_with_the_query_parser(tmp_path: Path, cables: list[Cable]) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer() as w:
        for c in cables:
            w.put(c)
    body = ix.schema["body"]
    assert list(body.process_text("The Embassies were meeting", mode="query")) == ["embassi", "were", "meet"]
    # the index path and the analyzer agree token for token
    text = "U.S. officials met 3.5 times; the Ambassador's meetings"
    assert schema.analyze_terms(text) == [t.text for t in schema.TEXT_ANALYZER(text)]
    # character offsets for highlighting point at the original text
    toks = [(t.text, text[t.startchar : t.endchar]) for t in schema.TEXT_ANALYZER(text, chars=True)]
    assert ("offici", "officials") in toks
    madrid = next(c for c in cables if c.reference_id == "10MADRID49")
    assert madrid.reference_id in search(ix, "rubalcaba")
    assert madrid.reference_id in search(ix, '"minister of interior"')  # phrase across a stop word
    assert madrid.reference_id in search(ix, "solomont", "subject")


# --- locking, with real processes -----------------------------------------------------------

HOLDER = textwrap.dedent("""
    import os, sys, time
    from cablesearch.index.store import CableIndex
    ix = CableIndex.open(sys.argv[1])
    mode = sys.argv[2]
    with ix.writer(timeout=0):
        if mode == "fork":
            pid = os.fork()
            if pid == 0:            # the child inherits the lock's descriptor and lingers
                time.sleep(600)
                os._exit(0)
            print("locked", os.getpid(), pid, flush=True)
        else:
            print("locked", os.getpid(), 0, flush=True)
        sys.stdin.readline()
    print("released", flush=True)
""")


def start_holder(index_dir: Path, mode: str = "plain") -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(index_dir), mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line[0] == "locked", line
    return proc, int(line[2])


def test_second_writer_waits_then_times_out(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    proc, _ = start_holder(tmp_path / "ix")
    try:
        assert ix.lock_holder() is not None and ix.lock_holder().pid == proc.pid
        waits = []
        with pytest.raises(IndexLocked) as err, ix.writer(timeout=0.3, on_wait=waits.append):
            pass
        assert f"pid {proc.pid}" in str(err.value)
        assert [h.pid for h in waits] == [proc.pid]

        def release(holder: object) -> None:  # the holder finishes while we wait
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()

        with ix.writer(timeout=60, on_wait=release):
            pass
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_writer_is_recovered(tmp_path: Path) -> None:
    ix = CableIndex.open(tmp_path / "ix")
    proc, _ = start_holder(tmp_path / "ix")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_lock_holder(tmp_path / "ix").pid == proc.pid  # the stale record is there
    with ix.writer(timeout=5) as w:
        w.put(Cable(reference_id="08TEST1", subject="after the crash"))
    assert ix.doc_count() == 1
    assert ix.lock_holder() is None


def test_stale_lock_kept_by_an_orphan_is_recovered(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A killed writer whose child process still holds the flock: the recorded pid is dead,
    so the lock is judged stale and replaced."""
    ix = CableIndex.open(tmp_path / "ix")
    proc, child = start_holder(tmp_path / "ix", mode="fork")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        waits = []
        with ix.writer(timeout=10, on_wait=waits.append) as w:
            w.put(Cable(reference_id="08TEST2", subject="recovered"))
        assert waits == []  # recovered at once, no waiting
        assert ix.doc_count() == 1
        assert f"recovered the index lock left by pid {proc.pid}" in caplog.text
    finally:
        os.kill(child, signal.SIGKILL)


def _postings_by_id(reader: object) -> dict[tuple[str, bytes], list[tuple[str, float, bytes]]]:
    ids = {d: f["reference_id"] for d, f in reader.iter_docs()}  # type: ignore[attr-defined]
    out = {}
    for fieldname, text in reader.all_terms():  # type: ignore[attr-defined]
        m = reader.postings(fieldname, text)  # type: ignore[attr-defined]
        items = []
        while m.is_active():
            if m.id() in ids:
                items.append((ids[m.id()], m.weight(), m.value()))
            m.next()
        if items:
            out[(fieldname, text)] = sorted(items)
    return out


@pytest.mark.slow
def test_small_commits_are_merged_correctly(tmp_path: Path, cables: list[Cable]) -> None:
    """Many one-cable commits: Whoosh's merge policy folds small segments into the new one
    (through the ordinary posting pool); the merged index holds the same postings."""
    ix = CableIndex.open(tmp_path / "ix")
    for c in cables[:8]:
        with ix.writer() as w:
            w.put(c)
    with ix.writer() as w:  # a replacement: a segment to be merged carries a deletion
        w.put(cables[0])
    assert sum(s.deleted > 0 for s in ix.segments()) == 1
    for c in cables[8:12]:
        with ix.writer() as w:
            w.put(c)
    assert len(ix.segments()) < 12
    assert not any(s.deleted for s in ix.segments())
    assert ix.doc_count() == 12
    plain = whoosh_index.create_in(str(tmp_path), schema.build_schema(), indexname="plain")
    pw = plain.writer()
    for c in cables[:12]:
        pw.add_document(**schema.cable_to_doc(c))
    pw.commit()
    with ix.searcher() as s1, plain.searcher() as s2:
        assert _postings_by_id(s1.reader()) == _postings_by_id(s2.reader())
        for docnum, fields in s1.reader().iter_docs():
            other = s2.document_number(reference_id=fields["reference_id"])
            assert s1.reader().doc_field_length(docnum, "body") == s2.reader().doc_field_length(other, "body")


def test_merges_follow_the_commit_in_their_own_and_a_failed_one_loses_nothing(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The commit that fills a tier is searchable before the tier is merged (a second
    generation merges it); a merge that fails leaves the committed cables and says so, and a
    later commit merges."""
    monkeypatch.setattr(merge, "MERGE_FANOUT", 3)
    ix = CableIndex.open(tmp_path / "ix")
    for c in cables[:2]:
        with ix.writer() as w:
            w.put(c)
    gen = ix.generation
    with ix.writer() as w:
        w.put(cables[2])
    assert ix.generation == gen + 2  # the cables' commit, then the merge
    assert [s.doc_count_all for s in ix.segments()] == [3]
    real = engine_writer.merge_tiers

    def failing(writer, segments):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine_writer, "merge_tiers", failing)
    with caplog.at_level(logging.WARNING, logger="cablesearch.index.store"):
        for c in cables[3:6]:
            with ix.writer() as w:
                w.put(c)
    assert ix.doc_count() == 6 and sorted(ids_in(ix)) == sorted(c.reference_id for c in cables[:6])
    # the tier is full after the 5th and the 6th commit: each tried, warned, and went on
    assert sum("merging small segments failed" in r.getMessage() for r in caplog.records) == 2
    assert len(ix.segments()) == 4
    monkeypatch.setattr(engine_writer, "merge_tiers", real)
    with ix.writer() as w:
        w.put(cables[6])
    assert [s.doc_count_all for s in ix.segments()] == [7]
    assert sorted(ids_in(ix)) == sorted(c.reference_id for c in cables[:7])


def test_index_of_another_schema_is_refused(tmp_path: Path) -> None:
    from whoosh import fields
    from whoosh.analysis import StemmingAnalyzer

    from cablesearch.errors import IndexError_

    whoosh_index.create_in(
        str(tmp_path),
        fields.Schema(reference_id=fields.ID(stored=True), subject=fields.TEXT(analyzer=StemmingAnalyzer())),
    )
    with pytest.raises(IndexError_, match=r"another version of cablesearch.*delete the folder"):
        CableIndex.open(tmp_path)


def test_merge_policy_leaves_big_segments_alone(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(merge, "MERGE_MAX_DOCS", 5)
    monkeypatch.setattr(merge, "MERGE_FANOUT", 3)
    ix = CableIndex.open(tmp_path / "ix")
    for k in range(4):  # four "bulk" segments of 6 cables
        with ix.writer() as w:
            for c in cables[6 * k : 6 * k + 6]:
                w.put(c)
    assert len(ix.segments()) == 4
    for c in cables[24:28]:  # small commits: the third of them is followed by their merge
        with ix.writer() as w:
            w.put(c)
    sizes = sorted(s.doc_count_all for s in ix.segments())
    assert sizes == [1, 3, 6, 6, 6, 6]
    assert ix.doc_count() == 28
    assert sorted(ids_in(ix)) == sorted(c.reference_id for c in cables[:28])


@pytest.mark.slow
def test_readers_open_the_index_while_another_process_commits(tmp_path: Path, cables: list[Cable]) -> None:
    """Each commit replaces the table of contents and merges delete old segment files: opening
    the index and a searcher meanwhile reads the newer commit instead of failing."""
    index_dir = tmp_path / "ix"
    CableIndex.open(index_dir)
    script = textwrap.dedent(f"""
        import sys
        from cablesearch.index.store import CableIndex
        from cablesearch.model import Cable
        ix = CableIndex.open({str(index_dir)!r})
        for i in range(120):       # small commits: merges every ten
            with ix.writer(timeout=30) as w:
                w.put(Cable(reference_id=f"08RACE{{i}}", subject="race", body=f"race {{i}}"))
        print("done", flush=True)
    """)
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    opened = 0
    try:
        while writer.poll() is None:
            ix = CableIndex.open(index_dir, create=False)
            with ix.searcher() as s:
                assert s.doc_count() >= 0
                list(s.all_stored_fields())
            opened += 1
    finally:
        out, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0 and "done" in out
    assert opened > 10
    assert len(ids_in(CableIndex.open(index_dir))) == 120


def test_index_written_by_an_earlier_version_opens_and_grows(tmp_path: Path, cables: list[Cable]) -> None:
    """An index written by cablesearch at commit 1c893c8 (tests/indexes/v1c893c8: 6 telegrams;
    its TOC pickles the codec class ``cablesearch.index.store.FastCodec``) is searched and written to
    by this version."""
    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", tmp_path / "old")
    ix = CableIndex.open(tmp_path / "old", create=False)
    before = ids_in(ix)
    assert len(before) == 6
    with ix.writer() as w:
        for c in cables[:3]:
            w.put(c)
    after = ids_in(ix)
    assert set(before) | {c.reference_id for c in cables[:3]} == set(after)
    with ix.searcher() as s:
        for rid in before:  # the old segment's postings read back
            body = unpack_cable(s.document(reference_id=rid)["record"]).body
            word = max(re.findall(r"[a-z]{6,}", body.lower()), key=len)
            found = s.search(QueryParser("body", ix.schema).parse(word), limit=None)
            assert rid in {hit["reference_id"] for hit in found}, word


def test_an_older_index_grows_with_its_own_analysis(tmp_path: Path, cables: list[Cable]) -> None:
    """Cables added to an index written before tags were whole values and accents were folded
    are analysed with THAT index's schema (workers prepare them with this version's): tag terms
    stay space-split and accented words unfolded, so the index's own query analysis finds them."""
    from cablesearch.engine.storage import default_schema
    from cablesearch.engine.writer import analysed_differently

    shutil.copytree(Path(__file__).parent / "indexes" / "v1c893c8", tmp_path / "old")
    ix = CableIndex.open(tmp_path / "old", create=False)
    assert analysed_differently(ix.schema, default_schema())
    fresh = CableIndex.open(tmp_path / "new")
    assert not analysed_differently(fresh.schema, default_schema())
    cable = dataclasses.replace(
        cables[0],
        reference_id="09CORDOBA77",
        tags=["HUMAN RIGHTS", "PREL"],
        body=cables[0].body + "\nMeeting in Córdoba with the governor.",
    )
    with ix.writer() as w:
        w.put(cable)
    with ix.searcher() as s:
        tag_terms = {t.decode() for t in s.lexicon("tags")}
        assert {"HUMAN", "RIGHTS"} <= tag_terms and "HUMAN RIGHTS" not in tag_terms
        found = s.search(QueryParser("body", ix.schema).parse("Córdoba"), limit=None)
        assert "09CORDOBA77" in {hit["reference_id"] for hit in found}
