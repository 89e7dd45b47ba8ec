"""The reading layout of cable bodies (cablesearch.reading), on real cables in all forms."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.model import Cable
from cablesearch.reading import layout, mark_level, mark_title, reflow, split_paragraphs

DATA = Path(__file__).resolve().parent / "data"


def one(path: Path) -> Cable:
    [cable] = list(parse.iter_cables([path]))
    return cable


def words(text: str) -> str:
    return " ".join(text.split())


def assert_nothing_lost(cable: Cable) -> None:
    """The blocks' sources are the body; each paragraph's text is its source without the
    number and marking; the preamble keeps every word."""
    blocks = layout(cable.body, cable.signers).blocks
    assert "".join(b.source for b in blocks).strip() == cable.body.strip(), cable.reference_id
    for b in blocks:
        if b.kind in ("paragraph", "summary"):
            assert words(b.source).endswith(words(b.text)), (cable.reference_id, b.anchor)
        elif b.kind == "preamble":
            assert words(b.text) == words(b.source)


def test_paragraph_split_needs_rising_numbers() -> None:
    body = "Intro 1.4 (b) and (d)\n\n1. (C) One.\n2. (C) Two, see para 7. Three.\n3. Three.\n9. Nine?"
    assert [n for n, _ in split_paragraphs(body)] == [None, 1, 2, 3]
    assert "".join(t for _, t in split_paragraphs(body)) == body


@pytest.mark.parametrize("form", ["html/04MADRID4063.html", "telegram/04MADRID4063.txt"])
def test_a_telegram_with_headings_marks_and_signature(form: str) -> None:
    cable = one(DATA / form)
    lay = layout(cable.body, cable.signers)
    kinds = [b.kind for b in lay.blocks]
    assert kinds[0] == "preamble" and kinds[-1] == "signature"
    assert lay.blocks[-1].text == "ARGYROS"
    assert [b.anchor for b in lay.paragraphs] == ["p1", "p2", "p3", "p4", "p5", "p6", "p6-2", "p7"]
    assert {b.mark for b in lay.paragraphs} == {"C"} and lay.paragraphs[0].level == "c"
    headings = [b.text for b in lay.blocks if b.kind == "heading"]
    assert "U.S. Policies Post-Election" in headings
    assert all(not h.startswith(("(", "Classified", "REF")) for h in headings)
    # the number and marking are taken off the front, hard line wraps joined
    assert not lay.paragraphs[0].text.startswith(("1.", "(C)"))
    assert "\n" not in lay.paragraphs[1].text.split("\n\n")[0]
    assert_nothing_lost(cable)


def test_the_one_line_page_form_gets_the_same_paragraphs() -> None:
    html, page = one(DATA / "html/04MADRID4063.html"), one(DATA / "page/04MADRID4063.txt")
    assert "\n" not in page.body.strip()[200:]  # the site's text lost its line breaks
    a, b = layout(html.body, html.signers), layout(page.body, page.signers)
    assert [(p.anchor, p.mark) for p in a.paragraphs] == [(p.anchor, p.mark) for p in b.paragraphs]
    assert [words(p.text)[:60] for p in a.paragraphs] == [words(p.text)[:60] for p in b.paragraphs]
    # the preamble gets its lines back
    preamble = b.blocks[0].text
    assert "\nTAGS" in preamble and "\nSUBJECT:" in preamble


@pytest.mark.parametrize("form", ["page/09TRIPOLI941.txt", "html/2009/11/09TRIPOLI941.html"])
def test_tripoli_941_summary_marks_and_paragraphs(shared_corpus: Path, form: str) -> None:
    """The cable of issue 16: ~15,000 characters that came as one block on the site."""
    cable = one(shared_corpus / form)
    lay = layout(cable.body, cable.signers)
    assert [p.number for p in lay.paragraphs] == list(range(1, 16))
    p1, p2, p3 = lay.paragraphs[:3]
    assert p1.mark == "" and p1.text == "This is an action request; see para 13."
    assert p2.mark == "S/NF" and p2.label == "Summary" and p2.in_summary and p2.ends_summary
    assert p2.mark_title == "Secret, no foreign nationals" and p2.level == "s"
    assert not p3.in_summary and p3.text.startswith("Once again exhibiting")
    assert lay.marks == ["S/NF"]
    headings = [b.text for b in lay.blocks if b.kind == "heading"]
    assert headings == ["COMMENT AND ACTION REQUEST", "BIO NOTE"]
    assert lay.blocks[-1].kind == "signature" and lay.blocks[-1].text == "POLASCHIK"
    assert_nothing_lost(cable)


@pytest.mark.slow
def test_every_real_cable_is_laid_out_without_loss(shared_corpus: Path) -> None:
    cables = list(parse.iter_cables([shared_corpus / "telegram", shared_corpus / "page"]))
    assert len(cables) > 700
    with_paragraphs = 0
    for cable in cables:
        assert_nothing_lost(cable)
        numbers = [p.number for p in layout(cable.body, cable.signers).paragraphs]
        assert all(b >= a - 1 for a, b in itertools.pairwise(numbers)), cable.reference_id
        with_paragraphs += bool(numbers)
    assert with_paragraphs > 0.9 * len(cables)


def test_an_unnumbered_summary_is_its_own_block() -> None:
    body = (
        "C O N F I D E N T I A L\nSUBJECT: THINGS\n\nSUMMARY: Things happened and\nmore things. "
        "END SUMMARY.\n\n1. (C) First.\n\n2. (S) Second.\n"
    )
    blocks = layout(body).blocks
    assert [b.kind for b in blocks] == ["preamble", "summary", "paragraph", "paragraph"]
    assert blocks[1].text.startswith("Things happened and more things.") and blocks[1].ends_summary
    assert blocks[1].anchor == "summary"
    assert [b.mark for b in blocks[2:]] == ["C", "S"]


def test_marks_are_named_for_readers() -> None:
    assert mark_title("C//NF") == "Confidential, no foreign nationals"
    assert mark_title("SBU") == "Sensitive but unclassified"
    assert mark_title("C/RELNATO") == "Confidential, RELNATO"
    assert [mark_level(m) for m in ("S/NF", "TS", "U//FOUO", "")] == ["s", "ts", "u", ""]


def test_reflow_joins_wrapped_lines_and_keeps_lists() -> None:
    text = "The minister said\nthat it would rain.\n\n-- first item\n-- second\nitem\n"
    assert reflow(text) == "The minister said that it would rain.\n\n-- first item\n-- second item"


@given(st.text(alphabet="12345. (CSU/NF)abcXYZ\n-:", max_size=300))
def test_any_text_is_laid_out_without_loss(body: str) -> None:
    blocks = layout(body, ["XYZ"]).blocks
    assert "".join(b.source for b in blocks).strip() == body.strip()
    numbers = [b.number for b in blocks if b.kind == "paragraph"]
    assert all(n is not None and n >= 1 for n in numbers)
