"""The messy tail of real telegrams (issue 14): TAGS and SUBJECT lines as real cables write
them, and REF lines. Each input is a real cable's lines (or one shaped like them: the kinds of line the cablemap
project's test suite collects from the release)."""

from __future__ import annotations

import pytest

from cablesearch.model import Cable
from cablesearch.parse.tags import find_tags
from cablesearch.parse.telegram import extract

TAGS_CASES = [
    ("TAGS: something\nhere", ["SOMETHING"]),
    ("TAGS: something, \nhere", ["SOMETHING", "HERE"]),
    ("tAgs something,\nhere", ["SOMETHING", "HERE"]),
    ("TAG PTER, PGOV, ASEC, EFIN, ENRG, KCIP", ["PTER", "PGOV", "ASEC", "EFIN", "ENRG", "KCIP"]),
    (
        "E.o. 12958: decl: 01/07/2014 Tags: prel, pgov, pins, tu \nSubject: turkish p.m.",
        ["PREL", "PGOV", "PINS", "TU"],
    ),
    (
        "E.o. 12958: decl: after korean unification\nTags: ovip (steinberg, james b.), prel, parm, pgov, econ,\netra, mnuc, marr, ch, jp, kn, ks, ir\nSubject: deputy",
        [
            "OVIP",
            "STEINBERG, JAMES B.",
            "PREL",
            "PARM",
            "PGOV",
            "ECON",
            "ETRA",
            "MNUC",
            "MARR",
            "CH",
            "JP",
            "KN",
            "KS",
            "IR",
        ],
    ),
    (
        "\nEO 12958 DECL: 03/05/2007\nTAGS PHUM, OPRC, OPRC, OPRC, OPRC, IT, ITPHUM, ITPHUM, ITPHUM, HUMAN RIGHTS\nSUBJECT: AS",
        ["PHUM", "OPRC", "IT", "HUMAN RIGHTS"],
    ),
    (
        "E.O. 12958: DECL: 02/05/2019\nTAGS: OVIP CLINTON HILLARY PREL KPAL FR IR RS\nNATO, UK, CN\nSUBJECT: (U) Secreta",
        ["OVIP", "CLINTON, HILLARY", "PREL", "KPAL", "FR", "IR", "RS", "NATO", "UK", "CN"],
    ),
    (
        "TAGS: OVIP STEINBERG JAMES PREL MNUC SN CH KN",
        ["OVIP", "STEINBERG, JAMES", "PREL", "MNUC", "SN", "CH", "KN"],
    ),
    (
        "TAGS: OVIP RICE CONDOLEEZZA PREL PHSA SP KV CU\nBL, IS\nSUBJECT: Secretary Rice",
        ["OVIP", "RICE, CONDOLEEZZA", "PREL", "PHSA", "SP", "KV", "CU", "BL", "IS"],
    ),
    (
        "TAGS: MASS MOPS OVIP PARM PINR PREL PTER YM COUNTER TERRORISM",
        ["MASS", "MOPS", "OVIP", "PARM", "PINR", "PREL", "PTER", "YM", "COUNTERTERRORISM"],
    ),
    (
        "TAGS PGOV, PREL, KWBG, IR, IS, COUNTERTERRORISM, GOI EXTERNAL ",
        ["PGOV", "PREL", "KWBG", "IR", "IS", "COUNTERTERRORISM", "GOI EXTERNAL"],
    ),
    ("TAGS PTER MARR, MOPPS", ["PTER", "MARR", "MOPS"]),
    (
        "TAGS: IS ISRAELI PALESTINIAN AFFAIRS GOI EXTERNAL",
        ["IS", "ISRAELI PALESTINIAN AFFAIRS", "GOI EXTERNAL"],
    ),
    (
        "TAGS: IS GAZA DISENGAGEMENT ISRAELI PALESTINIAN AFFAIRS",
        ["IS", "GAZA DISENGAGEMENT", "ISRAELI PALESTINIAN AFFAIRS"],
    ),
    ("TAGS: PREL PGOV BR OVIP ZOELLICK ROBERT US", ["PREL", "PGOV", "BR", "OVIP", "ZOELLICK, ROBERT", "US"]),
    ("DECL: 08/22/2017 AGS: PGOV, PREL, ECON, SOCI, AR", ["PGOV", "PREL", "ECON", "SOCI", "AR"]),
    (
        "E.O. 1295: DECL: 07/24/2018 \nTAGS: KCRM KWMN ASEC PHUMBA\nSUBJECT: BAHRAIN",
        ["KCRM", "KWMN", "ASEC", "PHUM", "BA"],
    ),
    (
        "POSTS FOR FRAUD PREVENTION UNITS E.O. 12958: N/A TAGS: KFRDKIRFCVISCMGTKOCIASECPHUMSMIGEG\n\nSUBJECT: BLIND",
        ["KFRD", "KIRF", "CVIS", "CMGT", "KOCI", "ASEC", "PHUM", "SMIG", "EG"],
    ),
    (
        "E.O. 12958: N/A \nTAGS: PREL SCUL ETRD CS UNDESCO\nSUBJECT: COSTA",
        ["PREL", "SCUL", "ETRD", "CS", "UNESCO"],
    ),
    ("TAGS: ETRDEINVECINPGOVCS\nSUBJECT: COSTA", ["ETRD", "EINV", "ECIN", "PGOV", "CS"]),
    (
        "TAGS: KFLU AEMR ASEC AMEDCASCKFLO TBIO KSAF KPAO PREL\nPINR, AMGT, TF, BR \nSUBJECT: TFFLU01",
        [
            "KFLU",
            "AEMR",
            "ASEC",
            "AMED",
            "CASC",
            "KFLO",
            "TBIO",
            "KSAF",
            "KPAO",
            "PREL",
            "PINR",
            "AMGT",
            "TF",
            "BR",
        ],
    ),
    (
        "TAGS: PREL PGOV PHUM VT PGOV PHUM VT VE VEPREL\nSUBJECT: HOLY SEE URGES CHURCH TO PROMOTE VENEZUELAN \nDIALOGUE",
        ["PREL", "PGOV", "PHUM", "VT", "VE"],
    ),
    (
        "TAGS: ECON ETRD EFIN PTER SNAR PM ECONOMIC AFFAIRS\nSUBJECT: UNDERSTANDING",
        ["ECON", "ETRD", "EFIN", "PTER", "SNAR", "PM", "ECONOMIC AFFAIRS"],
    ),
    (
        "TAGS: OVIP BUSH GEORGE PREL PGOV SOCI EPET KTIA BR\nSUBJECT: VISIT",
        ["OVIP", "BUSH, GEORGE", "PREL", "PGOV", "SOCI", "EPET", "KTIA", "BR"],
    ),
    (
        "TAGS: MARR PREL ETTC EIND IT GLOBAL DEFENSE\nSUBJECT: (C)",
        ["MARR", "PREL", "ETTC", "EIND", "IT", "GLOBAL DEFENSE"],
    ),
    (
        "TAGS: ECON ETRD PREL PGOV PTER KWBG JO IS ECONOMY AND FINANCE\nSUBJECT: HERZOG",
        ["ECON", "ETRD", "PREL", "PGOV", "PTER", "KWBG", "JO", "IS", "ECONOMY AND FINANCE"],
    ),
    (
        "TAGS: PREL MARR MOPS IT MARR MOPS IT IZ IZPREL IZPREL IRAQI FREEDOM\n\n\n\nSUBJECT: RE",
        ["PREL", "MARR", "MOPS", "IT", "IZ", "IRAQI FREEDOM"],
    ),
    (
        "TAGS: PREL PGOV CVIS IT ITALY NATIONAL ELECTIONS ITALIAN POLITICS IRAQI FREEDOM\nSUBJECT:",
        ["PREL", "PGOV", "CVIS", "IT", "ITALY NATIONAL ELECTIONS", "ITALIAN POLITICS", "IRAQI FREEDOM"],
    ),
    (
        "TAGS: PREL PGOV KPAL ETRD KNNP PARM SENV MARR MNUC\nECON, PHUM, RS, IS, IR, GG, AF, UK SUBJECT: MILIBAND",
        [
            "PREL",
            "PGOV",
            "KPAL",
            "ETRD",
            "KNNP",
            "PARM",
            "SENV",
            "MARR",
            "MNUC",
            "ECON",
            "PHUM",
            "RS",
            "IS",
            "IR",
            "GG",
            "AF",
            "UK",
        ],
    ),
    ("TAGS: ECON ETRD PGOV CA MX SIPDIS\nSUBJECT: TRI", ["ECON", "ETRD", "PGOV", "CA", "MX"]),
    ("TAGS: PREL, UNGA/C-6, KJUS\nSUBJECT: X", ["PREL", "UNGA/C-6", "KJUS"]),
    ("TAS: PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    ("TABS: PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    ("TGS: PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    ("TAGES: PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    ("AGS: PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    ("TAGS PREL PGOV\nSUBJECT: X", ["PREL", "PGOV"]),
    (
        "TAGS: PREL PGOV ECON\nUNCLASSIFIED PAGE 02 ROME 01059 01 OF 04 281501Z\nIT, EUN\nSUBJECT: X",
        ["PREL", "PGOV", "ECON", "IT", "EUN"],
    ),
    (
        "TAGS: PREL, PGOV, ECON,\nUNCLASSIFIED PAGE 02 ROME 01059 01 OF 04 281501Z\nIT\nSUBJECT: X",
        ["PREL", "PGOV", "ECON", "IT"],
    ),
    ("TAGS: CASC, COUNTRY CLEARANCE, OVIP\nSUBJECT: X", ["CASC", "COUNTRY CLEARANCE", "OVIP"]),
]


@pytest.mark.parametrize(("text", "want"), TAGS_CASES)
def test_tags(text: str, want: list[str]) -> None:
    assert find_tags(text) == want


@pytest.mark.parametrize(("text", "want"), TAGS_CASES[:12])
def test_tags_through_extract(text: str, want: list[str]) -> None:
    body = "CONFIDENTIAL ANKARA 000012\n\n" + text
    assert extract("", body, Cable()).tags == want


SUBJECT_CASES = [
    ("TAGS: TAG TAG2\nSUBJECT:  SINGLE LINE SUBJECT \n\nREF: REF 1", "SINGLE LINE SUBJECT"),
    (
        "TAGS: TAG TAG2\nSUBJECT: SUBJECT WHICH HAS a \nSECOND LINE \n\nREF: REF 1",
        "SUBJECT WHICH HAS a SECOND LINE",
    ),
    (
        "SUBJECT: SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES \nREF: A. RIYADH 1579  B. RIYADH 1408  C. RIYADH 1298\n",
        "SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES",
    ),
    (
        "SUBJECT: SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES\nREF A. RIYADH 1579  B. RIYADH 1408  C. RIYADH 1298\n",
        "SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES",
    ),
    (
        "SUBJECT SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES\nREF A. RIYADH 1579  B. RIYADH 1408  C. RIYADH 1298\n",
        "SAG AGREES TO USG STEPS TO PROTECT OIL FACILITIES",
    ),
    ("SUBJECT: NEGOTIATIONS \n \n", "NEGOTIATIONS"),
    (
        "SUBJECT: A CAUCASUS WEDDING \nClassified By: Deputy Chief of Mission Daniel A. Russell. Reason 1.4 ( b, d)",
        "A CAUCASUS WEDDING",
    ),
    (
        "SUBJ: GUINEA - U.S./French Meeting with President Compaore \n\nClassified by Charge d'Affaires",
        "GUINEA - U.S./French Meeting with President Compaore",
    ),
    (
        "SUBJECT: UAE FM DISCUSSES TALIBAN FINANCIAL FLOWS AND REINTEGRATION \nWITH AMB. HOLBROOKE AND TREASURY A/S COHEN\nCLASSIFIED BY: Richard",
        "UAE FM DISCUSSES TALIBAN FINANCIAL FLOWS AND REINTEGRATION WITH AMB. HOLBROOKE AND TREASURY A/S COHEN",
    ),
    (
        "SUBJECT:  EXTENDED NATIONAL JURISDICTIONS OVER HIGH SEAS \n\nREF: STATE 106206 CIRCULAR; STATE CA-3400 NOV 2, 1966",
        "EXTENDED NATIONAL JURISDICTIONS OVER HIGH SEAS",
    ),
    (
        "E.o. 12958: decl: 01/07/2014 Tags: prel, pgov, pins, tu Subject: turkish p.m. Erdogan goes to washington: how strong a leader in the face of strong challenges?\n\n(U) Classifi",
        "turkish p.m. Erdogan goes to washington: how strong a leader in the face of strong challenges?",
    ),
    (
        "SUBJECT: PART 3 OF 3:  THE LIFE AND TIMES OF SOUTH AFRICA'S \nNEW PRESIDENT\nPRETORIA 00000954 001.2 OF 004\n",
        "PART 3 OF 3:  THE LIFE AND TIMES OF SOUTH AFRICA'S NEW PRESIDENT",
    ),
    ("SUBJECT: ZIM NOTES 11-09-2009 \n----------- \n1. SUMMARY\n----------- \n", "ZIM NOTES 11-09-2009"),
    (
        "TAGS: PGOV EINV INRB GM\nSUBJECT: GERMANY/BAVARIA: CSU HOPES FOR FRESH START WITH NEW AND\nYOUNGER FACES IN CABINETAND A DYNAMIC SECRETARY GENERAL \n\n",
        "GERMANY/BAVARIA: CSU HOPES FOR FRESH START WITH NEW AND YOUNGER FACES IN CABINETAND A DYNAMIC SECRETARY GENERAL",
    ),
    (
        "TAGS ENRG, EUN, ECON, EIND, KGHG, SENV, SW\nSUBJECT: SWEDISH DEPUTY PM URGES SENIOR USG VISITS TO SWEDEN DURING\nEU PRESIDENCY; WANTS TO LAUNCH U.S.-EU ALERNATIVE ENERGY PARTNERSHIP AT U.S.-EU SUMMIT\nThis is an Action request. Please see para 2.\n",
        "SWEDISH DEPUTY PM URGES SENIOR USG VISITS TO SWEDEN DURING EU PRESIDENCY; WANTS TO LAUNCH U.S.-EU ALERNATIVE ENERGY PARTNERSHIP AT U.S.-EU SUMMIT",
    ),
    (
        "EO 12958 DECL: 07/09/2018\nTAGS PREL, PTER, MOPS, IR, PK, AF, CA\n\nSUBJECT: COUNSELOR, CSIS DIRECTOR DISCUSS CT THREATS,\nPAKISTAN, AFGHANISTAN, IRAN\nREF: A. OTTAWA 360 B. OTTAWA 808 C. OTTAWA 850 D. OTTAWA 878\nOTTAWA 00000918 001.2 OF 003\n",
        "COUNSELOR, CSIS DIRECTOR DISCUSS CT THREATS, PAKISTAN, AFGHANISTAN, IRAN",
    ),
    (
        "TAGS OVIP (CLINTON, HILLARY), PGOV, PREL, KDEV, ECON,\nNL, IS, SR\nSUBJECT: (U) Secretary Clinton's July 14 conversation\nwith Dutch Foreign Minister Verhagen\n1. Classified by Bureau Assistant Secretary Philip H. Gordon. Reason: 1.4 (d)\n2. (U) July 14; 2:45 p.m.; Washington, DC.\n",
        "U) Secretary Clinton's July 14 conversation with Dutch Foreign Minister Verhagen",
    ),
    (
        "TAGS: ECON EINV ENRG PGOV PBTS MARR BR\n\nSUBJECT: AMBASSADOR SOBEL MEETS WITH KEY ENERGY ENTITIES IN RIO Ref(s): A) 08 RIO DE JAN 138; B) 08 RIO DE JAN 0044 and previous Sensitive But Unclassified - Please handle accordingly. This message has been approved by Ambassador Sobel. ",
        "AMBASSADOR SOBEL MEETS WITH KEY ENERGY ENTITIES IN RIO",
    ),
    (
        "SUBJECT: BRAZIL: BLACKOUT -CAUSES AND IMPLICATIONS Classified By: Charge d'Affaires Cherie Jackson, Reasons 1.4 (b) and (d). REFTELS: A) 2008 BRASILIA 672, B) 2008 BRASILIA 593, C)2008 SAO PAULO 260\n",
        "BRAZIL: BLACKOUT -CAUSES AND IMPLICATIONS",
    ),
    (
        "SUBJECT: MEMBERS OF CONGRESS DISCUSS BONUSES, BAIL-OUTS AND\nOTHER REFORM MEASURES WITH UK OFFICIALS\n1. (SBU) Summary. Bonuses, regulatory structures",
        "MEMBERS OF CONGRESS DISCUSS BONUSES, BAIL-OUTS AND OTHER REFORM MEASURES WITH UK OFFICIALS",
    ),
    (
        "SUBJECT: AARGH! SWEDISH PIRATES SET SAIL FOR BRUSSELS\n1. Summary and Comment: Sweden",
        "AARGH! SWEDISH PIRATES SET SAIL FOR BRUSSELS",
    ),
    (
        "\nSUBJECT: CARDINAL HUMMES DISCUSSES LULA GOVERNMENT, THE OPPOSITION, AND FTAA REF: (A) 05 SAO PAULO 405; (B) 05 SAO PAULO 402 (C) 02 BRASILIA 2670",
        "CARDINAL HUMMES DISCUSSES LULA GOVERNMENT, THE OPPOSITION, AND FTAA",
    ),
    ("SUBJECT: ENERGY INSTALLATIONS REF: BRASILIA 861", "ENERGY INSTALLATIONS"),
    (
        "TAGS: EPET ENRG ECON PREL PGOV RS\nSUBJECT: WHAT'S BEHIND THE RAIDS ON TNK-BP AND BP REF: A. MOSCOW 816 B. MOSCOW 768 C. 07 MOSCOW 3054 Classified By: Ambassador William J. Burns for Reasons 1.4 (b/d)\n",
        "WHAT'S BEHIND THE RAIDS ON TNK-BP AND BP",
    ),
    (
        "E.O. 12958: N/A \nTAGS: EAIR EINV\nSUBJECT: BRAZIL - NEXT STEPS FOR VARIG UNCLEAR REFS: (A) BRASILIA 1608, (B) BRASILIA 1631, (C) BRASILIA 1566 \n\n1. (SBU) Summary.\n",
        "BRAZIL - NEXT STEPS FOR VARIG UNCLEAR",
    ),
    (
        "TAGS ECON PREL PINR UZ \nSUBJECT: GULNORA INC. STRIKES AGAIN \nREFS: A) 04 TASHKENT 3390 B) 04 TASHKENT 2574 and previous\n\nCLASSIFIED BY AMB. JON R. PURNELL, FOR REASONS 1.4 (B, D)\n\n1. (C) ",
        "GULNORA INC. STRIKES AGAIN",
    ),
    (
        "TAGS: OEXC SCUL KPAO IC\n \nSUBJECT: Grants Support for PD Projects (Iceland) \n \nREF:  STATE 105588 ",
        "Grants Support for PD Projects (Iceland)",
    ),
    (
        "SUBJECT: ASSISTANT SECRETARY MEETS WITH ZIMBABWE \nUNCLASSIFIED PAGE 02 HARARE 01059 01 OF 04 281501Z\nOPPOSITION LEADERS\n\n1. TEXT",
        "ASSISTANT SECRETARY MEETS WITH ZIMBABWE OPPOSITION LEADERS",
    ),
    (
        "SUBJECT: ASSISTANT SECRETARY MEETS WITH ZIMBABWE \nPAGE 02 HARARE 01059 01 OF 04 281501Z\nOPPOSITION LEADERS\n\n1. TEXT",
        "ASSISTANT SECRETARY MEETS WITH ZIMBABWE OPPOSITION LEADERS",
    ),
    ("SUBJECT: TURKEY: ELECTIONS\nRef(s): A. ANKARA 12\n\n1. TEXT", "TURKEY: ELECTIONS"),
    ("SUBJECT: TURKEY: ELECTIONS\nREFTELS: A. ANKARA 12\n\n1. TEXT", "TURKEY: ELECTIONS"),
    ("SUBJECT: TURKEY: ELECTIONS\n2. TEXT", "TURKEY: ELECTIONS"),
]


@pytest.mark.parametrize(("text", "want"), SUBJECT_CASES)
def test_subject(text: str, want: str) -> None:
    body = "CONFIDENTIAL ANKARA 000012\n\n" + text
    assert extract("", body, Cable()).subject == want


# REF lines (the citing cable is Rome's, of 2009: a reference without a year is of 2009)
HEAD = "R 101633Z NOV 09\nFM AMEMBASSY ROME\nTO SECSTATE WASHDC 1"
REF_CASES = [
    (
        "SUBJECT: AMBASSADOR SOBEL MEETS WITH KEY ENERGY ENTITIES IN RIO Ref(s): A) 08 RIO DE JAN 138; B) 08 RIO DE JAN 0044 and previous\n\n1. Text",
        ["08RIODEJANEIRO138", "08RIODEJANEIRO44"],
    ),
    (
        "SUBJECT: BRAZIL: BLACKOUT -CAUSES AND IMPLICATIONS Classified By: Charge d'Affaires Cherie Jackson, Reasons 1.4 (b) and (d). REFTELS: A) 2008 BRASILIA 672, B) 2008 BRASILIA 593, C)2008 SAO PAULO 260\n\n1. Text",
        ["08BRASILIA672", "08BRASILIA593", "08SAOPAULO260"],
    ),
    ("SUBJECT: X\n\nREF: A. 2008 CAIRO 2394 B. CAIRO 2178\n\n1. Text", ["08CAIRO2394", "09CAIRO2178"]),
    ("SUBJECT: X\n\nREF: A. SECDEF 122723 B. STATE 12345\n\n1. Text", ["09SECDEF122723", "09STATE12345"]),
    (
        "SUBJECT: PM BROWN AND THE PRIMEREF: A. LONDON 1939 B. LONDON 1940\n\n1. Text",
        ["09LONDON1939", "09LONDON1940"],
    ),
    (
        "SUBJECT: X\n\nREF: A. ROME 1059\n     B. ROME 1060\n     C. 08 STATE 4321\n\n1. Text",
        ["09ROME1059", "09ROME1060", "08STATE4321"],
    ),
    (
        "SUBJECT: X\n\nREF: A. ROME 1059\nPAGE 02 ROME 01196 01 OF 02 082030Z\nB. ROME 1060\n\n1. Text",
        ["09ROME1059", "09ROME1060"],
    ),
    (
        "SUBJECT: X\n\nREF: A. ROME 1059\nUNCLASSIFIED PAGE 02 ROME 01196 01 OF 02 082030Z\nB. ROME 1060\n\n1. Text",
        ["09ROME1059", "09ROME1060"],
    ),
    (
        "SUBJECT: GULNORA INC. STRIKES AGAIN \nREFS: A) 04 TASHKENT 3390 B) 04 TASHKENT 2574 and previous\n\nCLASSIFIED BY AMB. JON R. PURNELL, FOR REASONS 1.4 (B, D)\n\n1. (C) ",
        ["04TASHKENT3390", "04TASHKENT2574"],
    ),
    (
        "SUBJECT:  EXTENDED NATIONAL JURISDICTIONS OVER HIGH SEAS \n\nREF: STATE 106206 CIRCULAR; STATE CA-3400 NOV 2, 1966\n\n1. Text",
        ["09STATE106206"],
    ),
    (
        "SUBJECT: X\n\nREF: A. 08 SAO PAULO 653; B. 09 SAO PAULO 433; C. BRASILIA 7\n\n1. Text",
        ["08SAOPAULO653", "09SAOPAULO433", "09BRASILIA7"],
    ),
    (
        "SUBJECT: X\n\nREF: A. 2009 CAIRO 2394\n\nB. 2009 CAIRO 2178\n\n1. Text",
        ["09CAIRO2394", "09CAIRO2178"],
    ),
    (
        "SUBJECT: X\nREF: A. 07 RIO DE JANEIRO 12 B. RIO DE JANEIRO 13\n\n1. Text",
        ["07RIODEJANEIRO12", "09RIODEJANEIRO13"],
    ),
    (
        "SUBJECT: X\nREF: A. 08 BUENOS AIRES 12 B. BUENOS AIRE 13\n\n1. Text",
        ["08BUENOSAIRES12", "09BUENOSAIRES13"],
    ),
]


@pytest.mark.parametrize(("text", "want"), REF_CASES)
def test_references(text: str, want: list[str]) -> None:
    body = "CONFIDENTIAL ROME 000012\n\n" + text
    assert extract(HEAD, body, Cable()).references == want


def test_a_ref_glued_to_the_word_before_ends_the_subject() -> None:
    body = "CONFIDENTIAL LONDON 000012\n\nSUBJECT: PM BROWN AND THE PRIMEREF: A. LONDON 1939\n\n1. Text"
    assert extract(HEAD, body, Cable()).subject == "PM BROWN AND THE PRIME"
