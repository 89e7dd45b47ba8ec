"""Query parsing and validation (cablesearch.search.query): what each syntax turns into, and the exact
one-line message for each kind of bad input."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from cablesearch.engine import schema
from cablesearch.errors import QuerySyntaxError
from cablesearch.results import SearchRequest
from cablesearch.search.query import FIELD_ALIASES, build, expand_reference_ids, parse_date, parse_query

SCHEMA = schema.build_schema()


def leaves(q: wq.Query) -> list[wq.Query]:
    return [q] if q.is_leaf() else [x for c in q.children() for x in leaves(c)]


def test_empty_text_browses() -> None:
    assert parse_query("", SCHEMA) is None
    assert parse_query("   ", SCHEMA) is None


def test_words_are_anded_over_subject_and_body_with_subject_boosted() -> None:
    q = parse_query("embassy oil", SCHEMA)
    assert isinstance(q, wq.And)
    terms = leaves(q)
    assert {(t.fieldname, t.text) for t in terms} == {
        ("subject", "embassi"),
        ("body", "embassi"),
        ("subject", "oil"),
        ("body", "oil"),
    }
    assert {t.fieldname: t.boost for t in terms} == {"subject": 2.0, "body": 1.0}


@pytest.mark.parametrize(
    "text, kind",
    [
        ("oil OR gas", wq.Or),
        ("oil AND gas", wq.And),
        ("oil NOT gas", wq.And),
        ("oil -gas", wq.AndNot),
        ("(china OR russia) AND trade", wq.And),
    ],
)
def test_boolean_operators(text: str, kind: type) -> None:
    assert isinstance(parse_query(text, SCHEMA), kind)


def test_phrase_and_slop() -> None:
    q = parse_query('"human rights"~3', SCHEMA)
    phrases = [x for x in leaves(q) if isinstance(x, wq.Phrase)]
    assert {(p.fieldname, tuple(p.words), p.slop) for p in phrases} == {
        ("subject", ("human", "right"), 3),
        ("body", ("human", "right"), 3),
    }


def test_wildcards_and_fuzzy() -> None:
    assert all(isinstance(x, wq.Prefix) for x in leaves(parse_query("embass*", SCHEMA)))
    assert all(isinstance(x, wq.Wildcard) for x in leaves(parse_query("wom?n", SCHEMA)))
    assert all(isinstance(x, wq.FuzzyTerm) for x in leaves(parse_query("embasy~", SCHEMA)))


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("tags:PREL", "tags", "PREL"),
        ("tag:PREL", "tags", "PREL"),
        ("origin:Tripoli", "origin", "Tripoli"),
        ("from:Tripoli", "origin", "Tripoli"),
        ("classification:SECRET", "classification", "SECRET"),
        ("class:SECRET", "classification", "SECRET"),
        ("reference_id:08TRIPOLI505", "reference_id", "08TRIPOLI505"),
        ("id:08TRIPOLI505", "reference_id", "08TRIPOLI505"),
        ("references:08TRIPOLI505", "references", "08TRIPOLI505"),
        ("ref:08TRIPOLI505", "references", "08TRIPOLI505"),
        ("subject:libya", "subject", "libya"),
        ("body:libya", "body", "libya"),
        ("signers:stevens", "signers", "stevens"),
        ("recipients:tripoli", "recipients", "tripoli"),
    ],
)
def test_field_queries_and_aliases(text: str, field: str, value: str) -> None:
    q = parse_query(text, SCHEMA)
    assert isinstance(q, wq.Term)
    assert (q.fieldname, q.text) == (field, value)


def test_aliases_point_at_real_fields() -> None:
    assert set(FIELD_ALIASES.values()) <= set(SCHEMA.names())


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("created:[2008 to 2009-06]", datetime(2008, 1, 1), datetime(2009, 6, 30, 23, 59, 59, 999999)),
        ("created:[2008 TO 2009-06]", datetime(2008, 1, 1), datetime(2009, 6, 30, 23, 59, 59, 999999)),
        ("created:2008-06", datetime(2008, 6, 1), datetime(2008, 6, 30, 23, 59, 59, 999999)),
        ("date:2008", datetime(2008, 1, 1), datetime(2008, 12, 31, 23, 59, 59, 999999)),
        ("released:>=2011", datetime(2011, 1, 1), None),
    ],
)
def test_date_ranges(text: str, start: datetime, end: datetime | None) -> None:
    from whoosh.util.times import datetime_to_long

    q = parse_query(text, SCHEMA)
    assert isinstance(q, wq.NumericRange)
    assert q.start == datetime_to_long(start)
    assert q.end == (datetime_to_long(end) if end else None)


BAD_QUERIES = [
    (
        '"human rights',
        (
            "unbalanced double quote in '\"human rights'; close the phrase "
            '("human rights") or remove the quote'
        ),
    ),
    (
        "oil AND (gas",
        ("unbalanced '(' at position 9 in 'oil AND (gas': add the missing ')' or quote the text"),
    ),
    (
        "oil) gas",
        ("unbalanced ')' at position 4 in 'oil) gas': nothing opens it; remove it or quote the text"),
    ),
    (
        "created:[2008 to 2009",
        ("unbalanced '[' at position 9 in 'created:[2008 to 2009': add the missing ']' or quote the text"),
    ),
    ("(oil]", ("'(' closed by ']' at position 5 in '(oil]'; use (…) for grouping and [a to b] for ranges")),
    (
        "created:[2008 to 2009-13]",
        (
            "in 'created:[2008 to 2009-13]': the date '2009-13' is not a "
            "valid date (month must be in 1..12); write YYYY, YYYY-MM or "
            "YYYY-MM-DD"
        ),
    ),
    (
        "created:[soon to later]",
        (
            "in 'created:[soon to later]': the date 'soon' is not a date; "
            "write YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2009-06-26)"
        ),
    ),
    (
        "released:>=2011-02-30",
        (
            "in 'released:>=2011-02-30': the date '2011-02-30' is not a valid "
            "date (day is out of range for month); write YYYY, YYYY-MM or "
            "YYYY-MM-DD"
        ),
    ),
    (
        "NOT OR embassy",
        (
            "cannot understand the query 'NOT OR embassy' (list index out of range); "
            'write words, "a phrase", AND/OR/NOT, field:value or created:[2008 to '
            "2009-06]; put text in double quotes to search it literally"
        ),
    ),
    (
        "AND OR",
        (
            "the query 'AND OR' has only operators; write words, \"a phrase\", AND/OR/NOT, "
            "field:value or created:[2008 to 2009-06]; put text in double quotes to search "
            "it literally"
        ),
    ),
]


@pytest.mark.parametrize("text, message", BAD_QUERIES)
def test_bad_queries_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse_query(text, SCHEMA)
    assert str(err.value) == message


def test_unknown_field_lists_the_fields() -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse_query("author:smith", SCHEMA)
    msg = str(err.value)
    assert msg.startswith("unknown field 'author' in 'author:smith'; fields are: body, ")
    assert "tags" in msg and "aliases: " in msg
    assert msg.endswith("to search for author: literally, put it in double quotes")
    assert "\n" not in msg


def test_field_like_text_inside_quotes_is_allowed() -> None:
    assert parse_query('"author:smith"', SCHEMA) is not None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"sort": "newest"},
            ("unknown sort 'newest'; use one of: relevance, created, -created, released, -released"),
        ),
        ({"page": 0}, "page must be a whole number from 1 up, not 0"),
        ({"page_size": 0}, "limit must be a whole number from 1 to 100, not 0"),
        ({"page_size": 101}, "limit must be a whole number from 1 to 100, not 101"),
        (
            {"date_from": "2008-13"},
            (
                "--from '2008-13' is not a valid date (month must be in 1..12); "
                "write YYYY, YYYY-MM or YYYY-MM-DD"
            ),
        ),
        (
            {"date_to": "June 2008"},
            ("--to 'June 2008' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2009-06-26)"),
        ),
        ({"date_from": "2009", "date_to": "2008"}, "--from 2009 is after --to 2008; swap them"),
        ({"years": (99,)}, "year 99 is not a year; write e.g. 2009"),
        (
            {"page": 1001},
            "page 1001 is too deep; narrow the search instead (at most the first 10,000 hits can be paged through)",
        ),
    ],
)
def test_bad_requests(kwargs: dict, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        build(SearchRequest(query="oil", **kwargs), SCHEMA, max_page_size=100)
    assert str(err.value) == message


def test_build_keeps_filters_and_window() -> None:
    b = build(
        SearchRequest(
            query="",
            tags=("PREL", " "),
            origins=("Embassy Tripoli",),
            date_from="2008-06",
            date_to="2008-06",
            page=3,
            page_size=20,
        ),
        SCHEMA,
    )
    assert b.query is None and b.tags == ("PREL",) and b.origins == ("Embassy Tripoli",)
    assert b.date_from == datetime(2008, 6, 1)
    assert b.date_to == datetime(2008, 6, 30, 23, 59, 59, 999999)
    assert (b.offset, b.page_size) == (40, 20)
    assert "tags=['PREL']" in b.explain() and "query=<all cables>" in b.explain()


@pytest.mark.parametrize(
    "text, end, expected",
    [
        ("2008", False, datetime(2008, 1, 1)),
        ("2008", True, datetime(2008, 12, 31, 23, 59, 59, 999999)),
        ("2008-02", True, datetime(2008, 2, 29, 23, 59, 59, 999999)),
        ("2008-12", True, datetime(2008, 12, 31, 23, 59, 59, 999999)),
        ("2008-06-26", False, datetime(2008, 6, 26)),
        ("2008-06-26 10:30", True, datetime(2008, 6, 26, 10, 30, 59, 999999)),
    ],
)
def test_parse_date(text: str, end: bool, expected: datetime) -> None:
    assert parse_date(text, end=end) == expected


@pytest.mark.parametrize(
    ("typed", "expanded"),
    [
        ("08TRIPOLI505", "(id:08TRIPOLI505^50 OR ref:08TRIPOLI505 OR 08TRIPOLI505)"),
        ("oil 08tripoli0505", "oil (id:08TRIPOLI505^50 OR ref:08TRIPOLI505 OR 08tripoli0505)"),
        ("07SECSTATE1234", "(id:07STATE1234^50 OR ref:07STATE1234 OR 07SECSTATE1234)"),
        ('"08TRIPOLI505 talks"', '"08TRIPOLI505 talks"'),  # a phrase stays literal
        ("id:08TRIPOLI505", "id:08TRIPOLI505"),  # a field says what it means
        ("-08TRIPOLI505 08TRIPOLI50*", "-08TRIPOLI505 08TRIPOLI50*"),
        ("2008 10th 1999ab", "2008 10th 1999ab"),  # no reference IDs
    ],
)
def test_a_bare_reference_id_also_means_the_cable_and_its_citations(typed: str, expanded: str) -> None:
    assert expand_reference_ids(typed) == expanded


# -- the plain-query fast path is the parser's answer ------------------------------------------


def _deep(q: object) -> object:
    """A query tree as nested plain values: every attribute of every node."""
    if isinstance(q, (list, tuple)):
        return [_deep(x) for x in q]
    if hasattr(q, "__dict__") and type(q).__module__.startswith("whoosh"):
        return (type(q).__name__, {k: _deep(v) for k, v in sorted(vars(q).items())})
    return q


def _old_schema() -> object:
    from pathlib import Path

    from cablesearch.index.store import CableIndex

    ix = CableIndex.open(Path(__file__).parent / "indexes" / "v1c893c8", create=False)
    with ix.searcher() as s:
        return s.schema


PLAIN_TEXTS = [
    "embassy",
    "Embassy talks",
    "embassy AND talks",
    '"human rights"',
    '"interested usg"',
    "NATO oil",
]
VOCAB = [
    "embassy",
    "Talks",
    "NATO",
    "human",
    "rights",
    "the",
    "of",
    "AND",
    "OR",
    "NOT",
    "TO",
    "x",
    "oil",
    "and",
    "a1",
]


@pytest.mark.parametrize("text", PLAIN_TEXTS)
def test_plain_queries_take_the_fast_path(text: str) -> None:
    from cablesearch.search.query import _plain_query

    assert _plain_query(text, SCHEMA) is not None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(VOCAB), min_size=1, max_size=5),
    st.sampled_from([" ", "  "]),
    st.booleans(),
    st.booleans(),
)
def test_a_plain_query_is_exactly_what_whoosh_parses(
    words: list[str], sep: str, quoted: bool, old: bool
) -> None:
    """Words, ``AND`` and phrases, with stop words, operators, one-letter words and numbers
    mixed in: whatever path a text takes, the query is the parser's, attribute for attribute
    (the start and end characters of each term too), on this schema and an old index's."""
    from cablesearch.search.query import make_parser

    schema_ = OLD_SCHEMA if old else SCHEMA
    text = sep.join(words)
    if quoted:
        text = f'"{text}"'
    try:
        want = make_parser(schema_).parse(text)  # type: ignore[arg-type]
    except Exception:
        return
    try:
        got = parse_query(text, schema_)  # type: ignore[arg-type]
    except QuerySyntaxError:
        return  # the checks before the parser turned it down (e.g. an operator alone)
    assert _deep(got) == _deep(want)


OLD_SCHEMA = _old_schema()
