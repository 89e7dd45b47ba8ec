"""Turning what a user typed into something the search engine can run, or one clear error.

``build(request, schema, max_page_size)`` validates a :class:`SearchRequest` and returns a
:class:`BuiltQuery`: the parsed Whoosh query (``None`` when the text is empty, which browses),
the filters as plain values, the sort and the page window. Nothing here touches an index, so a
built query can be printed (``BuiltQuery.explain()``) before it runs.

Query language (Whoosh's, with a few additions):

* words (all must match: AND is the default), ``AND``, ``OR``, ``NOT``, ``-word``, ``+word``,
  parentheses;
* ``"a phrase"`` and ``"a phrase"~3`` (words within 3 positions);
* wildcards ``embass*``, ``wom?n``; fuzzy ``embasy~`` / ``embasy~2``; boosts ``oil^3``;
* ``field:value`` for every indexed field, with friendly aliases (see ``FIELD_ALIASES``);
* ``tag:PREL``, ``tag:"HUMAN RIGHTS"``, ``tag:"STEINBERG, JAMES B."``: a tag is one whole value
  (``tag:human`` matches only a tag HUMAN; ``tag:HUMAN*`` every tag starting so) -- in indexes
  built since tags are whole; older ones split tags on spaces until rebuilt;
* ``person:burns`` everyone of that surname; ``person:"William J. Burns"`` that one name
  (see :class:`cablesearch.engine.schema.PersonAnalyzer`);
* dates: ``created:2008``, ``created:2008-06``, ``created:[2008 to 2009-06]``,
  ``created:>=2009``, the same for ``released``;
* a reference ID as a word (``08TRIPOLI505``) finds that cable first, then the cables citing
  it, then the text mentioning it (``expand_reference_ids``);
* the citation graph (:mod:`cablesearch.engine.graph`): ``cites:ID`` the cables whose REF
  line cites ID, ``citedby:ID`` the cables ID cites, ``thread:ID`` every cable connected to
  ID through citations either way (``thread:ID~2``: at most 2 steps; a thread stops at
  ``THREAD_MAX_NODES`` cables / ``THREAD_MAX_LEVELS`` steps, with a notice). IDs in any case,
  canonicalised (``08tripoli0505`` = ``08TRIPOLI505``); an unknown ID matches nothing, with a
  notice. They combine with everything (``thread:08TRIPOLI505 AND tag:MARR``).

Default fields are subject (weighted ``SUBJECT_BOOST``) and body.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from whoosh import fields
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import (
    FieldAliasPlugin,
    FuzzyTermPlugin,
    GtLtPlugin,
    MultifieldParser,
    PlusMinusPlugin,
    TaggingPlugin,
    syntax,
)

from cablesearch.engine.graph import GRAPH_KINDS, GraphQuery
from cablesearch.engine.matcher import FULL_TEXT_FIELDS
from cablesearch.errors import QuerySyntaxError
from cablesearch.parse.ids import canonical_id
from cablesearch.results import SearchRequest, check_request

DEFAULT_FIELDS = FULL_TEXT_FIELDS
SUBJECT_BOOST = 2.0
DATE_FIELDS = ("created", "released")

#: Extra names accepted before ``:`` in a query, mapped to the schema's field names.
FIELD_ALIASES: dict[str, str] = {
    "tag": "tags",
    "id": "reference_id",
    "ref": "references",
    "refs": "references",
    "from": "origin",
    "post": "origin",
    "class": "classification",
    "date": "created",
    "to": "recipients",
    "signer": "signers",
    "signed": "signers",
    "people": "person",
    "text": "body",
    "title": "subject",
}

SYNTAX_HINT = (
    'write words, "a phrase", AND/OR/NOT, field:value or created:[2008 to 2009-06]; '
    "put text in double quotes to search it literally"
)

# A reference ID typed as a word (08TRIPOLI505, 08tripoli0505): outside quotes and not after
# "field:", it also means the cable of that ID (first) and the cables citing it.
_BARE_ID_RE = re.compile(r"(?<![\w:.*?~^+-])(\d{2}[A-Za-z]{3,}\d{1,6})(?![\w:*?~^])")
ID_BOOST = 50

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?)?)?$")
_FIELD_RE = re.compile(r"(?<![\w.])([A-Za-z_][\w]*):(?=\S)")


@dataclass(frozen=True)
class BuiltQuery:
    """A validated search, ready to run.

    ``query`` is None for an empty text (browse: every cable passing the filters). Filters are
    AND-ed across kinds and OR-ed within a kind (two tags: either). ``date_from``/``date_to`` are
    inclusive bounds on ``created``. ``offset``/``limit`` give the page window.
    """

    text: str
    query: wq.Query | None
    tags: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    persons: tuple[str, ...] = ()
    date_from: datetime | None = None
    date_to: datetime | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    facet_limit: int = 20
    highlight: bool = True
    notice: str | None = None  # shown with the result (e.g. the query had only stop words)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def explain(self) -> str:
        """A one-line, human-readable description of what will run."""
        parts = [f"query={self.query!r}" if self.query is not None else "query=<all cables>"]
        for name in ("tags", "origins", "classifications", "years", "warnings", "persons"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={list(values)}")
        if self.date_from:
            parts.append(f"from={self.date_from:%Y-%m-%d %H:%M}")
        if self.date_to:
            parts.append(f"to={self.date_to:%Y-%m-%d %H:%M}")
        parts.append(f"sort={self.sort} page={self.page} page_size={self.page_size}")
        return " ".join(parts)


def parse_date(text: str, end: bool = False, what: str = "date") -> datetime:
    """``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM`` as a datetime.

    With ``end`` the last moment of the period is returned (``2009-06`` → 2009-06-30 23:59:59),
    so both bounds of a range are inclusive.
    """
    m = _DATE_RE.match(text.strip())
    if not m:
        raise QuerySyntaxError(
            f"{what} {text!r} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2009-06-26)"
        )
    year, month, day, hour, minute = (int(g) if g else None for g in m.groups())
    assert year is not None
    try:
        if month is None:
            start = datetime(year, 1, 1)
            stop = datetime(year + 1, 1, 1)
        elif day is None:
            start = datetime(year, month, 1)
            stop = datetime(year + (month == 12), month % 12 + 1, 1)
        elif hour is None:
            start = datetime(year, month, day)
            stop = start + timedelta(days=1)
        else:
            start = datetime(year, month, day, hour, minute or 0)
            stop = start + timedelta(minutes=1)
    except ValueError as exc:
        raise QuerySyntaxError(
            f"{what} {text!r} is not a valid date ({exc}); write YYYY, YYYY-MM or YYYY-MM-DD"
        ) from None
    return stop - timedelta(microseconds=1) if end else start


class _PlusMinus(PlusMinusPlugin):
    """``+word``/``-word`` inside parentheses too (Whoosh sorts only the top-level group into
    required/optional/banned and fails with NotImplementedError on ``oil OR (iran -iraq)``)."""

    def do_plusminus(self, parser: Any, group: Any) -> Any:
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[i] = self._nested(parser, node)
        return super().do_plusminus(parser, group)

    def _nested(self, parser: Any, group: Any) -> Any:
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[i] = self._nested(parser, node)
        if any(isinstance(node, (self.Plus, self.Minus)) for node in group):
            return super().do_plusminus(parser, group)
        return group


class _GraphNode(syntax.SyntaxNode):
    """``cites:ID`` / ``citedby:ID`` / ``thread:ID~N`` in a parsed query."""

    def __init__(self, kind: str, rid: str, depth: str | None):
        self.kind = kind
        self.rid = canonical_id(rid)
        self.depth = int(depth) if depth else None

    def r(self) -> str:
        return f"{self.kind}:{self.rid}" + (f"~{self.depth}" if self.depth is not None else "")

    def query(self, parser: Any) -> wq.Query:
        return GraphQuery(self.kind, self.rid, self.depth)


_GRAPH_NAMES = "|".join(GRAPH_KINDS)
_GRAPH_EXPR = rf"(?<![\w.])(?P<kind>{_GRAPH_NAMES}):(?P<rid>[A-Za-z0-9]+)(?:~(?P<depth>\d+))?(?=$|[\s)])"


class _GraphPlugin(TaggingPlugin):
    """Tags the citation-graph operators before field names are (their names are no fields)."""

    priority = -10
    expr = _GRAPH_EXPR

    def create(self, parser: Any, match: re.Match[str]) -> _GraphNode:
        return _GraphNode(match.group("kind"), match.group("rid"), match.group("depth"))


_GRAPH_ANY_RE = re.compile(rf"(?<![\w.])({_GRAPH_NAMES}):(\S*)")


def check_graph(text: str) -> None:
    """Raise QuerySyntaxError for a citation-graph operator whose value is no reference ID, or
    ``~N`` after anything but ``thread:``."""
    unquoted = re.sub(r'"[^"]*"', lambda m: " " * len(m.group(0)), text)
    for m in _GRAPH_ANY_RE.finditer(unquoted):
        kind, value = m.group(1), m.group(2).rstrip(")")
        ok = re.fullmatch(r"[A-Za-z0-9]+(?:~\d+)?", value)
        if not ok or not canonical_id(value.split("~")[0])[:2].isdigit():
            raise QuerySyntaxError(
                f"{kind}: needs a reference ID such as 08TRIPOLI505 in {text!r}, not {value!r}"
                + ("; add ~N for at most N steps (thread:08TRIPOLI505~2)" if kind == "thread" else "")
            )
        if "~" in value and kind != "thread":
            raise QuerySyntaxError(
                f"~N (steps) only goes with thread: in {text!r}; write {kind}:{value.split('~')[0]}"
            )


def make_parser(schema: Schema) -> MultifieldParser:
    """The Whoosh parser used for every query: subject and body by default, AND between words,
    field aliases, ``-``/``+`` prefixes, ``<``/``>`` on dates and fuzzy ``~``."""
    fields = [f for f in DEFAULT_FIELDS if f in schema]
    parser = MultifieldParser(fields, schema, fieldboosts={"subject": SUBJECT_BOOST})
    aliases: dict[str, list[str]] = {}
    for alias, target in FIELD_ALIASES.items():
        if target in schema and alias not in schema:
            aliases.setdefault(target, []).append(alias)
    parser.add_plugin(FieldAliasPlugin(aliases))
    parser.add_plugin(_GraphPlugin())
    parser.add_plugin(GtLtPlugin())
    parser.add_plugin(_PlusMinus(plusexpr=r"(?:(?<=[\s(])|^)\+", minusexpr=r"(?:(?<=[\s(])|^)-"))
    parser.add_plugin(FuzzyTermPlugin())
    return parser


_PARSERS: dict[int, tuple[Schema, MultifieldParser]] = {}


def _parser(schema: Schema) -> MultifieldParser:
    """One parser per schema object (building one costs more than parsing a query)."""
    got = _PARSERS.get(id(schema))
    if got is None or got[0] is not schema:
        if len(_PARSERS) > 16:
            _PARSERS.clear()
        got = _PARSERS[id(schema)] = (schema, make_parser(schema))
    return got[1]


def searchable_fields(schema: Schema) -> list[str]:
    """Names that may appear before ``:`` in a query: indexed fields and their aliases."""
    names = [n for n, f in schema.items() if f.indexed]
    return names + [a for a, t in FIELD_ALIASES.items() if t in schema] + list(GRAPH_KINDS)


def check_balance(text: str) -> None:
    """Raise QuerySyntaxError for an unbalanced double quote, parenthesis or bracket (Whoosh's
    parser silently guesses instead)."""
    if text.count('"') % 2:
        raise QuerySyntaxError(f"unbalanced double quote in {text!r}; {_close_quote_hint(text)}")
    stack: list[tuple[str, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    in_quote = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quote = not in_quote
        elif in_quote:
            continue
        elif ch in "([{":
            stack.append((ch, i))
        elif ch in ")]}":
            if not stack:
                raise QuerySyntaxError(
                    f"unbalanced {ch!r} at position {i + 1} in {text!r}: nothing opens it; "
                    f"remove it or quote the text"
                )
            opener, _ = stack.pop()
            # Whoosh allows mixed range brackets: [a TO b} and {a TO b]
            if pairs[ch] != opener and not (opener in "[{" and ch in "]}"):
                raise QuerySyntaxError(
                    f"{opener!r} closed by {ch!r} at position {i + 1} in {text!r}; "
                    f"use (…) for grouping and [a to b] for ranges"
                )
    if stack:
        opener, pos = stack[-1]
        closer = {"(": ")", "[": "]", "{": "}"}[opener]
        raise QuerySyntaxError(
            f"unbalanced {opener!r} at position {pos + 1} in {text!r}: add the missing {closer!r} "
            f"or quote the text"
        )


def _close_quote_hint(text: str) -> str:
    """What to do about the unpaired (last) double quote: close the user's own phrase."""
    last = text.rindex('"')
    phrase = " ".join(text[last + 1 :].split())
    if phrase:
        return f'close the phrase ("{phrase}") or remove the quote'
    before = " ".join(text[text.rfind('"', 0, last) + 1 : last].split())
    return (
        f'remove the last quote, or open the phrase it closes ("{before}")' if before else "remove the quote"
    )


def check_fields(text: str, schema: Schema) -> None:
    """Raise QuerySyntaxError for ``name:value`` where name is no searchable field."""
    known = set(searchable_fields(schema))
    unquoted = re.sub(r'"[^"]*"', lambda m: " " * len(m.group(0)), text)
    for m in _FIELD_RE.finditer(unquoted):
        name = m.group(1)
        if name not in known:
            fields = ", ".join(n for n, f in schema.items() if f.indexed)
            raise QuerySyntaxError(
                f"unknown field {name!r} in {text!r}; fields are: {fields} (aliases: "
                f"{', '.join(sorted(a for a, t in FIELD_ALIASES.items() if t in schema))}); "
                f"to search for {name}: literally, put it in double quotes"
            )


_DATE_FIELD_RE = re.compile(r"(?<![\w.])(?:%s):\s*(\[[^\]]*[\]}]|\{[^}]*[\]}]|[<>]=?\s*[^\s()]+|[^\s()]+)")


def _field_values(text: str, names: set[str]) -> list[tuple[str, list[str]]]:
    """(field, the values or range ends) of each ``name:value`` / ``name:[a to b]`` /
    ``name:>=a`` for the given field names (``*`` ends left out)."""
    pattern = re.compile(_DATE_FIELD_RE.pattern % "|".join(sorted(names)))
    out = []
    for m in pattern.finditer(text):
        value = m.group(1).strip('[]{}<>= "')
        parts = [p.strip().strip('"') for p in re.split(r"(?i)\s+to\s+|^to\s+|\s+to$", value)]
        out.append((m.group(0).split(":", 1)[0], [p if p != "*" else "" for p in parts if p.upper() != "TO"]))
    return out


def check_dates(text: str) -> None:
    """Raise QuerySyntaxError for a date field compared with something that is not a date, or
    a range whose start is after its end."""
    names = set(DATE_FIELDS) | {a for a, t in FIELD_ALIASES.items() if t in DATE_FIELDS}
    for name, parts in _field_values(text, names):
        for part in parts:
            if part:
                parse_date(part, what=f"in {text!r}: the date")
        if len(parts) == 2 and all(parts) and parse_date(parts[0]) > parse_date(parts[1], end=True):
            raise QuerySyntaxError(
                f"in {text!r}: the range of {name}: starts at {parts[0]}, after its end {parts[1]}; "
                f"swap the dates"
            )


def check_numbers(text: str, schema: Schema) -> None:
    """Raise QuerySyntaxError for a number field (``year``) compared with something that is not
    a whole number, or a range whose start is after its end."""
    names = {
        n for n, f in schema.items() if isinstance(f, fields.NUMERIC) and not isinstance(f, fields.DATETIME)
    }
    names |= {a for a, t in FIELD_ALIASES.items() if t in names}
    if not names:
        return
    for name, parts in _field_values(text, names):
        for part in parts:
            if part and not re.fullmatch(r"-?\d+", part):
                raise QuerySyntaxError(
                    f"in {text!r}: {name}: needs a whole number (e.g. {name}:2009), not {part!r}"
                )
        if len(parts) == 2 and all(parts) and int(parts[0]) > int(parts[1]):
            raise QuerySyntaxError(
                f"in {text!r}: the range of {name}: starts at {parts[0]}, after its end {parts[1]}; swap them"
            )


_EMPTY_FIELD_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*):(?=\s|$|\))")


def check_empty_fields(text: str, schema: Schema) -> None:
    """Raise QuerySyntaxError for ``tag:`` with nothing after it (Whoosh would search the word
    "tag" instead)."""
    known = set(searchable_fields(schema))
    unquoted = re.sub(r'"[^"]*"', lambda m: "q" * len(m.group(0)), text)  # a phrase is a value
    for m in _EMPTY_FIELD_RE.finditer(unquoted):
        if m.group(1) in known:
            raise QuerySyntaxError(
                f"{m.group(1)}: has no value in {text!r}; write a value right after the colon "
                f'(e.g. tag:PREL, origin:"Embassy Paris"), or quote the text to search it literally'
            )


_PARSED: OrderedDict[tuple[int, str], tuple[Schema, wq.Query]] = OrderedDict()
_PARSED_MAX = 1024
_PARSED_LOCK = threading.Lock()


def parse_query(text: str, schema: Schema) -> wq.Query | None:
    """Parse query text into a Whoosh query, or None for an empty text. Raises
    QuerySyntaxError with a one-line reason and a hint.

    Whoosh's parser costs ~0.5 ms a query, a sixth of a whole search: the parsed queries of the
    last texts are kept (per schema object; query objects are only read, never changed)."""
    if not text.strip():
        return None
    key = (id(schema), text)
    with _PARSED_LOCK:
        got = _PARSED.get(key)
        if got is not None and got[0] is schema:
            _PARSED.move_to_end(key)
            return got[1]
    q = _parse_uncached(text, schema)
    with _PARSED_LOCK:
        _PARSED[key] = (schema, q)
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return q


def expand_reference_ids(text: str) -> str:
    """``08TRIPOLI505`` -> ``(id:08TRIPOLI505^50 OR ref:08TRIPOLI505 OR 08TRIPOLI505)`` for each
    reference ID written as a bare word outside double quotes: a journalist who types an ID
    gets that cable first, then the cables that cite it, then the text that mentions it."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):
        parts[i] = _BARE_ID_RE.sub(_id_group, parts[i])
    return '"'.join(parts)


def _id_group(m: re.Match[str]) -> str:
    word = m.group(1)
    rid = canonical_id(word)
    return f"(id:{rid}^{ID_BOOST} OR ref:{rid} OR {word})"


_PLAIN_WORD = re.compile(r"[A-Za-z]{2,}")
_OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def _plain_query(text: str, schema: Schema) -> wq.Query | None:
    """The query Whoosh's parser makes of the commonest texts, built directly (the parser costs
    ~0.5 ms a query, most of what a new query costs before it reads postings): words of letters
    separated by single spaces or `` AND `` (``embassy talks``, ``embassy AND talks``), or one
    quoted phrase of such words (``"human rights"``). None for any other text, or when a word
    does not analyse to exactly one term (a stop word): the parser then reads it. The result is
    the parser's to the last attribute (tests compare them on many texts)."""
    fields = [f for f in DEFAULT_FIELDS if f in schema]
    if not fields or any(schema[f].self_parsing() or not schema[f].analyzer for f in fields):
        return None
    boosts = [(f, SUBJECT_BOOST if f == "subject" else 1.0) for f in fields]
    if len(text) > 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        if not all(_PLAIN_WORD.fullmatch(w) for w in inner.split(" ")):
            return None
        phrases = []
        for f, boost in boosts:
            tokens = [
                (t.text, t.startchar + 1, t.endchar + 1)
                for t in schema[f].tokenize(inner, mode="query", chars=True)
            ]
            if len(tokens) < 2:
                return None
            phrases.append(
                wq.Phrase(
                    f,
                    [w for w, _, _ in tokens],
                    slop=1,
                    boost=boost,
                    char_ranges=[(a, b) for _, a, b in tokens],
                )
            )
        return wq.Or(phrases).normalize()
    parts = text.split(" ")
    groups = []
    pos = 0
    for i, part in enumerate(parts):
        start, pos = pos, pos + len(part) + 1
        if part == "AND" and 0 < i < len(parts) - 1 and parts[i - 1] != "AND" and parts[i + 1] != "AND":
            continue
        if part in _OPERATOR_WORDS or not _PLAIN_WORD.fullmatch(part):
            return None
        terms = []
        for f, boost in boosts:
            texts = list(schema[f].process_text(part, mode="query", tokenize=True, removestops=True))
            if len(texts) != 1:
                return None
            term = wq.Term(f, texts[0], boost=boost)
            term.startchar, term.endchar = start, start + len(part)
            terms.append(term)
        groups.append(wq.Or(terms))
    if not groups:
        return None
    return (groups[0] if len(groups) == 1 else wq.And(groups)).normalize()


def _parse_uncached(text: str, schema: Schema) -> wq.Query:
    plain = _plain_query(text, schema)
    if plain is not None:
        return plain
    check_balance(text)
    check_fields(text, schema)
    check_empty_fields(text, schema)
    check_dates(text)
    check_numbers(text, schema)
    check_graph(text)
    try:
        q = _parser(schema).parse(expand_reference_ids(text))
    except QuerySyntaxError:
        raise
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        if _mentions_date(text) and (
            "date" in reason or "month" in reason or "day" in reason or "year" in reason or "range" in reason
        ):
            raise QuerySyntaxError(
                f"bad date in {text!r} ({reason}); write created:2008-06 or "
                f"created:[2008 to 2009-06] with dates as YYYY, YYYY-MM or YYYY-MM-DD"
            ) from None
        raise QuerySyntaxError(f"cannot understand the query {text!r} ({reason}); {SYNTAX_HINT}") from None
    _check_parsed(q, text)
    return q


def _mentions_date(text: str) -> bool:
    names = set(DATE_FIELDS) | {a for a, t in FIELD_ALIASES.items() if t in DATE_FIELDS}
    return any(f"{n}:" in text for n in names)


def _check_parsed(q: wq.Query, text: str) -> None:
    """Errors Whoosh's parser turns into empty queries instead of raising."""
    for node in _walk(q):
        if node is wq.NullQuery and node is q:
            words = re.sub(r"(?i)\b(AND|OR|NOT)\b", " ", text)
            if re.search(r"(?<![\w:])[<>]=?", text) or re.search(r"\w:\s*$", text):
                raise QuerySyntaxError(
                    f"incomplete comparison or field in {text!r}; write created:>=2009 or tag:PREL"
                )
            if not re.search(r"\w", words):
                raise QuerySyntaxError(f"the query {text!r} has only operators; {SYNTAX_HINT}")


def _walk(q: wq.Query) -> list[wq.Query]:
    out = [q]
    for child in q.children():
        out.extend(_walk(child))
    return out


STOP_WORDS_NOTICE = (
    "the query {text!r} has only words too common to be indexed (stop words such as "
    "'the', 'of', 'and'); add a more specific word"
)


def build(request: SearchRequest, schema: Schema, max_page_size: int = 100) -> BuiltQuery:
    """Validate a SearchRequest into a BuiltQuery (QuerySyntaxError on any bad part; limits
    from :data:`cablesearch.results.LIMITS`, page size up to ``max_page_size``)."""
    check_request(request, max_page_size)
    date_from = parse_date(request.date_from, what="--from") if request.date_from else None
    date_to = parse_date(request.date_to, end=True, what="--to") if request.date_to else None
    if date_from and date_to and date_from > date_to:
        raise QuerySyntaxError(f"--from {request.date_from} is after --to {request.date_to}; swap them")
    q = parse_query(request.query, schema)
    notice = STOP_WORDS_NOTICE.format(text=request.query.strip()) if q is wq.NullQuery else None
    return BuiltQuery(
        text=request.query,
        query=q,
        tags=tuple(t.strip() for t in request.tags if t.strip()),
        origins=tuple(o.strip() for o in request.origins if o.strip()),
        classifications=tuple(c.strip() for c in request.classifications if c.strip()),
        years=tuple(request.years),
        warnings=tuple(w.strip() for w in request.warnings if w.strip()),
        persons=tuple(p.strip() for p in request.persons if p.strip()),
        date_from=date_from,
        date_to=date_to,
        sort=request.sort,
        page=request.page,
        page_size=request.page_size,
        facet_limit=request.facet_limit,
        highlight=request.highlight,
        notice=notice,
    )
