"""Reference IDs (canonical form, REF-line parsing) and origin naming, on real snippets."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cablesearch.parse.ids import POST_TOKENS, canonical_id, make_id, parse_refs, post_token
from cablesearch.parse.origin import origin_from_fm, origin_from_post


@pytest.mark.parametrize(
    "raw, want",
    [
        ("08TRIPOLI505", "08TRIPOLI505"),
        ("08tripoli505", "08TRIPOLI505"),
        (" 08TRIPOLI000505 ", "08TRIPOLI505"),
        ("08ECTION01OF02MANAMA492", "08MANAMA492"),
        ("09SECTION01OF03CAIRO123", "09CAIRO123"),
        ("08SCTION02OF04NAIROBI1373", "08NAIROBI1373"),
        ("07SECTIOQ1OF06HARARE77", "07HARARE77"),
        ("08SECTION01O02HONGKONG12", "08HONGKONG12"),
        ("SECSTATE", "STATE"),
        ("07SECSTATE1234", "07STATE1234"),
        ("06USUNNEWYORK123", "06USUNNEWYORK123"),
        ("09AITTAIPEI5", "09AITTAIPEI5"),
        ("10STATE255723TOSEC", "10STATE255723TOSEC"),  # not an ID shape: left as it is
        ("90STATE255195TOSEC140301", "90STATE255195TOSEC140301"),
        ("092OF5", "092OF5"),  # no known post after the garbage
        ("08SECTION01GF02BISHIEK21", "08SECTION01GF02BISHIEK21"),
        ("09UNESCOPARIS1536", "09UNESCOPARIS1536"),  # REF-line aliases do not rewrite IDs
        ("7575LIBREVILLE1895", "75LIBREVILLE1895"),
        ("", ""),
    ],
)
def test_canonical_id(raw: str, want: str) -> None:
    assert canonical_id(raw) == want


@pytest.mark.parametrize(
    "year, post, number, want",
    [
        ("08", "KIGALI", "000796", "08KIGALI796"),
        (2008, "ABU DHABI", 12, "08ABUDHABI12"),
        ("06", "SECSTATE", "0042", "06STATE42"),
        ("09", "USUN NEW YORK", "7", "09USUNNEWYORK7"),
        ("", "KIGALI", "796", ""),
        ("08", "KIGALI", "", ""),
    ],
)
def test_make_id(year: object, post: str, number: object, want: str) -> None:
    assert make_id(year, post, number) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, want",
    [
        ("SECSTATE", "STATE"),
        ("ABU DHABI", "ABUDHABI"),
        ("USUN NEW YORK", "USUNNEWYORK"),
        ("RIO", "RIODEJANEIRO"),
        ("DUBAI RPO", "RPODUBAI"),
        ("la paz", "LAPAZ"),
        ("ST PETERSBURG", "STPETERSBURG"),
        ("EMAIL", ""),
        ("PARA", ""),
    ],
)
def test_post_token(text: str, want: str) -> None:
    assert post_token(text) == want


@pytest.mark.parametrize(
    "ref, year, want",
    [
        # 08TRIPOLI505 (the seed): an e-mail skipped, the year taken from the citing cable
        (
            "A) JACUBEC-CARNAHAN EMAIL 06/17/2008, B) TRIPOLI 481, C) TRIPOLI 478 (NOTAL)",
            "08",
            ["08TRIPOLI481", "08TRIPOLI478"],
        ),
        # 05BRASILIA1396: years given before the post, one omitted
        (
            "A. 04 STATE 305348 \nB. 04 STATE 139422 \nC. 04 BRASILIA 633 D. STATE 86436",
            "05",
            ["04STATE305348", "04STATE139422", "04BRASILIA633", "05STATE86436"],
        ),
        # 66BUENOSAIRES2481: an airgram ("CA-3400") and a date are not cables
        ("STATE 106206 CIRCULAR; STATE CA-3400 NOV 2, 1966", "66", ["66STATE106206"]),
        # 06ABUDHABI1401: two-word post, NOTAL, a USDEL reference that is no post
        (
            "A. 05 ABU DHABI 3243 \n     B. 05 ABU DHABI 3565 \n     C. ABU DHABI 409 \n"
            "     F. ABU DHABI 248 (NOTAL) \n     I. USDEL 00007",
            "06",
            ["05ABUDHABI3243", "05ABUDHABI3565", "06ABUDHABI409", "06ABUDHABI248"],
        ),
        # 06BUCHAREST576 and 09BOGOTA542: four-digit years, zero-padded numbers
        ("A) BUCHAREST 0536 B) 2005 BUCHAREST 2550", "06", ["06BUCHAREST536", "05BUCHAREST2550"]),
        ("A. 2008 BOGOTA 4165 \nB. BOGOTA 0401", "2009", ["08BOGOTA4165", "09BOGOTA401"]),
        # 09MADRID612: e-mails, IIRs (numbers after IIR) skipped
        (
            "A. SADOWSKA E-MAIL JUNE 22 READOUT OF CUESTA MEETINGS\nB. MADRID 551\n"
            "C. DAO MADRID IIR 6 889 0175 09\nD. MADRID 201\nE. 2008 MADRID 1281",
            "09",
            ["09MADRID551", "09MADRID201", "08MADRID1281"],
        ),
        # 09STATE37561: dates glued after the number
        (
            "A. 08 KIGALI 00830--05/DEC/2008 \n B. 08 STATE 122706--19/NOV/2008",
            "09",
            ["08KIGALI830", "08STATE122706"],
        ),
        # 08BRASILIA429 / 08BERLIN1387: DTGs of other messages are not cables
        (
            "A. A) BRASILIA 236 B. B) OSD REPORT DTG 251847Z MAR 08 C. C) BRASILIA 175",
            "08",
            ["08BRASILIA236", "08BRASILIA175"],
        ),
        ("A. BERLIN 1045 \nB. SECDEF MSG DTG 301601z SEP 08", "08", ["08BERLIN1045"]),
        # aliases: SECSTATE, USUN NEW YORK, RIO, DUBAI RPO; year after the post; glued number
        (
            "A. SECSTATE 103585 B. USUN NEW YORK 123 C. RIO 346 D. DUBAI RPO 378 E. STATE 06 12345 "
            "F) BELGRADE743",
            "09",
            [
                "09STATE103585",
                "09USUNNEWYORK123",
                "09RIODEJANEIRO346",
                "09RPODUBAI378",
                "06STATE12345",
                "09BELGRADE743",
            ],
        ),
        # 09SEOUL59: parenthesised comments after each reference
        (
            "A. TOKYO 3114 (TRILATERAL POLICY PLANNING)  B. SECDEF DTG261447ZNOV08 (DEFENSE TRILATERAL "
            "TALKS)  C. TOKYO 3416 (ROK-PRC-JAPAN TRILATS)",
            "09",
            ["09TOKYO3114", "09TOKYO3416"],
        ),
        # 07ISLAMABAD5288: two references in one item
        (
            "A. ISLAMABAD 5266 ISLAMABAD 4817  B. ISLAMABAD 4369",
            "07",
            ["07ISLAMABAD5266", "07ISLAMABAD4817", "07ISLAMABAD4369"],
        ),
        # 09SAOPAULO663: a year in brackets after the number belongs to that reference
        (
            "SAO PAULO 421; BRASILIA 709 (08) SAO PAULO 542",
            "09",
            ["09SAOPAULO421", "08BRASILIA709", "09SAOPAULO542"],
        ),
        # 10SHENYANG5: year glued to the post
        ("A. 10SHENYANG 003 B. 09SHENYANG 167", "10", ["10SHENYANG3", "09SHENYANG167"]),
        ("POUNDS-HALE E-MAIL OF 9/5", "08", []),
        ("OSC cpp20080407530001", "08", []),
        ("STATE 12345", None, []),  # no year anywhere: nothing invented
    ],
)
def test_parse_refs(ref: str, year: object, want: list[str]) -> None:
    assert parse_refs(ref, year) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fm, want",
    [
        ("AMEMBASSY TRIPOLI", "Embassy Tripoli"),
        ("FM AMEMBASSY BUENOS AIRES", "Embassy Buenos Aires"),
        ("AMCONSUL LAGOS", "Consulate Lagos"),
        ("AMCONSUL RIO DE JANEIRO", "Consulate Rio De Janeiro"),
        ("AMCONSUL HO CHI MINH CITY", "Consulate Ho Chi Minh City"),
        ("SECSTATE WASHDC", "Secretary of State"),
        ("USMISSION USNATO", "Mission USNATO"),
        ("USMISSION USOSCE", "Mission USOSCE"),
        ("USMISSION USUN NEW YORK", "USUN New York"),
        ("USMISSION GENEVA", "US Mission Geneva"),
        ("USMISSION UNVIE VIENNA", "UNVIE"),
        ("USEU BRUSSELS", "USEU Brussels"),
        ("USINT HAVANA", "US Interests Section Havana"),
        ("AIT TAIPEI", "American Institute Taiwan, Taipei"),
        ("REO BASRAH", "REO Basrah"),
        ("IRAN RPO DUBAI", "Iran RPO Dubai"),
        ("RPO DUBAI", "Iran RPO Dubai"),
        ("AMEMBASSY KIEV", "Embassy Kyiv"),
        ("USOFFICE ALMATY", "US Office Almaty"),
        ("RUEHTRO/AMEMBASSY TRIPOLI 4111", "Embassy Tripoli"),
        ("AMEMBASSY PORT AU PRINCE", "Embassy Port Au Prince"),
        ("AMEMBASSY PODGORICA", "Embassy Podgorica"),
        ("", ""),
    ],
)
def test_origin_from_fm(fm: str, want: str) -> None:
    assert origin_from_fm(fm) == want


@pytest.mark.parametrize(
    "post, want",
    [
        ("08TRIPOLI505", "Embassy Tripoli"),
        ("TRIPOLI", "Embassy Tripoli"),
        ("09LAGOS12", "Consulate Lagos"),
        ("07STATE1234", "Secretary of State"),
        ("07SECSTATE1234", "Secretary of State"),
        ("08ECTION01OF02MANAMA492", "Embassy Manama"),
        ("06USUNNEWYORK123", "USUN New York"),
        ("06KIEV1261", "Embassy Kyiv"),
        ("09ABUDHABI1", "Embassy Abu Dhabi"),
        ("NOSUCHPOST", ""),
    ],
)
def test_origin_from_post(post: str, want: str) -> None:
    assert origin_from_post(post) == want


@pytest.mark.slow
def test_post_tokens_cover_real_ids(shared_corpus: Path) -> None:
    """Every reference ID of the 2011 release with a well-formed post maps to a known token,
    except a handful of one-off misspellings (BRUSSLS, NSSAU ...)."""
    with gzip.open(shared_corpus.parent / "cable2month.csv.gz", "rt") as f:
        ids = [line.split(",", 1)[0] for line in f if line.strip()]
    assert len(ids) == 251_287
    unknown = 0
    for raw in ids:
        cid = canonical_id(raw)
        post = cid[2:].rstrip("0123456789")
        if post not in POST_TOKENS:
            unknown += 1
    assert unknown / len(ids) < 0.001
