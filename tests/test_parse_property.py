"""Property: whatever bytes or text go in, the parser returns a Cable or raises its own
``ParseError`` — never anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cablesearch.errors import ParseError
from cablesearch.model import JSON_KEYS, Cable
from cablesearch.parse import parse_file, parse_text

pytestmark = pytest.mark.slow  # hundreds of generated inputs per test

DATA = Path(__file__).resolve().parent / "data"

# Pieces of real cables in every form, so that generated inputs get deep into each reader.
_SEEDS = [
    (DATA / "telegram" / "10DOHA71.txt").read_text(encoding="utf-8")[:3000],
    (DATA / "page" / "09BAKU744.txt").read_text(encoding="utf-8")[-3000:],
    (DATA / "html" / "08TUNIS679.html").read_text(encoding="utf-8")[-9000:],
    (DATA / "cables.csv").read_text(encoding="utf-8")[:3000],
]
_WORDS = [
    "\n",
    "\n\n",
    " ",
    "|",
    ",",
    '"',
    "\\",
    "<pre>",
    "</pre>",
    "<table class='cable'>",
    "<td>",
    "Reference ID | Created | Released | Classification | Origin |",
    "---|---|---|---|---|",
    "08TRIPOLI505 | 2008-06-26 16:04 | 2011-02-01 21:09 | CONFIDENTIAL | Embassy Tripoli |",
    "Appears in these articles:",
    "VZCZCXRO1707",
    "P 240944Z FEB 10",
    "FM AMEMBASSY DOHA",
    "TO RUEHC/SECSTATE WASHDC PRIORITY 9704",
    "C O N F I D E N T I A L SECTION 01 OF 04 DOHA 000071",
    "E.O. 12958: DECL: 02/12/2020",
    "TAGS: PREL KWBG",
    "SUBJECT: ",
    "REF: A. STATE 1234 B. 07 KIEV 5",
    "Classified By: ",
    "¶1. (C) ",
    '"1","02/24/2010 09:09","10DOHA71",',
    "Reference ID: 10DOHA71",
    "DOHA 00000071 002 OF 004",
    "&#x000A;",
    "&amp;",
    "\x00",
    "\x1a",
    "\r\n",
    "\ufeff",
    "é",
    "—",
]

texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(_WORDS) | st.text(max_size=12), max_size=40).map("".join),
    st.tuples(st.sampled_from(_SEEDS), st.integers(0, 9000), st.integers(0, 9000), st.text(max_size=20)).map(
        lambda t: t[0][: t[1]] + t[3] + t[0][t[2] :]
    ),
)
blobs = st.one_of(
    st.binary(),
    texts.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(texts, st.sampled_from(["cp1252", "latin-1", "utf-16"])).map(
        lambda t: t[0].encode(t[1], "replace")
    ),
    st.tuples(st.sampled_from(_SEEDS), st.integers(1, 9000)).map(lambda t: t[0].encode()[: t[1]]),
)


def _check(result: Cable) -> None:
    assert isinstance(result, Cable)
    assert tuple(result.to_json()) == JSON_KEYS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.sampled_from([None, "08TRIPOLI505.txt", "x.html", "cables.csv"]))
@example("", None)
@example("\x00", None)
@example("UNCLAS\n\n", "09STATE1.txt")
def test_parse_text_raises_only_parse_error(text: str, name: str | None) -> None:
    try:
        _check(parse_text(text, source="<hypothesis>", name=name))
    except ParseError as err:
        assert str(err).startswith("<hypothesis>")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs)
@example(b"")
@example(b"\xff\xfe\x00")
@example("é".encode()[:1])
def test_parse_text_of_bytes_raises_only_parse_error(data: bytes) -> None:
    try:
        _check(parse_text(data, source="<hypothesis>"))
    except ParseError as err:
        assert str(err).startswith("<hypothesis>")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(blobs, st.sampled_from(["cable.txt", "08TRIPOLI505.txt", "page.html", "cables.csv"]))
def test_parse_file_raises_only_parse_error(tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        for cable in parse_file(path):
            _check(cable)
            assert cable.source.startswith(str(path))
    except ParseError as err:
        assert str(err).startswith(str(path))
