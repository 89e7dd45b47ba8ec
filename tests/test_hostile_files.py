"""Hostile files and cables.csv rows (issue 15): FIFOs, devices, symlink loops, trees deeper
than recursion (and than PATH_MAX), deeply nested HTML, a cables.csv whose first row is bad, and
the odd files a folder may hold. None may hang, eat memory or end in a traceback: each is named
in one line and the batch goes on.

Commands that would hang or eat memory if the guard were gone run in a subprocess with a
timeout, so a regression fails here instead of hanging the suite."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cablesearch.cli import main
from cablesearch.errors import ParseError
from cablesearch.parse import MAX_CABLE_BYTES, iter_cables, iter_files, parse_file, parse_text
from cablesearch.parse.files import open_regular, read_rest
from cablesearch.parse.html import MAX_DEPTH, MAX_TAGS, check_markup

GOOD = "telegram/10DOHA71.txt"
DIALECT = {"escapechar": "\\", "doublequote": False}
# Far more than any of these commands needs; only reached when a guard is gone.
HANG = 120


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, stopped (and the test failed) if it hangs."""
    return subprocess.run(
        [sys.executable, "-c", "from cablesearch.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=HANG,
    )


def errors_of(paths: list[Path]) -> tuple[list[str], list[str]]:
    """(reference IDs parsed, error lines) of iter_cables over ``paths``."""
    errors: list[ParseError] = []
    ids = [c.reference_id for c in iter_cables(paths, on_error=errors.append)]
    return ids, [str(e) for e in errors]


# --- FIFOs, devices, sockets: only regular files are read ---------------------------------------


def test_fifo_in_a_folder_is_named_and_the_rest_parsed(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    os.mkfifo(folder / "x.txt")
    shutil.copy(data_dir / GOOD, folder / "y.txt")
    done = cli_process("parse", str(folder))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: {folder / 'x.txt'}: not a regular file (a FIFO): only regular files are read; "
        "remove it or name the files"
    ]
    assert done.stdout.rstrip().endswith("1 cable parsed, 1 rejected")


def test_fifo_given_directly_and_to_the_library(tmp_path: Path) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    with pytest.raises(ParseError, match=r"x\.txt: not a regular file \(a FIFO\)"):
        open_regular(fifo)
    with pytest.raises(ParseError, match=r"not a regular file \(a FIFO\)"):
        list(parse_file(fifo))
    assert errors_of([fifo])[1] == [
        f"{fifo}: not a regular file (a FIFO): only regular files are read; remove it or name the files"
    ]


def test_symlink_to_a_device_is_never_read(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "z"
    folder.mkdir()
    (folder / "a.txt").symlink_to("/dev/zero")
    shutil.copy(data_dir / GOOD, folder / "b.txt")
    done = cli_process("parse", str(folder))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: {folder / 'a.txt'}: not a regular file (a character device): only regular files "
        "are read; remove it or name the files"
    ]
    assert "1 cable parsed, 1 rejected" in done.stdout


def test_index_skips_fifo_and_device_and_stores_the_rest(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    os.mkfifo(folder / "x.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    shutil.copy(data_dir / GOOD, folder / "y.txt")
    done = cli_process("--index", str(tmp_path / "ix"), "index", str(folder))
    assert done.returncode == 1, done.stderr
    rejected = sorted(line for line in done.stderr.splitlines() if line.startswith("rejected:"))
    assert rejected == [
        f"rejected: {folder / 'x.txt'}: not a regular file (a FIFO): only regular files are read; "
        "remove it or name the files",
        f"rejected: {folder / 'zero.txt'}: not a regular file (a character device): only regular "
        "files are read; remove it or name the files",
    ]
    assert "1 added" in done.stdout


def test_socket_is_named(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.txt"
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(path))
        except OSError as exc:  # a tmp_path too long for a socket address
            pytest.skip(f"cannot bind a socket here: {exc}")
        assert errors_of([tmp_path])[1] == [
            f"{path}: not a regular file (a socket): only regular files are read; remove it or name the files"
        ]


# --- the size cap counts bytes read ------------------------------------------------------------


def test_size_cap_counts_bytes_read_not_the_size_claimed() -> None:
    head = b"UNCLAS DOHA 000071\n"
    cap = 1000
    assert read_rest(io.BytesIO(b"x" * (cap - len(head))), head, cap, "f") == head + b"x" * (cap - len(head))
    with pytest.raises(
        ParseError, match=r"^f: too large for a cable file \(over .* read\) and not a cables\.csv$"
    ):
        read_rest(io.BytesIO(b"x" * (cap - len(head) + 1)), head, cap, "f")


def test_a_file_claiming_size_zero_is_cut_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc files are regular files whose size is given as 0, whatever they hold."""
    maps = Path("/proc/self/maps")
    if not maps.exists() or maps.stat().st_size != 0:
        pytest.skip("no /proc here")
    import cablesearch.parse as parse

    monkeypatch.setattr(parse, "MAX_CABLE_BYTES", 200)
    with pytest.raises(ParseError, match=r"too large for a cable file \(over .* read\)"):
        list(parse_file(maps))
    assert MAX_CABLE_BYTES == 32 * 1024 * 1024


# --- folder trees deeper than recursion and than PATH_MAX --------------------------------------


def _deep_tree(top: Path, levels: int, file_text: str) -> None:
    """``top/d/d/.../d/10DOHA71.txt``, ``levels`` folders deep, made through folder descriptors
    (absolute paths that deep exceed PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("10DOHA71.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, file_text.encode("utf-8"))
        os.close(out)
    finally:
        os.close(fd)


def _remove_deep_tree(top: Path) -> None:
    """Take ``top/d/d/...`` apart from the top, lifting each inner folder up (short paths only;
    shutil.rmtree recurses and fails that deep)."""
    folder, lifted = top / "d", top / "lifted"
    while folder.exists():
        for entry in os.scandir(folder):
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        if (folder / "d").exists():
            os.rename(folder / "d", lifted)
            os.rmdir(folder)
            os.rename(lifted, folder)
        else:
            os.rmdir(folder)


@pytest.fixture
def deep() -> object:
    """Makes deep trees, in a folder of their own outside pytest's tmp_path: pytest (this run's
    or another's on the same machine) removes old tmp_path folders with shutil.rmtree, which
    recurses and would fail on a tree this deep. Each is taken apart at the end of the test."""
    made: list[Path] = []
    base = Path(tempfile.mkdtemp(prefix="cablesearch-deep-"))

    def make(levels: int, text: str) -> Path:
        top = base / f"deep{levels}"
        top.mkdir()
        made.append(top)
        _deep_tree(top, levels, text)
        return top

    yield make
    for top in made:
        _remove_deep_tree(top)
    shutil.rmtree(base)


@pytest.mark.slow
def test_tree_deeper_than_the_recursion_limit_is_walked(deep, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    levels = sys.getrecursionlimit() + 200
    top = deep(levels, (data_dir / GOOD).read_text(encoding="utf-8"))
    (found,) = iter_files([top])
    assert found.name == "10DOHA71.txt" and found.relative_to(top).parts.count("d") == levels
    result = cli("parse", str(top))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip().endswith("1 cable parsed")


@pytest.mark.slow
def test_tree_deeper_than_path_max_gets_a_clear_line(deep, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path_max = os.pathconf("/", "PC_PATH_MAX")
    top = deep(path_max // 2 + 10, (data_dir / GOOD).read_text(encoding="utf-8"))
    result = cli("parse", str(top))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {str(top)[:50]}")
    assert line.endswith(
        "folders deep): folder cannot be listed: path longer than the system allows (PATH_MAX): "
        "move the files to a shorter path"
    )
    assert len(line) < 400
    assert "0 cables parsed, 1 rejected" in result.stdout


def test_walk_keeps_name_order_depth_first(tmp_path: Path) -> None:
    for rel in ("b/2.txt", "b/a/1.txt", "a.txt", "c.txt", "a/z.txt", "a/b/y.txt", "B.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    walked = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    expected = []
    for root, dirs, files in os.walk(tmp_path):  # the order of today's walk
        dirs.sort()
        expected += [(Path(root) / f).relative_to(tmp_path).as_posix() for f in sorted(files)]
    assert walked == expected == ["B.txt", "a.txt", "c.txt", "a/z.txt", "a/b/y.txt", "b/2.txt", "b/a/1.txt"]


def test_unreadable_subfolder_is_named(tmp_path: Path, data_dir: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(data_dir / GOOD, tmp_path / "10DOHA71.txt")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who can read any folder")
        ids, errors = errors_of([tmp_path])
        assert ids == ["10DOHA71"]
        assert errors == [f"{locked}: folder cannot be listed: permission denied"]
        assert list(iter_files([tmp_path])) == [tmp_path / "10DOHA71.txt"]  # no on_error: skipped
    finally:
        locked.chmod(0o755)


# --- symlinks ----------------------------------------------------------------------------------


def test_symlink_loop_is_called_a_loop(tmp_path: Path, data_dir: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ParseError, match=r"loop: a symlink loop"):
        list(iter_files([loop]))
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").symlink_to(folder / "b.txt")
    (folder / "b.txt").symlink_to(folder / "a.txt")
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    shutil.copy(data_dir / GOOD, folder / "c.txt")
    ids, errors = errors_of([loop, folder])
    assert ids == ["10DOHA71"]
    reason = "a symlink loop: the symlinks in this path point at each other; remove or fix them"
    assert errors == [
        f"{loop}: {reason}",
        f"{folder / 'a.txt'}: {reason}",
        f"{folder / 'b.txt'}: {reason}",
        f"{folder / 'gone.txt'}: a broken symlink: what it points to does not exist",
    ]


def test_symlinked_folder_is_not_followed(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "real").mkdir()
    shutil.copy(data_dir / GOOD, tmp_path / "real" / "10DOHA71.txt")
    (tmp_path / "real" / "up").symlink_to(tmp_path, target_is_directory=True)  # a loop if followed
    assert list(iter_files([tmp_path])) == [tmp_path / "real" / "10DOHA71.txt"]


# --- deeply nested HTML ------------------------------------------------------------------------


def test_deeply_nested_html_is_refused_before_parsing(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "nest.html"
    path.write_text("<html><body>" + "<div>" * 200_000 + "x" + "</div>" * 200_000 + "</body></html>")
    shutil.copy(data_dir / GOOD, tmp_path / "ok.txt")
    ids, errors = errors_of([tmp_path])
    assert ids == ["10DOHA71"]
    assert errors == [f"{path}: HTML nested deeper than {MAX_DEPTH} levels: not a cable page"]


def test_html_limits_count_what_nests(data_dir: Path) -> None:
    page = (data_dir / "html" / "10DOHA71.html").read_text(encoding="utf-8")
    at = page.index("<pre")
    # unclosed <p>, <li>, <br> and comments do not nest; they pass the check and the page parses
    flat = "<p>x" * (MAX_DEPTH * 2) + "<li>" * MAX_DEPTH + "<br>" * MAX_DEPTH + "<!-- <div> -->" * MAX_DEPTH
    assert parse_text(page[:at] + flat + page[at:], source="s").reference_id == "10DOHA71"
    check_markup("<div>" * MAX_DEPTH + "<script>" + "<div>" * 5000 + "</script>", "s")
    with pytest.raises(ParseError, match=f"^s: HTML nested deeper than {MAX_DEPTH} levels"):
        check_markup("<DIV>" * (MAX_DEPTH + 1), "s")
    with pytest.raises(ParseError, match=f"^s: HTML with more than {MAX_TAGS:,} tags: not a cable page$"):
        check_markup("<br>" * (MAX_TAGS + 1), "s")


def test_real_cable_pages_pass_the_html_limits(data_dir: Path, shared_corpus: Path) -> None:
    pages = sorted((data_dir / "html").glob("*.html")) + sorted((shared_corpus / "html").rglob("*.html"))
    assert len(pages) > 400
    for page in pages:
        check_markup(page.read_text(encoding="utf-8", errors="replace"), str(page))


# --- the per-file time limit -------------------------------------------------------------------


def test_a_parse_past_the_time_limit_is_stopped(data_dir: Path) -> None:
    import signal

    text = (data_dir / GOOD).read_text(encoding="utf-8")
    big = text + "\n".join(f"{n}. (C) paragraph {n} of filler text." for n in range(200_000))
    with pytest.raises(ParseError, match=r"^big\.txt: took longer than 0\.001 s to parse"):
        parse_text(big, source="big.txt", seconds=0.001)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert parse_text(text, source="t").reference_id == "10DOHA71"  # the default limit lets it be


def test_time_limit_is_off_outside_the_main_thread(data_dir: Path) -> None:
    text = (data_dir / GOOD).read_text(encoding="utf-8") * 20
    got: list[str] = []
    worker = threading.Thread(
        target=lambda: got.append(parse_text(text, source="t", seconds=0.001).reference_id)
    )
    worker.start()
    worker.join(HANG)
    assert got == ["10DOHA71"]


# --- cables.csv whose first row is bad ---------------------------------------------------------


def _rows(data_dir: Path, count: int) -> list[list[str]]:
    with open(data_dir / "cables.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f, **DIALECT))[:count]


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, **DIALECT).writerows(rows)


@pytest.mark.parametrize(
    "column, value, reason",
    [
        (0, "abc", "running number 'abc' is not a number: the row is not in the cables.csv layout"),
        (0, "", "running number '' is not a number: the row is not in the cables.csv layout"),
        (1, "99/99/99999 25:61", "created date '99/99/99999 25:61' is not a date (MM/DD/YYYY HH:MM)"),
        (1, "12/28/1966 25:61", "created date '12/28/1966 25:61' is not a date (MM/DD/YYYY HH:MM)"),
    ],
)
def test_bad_first_row_is_rejected_and_the_rest_read(
    column: int, value: str, reason: str, data_dir: Path, tmp_path: Path
) -> None:
    rows = _rows(data_dir, 20)
    rows[0][column] = value
    path = tmp_path / "cables.csv"
    _write_rows(path, rows)
    ids, errors = errors_of([path])
    assert ids == [row[2] for row in rows[1:]]
    assert len(errors) == 1 and errors[0].startswith(f"{path}, row 1: {reason}")
    result = cli("parse", str(path))
    assert result.exit_code == 1
    assert result.stdout.rstrip().endswith("19 cables parsed, 1 rejected")
    assert result.stderr.splitlines() == [f"Error: {errors[0]}"]


def test_bad_first_row_under_another_name_is_still_a_cables_csv(data_dir: Path, tmp_path: Path) -> None:
    rows = _rows(data_dir, 3)
    rows[0][0] = "x1"
    path = tmp_path / "export.txt"
    _write_rows(path, rows)
    ids, errors = errors_of([path])
    assert ids == [rows[1][2], rows[2][2]]
    assert [e.split(":", 1)[0] for e in errors] == [f"{path}, row 1"]


def test_one_row_named_csv_with_a_bad_number_is_a_rejected_row(data_dir: Path, tmp_path: Path) -> None:
    rows = _rows(data_dir, 1)
    rows[0][0] = "#"
    path = tmp_path / "one.csv"
    _write_rows(path, rows)
    ids, errors = errors_of([path])
    assert ids == []
    assert errors[0].startswith(f"{path}, row 1: running number '#' is not a number")


def test_index_of_a_csv_with_a_bad_first_row_stores_the_rest(data_dir: Path, tmp_path: Path) -> None:
    rows = _rows(data_dir, 20)
    rows[0][1] = "99/99/99999 25:61"
    path = tmp_path / "src" / "cables.csv"
    path.parent.mkdir()
    _write_rows(path, rows)
    result = cli("--index", str(tmp_path / "ix"), "index", str(path.parent))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"rejected: {path}, row 1: created date '99/99/99999 25:61' is not a date (MM/DD/YYYY HH:MM): "
        "the row is not in the cables.csv layout; fix or remove it"
    ]
    assert "19 added" in result.stdout


# --- other odd files ---------------------------------------------------------------------------


def test_odd_files_are_named_and_never_stop_the_batch(tmp_path: Path, data_dir: Path) -> None:
    text = (data_dir / GOOD).read_text(encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 400)
    (tmp_path / "nul.txt").write_bytes(b"UNCLAS DOHA 000071\n\x00\x00 SUBJECT: X\n")
    (tmp_path / "long.txt").write_bytes(b"word " * 2_000_000)  # 10 MB on one line
    (tmp_path / "folder.txt").mkdir()  # a folder named like a file: walked into
    (tmp_path / "folder.txt" / "10DOHA71.txt").write_text(text, encoding="utf-8")
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))  # as Notepad saves it
    errors: list[ParseError] = []
    cables = list(iter_cables([tmp_path], on_error=errors.append))
    assert [(c.reference_id, Path(c.source).name) for c in cables] == [
        ("10DOHA71", "utf16.txt"),
        ("10DOHA71", "10DOHA71.txt"),  # in folder.txt, walked after the files beside it
    ]
    assert "UTF-16 text (as Windows tools save it): read as UTF-16" in cables[0].warnings
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'empty.txt'}: empty file",
        f"{tmp_path / 'garbage.bin'}: binary file (NUL bytes), not a cable",
        f"{tmp_path / 'long.txt'}: not a cable: no telegram header, classification line, TAGS or "
        "SUBJECT line found",
        f"{tmp_path / 'nul.txt'}: binary file (NUL bytes), not a cable",
    ]
    with pytest.raises(ParseError, match="is a folder, not a file"):
        list(parse_file(tmp_path / "folder.txt"))


def test_utf16_without_a_byte_order_mark(data_dir: Path) -> None:
    text = (data_dir / GOOD).read_text(encoding="utf-8")
    for codec in ("utf-16-le", "utf-16-be"):
        cable = parse_text(text.encode(codec), source="s")
        assert cable.reference_id == "10DOHA71"
        assert "UTF-16 text (as Windows tools save it): read as UTF-16" in cable.warnings


def test_unreadable_file_is_named(tmp_path: Path, data_dir: Path) -> None:
    victim = tmp_path / "locked.txt"
    shutil.copy(data_dir / GOOD, victim)
    victim.chmod(0)
    try:
        if os.access(victim, os.R_OK):
            pytest.skip("running as a user who can read any file")
        assert errors_of([victim])[1] == [f"{victim}: permission denied"]
    finally:
        victim.chmod(0o644)


def test_a_csv_field_past_the_cap_is_a_bad_row_not_a_memory_sink(data_dir: Path, tmp_path: Path) -> None:
    from cablesearch.parse.csvfile import MAX_FIELD_BYTES

    rows = _rows(data_dir, 4)
    path = tmp_path / "cables.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL, **DIALECT)
        writer.writerows(rows[:2])
        f.write('"3","12/28/1966 18:06","66X1","Embassy","UNCLASSIFIED","","' + "A" * (MAX_FIELD_BYTES + 1))
        f.write('","body"\n')
        writer.writerows(rows[2:])
    ids, errors = errors_of([path])
    assert ids == [row[2] for row in rows]
    assert errors == [f"{path}, row 3: a field longer than 32 MB: no cable is (a quote left open?)"]
