"""Incremental indexing through the manifest: skipping, changes, removal, duplicate IDs,
cables.csv, the daemon's apply(), and an interrupted run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from whoosh.qparser import QueryParser

from cablesearch.config import Config
from cablesearch.index.manifest import Manifest
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer, make_pool
from cablesearch.parse import csvfile

ROOT = Path(__file__).resolve().parent.parent


def make_syncer(index_dir: Path, **kw: object) -> Syncer:
    return Syncer(CableIndex.open(index_dir), Config(procs=1, lock_timeout=5), **kw)  # type: ignore[arg-type]


def index_ids(index_dir: Path) -> list[str]:
    with CableIndex.open(index_dir).searcher() as s:
        return sorted(f["reference_id"] for f in s.all_stored_fields())


def hits(index_dir: Path, q: str, field: str = "body") -> list[str]:
    ix = CableIndex.open(index_dir)
    with ix.searcher() as s:
        return [h["reference_id"] for h in s.search(QueryParser(field, ix.schema).parse(q), limit=None)]


def subject_of(index_dir: Path, rid: str) -> str:
    with CableIndex.open(index_dir).searcher() as s:
        return s.document(reference_id=rid)["subject"]


def assert_manifest_matches_index(index_dir: Path) -> None:
    with Manifest(index_dir) as m:
        recorded = sorted(rid for rid, _ in m.indexed_ids())
    assert recorded == index_ids(index_dir)


@pytest.fixture
def telegrams(tmp_path: Path, data_dir: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(data_dir / "telegram", src)
    return src


def test_first_run_then_unchanged_files_are_not_read(tmp_path: Path, telegrams: Path) -> None:
    ix = tmp_path / "ix"
    r1 = make_syncer(ix).sync_paths([telegrams])
    assert (r1.added, r1.updated, r1.unchanged, r1.removed, r1.rejected) == (41, 0, 0, 0, [])
    assert r1.files_parsed == 41
    assert len(index_ids(ix)) == 41
    r2 = make_syncer(ix).sync_paths([telegrams])
    assert (r2.added, r2.updated, r2.unchanged, r2.removed) == (0, 0, 41, 0)
    assert (r2.files_skipped, r2.files_parsed) == (41, 0)
    # a file no one can read is still skipped by size and mtime: it is never opened
    victim = telegrams / "10MADRID49.txt"
    mode = victim.stat().st_mode
    victim.chmod(0)
    try:
        if os.access(victim, os.R_OK):
            pytest.skip("running as a user who can read any file")
        r3 = make_syncer(ix).sync_paths([telegrams])
        assert r3.rejected == [] and r3.files_skipped == 41
    finally:
        victim.chmod(mode)


def test_touched_file_same_content_is_unchanged(tmp_path: Path, telegrams: Path) -> None:
    ix = tmp_path / "ix"
    make_syncer(ix).sync_paths([telegrams])
    victim = telegrams / "10MADRID49.txt"
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    gen = CableIndex.open(ix).generation
    r = make_syncer(ix).sync_paths([telegrams])
    assert (r.added, r.updated, r.unchanged, r.files_parsed, r.files_skipped) == (0, 0, 41, 0, 40)
    # the new mtime is recorded: the next run skips it without reading
    assert make_syncer(ix).sync_paths([telegrams]).files_skipped == 41
    assert CableIndex.open(ix).doc_count() == 41
    assert CableIndex.open(ix).generation >= gen


def test_modified_file_is_updated(tmp_path: Path, telegrams: Path) -> None:
    ix = tmp_path / "ix"
    make_syncer(ix).sync_paths([telegrams])
    victim = telegrams / "10MADRID49.txt"
    victim.write_text(
        victim.read_text(encoding="utf-8").replace("RUBALCABA", "XYLOPHONIST"), encoding="utf-8"
    )
    r = make_syncer(ix).sync_paths([telegrams])
    assert (r.added, r.updated, r.unchanged, r.files_parsed) == (0, 1, 40, 1)
    assert hits(ix, "xylophonist") == ["10MADRID49"]
    assert hits(ix, "rubalcaba") == []
    assert len(index_ids(ix)) == 41
    assert_manifest_matches_index(ix)


def test_removed_files_stay_until_pruned(tmp_path: Path, telegrams: Path) -> None:
    ix = tmp_path / "ix"
    make_syncer(ix).sync_paths([telegrams])
    (telegrams / "10MADRID49.txt").unlink()
    (telegrams / "09LIMA1191.txt").unlink()
    r = make_syncer(ix).sync_paths([telegrams])
    assert (r.removed, r.unchanged) == (0, 39)
    assert "10MADRID49" in index_ids(ix)
    r = make_syncer(ix).sync_paths([telegrams], prune=True)
    assert (r.removed, r.unchanged, r.added) == (2, 39, 0)
    assert "10MADRID49" not in index_ids(ix) and len(index_ids(ix)) == 39
    assert_manifest_matches_index(ix)


def test_prune_only_touches_the_given_roots(tmp_path: Path, data_dir: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(data_dir / "telegram" / "10MADRID49.txt", a)
    shutil.copy(data_dir / "telegram" / "09LIMA1191.txt", b)
    ix = tmp_path / "ix"
    make_syncer(ix).sync_paths([a, b])
    (b / "09LIMA1191.txt").unlink()
    r = make_syncer(ix).sync_paths([a], prune=True)
    assert r.removed == 0 and "09LIMA1191" in index_ids(ix)
    r = make_syncer(ix).sync_paths([b], prune=True)
    assert r.removed == 1 and index_ids(ix) == ["10MADRID49"]


def _rerelease(page: Path, out: Path, released: str, word: str) -> None:
    text = page.read_text(encoding="utf-8")
    text = text.replace("2010-11-29 21:09", released).replace("RUBALCABA", word)
    out.write_text(text, encoding="utf-8")


def test_same_id_in_two_files_latest_release_wins(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    page = data_dir / "page" / "10MADRID49.txt"
    _rerelease(page, src / "old.txt", "2010-11-29 21:09", "OLDWORD")
    _rerelease(page, src / "new.txt", "2011-03-01 10:00", "NEWWORD")
    ix = tmp_path / "ix"
    r = make_syncer(ix).sync_paths([src])
    assert index_ids(ix) == ["10MADRID49"]
    assert hits(ix, "newword") == ["10MADRID49"] and hits(ix, "oldword") == []
    assert r.rejected == []
    assert (r.added, r.duplicates) == (1, 1)
    assert r.summary().startswith(
        "1 added, 0 updated, 0 unchanged, 0 removed, 0 rejected, "
        "1 duplicate of cables indexed from other files (2 files"
    )
    # the newer file loses its release date: the older text wins again (re-read from old.txt)
    _rerelease(page, src / "new.txt", "2009-01-01 10:00", "NEWWORD")
    make_syncer(ix).sync_paths([src])
    assert hits(ix, "oldword") == ["10MADRID49"] and hits(ix, "newword") == []
    # back to newest, then the winning file is removed: the cable comes from the other file
    _rerelease(page, src / "new.txt", "2011-03-01 10:00", "NEWWORD")
    make_syncer(ix).sync_paths([src])
    assert hits(ix, "newword") == ["10MADRID49"]
    (src / "new.txt").unlink()
    r = make_syncer(ix).sync_paths([src], prune=True)
    assert index_ids(ix) == ["10MADRID49"]
    assert hits(ix, "oldword") == ["10MADRID49"] and hits(ix, "newword") == []
    assert r.removed == 0
    # and removing the last file removes the cable
    (src / "old.txt").unlink()
    r = make_syncer(ix).sync_paths([src], prune=True)
    assert r.removed == 1 and index_ids(ix) == []
    assert_manifest_matches_index(ix)


def test_cables_csv_and_rejected_files(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(data_dir / "cables.csv", src / "cables.csv")
    (src / "notes.txt").write_text("shopping list: milk, eggs\n", encoding="utf-8")
    ix = tmp_path / "ix"
    r = make_syncer(ix, procs=2).sync_paths([src, tmp_path / "missing"])
    assert r.added == 41
    reasons = {Path(e.source).name: e.reason for e in r.rejected}
    assert set(reasons) == {"notes.txt", "missing"}
    assert "no such file" in reasons["missing"]
    r = make_syncer(ix).sync_paths([src])
    assert (r.unchanged, r.files_skipped, len(r.rejected)) == (41, 1, 1)  # notes.txt is re-read
    assert_manifest_matches_index(ix)
    # one row of the cables.csv changes: only that row is parsed and put again
    text = (src / "cables.csv").read_text(encoding="utf-8")
    assert text.count("RUBALCABA") >= 1
    (src / "cables.csv").write_text(text.replace("RUBALCABA", "XYLOPHONIST"), encoding="utf-8")
    r = make_syncer(ix, procs=2).sync_paths([src])
    assert (r.added, r.updated, r.unchanged, r.removed, r.files_parsed) == (0, 1, 40, 0, 1)
    assert hits(ix, "xylophonist") == ["10MADRID49"] and hits(ix, "rubalcaba") == []
    # a row removed from the file takes its cable along
    rows = [row for _, row in csvfile.iter_rows(src / "cables.csv", lambda e: None)]
    with open(src / "cables.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, escapechar="\\", doublequote=False)
        w.writerows(row for row in rows if row[2] != "10MADRID49")
    r = make_syncer(ix).sync_paths([src])
    assert (r.updated, r.unchanged, r.removed) == (0, 40, 1)
    assert "10MADRID49" not in index_ids(ix)
    assert_manifest_matches_index(ix)


def test_apply_is_one_commit(tmp_path: Path, telegrams: Path) -> None:
    ix_dir = tmp_path / "ix"
    syncer = make_syncer(ix_dir)
    files = sorted(telegrams.iterdir())
    r = syncer.apply(files[:10], [])
    assert r.added == 10
    gen = syncer.index.generation
    (files[0]).unlink()
    r = syncer.apply(files[10:20], [files[0]])
    assert (r.added, r.removed) == (10, 1)
    assert syncer.index.generation == gen + 1
    assert len(index_ids(ix_dir)) == 19
    r = syncer.apply(files[10:20], [])
    assert r.unchanged == 10 and r.files_skipped == 10
    assert_manifest_matches_index(ix_dir)


@pytest.mark.parametrize("procs", [1, 2], ids=["in-process", "kept-pool"])
def test_apply_takes_in_more_paths_in_the_same_commit(tmp_path: Path, telegrams: Path, procs: int) -> None:
    """The daemon's stream: paths that ``more`` gives while a batch is written join its one
    commit; repeats are left out, unchanged files skipped; it ends when more() gives nothing."""
    ix_dir = tmp_path / "ix"
    files = sorted(telegrams.iterdir())
    pool = make_pool(2) if procs > 1 else None
    try:
        syncer = Syncer(CableIndex.open(ix_dir), Config(procs=procs, lock_timeout=5), pool=pool)
        syncer.apply(files[:5], [])
        gen = syncer.index.generation
        offers = [[files[5], files[6]], [files[6], files[0], str(files[7])], []]
        asks: list[bool] = []

        def more(idle: bool) -> list[str | Path]:
            asks.append(idle)
            return list(offers.pop(0)) if offers else []

        r = syncer.apply(files[8:10], [], more=more)
        assert (r.added, r.unchanged, r.files_skipped) == (5, 1, 1)
        assert syncer.index.generation == gen + 1  # one commit for all of it
        assert asks[-1] is True and not offers  # it ended when idle and given nothing
        assert len(index_ids(ix_dir)) == 10
        assert_manifest_matches_index(ix_dir)
        # a kept pool outlives the sync that used it
        r = syncer.apply(files[10:12], [], more=lambda idle: [])
        assert r.added == 2
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_worker_pool_pipes_hold_a_batch_of_results() -> None:
    """The pool's task and result pipes are widened (a worker then never stalls on sending a
    batch's results), as far as this system lets a process; the pool still works."""
    import fcntl

    from cablesearch import workers

    limit = min(workers.PIPE_BYTES, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
    pool = make_pool(2)
    try:
        for q in (pool._outqueue, pool._inqueue):  # type: ignore[attr-defined]
            for conn in (q._reader, q._writer):
                assert fcntl.fcntl(conn.fileno(), fcntl.F_GETPIPE_SZ) >= limit
        big = "x" * 3 * limit  # more than the pipe holds at once
        assert pool.apply(len, (big,)) == len(big)
    finally:
        pool.terminate()
        pool.join()


def test_no_garbage_collection_until_the_commit_is_written(
    tmp_path: Path, telegrams: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection walking a batch's millions of postings would stall the commit: the
    collector is off while the segment is flushed, and on again after the sync."""
    import gc

    from cablesearch.engine import writer as engine_writer

    seen: list[bool] = []
    real = engine_writer.FastSegmentWriter._flush_segment

    def flush(self: engine_writer.FastSegmentWriter) -> None:
        seen.append(gc.isenabled())
        real(self)

    monkeypatch.setattr(engine_writer.FastSegmentWriter, "_flush_segment", flush)
    assert gc.isenabled()
    r = make_syncer(tmp_path / "ix").apply(sorted(telegrams.iterdir())[:3], [])
    assert r.added == 3 and seen == [False]
    assert gc.isenabled()


def test_apply_whose_more_fails_commits_nothing(tmp_path: Path, telegrams: Path) -> None:
    """If the daemon goes away mid-batch (``more`` raises), nothing of the batch is committed
    and index and manifest still agree; the next apply indexes those files."""
    ix_dir = tmp_path / "ix"
    files = sorted(telegrams.iterdir())
    syncer = make_syncer(ix_dir)
    syncer.apply(files[:3], [])
    gen = syncer.index.generation

    def more(idle: bool) -> list[Path]:
        raise EOFError("the daemon is gone")

    with pytest.raises(EOFError):
        syncer.apply(files[3:6], [], more=more)
    assert syncer.index.generation == gen
    assert len(index_ids(ix_dir)) == 3
    assert_manifest_matches_index(ix_dir)
    assert syncer.apply(files[3:6], []).added == 3


def test_manifest_records_of_given_paths(tmp_path: Path) -> None:
    """``files_for`` (how a small batch is planned without reading every record of a big
    manifest) gives the records of the recorded paths among those asked, in chunks of 500."""
    with Manifest(tmp_path) as m:
        for i in range(1200):
            m.put_file(f"/cables/{i}.txt", i, i * 10, f"h{i}", cables=1)
        m.commit()
        asked = [f"/cables/{i}.txt" for i in range(0, 1200, 2)] + ["/elsewhere/x.txt"] * 3
        got = m.files_for(asked)
        assert set(got) == {f"/cables/{i}.txt" for i in range(0, 1200, 2)}
        assert got["/cables/1198.txt"].size == 1198 and got["/cables/4.txt"].hash == "h4"
        assert got == {p: r for p, r in m.files().items() if p in got}
        assert m.files_for([]) == {}


def test_apply_with_folders(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "watched"
    shutil.copytree(data_dir / "telegram", root / "sub")
    syncer = make_syncer(tmp_path / "ix")
    r = syncer.apply([root / "sub"], [])  # a folder moved in: everything inside
    assert r.added == 41
    shutil.rmtree(root / "sub")
    r = syncer.apply([], [root / "sub"])  # a folder deleted or moved out
    assert r.removed == 41 and index_ids(tmp_path / "ix") == []
    assert_manifest_matches_index(tmp_path / "ix")


def write_big_csv(data_dir: Path, out: Path, copies: int) -> int:
    """tests/data/cables.csv repeated with new reference IDs: many cables without ../shared."""
    rows = [row for _, row in csvfile.iter_rows(data_dir / "cables.csv", lambda e: None)]
    n = 0
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, escapechar="\\", doublequote=False)
        for _ in range(copies):
            for row in rows:
                n += 1
                row = list(row)
                row[0] = str(n)
                row[2] = f"09TESTPOST{n}"
                w.writerow(row)
    return n


@pytest.mark.slow
def test_small_commits_keep_manifest_and_index_in_step(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    total = write_big_csv(data_dir, src / "cables.csv", 3)
    ix = tmp_path / "ix"
    r = make_syncer(ix, commit_every=25).sync_paths([src])
    assert r.added == total and r.commits >= total // 25
    assert len(index_ids(ix)) == total
    assert_manifest_matches_index(ix)


INTERRUPTED = textwrap.dedent("""
    import sys
    from cablesearch.config import Config
    from cablesearch.index.store import CableIndex
    from cablesearch.index.sync import Syncer
    def progress(p):
        print("cables", p.cables, flush=True)
    Syncer(CableIndex.open(sys.argv[1]), Config(procs=2), commit_every=40).sync_paths(
        sys.argv[2:], progress=progress)
    print("finished", flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("form", ["csv", "files"])
def test_ctrl_c_leaves_a_consistent_index(tmp_path: Path, data_dir: Path, form: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    if form == "csv":
        write_big_csv(data_dir, src / "cables.csv", 12)
    else:
        for k in range(12):
            shutil.copytree(data_dir / "page", src / f"copy{k}")  # the same IDs, 12 times over
    ix = tmp_path / "ix"
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(ix), str(src)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # a suite started with SIGINT ignored (nohup, &) passes that on
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("cables") and int(line.split()[1]) >= 120:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert "finished" not in out, "the run ended before it could be interrupted"
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    # the index opens, holds what was committed, and the manifest agrees with it
    assert CableIndex.open(ix, create=False).doc_count() > 0
    assert CableIndex.open(ix).lock_holder() is None
    assert_manifest_matches_index(ix)
    committed = CableIndex.open(ix).doc_count()
    # a second run completes the work (for the csv, without re-reading the committed rows)
    r = make_syncer(ix).sync_paths([src])
    assert r.rejected == []
    if form == "csv":
        assert r.unchanged == committed and r.added == 41 * 12 - committed
    assert len(index_ids(ix)) == (41 * 12 if form == "csv" else 41)
    assert_manifest_matches_index(ix)


def default_sigint() -> None:
    """For a child process (``preexec_fn``): Ctrl-C acts by default. A suite started in the
    background or under nohup ignores SIGINT, and an ignored signal stays ignored across exec."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_inside_a_held_block_takes_effect_at_its_end() -> None:
    """An index commit and the manifest commit recording it are never cut in two by Ctrl-C."""
    import signal

    from cablesearch.index.sync import interrupts_held

    done = []
    # Python's own Ctrl-C handler, even when the suite was started with SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_held():
            signal.raise_signal(signal.SIGINT)
            done.append("index committed")
            done.append("manifest committed")
        assert done == ["index committed", "manifest committed"]
        with interrupts_held():
            pass  # nothing caught: nothing raised
    finally:
        signal.signal(signal.SIGINT, previous)


def test_report_as_json_names_each_rejected_file_and_row(tmp_path: Path, data_dir: Path) -> None:
    """``SyncReport.to_dict()``, the one JSON form of a report (the daemon's answers use it):
    every count, and each rejected file or cables.csv row with its path, row and reason."""
    src = tmp_path / "src"
    src.mkdir()
    rows = [row for _, row in csvfile.iter_rows(data_dir / "cables.csv", lambda e: None)][:3]
    with open(src / "cables.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, escapechar="\\", doublequote=False)
        w.writerows(rows[:2] + [rows[2][:5]])  # the third row lacks three columns
    (src / "notes.txt").write_text("shopping list: milk, eggs\n", encoding="utf-8")
    data = make_syncer(tmp_path / "ix").sync_paths([src]).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert (data["added"], data["updated"], data["removed"], data["files_seen"], data["commits"]) == (
        2,
        0,
        0,
        2,
        1,
    )
    rejected = sorted(data["rejected"], key=lambda e: e["path"])
    assert [(Path(e["path"]).name, e["row"]) for e in rejected] == [("cables.csv", 3), ("notes.txt", None)]
    assert "expected 8 columns, found 5" in rejected[0]["reason"]
    assert rejected[0]["message"] == f"{src / 'cables.csv'}, row 3: {rejected[0]['reason']}"


def _postings_of(index_dir: Path) -> dict[tuple[str, bytes], list[tuple[int, float, bytes]]]:
    """Every posting of the index as plain Whoosh reads it."""
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(str(index_dir)).searcher() as s:
        r = s.reader()
        out = {}
        for field, term in r.all_terms():
            m = r.postings(field, term)
            found = out[(field, term)] = []
            while m.is_active():
                found.append((m.id(), m.weight(), m.value()))
                m.next()
        return out


def test_the_worker_pool_writes_the_index_the_process_writes_alone(tmp_path: Path, data_dir: Path) -> None:
    """Results come back from the workers packed (one pickle without memo); the index they make
    holds the same documents and postings, posting by posting, as one made without workers."""
    src = tmp_path / "src"
    shutil.copytree(data_dir / "telegram", src / "telegram")
    shutil.copy(data_dir / "cables.csv", src / "cables.csv")
    pool = make_pool(2)
    try:
        alone = Syncer(CableIndex.open(tmp_path / "alone"), Config(procs=1, lock_timeout=5)).sync_paths([src])
        pooled = Syncer(CableIndex.open(tmp_path / "pool"), Config(procs=2, lock_timeout=5), pool=pool)
        together = pooled.sync_paths([src])
    finally:
        pool.terminate()
        pool.join()
    assert (together.added, together.duplicates) == (alone.added, alone.duplicates) and alone.added > 30
    assert index_ids(tmp_path / "pool") == index_ids(tmp_path / "alone")
    ours, theirs = _postings_of(tmp_path / "pool"), _postings_of(tmp_path / "alone")
    assert len(ours) > 5000 and ours == theirs


def test_packed_results_read_back_as_they_were(tmp_path: Path, data_dir: Path) -> None:
    from cablesearch.engine.writer import SHARED_VALUES
    from cablesearch.index.work import pack, unpack, work_files

    tasks = [(str(p), None) for p in sorted((data_dir / "telegram").iterdir())] + [
        ("/nonexistent/x.txt", None)
    ]
    results = work_files(tasks)
    assert unpack(pack(results)) == results
    assert results[-1] == ("error", "/nonexistent/x.txt", "no such file or folder")
    # single-position values come back as copies; the writer keeps one object of each
    preps = [doc for r in unpack(pack(results[:3])) for doc in r[5]]
    values = [v for doc in preps for _, items, _ in doc.inverted for *_, v in items]
    singles = [v for v in values if v in SHARED_VALUES]
    assert singles and all(SHARED_VALUES[v] is not v for v in singles)
    with CableIndex.open(tmp_path / "ix").writer() as w:
        for prep in preps:
            w.put(prep)
        kept = [v for terms in w._w._terms.values() for flat in terms.values() for v in flat[2::4]]
        assert len(kept) == len(values)
        assert all(SHARED_VALUES[v] is v for v in kept if v in SHARED_VALUES)
