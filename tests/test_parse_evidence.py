"""A bare telegram's reference ID from the evidence that agrees (issue 14): the file name, the
DE line's routing indicator and number, the FM post and the classification line."""

from __future__ import annotations

from pathlib import Path

from cablesearch.parse import parse_file
from cablesearch.parse.evidence import Evidence, choose_id

# Paris's telegram whose classification line repeats Moscow's cable (seen in the release)
PARIS = """\
VZCZCXRO5512
OO RUEHAG RUEHROV
DE RUEHFR #2725/01 2891520
ZNY CCCCC ZZH
O 161520Z OCT 07
FM AMEMBASSY PARIS
TO RUEHC/SECSTATE WASHDC IMMEDIATE 0880

C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 005154

SIPDIS

E.O. 12958: DECL: 10/16/2017
TAGS: PREL FR RS
SUBJECT: FRENCH VIEWS ON RUSSIA

Classified By: Political Counselor Kathy Allegrone, reasons 1.4 (b), (d).

1. (C) Text of the cable.
"""


def _one(path: Path):
    (cable,) = list(parse_file(path))
    return cable


def test_a_copied_classification_line_does_not_take_another_cables_id(tmp_path: Path) -> None:
    path = tmp_path / "07PARIS2725.txt"
    path.write_text(PARIS, encoding="utf-8")
    cable = _one(path)
    assert cable.reference_id == "07PARIS2725"
    assert cable.origin == "Embassy Paris"
    kinds = [w.split(":", 1)[0] for w in cable.warnings]
    assert "header and body disagree" in kinds
    assert any("MOSCOW 005154" in w for w in cable.warnings)


def test_header_outvotes_a_copied_classification_line_without_a_file_name(tmp_path: Path) -> None:
    path = tmp_path / "paris-telegram.txt"
    path.write_text(PARIS, encoding="utf-8")
    cable = _one(path)
    # DE RUEHFR (AMEMBASSY PARIS) #2725 and FM AMEMBASSY PARIS agree against MOSCOW 005154
    assert cable.reference_id == "07PARIS2725"
    assert any(w.startswith("reference ID from the header:") for w in cable.warnings)


def test_agreeing_evidence_gives_the_classification_lines_id_without_warnings(tmp_path: Path) -> None:
    text = PARIS.replace("MOSCOW 005154", "PARIS 002725")
    path = tmp_path / "07PARIS2725.txt"
    path.write_text(text, encoding="utf-8")
    cable = _one(path)
    assert cable.reference_id == "07PARIS2725"
    assert cable.warnings == []


def test_a_misnamed_file_is_named_in_a_warning(tmp_path: Path) -> None:
    text = PARIS.replace("MOSCOW 005154", "PARIS 002725")
    path = tmp_path / "07PARIS2726.txt"
    path.write_text(text, encoding="utf-8")
    cable = _one(path)
    assert cable.reference_id == "07PARIS2725"
    assert "file name and text disagree: the file name gives 07PARIS2726; kept 07PARIS2725" in cable.warnings


def test_the_department_s_six_digit_numbers_are_not_read_from_the_de_line() -> None:
    ev = Evidence(year="09", de_route="RUEHC", de_num="5113", fm_post="STATE")
    assert choose_id(ev) == ("", [])
    ev.class_post, ev.class_num = "STATE", "015113"
    assert choose_id(ev) == ("09STATE15113", [])


def test_choose_id_scores() -> None:
    # class line alone
    assert choose_id(Evidence(year="08", class_post="KIGALI", class_num="000796"))[0] == "08KIGALI796"
    # file name and FM against a class line and its page-break line: the body counts once
    ev = Evidence(
        year="09",
        class_post="MOSCOW",
        class_num="000512",
        page_post="MOSCOW",
        page_num="00000512",
        fm_post="HAVANA",
        name_id="09HAVANA132",
    )
    ref, warnings = choose_id(ev)
    assert ref == "09HAVANA132"
    assert [w.split(":", 1)[0] for w in warnings] == [
        "reference ID from the file name",
        "header and body disagree",
    ]
    # nothing to go on
    assert choose_id(Evidence()) == ("", [])


def test_the_shared_corpus_case_09havana132(shared_corpus: Path) -> None:
    cable = _one(shared_corpus / "telegram" / "09HAVANA132.txt")
    assert cable.reference_id == "09HAVANA132"
