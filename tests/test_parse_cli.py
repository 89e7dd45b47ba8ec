"""`cablesearch parse`: JSON lines with exactly the documented keys, a readable summary, and bad
input named on stderr in one line each while the rest of the batch is still parsed."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cablesearch.cli import main
from cablesearch.model import FORMATS, JSON_KEYS

GOOD = "telegram/10DOHA71.txt"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["parse", *args], catch_exceptions=False)


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_json_lines_have_exactly_the_documented_keys(data_dir: Path) -> None:
    result = run(
        str(data_dir / "html"),
        str(data_dir / "page" / "10DOHA71.txt"),
        str(data_dir / "cables.csv"),
        str(data_dir / GOOD),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    objects = _json_lines(result.stdout)
    assert len(objects) == 41 + 1 + 41 + 1
    for obj in objects:
        assert tuple(obj) == JSON_KEYS
        assert obj["format"] in FORMATS
        for key in ("created", "released"):
            assert obj[key] is None or (len(obj[key]) == 16 and obj[key][10] == "T")
    doha = [o for o in objects if o["reference_id"] == "10DOHA71"]
    assert {o["format"] for o in doha} == set(FORMATS)
    csv_sources = [o["source"] for o in objects if o["format"] == "csv"]
    assert csv_sources[0] == f"{data_dir / 'cables.csv'}#row=1"
    assert csv_sources[-1] == f"{data_dir / 'cables.csv'}#row=41"


def test_readable_summary(data_dir: Path) -> None:
    result = run(str(data_dir / "page" / "10DOHA71.txt"))
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("10DOHA71  CONFIDENTIAL  Embassy Doha\n")
    assert "created 2010-02-24 09:09   released 2010-11-28 18:06   [page]" in out
    assert "SENATOR KERRY'S MEETING WITH QATAR'S PRIME MINISTER" in out
    assert out.rstrip().endswith("1 cable parsed")


def test_folder_is_recursive_and_skips_partial_and_hidden_files(data_dir: Path, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    shutil.copy(data_dir / GOOD, deep / "10DOHA71.txt")
    for junk in (
        ".hidden.txt",
        "10DOHA71.txt.part",
        "x.crdownload",
        "10DOHA71.txt~",
        ".#10DOHA71.txt",
        ".10DOHA71.txt.swp",
    ):
        (deep / junk).write_bytes(b"\x00garbage")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_bytes(b"\x00")
    result = run(str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    assert [o["reference_id"] for o in _json_lines(result.stdout)] == ["10DOHA71"]


# --- bad input: one line on stderr each, the rest still parsed, exit status 1 -----------------


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _blank(p: Path) -> None:
    p.write_bytes(b"  \n\n \t\n")


def _binary(p: Path) -> None:
    p.write_bytes(bytes(range(256)) * 8)


def _controls(p: Path) -> None:
    p.write_bytes(b"\x01\x02\x03\x04\x05ABC\x06\x07\x08" * 50)


def _html_no_cable(p: Path) -> None:
    p.write_text(
        "<!DOCTYPE html><html><head><title>Cablegate</title></head>"
        "<body><h1>Browse latest releases</h1><p>Nothing here.</p></body></html>"
    )


def _html_truncated(src: Path) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        data = src.read_bytes()
        p.write_bytes(data[: data.index(b"</pre>") + 2000])

    return make


def _page_truncated(p: Path) -> None:
    p.write_text(
        "Viewing cable 10DOHA71, X\nReference ID | Created | Released | Classification | Origin |\n"
        "---|---|---|---|---|\n"
    )


def _telegram_header_only(p: Path) -> None:
    p.write_text(
        "VZCZCXRO1707\nPP RUEHBC\nDE RUEHDO #0071/01 0550944\nZNY CCCCC ZZH\n"
        "P 240944Z FEB 10\nFM AMEMBASSY DOHA\nTO RUEHC/SECSTATE WASHDC PRIORITY 9704\n"
    )


def _utf8_cut(p: Path) -> None:
    p.write_bytes("UNCLAS DOHA 000071\n\nSUBJECT: café résumé – naïve ".encode() + "€".encode()[:2])


def _csv_cut(p: Path) -> None:
    p.write_text(
        '"1","02/24/2010 09:09","10DOHA71","Embassy Doha","CONFIDENTIAL","","P 240944Z FEB 10",'
        '"UNCLAS DOHA 000071\n\nSUBJECT: TEST\n\n1. Text that never '
    )


def _prose(p: Path) -> None:
    p.write_text("Dear all,\n\nthe minutes of yesterday's meeting are attached.\n\nRegards\n")


BAD = [
    ("empty.txt", _empty, "empty file"),
    ("blank.txt", _blank, "empty file"),
    ("blob.bin", _binary, "binary file (NUL bytes), not a cable"),
    ("controls.txt", _controls, "binary file (control characters), not a cable"),
    ("index.html", _html_no_cable, "HTML page without a cable (no table of class 'cable')"),
    ("cut-page.txt", _page_truncated, "truncated file: the page ends after the cable table's header"),
    ("cut-telegram.txt", _telegram_header_only, "truncated file: the telegram has a header but no body"),
    ("cut-utf8.txt", _utf8_cut, "truncated file: it ends in the middle of a UTF-8 character"),
    ("prose.txt", _prose, "not a cable: no telegram header, classification line, TAGS or SUBJECT line found"),
]


@pytest.mark.parametrize("name,make,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_file_is_named_and_the_batch_goes_on(
    name: str, make: Callable[[Path], None], reason: str, data_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / name
    make(bad)
    result = run(str(data_dir / GOOD), str(bad), str(data_dir / "html" / "09BAKU744.html"), "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}: {reason}\n"
    assert [o["reference_id"] for o in _json_lines(result.stdout)] == ["10DOHA71", "09BAKU744"]


def test_truncated_html_page(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "10DOHA71.html"
    _html_truncated(data_dir / "html" / "10DOHA71.html")(bad)
    result = run(str(bad), str(data_dir / GOOD), "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}: truncated file: the page ends before the end of the cable\n"
    assert [o["format"] for o in _json_lines(result.stdout)] == ["telegram"]


def test_missing_path(data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = run(str(missing), str(data_dir / GOOD), "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing}: no such file or folder\n"
    assert len(_json_lines(result.stdout)) == 1


def test_csv_row_with_wrong_column_count(data_dir: Path, tmp_path: Path) -> None:
    dialect = {"escapechar": "\\", "doublequote": False}
    with open(data_dir / "cables.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, **dialect))
    rows[1] = rows[1][:5]
    bad = tmp_path / "cables.csv"
    with open(bad, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, **dialect).writerows(rows)
    result = run(str(bad), "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}, row 2: expected 8 columns, found 5\n"
    objects = _json_lines(result.stdout)
    assert len(objects) == 40
    assert objects[0]["source"].endswith("#row=1") and objects[1]["source"].endswith("#row=3")


def test_truncated_csv(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "cables.csv"
    _csv_cut(bad)
    result = run(str(bad), str(data_dir / GOOD), "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}, row 1: truncated file: it ends inside a quoted field\n"
    assert len(_json_lines(result.stdout)) == 1


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_cp1252_and_latin1_bytes_are_read_with_a_warning(
    encoding: str, data_dir: Path, tmp_path: Path
) -> None:
    text = (
        (data_dir / GOOD)
        .read_text(encoding="utf-8")
        .replace("SENATOR KERRY'S MEETING", "SENATOR KERRY'S RENCONTRE À DOHA, CAFÉ MEETING")
    )
    path = tmp_path / "10DOHA71.txt"
    path.write_bytes(text.encode(encoding))
    result = run(str(path), "--json")
    assert result.exit_code == 0, result.stderr
    (obj,) = _json_lines(result.stdout)
    assert "RENCONTRE À DOHA, CAFÉ MEETING" in obj["subject"]
    assert any("not valid UTF-8" in w for w in obj["warnings"])


@pytest.mark.slow
def test_several_bad_inputs_in_one_batch_exit_1_without_traceback(data_dir: Path, tmp_path: Path) -> None:
    """The installed command, in a real process: every bad input one line, no traceback."""
    empty, blob = tmp_path / "empty.txt", tmp_path / "blob.bin"
    _empty(empty)
    _binary(blob)
    missing = tmp_path / "missing.txt"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cablesearch.cli import main; main()",
            "parse",
            str(empty),
            str(data_dir / GOOD),
            str(blob),
            str(missing),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"Error: {empty}: empty file",
        f"Error: {blob}: binary file (NUL bytes), not a cable",
        f"Error: {missing}: no such file or folder",
    ]
    assert "Traceback" not in proc.stderr
    assert [json.loads(line)["reference_id"] for line in proc.stdout.splitlines()] == ["10DOHA71"]


def test_no_path_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["parse"])
    assert result.exit_code == 2
    assert "Missing argument 'PATHS...'" in result.stderr


def test_procs_option_gives_the_same_output_in_order(data_dir: Path) -> None:
    one = run(str(data_dir / "cables.csv"), "--json", "--procs", "1")
    two = run(str(data_dir / "cables.csv"), "--json", "--procs", "2")
    assert one.exit_code == two.exit_code == 0
    assert two.stdout == one.stdout and len(one.stdout.splitlines()) == 41
