"""The engine's write side against the library itself: plain Whoosh reads what cablesearch
writes, cablesearch reads (and keeps writing to) what plain Whoosh writes, and a flush writes
the same bytes with or without its helper, with or without other threads running."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import threading
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index
from whoosh.query import Term

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.engine import flush, merge, schema, sidefile
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

WORDS = ["embassy", "minister", "government", "president", "security", "terrorism", "oil", "elections"]


@pytest.fixture(scope="module")
def cables(data_dir: Path) -> list[Cable]:
    return list(parse.iter_cables([data_dir / "page"]))


def stored_by_id(reader: object) -> dict[str, dict]:
    return {f["reference_id"]: f for _, f in reader.iter_docs()}  # type: ignore[attr-defined]


def hits(searcher: object, field: str, text: str) -> set[str]:
    found = searcher.search(Term(field, text), limit=None)  # type: ignore[attr-defined]
    return {h["reference_id"] for h in found}


def build_in_segments(index_dir: Path, cables: list[Cable]) -> CableIndex:
    """Three commits (three segments), a replaced cable and a deleted one."""
    ix = CableIndex.open(index_dir)
    for part in (cables[:15], cables[15:30], cables[30:]):
        with ix.writer() as w:
            for c in part:
                w.put(c)
    with ix.writer() as w:
        w.put(dataclasses.replace(cables[3], subject="QUUXWORD a later release"))
        w.delete(cables[20].reference_id)
    return ix


def test_plain_whoosh_reads_what_cablesearch_wrote(tmp_path: Path, cables: list[Cable]) -> None:
    """An index of several segments with deleted documents, opened by plain Whoosh: the same
    documents, stored fields and hits for term queries as cablesearch sees."""
    ix = build_in_segments(tmp_path / "ix", cables)
    assert len(ix.segments()) >= 3 and any(s.deleted for s in ix.segments())
    plain = whoosh_index.open_dir(str(tmp_path / "ix"))
    with ix.searcher() as ours, plain.searcher() as theirs:
        assert theirs.doc_count() == ours.doc_count() == len(cables) - 1
        assert stored_by_id(theirs.reader()) == stored_by_id(ours.reader())
        assert cables[20].reference_id not in stored_by_id(theirs.reader())
        terms = [(f, t) for w in WORDS for t in schema.analyze_terms(w) for f in ("body", "subject")]
        terms += [("subject", "quuxword")]
        terms += [("reference_id", c.reference_id) for c in cables[::7]]
        terms += [("tags", t) for c in cables[:5] for t in c.tags]
        for field, text in terms:
            assert hits(theirs, field, text) == hits(ours, field, text), (field, text)
        assert hits(theirs, "subject", "quuxword") == {cables[3].reference_id}


def test_a_segment_written_by_plain_whoosh_is_read_searched_and_grown(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain Whoosh's default writer adds a compound segment (one ``.seg`` file) to an index
    cablesearch wrote: stats, search and facets read it, and cablesearch's writer goes on
    writing to the index (replacing that document, merging that segment)."""
    index_dir = tmp_path / "ix"
    ix = CableIndex.open(index_dir)
    with ix.writer() as w:
        for c in cables[:10]:
            w.put(c)
    shutil.copytree(index_dir, tmp_path / "copy")
    index_dir = tmp_path / "copy"
    extra = cables[10]
    pw = whoosh_index.open_dir(str(index_dir)).writer()
    pw.add_document(**schema.cable_to_doc(extra))
    pw.commit()
    assert list(index_dir.glob("*.seg")), "plain Whoosh wrote no compound segment"

    r = CliRunner().invoke(main, ["--config", "/dev/null", "--index", str(index_dir), "stats", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["cables"] == 11

    ix = CableIndex.open(index_dir, create=False)
    result = SearchService(ix).search(SearchRequest(query=f"reference_id:{extra.reference_id}"))
    assert [h.reference_id for h in result.hits] == [extra.reference_id]
    assert (extra.classification, 1) in result.facets["classification"]
    assert result.hits[0].origin == extra.origin

    monkeypatch.setattr(merge, "MERGE_FANOUT", 2)  # the next commit merges the compound segment
    with ix.writer() as w:
        assert w.put(dataclasses.replace(extra, subject="QUUXWORD replaced")) is True
        w.put(cables[11])
    assert ix.doc_count() == 12
    assert [s.doc_count_all for s in ix.segments()] == [12]  # the compound segment merged in
    assert not list(index_dir.glob("*.seg"))
    with ix.searcher() as s:
        assert hits(s, "subject", "quuxword") == {extra.reference_id}
        assert len(stored_by_id(s.reader())) == 12
    with whoosh_index.open_dir(str(index_dir)).searcher() as s:
        assert s.doc_count() == 12


def index_flushed_from(
    folder: Path, threshold: int, docs: list[Cable], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An index of ``docs`` in one commit whose flush forks its helpers from ``threshold``
    postings, with the same segment id every time (a side file names its segment)."""
    monkeypatch.setattr(flush, "PARALLEL_POSTINGS", threshold)
    random.seed(7)
    with CableIndex.open(folder).writer() as w:
        for c in docs:
            w.put(c)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("threads", ["one thread", "other threads alive"])
def test_flush_helper_writes_the_same_bytes_with_or_without_other_threads(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch, threads: str
) -> None:
    """With only this thread the helper is a fork (and so is the side file's writer). With
    other threads alive Python 3.12+ warns about forking (a DeprecationWarning), so there the
    flush is encoded in this process alone; 3.11 forks as before. Either way the segment's
    bytes (postings, term table, side file) are those of a flush done in one process, and the
    helper's files are gone."""
    docs = [dataclasses.replace(c, reference_id=f"{c.reference_id}X{k}") for k in range(6) for c in cables]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    if threads != "one thread":
        other.start()
    written = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for mode, threshold in (("alone", 10**12), ("helped", 0)):
                folder = index_flushed_from(tmp_path / mode, threshold, docs, monkeypatch)
                written[mode] = {
                    p.suffix: p.read_bytes() for p in folder.iterdir() if p.suffix in (".pst", ".trm", ".npp")
                }
                assert not list(folder.glob(".flush-*"))
        finally:
            stop.set()
    if threads != "one thread":
        other.join()
    assert written["alone"] == written["helped"] and set(written["alone"]) == {".pst", ".trm", ".npp"}
    assert not [w for w in caught if "fork()" in str(w.message)]


@pytest.mark.skipif(not flush.can_fork(), reason="no fork here: the side file is always written in-process")
def test_a_side_file_job_that_fails_in_its_fork_is_done_in_the_process(
    tmp_path: Path, cables: list[Cable], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The fork writing a big flush's side file dies: the committing process writes the side
    file itself, the same bytes as a flush without the fork, and the index searches as usual."""
    written = {}
    parent = os.getpid()
    real_write = sidefile.write

    def dies_in_a_fork(*args: object, **kwargs: object) -> Path:
        if os.getpid() != parent:
            os._exit(3)
        return real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sidefile, "write", dies_in_a_fork)
    for mode, threshold in (("alone", 10**12), ("forked", 0)):
        folder = index_flushed_from(tmp_path / mode, threshold, cables, monkeypatch)
        (side,) = folder.glob("*.npp")
        written[mode] = side.read_bytes()
        assert not list(folder.glob("*.tmp"))
        found = SearchService(CableIndex.open(folder)).search(SearchRequest("embassy"))
        assert found.total > 0
    assert written["alone"] == written["forked"]
    assert [r.message for r in caplog.records if "side file's writer failed" in r.message]
