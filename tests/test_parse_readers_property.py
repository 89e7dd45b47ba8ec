"""Properties of the TAGS, SUBJECT and REF readers (issue 14): whatever the line, no exception,
no empty tag, and reading what they return once more gives it back unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cablesearch.model import Cable
from cablesearch.parse.ids import canonical_id, parse_refs
from cablesearch.parse.tags import read_tags
from cablesearch.parse.telegram import extract

_TAG_WORDS = [
    "PREL",
    "pgov",
    "PHUMBA",
    "KFRDKIRFCVIS",
    "VEPREL",
    "MOPPS",
    "UNDESCO",
    "OVIP",
    "(STEINBERG, JAMES B.)",
    "CLINTON",
    "HILLARY",
    "HUMAN",
    "RIGHTS",
    "COUNTRY",
    "CLEARANCE",
    "GOI",
    "EXTERNAL",
    "UNGA/C-6",
    "ZANU-PF",
    "IT",
    "EG",
    "BA",
    "US",
    "SUBJECT:",
    "REF:",
    "SIPDIS",
    ",",
    ", ",
    " ",
    "\n",
    "\n\n",
    "(",
    ")",
    "-",
    "/",
    "UNCLASSIFIED PAGE 02 ROME 01059 01 OF 04 281501Z\n",
    "1.",
    "x",
    "é",
    "\x00",
]
_SUBJECT_WORDS = [
    "TURKEY",
    "ELECTIONS",
    "Erdogan",
    "goes",
    "to",
    "washington:",
    "(C)",
    "(U)",
    "PART 3 OF 3:",
    "THE",
    "REF:",
    "Ref(s):",
    "REFTELS:",
    "Classified By:",
    "PRIMEREF: A.",
    "1.",
    "2. ",
    "\n",
    "\n\n",
    " ",
    "  ",
    "PAGE 02 ROME 01196 01 OF 02 082030Z\n",
    "ROME 00001196 002 OF 003\n",
    "-",
    "?",
    ";",
    "é",
]
_REF_WORDS = [
    "A.",
    "B)",
    "(C)",
    "08",
    "2009",
    "RIO DE JAN",
    "RIO",
    "BUENOS AIRE",
    "SECDEF",
    "STATE",
    "ROME",
    "CAIRO",
    "138",
    "0044",
    "122723",
    "1",
    "NOV",
    "2,",
    "1966",
    "IIR",
    "EMAIL",
    ";",
    ",",
    " ",
    "\n",
    "\n\n",
    "PAGE 02 ROME 01196 01 OF 02 082030Z\n",
    "and previous",
    "USUN NEW YORK",
    "SAO PAULO",
]


def _line(words: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(words) | st.text(max_size=4), max_size=25).map(" ".join)


def _as_line(tags: list[str]) -> str:
    """Tags written back as a TAGS block: person tags in brackets, each item ended by a comma."""
    return ", ".join(f"({t})" if "," in t else t for t in tags) + ","


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_line(_TAG_WORDS))
def test_tags_reader(value: str) -> None:
    tags = read_tags(value)
    assert all(t and t == t.strip() for t in tags)
    assert len(tags) == len(set(tags))
    assert read_tags(_as_line(tags)) == tags


@settings(max_examples=200, deadline=None)
@given(_line(_SUBJECT_WORDS))
def test_subject_reader(value: str) -> None:
    body = f"CONFIDENTIAL ROME 000012\n\nTAGS: PREL\nSUBJECT: {value}\n\n1. Text.\n"
    subject = extract("", body, Cable()).subject
    if subject:
        again = extract(
            "", f"CONFIDENTIAL ROME 000012\n\nTAGS: PREL\nSUBJECT: {subject}\n\n1. Text.\n", Cable()
        )
        assert again.subject == subject


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_line(_REF_WORDS), st.sampled_from(["09", "2009", None]))
def test_ref_reader(value: str, year: str | None) -> None:
    refs = parse_refs(value, year)
    assert len(refs) == len(set(refs))
    assert all(r and canonical_id(r) == r for r in refs)
    written = " ".join(
        f"{chr(65 + i % 26)}. {r[:2]} {r[2:].rstrip('0123456789')} {r[2:][len(r[2:].rstrip('0123456789')) :]}"
        for i, r in enumerate(refs)
    )
    assert parse_refs(written, year) == refs


def test_a_stray_bracket_never_stays_in_a_tag() -> None:
    """Found by the property above: `OVIP, MOPPS 0),` gave the person tag 'MOPPS, 0)', which
    read back as 'MOPPS, 0' (brackets left over once balanced groups are taken are noise)."""
    tags = read_tags("OVIP, MOPPS 0), PREL")
    assert not any(c in t for t in tags for c in "()")
    assert read_tags(_as_line(tags)) == tags
