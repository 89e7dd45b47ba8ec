"""The highlighter on its own: phrases marked only where the words stand as the phrase matched
(positions counted as the index counts them), single words by their analysed form, the lead
paragraph of a cable, and no blow-up with thousands of terms."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cablesearch.engine.schema import TEXT_ANALYZER
from cablesearch.model import Cable
from cablesearch.search.highlight import MAX_MARK_WORDS, Highlighter, Marks
from cablesearch.search.hits import lead_text

H = Highlighter.for_analyzer(TEXT_ANALYZER)
HUMAN_RIGHTS = Marks(phrases=((("human", "right"), 1),))


def marked(html_text: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html_text)


def test_a_phrase_marks_only_the_phrase() -> None:
    text = "Human rights groups, right-wing parties, a rights activist and humanity; human RIGHTS."
    assert marked(H.mark(text, HUMAN_RIGHTS)) == ["Human rights", "human RIGHTS"]


def test_stop_words_do_not_count_as_positions() -> None:
    # the index drops "of": "ministry of foreign affairs" is three adjacent positions
    marks = Marks(phrases=((("ministri", "foreign", "affair"), 1),))
    text = "The Ministry of Foreign Affairs said; foreign ministry affairs were not."
    assert marked(H.mark(text, marks)) == ["Ministry of Foreign Affairs"]


def test_a_phrase_with_slop_marks_its_words_within_the_window() -> None:
    marks = Marks(phrases=((("human", "abus"), 3),))
    text = "human rights and abuses. Abuses later. Human beings were far from any of the many abuses."
    # "human ... abuses" within 3 indexed positions (both "abuses" are); the later "Human" has
    # its "abuses" 6 positions away
    assert marked(H.mark(text, marks)) == ["human", "abuses", "Abuses"]
    # the phrase is ordered: "abuses ... human" is not it
    assert marked(H.mark("abuses of human dignity", marks)) == []


def test_terms_and_phrases_together_and_no_overlap() -> None:
    marks = Marks(frozenset({"right"}), ((("human", "right"), 1),))
    out = H.mark("human rights and rights", marks)
    assert out == "<mark>human rights</mark> and <mark>rights</mark>"


def test_from_units_keeps_words_and_phrases_apart() -> None:
    m = Marks.from_units([(("oil",), 0), (("human", "right"), 1), (("gas",), 1)])
    assert m.terms == frozenset({"oil", "gas"}) and m.phrases == ((("human", "right"), 1),)
    assert not Marks() and Marks(frozenset({"x"}))


def test_many_terms_do_not_build_a_huge_regex() -> None:
    words = [f"word{i}x" for i in range(5000)]
    text = " ".join(words)
    marks = Marks.from_units([((w,), 0) for w in words])
    assert len(marks.terms) == MAX_MARK_WORDS  # capped
    found = marked(H.mark(text, marks))
    assert len(found) == MAX_MARK_WORDS and set(found) <= set(words)


def test_snippet_without_matches_shows_the_lead() -> None:
    body = "S E C R E T SECTION 01 OF 03 STATE 018437\n\nSIPDIS\n\nThe real text starts here and goes on."
    assert H.snippet(body, Marks(), lead="The real text").startswith("The real text")
    assert H.snippet(body, Marks()).startswith("S E C R E T")


HEADER = """S E C R E T SECTION 01 OF 03 STATE 018437

SIPDIS

DEPARTMENT FOR WHA DAS JACOBSON, MEX LEE AND PPC

E.O. 12958 DECL: 02/24/2020
TAGS PREL, PGOV
SUBJECT: MALDIVES AMBASSADOR'S WASHINGTON CONSULTATIONS

REF: STATE 1234

Classified By: SCA A/S Robert O. Blake, Jr. reasons 1.4 (b,d)

1. (S) Maldives Ambassador-designate Abdul Ghafoor Mohamed held his first consultations.

2. (S) More text.
"""


def test_lead_skips_the_telegram_header_block() -> None:
    lead = lead_text(Cable(reference_id="10STATE1", body=HEADER))
    assert lead == "Maldives Ambassador-designate Abdul Ghafoor Mohamed held his first consultations."
    assert lead_text(Cable(reference_id="10STATE1", body=HEADER, summary="The summary.")) == "The summary."


def test_lead_of_an_all_capitals_cable() -> None:
    body = "UNCLAS SECTION 01 OF 02 LUANDA 000084\n\nSIPDIS\n\n1. THE AMBASSADOR MET THE MINISTER ON MONDAY ABOUT OIL.\n"
    assert (
        lead_text(Cable(reference_id="10LUANDA1", body=body))
        == "THE AMBASSADOR MET THE MINISTER ON MONDAY ABOUT OIL."
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["human", "rights", "the", "of", "abuses", "humanity", "right"]), max_size=30)
)
def test_phrase_marks_agree_with_the_analysed_positions(words: list[str]) -> None:
    """An exact phrase is marked exactly where its terms are adjacent among the indexed terms."""
    text = " ".join(words)
    terms = TEXT_ANALYZER.terms(text)
    expected = sum(1 for i in range(len(terms) - 1) if terms[i] == "human" and terms[i + 1] == "right")
    assert len(marked(H.mark(text, HUMAN_RIGHTS))) == expected


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(["human", "Rights", "the", "of", "abuses", "humanity", "right-wing", "a", "x.", ";"]),
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_the_fast_phrase_finder_agrees_with_a_full_scan(words: list[str], slop: int) -> None:
    """ASCII text takes the fast path (only words starting like a phrase word are analysed);
    a non-ASCII character at the end sends the same text through the full token scan."""
    text = " ".join(words)
    marks = Marks(phrases=((("human", "right", "abus"), slop), (("right", "human"), 1)))
    assert H.spans(text, marks) == H.spans(text + " é", marks)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["human", "Rights", "the", "¶", "“human", "rights”", "’s", "—", "abuses", "2.", "(C)"]
        ),
        max_size=40,
    ),
    st.integers(1, 3),
)
def test_paragraph_marks_and_curly_quotes_keep_the_fast_path_right(words: list[str], slop: int) -> None:
    """Cables mark paragraphs with "¶" and use curly quotes and dashes: not word characters, so
    such text stays on the fast path, and finds what the full scan (forced by "é") finds."""
    text = " ".join(words)
    marks = Marks(terms=frozenset({"abus"}), phrases=((("human", "right"), slop),))
    assert H.spans(text, marks) == H.spans(text + " é", marks)
    assert H.matching_words(text, frozenset({"human", "right"})) == H.matching_words(
        text + " é", frozenset({"human", "right"})
    )


# -- the fast word spans against the full computation ------------------------------------------


def _reference_words(text: str, terms: frozenset[str]) -> set[str]:
    """Which surface words analyse to ``terms``, computed the long way: the candidate regex with
    its look-behind first (as before the fast candidate regex), every candidate analysed."""
    lowered = text.lower()
    prefixes = sorted({t[: max(2, len(t) - 3)] for t in terms if t}, key=len, reverse=True)
    cand = re.compile(r"(?<!\w)(?:{})\w*(?:\.\w+)*".format("|".join(map(re.escape, prefixes))))
    words = set(cand.findall(lowered))
    words |= {w for w in re.findall(r"\w+", lowered) if not w.isascii()}
    found = {w for w in words if any(a in terms for a in H.analyze(w))}
    for w in [w for w in words if w not in found and "." in w]:
        found |= {tok for tok in re.findall(r"\w+(?:\.?\w+)*", w) if any(a in terms for a in H.analyze(tok))}
    return found


def _reference_spans(text: str, terms: frozenset[str], limit: int | None = None) -> list[tuple[int, int]]:
    """The spans of those words: one regex of all of them, in the text (case-insensitively when
    lower-casing changes the length)."""
    words = _reference_words(text, terms)
    if not words:
        return []
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    flags = 0 if len(text.lower()) == len(text) else re.IGNORECASE
    source = text.lower() if not flags else text
    found = re.finditer(rf"(?<![\w.])(?:{alternation})(?!\w)", source, flags)
    return [m.span() for m in found][:limit]


def _real_bodies() -> list[str]:
    from pathlib import Path

    from cablesearch.parse import parse_file

    folder = Path(__file__).parent / "data" / "telegram"
    return [c.body for p in sorted(folder.glob("*.txt"))[:12] for c in parse_file(p) if c.body]


BODIES = _real_bodies()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_word_spans_agree_with_the_full_computation_on_real_cables(data: st.DataObject) -> None:
    """Marks and snippets read off the one candidate scan are those of the full computation (a
    regex of every matching word over the whole text), on real cables and their own words."""
    body = data.draw(st.sampled_from(BODIES))
    words = re.findall(r"\w+(?:\.\w+)*", body)
    picked = data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=3))
    terms = frozenset(t for w in picked for t in H.analyze(w.lower()))
    assert H.spans(body, Marks(terms=terms)) == _reference_spans(body, terms)
    assert H.spans(body, Marks(terms=terms), limit=5) == _reference_spans(body, terms, 5)
    assert H.matching_words(body, terms) == _reference_words(body, terms)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "embassy",
                "Embassy.gov",
                "www.embassy",
                ".embassy",
                "u.s.",
                "U.S.-based",
                "us",
                "use",
                "embassies",
                "x.embassy.y",
                "Córdoba",
                "cordoba",
                "İstanbul",
                "talks",
                "talk.",
                "¶",
                "—",
                "emembassy",
                "em.embassy",
                "_embassy",
                "2embassy",
                "embassyembassy",
                "ememem",
                "talktalks",
                "em",
            ]
        ),
        max_size=30,
    ),
    st.sampled_from(
        [
            {"embassi"},
            {"embassi", "talk"},
            {"u.s", "us"},
            {"cordoba"},
            {"istanbul", "embassi"},
            {"use"},
            {"emba", "embassi"},
            {"em", "talk", "embassi"},
        ]
    ),
    st.sampled_from([" ", "", "-"]),
)
def test_word_spans_agree_with_the_full_computation_at_the_edges(
    words: list[str], terms: set[str], sep: str
) -> None:
    """Dotted names, words after a "." or inside other words, prefixes inside prefixes,
    accents and letters whose lower case is longer: the fast spans are the full computation's,
    or the highlighter falls back to it."""
    text = sep.join(words)
    assert H.spans(text, Marks(terms=frozenset(terms))) == _reference_spans(text, frozenset(terms))


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 3))
def test_phrase_spans_on_real_cables_agree_with_a_full_scan(data: st.DataObject, slop: int) -> None:
    """Phrases taken from real cables' own words (adjacent, or a few words apart): the fast
    phrase finder marks what the full token scan (forced by a trailing "é") marks."""
    body = data.draw(st.sampled_from(BODIES))
    terms = TEXT_ANALYZER.terms(body)
    i = data.draw(st.integers(0, len(terms) - 2))
    j = data.draw(st.integers(i + 1, min(len(terms) - 1, i + 3)))
    marks = Marks(phrases=(((terms[i], terms[j]), slop),))
    assert H.spans(body, marks) == H.spans(body + " é", marks)
