"""`cablesearch index`: output, exit codes, rejected files, the lock message and the progress
display on a terminal."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cablesearch.cli import main
from cablesearch.index.store import CableIndex

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def src(tmp_path: Path, data_dir: Path) -> Path:
    out = tmp_path / "src"
    shutil.copytree(data_dir / "telegram", out)
    return out


def test_index_then_reindex(tmp_path: Path, src: Path) -> None:
    ix = str(tmp_path / "ix")
    code, out, err = run(["--index", ix, "index", str(src)])
    assert code == 0, err
    assert out.startswith("41 added, 0 updated, 0 unchanged, 0 removed, 0 rejected (41 files, ")
    assert "Traceback" not in err
    code, out, _ = run(["--index", ix, "index", str(src)])
    assert code == 0
    assert out.startswith("0 added, 0 updated, 41 unchanged, 0 removed, 0 rejected")
    (src / "10MADRID49.txt").unlink()
    code, out, _ = run(["--index", ix, "index", str(src), "--prune"])
    assert code == 0
    assert out.startswith("0 added, 0 updated, 40 unchanged, 1 removed, 0 rejected")


def test_index_env_location(tmp_path: Path, src: Path) -> None:
    result = CliRunner(env={"CABLESEARCH_INDEX": str(tmp_path / "envix")}).invoke(
        main, ["index", str(src / "10MADRID49.txt")]
    )
    assert result.exit_code == 0, result.stderr
    assert CableIndex.open(tmp_path / "envix", create=False).doc_count() == 1


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("notes.txt", "shopping list: milk, eggs\n", "not a cable"),
        ("empty.txt", "", "empty"),
        ("binary.txt", "\x00\x01\x02 binary \x00", ""),
    ],
)
def test_rejected_files_are_named_and_exit_1(
    tmp_path: Path, src: Path, name: str, content: str, reason: str
) -> None:
    (src / name).write_text(content, encoding="utf-8")
    code, out, err = run(["--index", str(tmp_path / "ix"), "index", str(src)])
    assert code == 1
    assert out.startswith("41 added, 0 updated, 0 unchanged, 0 removed, 1 rejected")
    lines = [line for line in err.splitlines() if line.startswith("rejected: ")]
    assert len(lines) == 1 and str(src / name) in lines[0]
    assert reason.lower() in lines[0].lower()
    assert "Traceback" not in err


def test_missing_path(tmp_path: Path) -> None:
    code, out, err = run(["--index", str(tmp_path / "ix"), "index", str(tmp_path / "nope")])
    assert code == 1
    assert f"rejected: {tmp_path / 'nope'}: no such file or folder" in err
    assert "0 added" in out


def test_locked_index_waits_then_fails_with_one_line(tmp_path: Path, src: Path) -> None:
    ix = tmp_path / "ix"
    CableIndex.open(ix)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import sys
            from cablesearch.index.store import CableIndex
            with CableIndex.open(sys.argv[1]).writer(timeout=0):
                print("locked", flush=True)
                sys.stdin.readline()
        """),
            str(ix),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, out, err = run(["--index", str(ix), "index", str(src), "--lock-timeout", "0.3"])
        assert code == 1
        lines = err.strip().splitlines()
        assert lines[0] == f"waiting for the index lock held by pid {holder.pid} (up to 0.3s)..."
        assert lines[-1].startswith(f"Error: the index at {ix} is locked by pid {holder.pid}")
        assert "lock_timeout" in lines[-1]
        assert "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    code, out, _ = run(["--index", str(ix), "index", str(src)])
    assert code == 0 and out.startswith("41 added")


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path, src: Path) -> None:
    # not a terminal (CliRunner): no progress text at all
    code, _, err = run(["--index", str(tmp_path / "a"), "index", str(src)])
    assert code == 0 and "cables/s" not in err and "ETA" not in err
    # a real terminal: the bar with rate and ETA
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-c",
                "from cablesearch.cli import main; main()",
                "--index",
                str(tmp_path / "b"),
                "index",
                str(src),
                "--procs",
                "1",
            ],
        )
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "/s" in text and "ETA" in text and "cables" in text
    assert "41 added, 0 updated, 0 unchanged, 0 removed, 0 rejected" in text


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_committed(tmp_path: Path, data_dir: Path) -> None:
    from test_sync import assert_manifest_matches_index, default_sigint, write_big_csv

    src = tmp_path / "src"
    src.mkdir()
    write_big_csv(data_dir, src / "cables.csv", 15)
    ix = tmp_path / "ix"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cablesearch.cli import main; main()",
            "--index",
            str(ix),
            "index",
            str(src),
            "--commit-every",
            "20",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # a suite started with SIGINT ignored (nohup, &) passes that on
    )
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            count = CableIndex.open(ix, create=False).doc_count()
        except Exception:
            count = 0
        if count >= 40:
            break
        time.sleep(0.05)  # polling for a condition, not waiting for a fixed time
    assert count >= 40 and proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in err
    assert CableIndex.open(ix, create=False).doc_count() >= count
    assert_manifest_matches_index(ix)


@pytest.mark.slow
def test_paths_are_handed_to_a_running_daemon(tmp_path: Path, data_dir: Path) -> None:
    from cablesearch.daemon.client import find_running

    watched = tmp_path / "watched"
    watched.mkdir()
    ix = tmp_path / "ix"
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cablesearch.cli import main; main()",
            "--index",
            str(ix),
            "watch",
            str(watched),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while find_running(ix) is None:
            assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)  # polling for a condition
        outside = tmp_path / "elsewhere"
        shutil.copytree(data_dir / "telegram", outside)
        code, out, err = run(["--index", str(ix), "index", str(outside)])
        assert code == 0, err
        assert f"An indexing daemon (pid {daemon.pid}) keeps {ix} current" in err
        assert out.startswith("41 added, 0 updated, 0 unchanged, 0 removed, 0 rejected")
        assert CableIndex.open(ix, create=False).doc_count() == 41
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
