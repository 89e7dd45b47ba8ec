"""The container side of parsing: form detection by content, the four readers, decoding, folder
walks and the library entry points."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from cablesearch.errors import ParseError
from cablesearch.parse import is_skipped, iter_cables, iter_files, parse_file, parse_text
from cablesearch.parse.csvfile import cable_from_row, iter_csv
from cablesearch.parse.detect import detect
from cablesearch.parse.page import body_start

DIALECT = {"escapechar": "\\", "doublequote": False}


def _one(path: Path) -> object:
    (cable,) = list(parse_file(path))
    return cable


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, **DIALECT))


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, **DIALECT).writerows(rows)


# --- detection by content --------------------------------------------------------------------


@pytest.mark.parametrize(
    "form,src,disguise",
    [
        ("html", "html/10DOHA71.html", "10DOHA71.txt"),
        ("page", "page/10DOHA71.txt", "10DOHA71.html"),
        ("telegram", "telegram/10DOHA71.txt", "cables.csv"),
        ("csv", "cables.csv", "export.html"),
    ],
)
def test_form_is_detected_by_content_not_name(
    form: str, src: str, disguise: str, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / disguise
    shutil.copy(data_dir / src, path)
    cables = list(parse_file(path))
    assert {c.format for c in cables} == {form}
    assert (
        cables[0].reference_id == "66BUENOSAIRES2481"
        if form == "csv"
        else cables[0].reference_id == "10DOHA71"
    )


def test_detect_on_text() -> None:
    assert detect("<?xml version='1.0'?>\n<html><body>x</body></html>") == "html"
    assert detect("  \n<div class='pane'><table class='cable'></table></div>") == "html"
    assert detect('"1","12/28/1966 18:06","66BUENOSAIRES2481","Embassy Buenos Aires"') == "csv"
    assert detect("chrome\nReference ID | Created | Released | Classification | Origin |\n") == "page"
    assert detect("VZCZCXYZ0000\nP 240944Z FEB 10\n\nUNCLAS DOHA 000071\n") == "telegram"
    assert detect("a < b and c > d, said the cable") == "telegram"


# --- html ------------------------------------------------------------------------------------


def test_html_reader(data_dir: Path) -> None:
    cable = _one(data_dir / "html" / "08MOSCOW2319.html")
    assert cable.format == "html"
    assert cable.articles == ["http://www.spiegel.de/"]
    assert cable.released is not None and cable.released.strftime("%Y-%m-%d %H:%M") == "2010-12-01 21:09"
    assert "¶" not in cable.body and "<a" not in cable.body and "&#x000A;" not in cable.body
    assert "\n" in cable.header and "\n" in cable.body
    assert cable.tags and all(" " not in t for t in cable.tags)


def test_html_entities_are_unescaped(tmp_path: Path, data_dir: Path) -> None:
    text = (data_dir / "html" / "10DOHA71.html").read_text(encoding="utf-8")
    text = text.replace(
        "Senator John Kerry (D-MA)", "Senator John Kerry &amp; &quot;staff&quot; &lt;D-MA&gt;"
    )
    cable = parse_text(text, source="doha.html")
    assert 'Senator John Kerry & "staff" <D-MA>' in cable.body


def test_html_without_cable_table_is_no_cable() -> None:
    with pytest.raises(ParseError, match="HTML page without a cable"):
        parse_text("<html><body><table><tr><td>x</td></tr></table></body></html>", source="x.html")


# --- page ------------------------------------------------------------------------------------


def test_page_reader_matches_html_header(data_dir: Path) -> None:
    page = _one(data_dir / "page" / "09STATE15113.txt")
    html = _one(data_dir / "html" / "09STATE15113.html")
    assert page.format == "page"
    assert [line.strip() for line in page.header.split("\n") if line.strip()] == [
        line.strip() for line in html.header.split("\n") if line.strip()
    ]
    assert (page.reference_id, page.created, page.released, page.classification, page.origin) == (
        html.reference_id,
        html.created,
        html.released,
        html.classification,
        html.origin,
    )


def test_page_body_start() -> None:
    lines = [
        "VZCZCXRO1707",
        "P 240944Z FEB 10",
        "FM AMEMBASSY DOHA",
        "INFO RUCNIRA/IRAN COLLECTIVE",
        "SS E C R E T SECTION 01 OF 04 DOHA 000071",
        "SIPDIS",
    ]
    assert body_start(lines) == 4
    assert (
        body_start(
            [
                "CONFIDENTIAL",
                "PAGE 01 CAPE T 00097 01 OF 03 182017Z",
                "R 171512Z JAN 90",
                "C O N F I D E N T I A L SECTION 01 OF 03 CAPE TOWN 00097",
            ]
        )
        == 3
    )
    assert (
        body_start(
            [
                "This record is a partial extract of the original cable.",
                "080857Z Jul 05",
                "C O N F I D E N T I A L PARIS 004760",
            ]
        )
        == 2
    )
    assert body_start(["Friday, 21 September 2007, 10:08", "C O N F I D E N T I A L ISLAMABAD 004085"]) == 0
    assert body_start(["RUEHKH/AMEMBASSY KHARTOUM 0002", ">", "12/16/2009 14:15"]) == 1


def test_page_with_bad_table_row(tmp_path: Path) -> None:
    text = (
        "Reference ID | Created | Released | Classification | Origin |\n---|---|---|---|---|\n"
        "10DOHA71 | 2010-02-24 09:09 | CONFIDENTIAL |\nUNCLAS DOHA 000071\n"
    )
    with pytest.raises(ParseError) as err:
        parse_text(text, source="p.txt")
    assert str(err.value) == "p.txt, line 3: the cable table's row has 3 cells, expected 5"


# --- bare telegram -----------------------------------------------------------------------------


def _doha(data_dir: Path) -> str:
    return (data_dir / "telegram" / "10DOHA71.txt").read_text(encoding="utf-8")


def test_telegram_with_metadata_lines(data_dir: Path) -> None:
    meta = (
        "Reference ID: 10DOHA71\nSubject: SENATOR KERRY'S MEETING WITH QATAR'S PRIME MINISTER\n"
        "Date: 2010-02-24 09:09\nClassification: CONFIDENTIAL\nOrigin: Embassy Doha\n\n"
    )
    cable = parse_text(meta + _doha(data_dir), source="t.txt")
    assert cable.format == "telegram"
    assert (cable.reference_id, cable.classification, cable.origin) == (
        "10DOHA71",
        "CONFIDENTIAL",
        "Embassy Doha",
    )
    assert cable.created is not None and cable.created.strftime("%Y-%m-%d %H:%M") == "2010-02-24 09:09"
    assert cable.subject.startswith("SENATOR KERRY'S MEETING")
    assert cable.header.startswith("VZCZCXRO1707")


def test_headerless_telegram_takes_its_id_from_the_file_name(data_dir: Path, tmp_path: Path) -> None:
    body = _doha(data_dir).split("\n\n", 1)[1]
    path = tmp_path / "10DOHA71.txt"
    path.write_text(body, encoding="utf-8")
    cable = _one(path)
    assert cable.header == ""
    assert cable.reference_id == "10DOHA71"
    assert cable.origin == "Embassy Doha"
    assert cable.tags == ["PREL", "KWBG", "KPAL", "IR", "QA"]
    assert "reference ID from the file name: 10DOHA71 (the text gives no year)" in cable.warnings


def test_file_name_never_overrides_the_text(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "09STATE1.txt"
    path.write_text(_doha(data_dir), encoding="utf-8")
    assert _one(path).reference_id == "10DOHA71"
    unnamed = parse_text(_doha(data_dir).split("\n\n", 1)[1], source="x", name="notes.txt")
    assert unnamed.reference_id == ""


def test_crlf_bom_and_lf_give_the_same_cable(data_dir: Path) -> None:
    text = _doha(data_dir)
    plain = parse_text(text.encode("utf-8"), source="s")
    windows = parse_text(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"), source="s")
    assert windows.to_json() == plain.to_json()


def test_cp1252_bytes(data_dir: Path) -> None:
    text = _doha(data_dir).replace("Lebaron", "Lebaron \u2013 D\u00e9j\u00e0 vu")
    cable = parse_text(text.encode("cp1252"), source="s")
    assert "Lebaron \u2013 D\u00e9j\u00e0 vu" in cable.body
    assert cable.warnings[0] == "not valid UTF-8: read as cp1252"
    latin = parse_text(text.replace("\u2013", "-").encode("latin-1") + b"\x81", source="s")
    assert latin.warnings[0] == "not valid UTF-8: read as Latin-1"


def test_file_too_large_for_a_cable(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        f.write(b"UNCLAS DOHA 000071\n")
        f.truncate(40 * 1024 * 1024)
    with pytest.raises(ParseError, match="too large for a cable file"):
        list(parse_file(path))


# --- cables.csv --------------------------------------------------------------------------------


def test_csv_rows_stream_with_sources(data_dir: Path) -> None:
    cables = list(parse_file(data_dir / "cables.csv"))
    assert len(cables) == 41
    assert [c.source.rsplit("#row=", 1)[1] for c in cables] == [str(n) for n in range(1, 42)]
    first = cables[0]
    assert (first.reference_id, first.origin, first.classification) == (
        "66BUENOSAIRES2481",
        "Embassy Buenos Aires",
        "UNCLASSIFIED",
    )
    assert first.created is not None and first.created.strftime("%Y-%m-%d %H:%M") == "1966-12-28 18:06"
    assert first.released is None


def test_csv_in_two_processes_gives_the_same_cables(data_dir: Path) -> None:
    one = [c.to_json() for c in iter_csv(data_dir / "cables.csv")]
    two = [c.to_json() for c in iter_csv(data_dir / "cables.csv", procs=2, batch=7)]
    assert two == one


def test_csv_bad_rows_are_reported_and_the_rest_read(data_dir: Path, tmp_path: Path) -> None:
    rows = _csv_rows(data_dir / "cables.csv")[:5]
    rows[1] = rows[1] + ["extra"]
    rows[3] = ["4", "", "", "", "", "", "", ""]
    path = tmp_path / "cables.csv"
    _write_csv(path, rows)
    errors: list[ParseError] = []
    cables = list(iter_cables([path], on_error=errors.append))
    assert [str(e) for e in errors] == [
        f"{path}, row 2: expected 8 columns, found 9",
        f"{path}, row 4: empty row: no reference ID, header or body",
    ]
    assert [c.source.rsplit("=", 1)[1] for c in cables] == ["1", "3", "5"]
    with pytest.raises(ParseError, match="row 2: expected 8 columns"):
        list(parse_file(path))


def test_csv_header_line_blank_lines_and_cited_column(data_dir: Path, tmp_path: Path) -> None:
    row = _csv_rows(data_dir / "cables.csv")[0]
    row[5] = "66STATE106206 66STATE3400"
    row[7] = row[7].replace("REF: STATE 106206 CIRCULAR; STATE CA-3400 NOV 2, 1966", "")
    path = tmp_path / "cables.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write('"id","created","reference_id","origin","classification","references","header","body"\n\n')
        csv.writer(f, quoting=csv.QUOTE_ALL, **DIALECT).writerow(row)
    (cable,) = list(parse_file(path))
    assert cable.source == f"{path}#row=2"
    assert cable.references == ["66STATE106206", "66STATE3400"]


def test_csv_row_with_cp1252_bytes(data_dir: Path, tmp_path: Path) -> None:
    rows = _csv_rows(data_dir / "cables.csv")[:2]
    path = tmp_path / "cables.csv"
    _write_csv(path, rows)
    data = path.read_bytes().replace(b"FALKLAND ISLANDS", "FALKLAND \u00celes".encode("cp1252"), 1)
    path.write_bytes(data)
    cables = list(parse_file(path))
    assert "FALKLAND \u00celes" in cables[0].body
    assert "not valid UTF-8: read as cp1252" in cables[0].warnings
    assert not any("UTF-8" in w for w in cables[1].warnings)


def test_cable_from_row_is_a_plain_function(data_dir: Path) -> None:
    row = _csv_rows(data_dir / "cables.csv")[1]
    cable = cable_from_row(row, "x.csv", 2)
    assert (cable.reference_id, cable.source, cable.format) == ("04MADRID4063", "x.csv#row=2", "csv")
    with pytest.raises(ParseError, match=r"^x.csv, row 7: expected 8 columns, found 3$"):
        cable_from_row(row[:3], "x.csv", 7)


def test_csv_text_holds_one_cable(data_dir: Path) -> None:
    text = (data_dir / "cables.csv").read_text(encoding="utf-8")
    first_row = text[: text.index('\n"10","')]
    assert parse_text(first_row + "\n", source="t").reference_id == "66BUENOSAIRES2481"
    with pytest.raises(ParseError, match=r"holds several cables\.csv rows"):
        parse_text(text, source="t")


# --- folders and entry points --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,skipped",
    [
        ("10DOHA71.txt", False),
        ("cables.csv", False),
        (".hidden", True),
        (".#10DOHA71.txt", True),
        ("10DOHA71.txt~", True),
        ("10DOHA71.txt.swp", True),
        ("cables.csv.part", True),
        ("10DOHA71.html.crdownload", True),
        ("#autosave#", True),
        ("notes.bak", True),
        ("draft.temp", True),
        ("4913", True),
        ("X.PART", True),
        ("a.TMP", True),
        ("tmp", False),
        ("part.txt", False),
    ],
)
def test_is_skipped(name: str, skipped: bool) -> None:
    assert is_skipped(name) is skipped


def test_walk_and_daemon_share_one_ignore_rule(tmp_path: Path) -> None:
    """`index` walks a folder with the rule the daemon applies to file events: the names one
    ignores (notes.bak, draft.temp, 4913, X.PART, a.TMP) the other ignores too."""
    from cablesearch.config import Config
    from cablesearch.daemon.service import Daemon

    names = ["notes.bak", "draft.temp", "4913", "X.PART", "a.TMP", "08TRIPOLI505.txt"]
    for name in names:
        (tmp_path / name).write_text("x", encoding="utf-8")
    walked = {p.name for p in iter_files([tmp_path])}
    daemon = Daemon(Config(index_dir=tmp_path / "ix"), [tmp_path])
    wanted = {name for name in names if daemon.wants(str(tmp_path / name))}
    assert walked == wanted == {"08TRIPOLI505.txt"}


def test_iter_files_walks_in_name_order(tmp_path: Path) -> None:
    for rel in ("b/2.txt", "b/1.txt", "a.txt", ".git/x.txt", "c/.cache/y.txt", "c/z.txt.part"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])] == [
        "a.txt",
        "b/1.txt",
        "b/2.txt",
    ]
    errors: list[ParseError] = []
    assert list(iter_files([tmp_path / "nope"], on_error=errors.append)) == []
    assert str(errors[0]) == f"{tmp_path / 'nope'}: no such file or folder"
    with pytest.raises(ParseError):
        list(iter_files([tmp_path / "nope"]))


def test_iter_cables_over_the_test_data(data_dir: Path) -> None:
    errors: list[ParseError] = []
    cables = list(iter_cables([data_dir], on_error=errors.append))
    assert [str(e) for e in errors] == [
        f"{data_dir / 'truth.jsonl'}: not a cable: no telegram header, "
        "classification line, TAGS or SUBJECT line found"
    ]
    assert len(cables) == 41 * 4 + 1
    assert list(iter_cables([data_dir / "truth.jsonl"])) == []  # default on_error: ignore


def test_parse_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="no such file or folder"):
        list(parse_file(tmp_path / "missing.txt"))
    with pytest.raises(ParseError, match="is a folder, not a file"):
        list(parse_file(tmp_path))


def test_html_cut_after_the_cable_is_read_with_a_warning(data_dir: Path) -> None:
    text = (data_dir / "html" / "10DOHA71.html").read_text(encoding="utf-8")
    cut = text[: text.rindex("</pre>") + len("</pre></code>")]
    cable = parse_text(cut, source="doha.html")
    assert cable.reference_id == "10DOHA71" and cable.body.rstrip().endswith("Lebaron")
    assert "the page ends before </html> (cut short?); the cable's text is complete" in cable.warnings
    with pytest.raises(ParseError, match="truncated file: the page ends before the end of the cable"):
        parse_text(cut[: -len("</pre></code>") - 10], source="doha.html")


@pytest.mark.parametrize("src", ["html/09STATE68250.html", "page/09STATE68250.txt"])
def test_subject_falls_back_to_the_page_title(src: str, data_dir: Path) -> None:
    text = (data_dir / src).read_text(encoding="utf-8")
    start = text.index("Subject: german test chamber")
    text = text[:start] + "Topic" + text[start + len("Subject") :]  # no SUBJECT line left
    cable = parse_text(text, source="s")
    assert cable.subject == "german test chamber sold by chinese subsidiary to"
    assert "subject taken from the page's title (the text has no SUBJECT line)" in cable.warnings


@pytest.mark.parametrize(
    "title, expected",
    [
        ("S) german test chamber", "S) german test chamber sold by chinese subsidiary to iran's dio (s)"),
        ("(S) german test chamber", "(S) german test chamber sold by chinese subsidiary to iran's dio (s)"),
    ],
)
def test_subject_marking_follows_the_page_title(title: str, expected: str, data_dir: Path) -> None:
    text = (data_dir / "page" / "09STATE68250.txt").read_text(encoding="utf-8")
    text = text.replace(
        "Viewing cable 09STATE68250, german test chamber", f"Viewing cable 09STATE68250, {title}", 1
    )
    text = text.replace("Subject: german test chamber", "Subject: (S) german test chamber", 1)
    assert parse_text(text, source="s").subject == expected
