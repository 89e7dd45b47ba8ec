"""Damaged indexes (issue 15): every damage is one line saying to run `cablesearch check` /
`cablesearch index --rebuild`; `check` names the affected cables; `--rebuild` brings every cable
back; a full disk is one line and leaves the committed index intact."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from watch_support import CableMaker

from cablesearch.cli import main
from cablesearch.index.check import check_index
from cablesearch.index.lock import Flock, WriteLock
from cablesearch.index.store import CableIndex


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_damage_line(code: int, out: str, err: str) -> str:
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err + out
    assert lines[0].startswith("Error: the index at ") and "is damaged" in lines[0]
    assert "cablesearch check" in lines[0] and "cablesearch index --rebuild" in lines[0]
    return lines[0]


@pytest.fixture
def built(tmp_path: Path, data_dir: Path) -> tuple[Path, Path, set[str]]:
    """An index of the test cables in several segments; its IDs."""
    src = tmp_path / "src"
    shutil.copytree(data_dir / "telegram", src / "telegram")
    ix = tmp_path / "ix"
    code, _out, err = run(["--index", str(ix), "index", str(src), "--commit-every", "15"])
    assert code == 0, err
    with CableIndex.open(ix, create=False).searcher() as s:
        ids = {f["reference_id"] for f in s.all_stored_fields()}
    assert len(ids) > 30
    return ix, src, ids


def segment_file(ix: Path, suffix: str) -> Path:
    return sorted(ix.glob(f"MAIN_*{suffix}"), key=lambda p: p.stat().st_size)[-1]


def live_ids(ix: Path) -> set[str]:
    index = CableIndex.open(ix, create=False)
    with index.searcher() as s:
        return {f["reference_id"] for f in s.all_stored_fields()}


def assert_rebuilt(ix: Path, ids: set[str]) -> None:
    code, out, err = run(["--index", str(ix), "index", "--rebuild"])
    assert code == 0, err
    assert "rebuilt" in out
    assert live_ids(ix) == ids
    assert not check_index(ix).damaged
    assert not list(ix.parent.glob(".ix.rebuild*")), "the old index is removed after the swap"
    code, out, _ = run(["--index", str(ix), "search", "embassy"])
    assert code == 0


def test_lost_table_of_contents_is_reported_not_trusted(built: tuple[Path, Path, set[str]]) -> None:
    ix, src, ids = built
    for toc in ix.glob("_MAIN_*.toc"):
        toc.unlink()
    line = one_damage_line(*run(["--index", str(ix), "index", str(src)]))
    assert "table of contents" in line
    one_damage_line(*run(["--index", str(ix), "search", "embassy"]))
    code, out, _ = run(["--index", str(ix), "check"])
    assert code == 1 and "DAMAGED" in out and "table of contents" in out
    assert_rebuilt(ix, ids)


@pytest.mark.parametrize(
    "suffix,how",
    [
        (".pst", "truncate"),
        (".trm", "delete"),
        ("._stored.col", "truncate"),
        (".reference_id.col", "truncate"),
    ],
)
def test_truncated_or_missing_files(built: tuple[Path, Path, set[str]], suffix: str, how: str) -> None:
    ix, src, ids = built
    victim = segment_file(ix, suffix)
    segment = victim.name.split(".")[0]
    if how == "delete":
        victim.unlink()
    else:
        os.truncate(victim, victim.stat().st_size // 3)
    for args in (["search", "embassy"], ["stats"], ["show", sorted(ids)[0]], ["index", str(src)]):
        line = one_damage_line(*run(["--index", str(ix), *args]))
        assert victim.name in line, line
    report = check_index(ix)
    assert report.damaged
    assert any(segment in p for p in report.problems)
    assert report.affected and report.affected <= ids
    code, out, _ = run(["--index", str(ix), "check"])
    assert code == 1 and "affected cables" in out
    assert_rebuilt(ix, ids)


def test_flipped_bytes_are_found_by_check_and_reported_in_one_line(
    built: tuple[Path, Path, set[str]],
) -> None:
    ix, _src, ids = built
    victim = segment_file(ix, "._stored.col")
    data = bytearray(victim.read_bytes())
    for i in range(50, len(data), 199):
        data[i] ^= 0xFF
    victim.write_bytes(bytes(data))  # same size: the check at open cannot see it
    report = check_index(ix)
    assert report.damaged and "stored records" in " ".join(report.problems)
    affected = sorted(report.affected)
    assert affected
    code, out, err = run(["--index", str(ix), "show", affected[0]])
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    assert "cablesearch index --rebuild" in err
    assert_rebuilt(ix, ids)


def test_corrupt_manifest(built: tuple[Path, Path, set[str]], data_dir: Path) -> None:
    ix, src, ids = built
    shutil.copy(data_dir / "cables.csv", src / "cables.csv")  # the same cables again: duplicates
    code, _out, err = run(["--index", str(ix), "index", str(src)])
    assert code == 0, err
    (ix / "manifest.sqlite").write_bytes(b"not a database at all" * 100)
    for name in ("manifest.sqlite-wal", "manifest.sqlite-shm"):
        (ix / name).unlink(missing_ok=True)
    line = one_damage_line(*run(["--index", str(ix), "index", str(src)]))
    assert "manifest.sqlite" in line
    code, out, _ = run(["--index", str(ix), "check"])
    assert code == 1 and "manifest.sqlite is damaged" in out
    # the manifest cannot list the sources: the rebuild asks for them, then takes them
    code, _out, err = run(["--index", str(ix), "index", "--rebuild"])
    assert code == 1 and "cablesearch index --rebuild PATH" in err and "Traceback" not in err
    code, _out, err = run(["--index", str(ix), "index", "--rebuild", str(src)])
    assert code == 0, err
    assert live_ids(ix) == ids
    assert not check_index(ix).damaged


def test_index_older_than_its_manifest(
    built: tuple[Path, Path, set[str]], data_dir: Path, tmp_path: Path
) -> None:
    ix, _src, _ids = built
    old_toc = {p.name: p.read_bytes() for p in ix.glob("_MAIN_*.toc")}
    more = tmp_path / "more"
    shutil.copytree(data_dir / "html", more)
    code, _out, err = run(["--index", str(ix), "index", str(more)])
    assert code == 0, err
    for toc in ix.glob("_MAIN_*.toc"):
        toc.unlink()
    for name, data in old_toc.items():
        (ix / name).write_bytes(data)  # an older table of contents put back (a restored backup)
    line = one_damage_line(*run(["--index", str(ix), "search", "embassy"]))
    assert "older" in line or "missing" in line


def test_rebuild_keeps_other_files_and_refuses_while_a_daemon_runs(
    built: tuple[Path, Path, set[str]],
) -> None:
    ix, _src, ids = built
    (ix / "alerts.sqlite").write_bytes(b"saved searches")
    from cablesearch.daemon.client import LOCK_FILE

    daemon_lock = Flock(ix / LOCK_FILE)
    assert daemon_lock.try_acquire()
    try:
        code, _out, err = run(["--index", str(ix), "index", "--rebuild"])
    finally:
        daemon_lock.release()
    assert code == 1 and "daemon" in err and len(err.strip().splitlines()) == 1
    assert_rebuilt(ix, ids)
    assert (ix / "alerts.sqlite").read_bytes() == b"saved searches"


def test_check_on_a_sound_index(built: tuple[Path, Path, set[str]]) -> None:
    ix, _src, ids = built
    code, out, _ = run(["--index", str(ix), "check"])
    assert code == 0 and "sound" in out and f"{len(ids)} cables" in out


# a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_is_one_line_and_keeps_the_committed_index(
    small_disk: Path, data_dir: Path, tmp_path: Path
) -> None:
    ix = small_disk / "ix"
    code, _out, err = run(["--index", str(ix), "index", str(data_dir / "telegram")])
    assert code == 0, err
    before = live_ids(ix)
    # more cables than the 4 MB disk holds, made here (no ../shared needed)
    big = tmp_path / "big"
    maker = CableMaker()
    for n in range(2000):
        maker.write(big / f"{n // 500:02d}", n)
    code, out, err = run(["--index", str(ix), "index", str(big), "--commit-every", "100000"])
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no space left" in lines[0] and "Traceback" not in err + out
    index = CableIndex.open(ix, create=False)
    assert live_ids(ix) == before
    assert index.lock_holder() is None  # the failed commit was cancelled: the lock is free
    lock = WriteLock(ix)
    lock.acquire(timeout=1.0)  # another writer takes it at once
    lock.release()


def test_bytes_changed_in_place_are_found_by_their_checksum(built: tuple[Path, Path, set[str]]) -> None:
    ix, _src, ids = built
    victim = segment_file(ix, "._body_len.col")
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # a field length: still a valid value, only the checksum tells
    victim.write_bytes(bytes(data))
    report = check_index(ix)
    assert report.damaged
    assert any(victim.name in p and "checksum" in p for p in report.problems)
    assert report.affected and report.affected <= ids
    assert_rebuilt(ix, ids)


def test_unreadable_table_of_contents(built: tuple[Path, Path, set[str]]) -> None:
    ix, _src, ids = built
    for toc in ix.glob("_MAIN_*.toc"):
        data = bytearray(toc.read_bytes())
        data[len(data) // 3 : len(data) // 3 + 8] = b"\xff" * 8
        toc.write_bytes(bytes(data))
    line = one_damage_line(*run(["--index", str(ix), "stats"]))
    assert "table of contents" in line
    report = check_index(ix)
    assert report.damaged and report.affected == ids  # no segment can be read: every cable
    assert_rebuilt(ix, ids)


def test_the_web_reports_damage_met_while_serving_in_one_line(built: tuple[Path, Path, set[str]]) -> None:
    """The web server opened a sound index; bytes of a stored-records file are then changed in
    place (same size). A page that reads a damaged record answers 503 with the one damage line,
    the API its JSON error, never a 500."""
    from fastapi.testclient import TestClient

    from cablesearch.config import Config
    from cablesearch.web.app import create_app

    ix, _src, _ids = built
    victim = segment_file(ix, "._stored.col")
    with TestClient(create_app(Config(index_dir=ix)), raise_server_exceptions=False) as client:
        assert client.get("/api/stats").status_code == 200  # opened while sound
        data = bytearray(victim.read_bytes())
        for i in range(50, len(data), 199):
            data[i] ^= 0xFF
        victim.write_bytes(bytes(data))
        affected = sorted(check_index(ix).affected)
        r = client.get(f"/api/cables/{affected[0]}")
        assert r.status_code == 503, r.text
        assert "is damaged" in r.json()["error"]["message"]
        assert "cablesearch index --rebuild" in r.json()["error"]["message"]
        page = client.get(f"/cable/{affected[0]}")
        assert page.status_code == 503 and "is damaged" in page.text
