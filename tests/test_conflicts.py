"""Issue 14, the index side: a reference ID that several files give is never silent.

Real cables from tests/data: two telegrams of different cables made to parse to one ID (the
PARIS telegram's classification line rewritten to MADRID 004063, in a file named
04MADRID4063.txt), a page file copied under another name, and cables.csv beside a page file.
Through the Syncer (what `index` runs), the CLI, the in-process daemon and the API."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from watch_support import CableMaker, wait_until

from cablesearch.cli import main
from cablesearch.cli.watch_cmd import render_status
from cablesearch.config import Config
from cablesearch.daemon.service import Daemon
from cablesearch.engine.schema import unpack_cable
from cablesearch.index.conflicts import CONFLICT, COPIES, all_conflicts, describe, read_conflicts
from cablesearch.index.manifest import Entry, Manifest
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer, SyncReport
from cablesearch.web.app import create_app

REF = "04MADRID4063"


def index(ix: Path, *paths: Path, prune: bool = False) -> SyncReport:
    """What `cablesearch index PATHS` runs."""
    return Syncer(CableIndex.open(ix), Config(index_dir=ix, procs=1)).sync_paths(list(paths), prune=prune)


def subject(ix: Path, ref: str) -> str:
    with CableIndex.open(ix, create=False).searcher() as s:
        for f in s.all_stored_fields():
            if f["reference_id"] == ref:
                return unpack_cable(f["record"]).subject
    return ""


def write_impostor(data_dir: Path, out: Path) -> Path:
    """The Paris telegram (another cable) made to parse as 04MADRID4063."""
    text = (data_dir / "telegram" / "05PARIS8442.txt").read_text(encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{REF}.txt"
    path.write_text(text.replace("PARIS 008442", "MADRID 004063"), encoding="utf-8")
    return path


@pytest.fixture
def two_cables_one_id(tmp_path: Path, data_dir: Path) -> tuple[Path, Path, Path]:
    src = tmp_path / "src"
    src.mkdir()
    real = src / f"{REF}.txt"
    shutil.copy(data_dir / "telegram" / f"{REF}.txt", real)
    impostor = write_impostor(data_dir, src / "other")
    return src, real, impostor


def test_two_different_cables_parsed_to_one_id_are_named(tmp_path: Path, two_cables_one_id: tuple) -> None:
    src, real, impostor = two_cables_one_id
    ix = tmp_path / "ix"
    report = index(ix, src)
    assert report.rejected == []
    assert list(report.conflicts) == [REF]
    (conflict,) = report.true_conflicts
    assert conflict.kind == CONFLICT and report.copies == 0
    assert {e.path for e in conflict.files} == {str(real), str(impostor)}
    # the one indexed is named first, with the reason; the index holds its text
    assert conflict.files[0].indexed and not conflict.files[1].indexed
    line = conflict.line()
    assert line.startswith(f"{REF}: 2 files give this ID, different texts: {conflict.kept} (kept: ")
    assert line.endswith(conflict.files[1].path)
    kept_subject = "FRANCE: 2005" if conflict.kept == str(impostor) else "DEPUTY FOREIGN MINISTER"
    assert subject(ix, REF).startswith(kept_subject)
    assert report.to_dict()["conflict_count"] == 1
    data = report.to_dict()["conflicts"]
    assert data[0]["kind"] == "conflict" and data[0]["indexed"] == conflict.kept
    assert [f["indexed"] for f in data[0]["files"]] == [True, False]
    # nothing read again: nothing reported again; but the manifest still lists it
    again = index(ix, src)
    assert again.conflicts == {} and again.copy_ids == set() and again.unchanged == 2
    assert [c.reference_id for c in read_conflicts(ix)] == [REF]


def test_same_file_read_again_is_no_conflict(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path = src / f"{REF}.txt"
    text = (data_dir / "telegram" / f"{REF}.txt").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    ix = tmp_path / "ix"
    assert index(ix, src).conflicts == {}
    path.write_text(text.replace("REGRETS", "DEPLORES"), encoding="utf-8")  # changed: re-read
    report = index(ix, src)
    assert report.updated == 1 and report.conflicts == {} and report.copy_ids == set()
    assert read_conflicts(ix, copies=True) == []


def test_copy_under_another_name_is_a_copy_not_a_conflict(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "10MADRID49.txt")
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "saved from the site.txt")
    ix = tmp_path / "ix"
    report = index(ix, src)
    assert report.true_conflicts == [] and report.copies == 1
    (copy,) = read_conflicts(ix, copies=True)
    assert copy.kind == COPIES and len(copy.files) == 2
    assert "the same text" in copy.line()
    assert read_conflicts(ix) == []  # copies are listed only on request


def test_cables_csv_and_a_file_of_the_same_cable_are_copies(tmp_path: Path, data_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src)
    ix = tmp_path / "ix"
    index(ix, src)
    report = index(ix, data_dir / "cables.csv")
    assert report.true_conflicts == [] and report.copy_ids == {"10MADRID49"}
    assert report.to_dict()["copy_count"] == 1
    (copy,) = read_conflicts(ix, copies=True)
    assert {e.path for e in copy.files} == {str(src / "10MADRID49.txt"), str(data_dir / "cables.csv")}


def test_three_files_the_kept_text_shared_and_removal_resolves(
    tmp_path: Path, data_dir: Path, two_cables_one_id: tuple
) -> None:
    src, real, impostor = two_cables_one_id
    (src / "copy").mkdir()
    copy = src / "copy" / real.name  # same text as the real one, in another folder
    shutil.copy(real, copy)
    ix = tmp_path / "ix"
    report = index(ix, src)
    (conflict,) = report.true_conflicts
    assert len(conflict.files) == 3
    if conflict.kept != str(impostor):  # a file with the kept text is marked so
        assert "(same text as the kept one)" in conflict.line()
    impostor.unlink()
    after = index(ix, src, prune=True)
    assert after.true_conflicts == []
    assert subject(ix, REF).startswith("DEPUTY FOREIGN MINISTER")
    (left,) = read_conflicts(ix, copies=True)
    assert left.kind == COPIES
    copy.unlink()
    index(ix, src, prune=True)
    assert read_conflicts(ix, copies=True) == []


def test_describe_orders_and_explains() -> None:
    old = Entry("/a/old.txt", "09STATE1", "2010-11-28T18:00", False, text="t1")
    new = Entry("/b/new.txt", "09STATE1", "2011-02-01T09:30", True, text="t2")
    c = describe([old, new])
    assert c is not None and c.kind == CONFLICT and c.kept == "/b/new.txt"
    assert c.line() == (
        "09STATE1: 2 files give this ID, different texts: /b/new.txt (kept: released later), /a/old.txt"
    )
    same = describe([Entry("/x", "R", "2010", True, text="t"), Entry("/y", "R", "2010", False, text="t")])
    assert same is not None and same.kind == COPIES and "same release date" in same.reason
    unknown = describe([Entry("/x", "R", "", True), Entry("/y", "R", "", False, text="t")])
    assert unknown is not None and unknown.kind == CONFLICT and "not compared" in unknown.line()
    assert describe([old]) is None


def test_a_manifest_from_before_text_digests_opens_and_reports(tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    ix.mkdir()
    db = sqlite3.connect(ix / "manifest.sqlite")
    db.executescript(
        "CREATE TABLE entries (path TEXT NOT NULL, reference_id TEXT NOT NULL, released TEXT NOT NULL "
        "DEFAULT '', indexed INTEGER NOT NULL DEFAULT 0, digest TEXT NOT NULL DEFAULT '', "
        "PRIMARY KEY (path, reference_id)) WITHOUT ROWID;"
        "INSERT INTO entries VALUES ('/a', 'R1', '', 1, ''), ('/b', 'R1', '', 0, ''), ('/a', 'R2', '', 1, '');"
    )
    db.commit()
    db.close()
    with Manifest(ix) as m:
        assert m.ids_in_several_files() == ["R1"]
        (c,) = all_conflicts(m)
    assert c.kind == CONFLICT and "re-index to compare" in c.line()


# ------------------------------------------------------------------------------------- CLI


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_index_names_both_files_and_conflicts_lists_them(
    tmp_path: Path, data_dir: Path, two_cables_one_id: tuple
) -> None:
    src, real, impostor = two_cables_one_id
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "a.txt")
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "b.txt")
    ix = str(tmp_path / "ix")
    code, out, err = run(["--index", ix, "index", str(src)])
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if x.startswith("conflict: ")]
    assert line.startswith(f"conflict: {REF}: 2 files give this ID, different texts: ")
    assert str(real) in line and str(impostor) in line and "(kept: " in line
    assert "1 reference ID is given by several files with the same text (copies" in err
    # the counts line is as before (the later file of each ID replaced the earlier: "updated")
    assert out.startswith("2 added, 2 updated, 0 unchanged, 0 removed, 0 rejected (4 files")
    code, out, err = run(["--index", ix, "conflicts"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{REF}: 2 files give this ID, different texts: ")
    assert lines[-1] == "1 conflict (different texts), 1 ID with identical copies (--copies lists them)"
    code, out, _ = run(["--index", ix, "conflicts", "--copies"])
    assert [x.split(":")[0] for x in out.splitlines()[:-1]] == [REF, "10MADRID49"]
    code, out, _ = run(["--index", ix, "conflicts", "--json"])
    data = json.loads(out)
    assert (data["conflicts"], data["copies"]) == (1, 1)
    assert data["ids"][0]["reference_id"] == REF
    assert {f["path"] for f in data["ids"][0]["files"]} == {str(real), str(impostor)}


def test_cli_index_names_at_most_20_conflicts_and_says_how_many_more(tmp_path: Path) -> None:
    maker = CableMaker()
    src = tmp_path / "src"
    for n in range(25):  # 25 IDs, each in two files with different texts
        maker.write(src / "a", n, marker="firstversion")
        maker.write(src / "b", n, released="2011-02-01 09:30", marker="secondversion")
    ix = str(tmp_path / "ix")
    code, out, err = run(["--index", ix, "index", str(src)])
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("conflict: ")]
    assert len(lines) == 21 and "(kept: released later)" in lines[0] and str(src / "b") in lines[0]
    assert lines[-1] == "conflict: ... and 5 more (`cablesearch conflicts` lists them all)"
    code, out, _ = run(["--index", ix, "conflicts"])
    assert len(out.splitlines()) == 26 and out.splitlines()[-1].startswith(
        "25 conflicts (different texts), 0 IDs"
    )


def test_cli_conflicts_without_an_index(tmp_path: Path) -> None:
    code, out, err = run(["--index", str(tmp_path / "none"), "conflicts"])
    assert code != 0 and out == ""
    assert err.startswith("Error: no index at ") and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------- daemon


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    wait_until(lambda: not (set(threading.enumerate()) - before), 10, message="the daemon's threads to end")


def test_daemon_status_names_recent_conflicts(
    tmp_path: Path, data_dir: Path, no_leaked_threads: None
) -> None:
    root = tmp_path / "cables"
    root.mkdir()
    ix = tmp_path / "index"
    config = Config(
        index_dir=ix, settle_seconds=0.2, batch_seconds=0.3, rescan_seconds=0.0, lock_timeout=10.0, procs=1
    )
    d = Daemon(config, [root], isolate=False)
    d.start()
    try:
        wait_until(lambda: d.idle, 30, message="the catch-up scan")
        shutil.copy(data_dir / "telegram" / f"{REF}.txt", root / f"{REF}.txt")
        wait_until(lambda: d.status()["totals"]["added"] == 1 and d.idle, 20, message="the first file")
        impostor = write_impostor(data_dir, root / "other")
        wait_until(lambda: d.status()["recent_conflicts"], 20, message="the conflict")
        (conflict,) = d.status()["recent_conflicts"]
        assert conflict["reference_id"] == REF and conflict["kind"] == "conflict"
        assert {f["path"] for f in conflict["files"]} == {str(root / f"{REF}.txt"), str(impostor)}
        # a copy is counted, not listed among the conflicts
        shutil.copy(data_dir / "page" / "10MADRID49.txt", root / "a.txt")
        shutil.copy(data_dir / "page" / "10MADRID49.txt", root / "b.txt")
        wait_until(lambda: d.status()["totals"]["copies"] >= 1, 20, message="the copy")
        status = d.status()
        assert len(status["recent_conflicts"]) == 1 and status["totals"]["conflicts"] == 1
        text = render_status(True, status, ix)
        assert "recent conflicts (1; the index keeps one text" in text
        assert f"{REF}: 2 files give this ID, different texts: " in text and str(impostor) in text
        # `index` hands its paths to the running daemon and prints the conflicts of its answer
        outside = write_impostor(data_dir, tmp_path / "outside")
        outside.write_text(outside.read_text(encoding="utf-8") + "\nA THIRD VERSION.\n", encoding="utf-8")
        code, out, err = run(["--index", str(ix), "index", str(outside)])
        assert code == 0 and "0 rejected" in out, err
        assert "handed 1 path(s) to it" in err
        assert f"conflict: {REF}: 3 files give this ID, different texts: " in err and str(outside) in err
    finally:
        d.stop()


# ------------------------------------------------------------------------------------- API


def test_api_conflicts(tmp_path: Path, data_dir: Path, two_cables_one_id: tuple) -> None:
    src, real, impostor = two_cables_one_id
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "a.txt")
    shutil.copy(data_dir / "page" / "10MADRID49.txt", src / "b.txt")
    ix = tmp_path / "ix"
    index(ix, src)
    with TestClient(create_app(Config(index_dir=ix), start_daemon=False)) as c:
        data = c.get("/api/conflicts").json()
        assert (data["conflicts"], data["copies"]) == (1, 1)
        (one,) = data["ids"]
        assert one["reference_id"] == REF and one["indexed"] in {str(real), str(impostor)}
        assert [f["indexed"] for f in one["files"]] == [True, False]
        both = c.get("/api/conflicts", params={"copies": "true"}).json()["ids"]
        assert [(x["reference_id"], x["kind"]) for x in both] == [(REF, "conflict"), ("10MADRID49", "copies")]
