"""The Whoosh schema, the text analysis, and the mapping from a Cable to an index document.

Field names here are the contract between the indexer, the query module, the CLI and the web
layer; change them only together with all of those.

Analysis (what the query parser must use so queries match the index)
--------------------------------------------------------------------
``subject`` and ``body`` use :data:`TEXT_ANALYZER`, a :class:`FastStemmingAnalyzer`:

* tokens are the matches of ``\\w+(?:\\.?\\w+)*`` (Whoosh's default tokenizer pattern, so
  ``U.S`` and ``3.5`` stay one token) over the lower-cased text;
* tokens shorter than 2 characters and Whoosh's English ``STOP_WORDS`` are dropped, and
  positions are renumbered over the kept tokens (0, 1, 2, ...), as Whoosh's ``StopFilter`` does;
* accents are folded first (``Córdoba`` is indexed and searched as ``cordoba``) in indexes
  created by this version; older indexes keep their unfolded analysis (see
  :class:`FastStemmingAnalyzer`) until rebuilt with ``cablesearch index --rebuild``;
* each kept token is stemmed with Snowball English (PyStemmer ``Stemmer('english')``, the
  "porter2" algorithm -- *not* Whoosh's own Porter stemmer), through a process-wide cache.

Both fields have the ``Positions`` format (``phrase=True``), so phrases and ``~slop`` work.
``recipients`` and ``signers`` use :data:`NAME_ANALYZER` (same tokens and stop words, no
stemming; ``Positions`` format). The analyzer objects are ordinary Whoosh analyzers: they yield
``Token`` objects, honour ``positions``/``chars``/``tokenize=False``/``removestops``/``mode``,
and are pickled with the schema into the index, so ``QueryParser(..., ix.schema)`` and
``field.process_text`` use exactly the indexing analysis. The indexer skips Whoosh's per-token
generator chain by calling :func:`analyze_terms` directly (same function, same result).

Other fields: ``reference_id`` ID (unique, stored, sortable), ``origin`` / ``classification``
ID (stored, sortable; exact, case-sensitive values), ``references`` KEYWORD (space-separated,
case kept, stored as the space-joined string), ``tags`` KEYWORD of whole values
(:class:`WholeValueAnalyzer`: one term per tag, ``HUMAN RIGHTS`` and ``STEINBERG, JAMES B.``
included; the value is the tags joined by newlines, stored), ``person`` KEYWORD
(:class:`PersonAnalyzer`: the people of the cable, :func:`cablesearch.people.cable_people`,
each as its whole normalised name plus a lower-case surname key; not stored), ``created`` / ``released``
DATETIME (stored, sortable), ``year`` NUMERIC int (the created year; stored, sortable; absent
when there is no created date), ``warning`` KEYWORD (comma-separated kinds of the parse
warnings, :func:`warning_kinds`; not stored; absent from indexes built before it, which then
have an empty warning facet), ``record`` STORED (zlib-compressed pickle of the whole Cable;
:func:`unpack_cable`). ``body`` is not stored: read it from ``record``.
"""

from __future__ import annotations

import pickle
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from pickle import dumps as _pickle_dumps
from typing import Any

import Stemmer
from whoosh import fields
from whoosh.analysis import STOP_WORDS, Analyzer, Token

from cablesearch.model import Cable
from cablesearch.people import cable_people, normalise_name, surname_key

SCHEMA_VERSION = 2

TOKEN_PATTERN = r"\w+(?:\.?\w+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN, re.UNICODE)
_STOPS = frozenset(STOP_WORDS)
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_MAX = 500_000
_stemmer: Any = None
_pack_uint = struct.Struct("!I").pack


def _stem_words(words: list[str]) -> list[str]:
    """Stems of ``words`` (already lower-cased), through the shared cache."""
    global _stemmer
    cache = _STEM_CACHE
    missing = [w for w in set(words) if w not in cache]
    if missing:
        if _stemmer is None:
            _stemmer = Stemmer.Stemmer("english")
        if len(cache) + len(missing) > _STEM_CACHE_MAX:
            cache.clear()
        cache.update(zip(missing, _stemmer.stemWords(missing), strict=True))
    return [cache[w] for w in words]


def fold_accents(text: str) -> str:
    """``text`` without accents and other combining marks ("Córdoba" -> "Cordoba"); ASCII text
    is returned as it is, at once."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    chars = set(text)
    new = chars.difference(_SEEN)
    if new:
        marks = {ch for ch in new if unicodedata.combining(ch)}
        _MARKS.update(marks)
        _DROP.update(dict.fromkeys(map(ord, marks)))
        _SEEN.update(new)
    return text if chars.isdisjoint(_MARKS) else text.translate(_DROP)


# every character fold_accents has looked at, the combining marks among them, and those as a
# ``str.translate`` table (code point -> None: dropped). A cable holds few distinct characters:
# each is looked up once per process, not once per occurrence, and a text without marks (most
# of them: "¶" and curly quotes are not marks) is returned without a copy
_SEEN: set[str] = set()
_MARKS: set[str] = set()
_DROP: dict[int, None] = {}


def analyze_terms(text: str, stem: bool = True, fold: bool = False) -> list[str]:
    """The index terms of ``text`` in order (their list index is their position)."""
    if fold:
        text = fold_accents(text)
    words = [w for w in _TOKEN_RE.findall(text.lower()) if len(w) > 1 and w not in _STOPS]
    return _stem_words(words) if stem else words


def _pickle_int(n: int) -> bytes:
    # What pickle protocol 2 writes for one int (BININT1 / BININT2 / BININT).
    if 0 <= n < 256:
        return b"K" + bytes((n,))
    if 0 <= n < 65536:
        return b"M" + n.to_bytes(2, "little")
    return b"J" + n.to_bytes(4, "little", signed=True)


_INT_PICKLES = [_pickle_int(n) for n in range(65536)]
_LIST_HEAD = b"\x80\x02]q\x00"
_SINGLE = [_pack_uint(1) + _LIST_HEAD + _INT_PICKLES[n] + b"a." for n in range(4096)]
SINGLE_POSITION_VALUES = tuple(_SINGLE)  # the value of a posting at one position under 4,096


def encode_positions(positions: list[int]) -> bytes:
    """The posting value Whoosh's ``formats.Positions`` writes for these positions: the count,
    then ``pickle.dumps(deltas, 2)`` -- built here from precomputed pieces (byte-identical)."""
    if len(positions) == 1:
        p = positions[0]
        if p < 4096:
            return _SINGLE[p]
        return _pack_uint(1) + _pickle_dumps([p], 2)
    deltas = []
    base = 0
    for p in positions:
        deltas.append(p - base)
        base = p
    if base >= 65536:
        return _pack_uint(len(deltas)) + _pickle_dumps(deltas, 2)
    table = _INT_PICKLES
    return _pack_uint(len(deltas)) + _LIST_HEAD + b"(" + b"".join([table[d] for d in deltas]) + b"e."


def positions_postings(terms: list[str], boost: float = 1.0) -> list[tuple[bytes, int, float, bytes]]:
    """(term bytes, freq, weight, encoded positions) per distinct term, as ``Positions`` does.
    With ``boost`` 1 the weight is the frequency as an int (equal to Whoosh's float, and a
    small int is one shared object, not a new float per posting: writers store weights as
    ``array("f")``)."""
    poses: dict[str, list[int]] = {}
    for i, t in enumerate(terms):
        at = poses.get(t)
        if at is None:
            poses[t] = [i]
        else:
            at.append(i)
    if not poses:
        return []
    # one encode for all the terms (analysed tokens hold no NUL; term by term if one did)
    keys = "\0".join(poses).encode("utf-8").split(b"\0")
    if len(keys) != len(poses):
        keys = [t.encode("utf-8") for t in poses]
    enc, single = encode_positions, _SINGLE
    if boost != 1.0:
        return [
            (k, len(p), len(p) * boost, single[p[0]] if len(p) == 1 and p[0] < 4096 else enc(p))
            for k, p in zip(keys, poses.values(), strict=True)
        ]
    return [
        (k, n, n, single[p[0]] if n == 1 and p[0] < 4096 else enc(p))
        for k, p in zip(keys, poses.values(), strict=True)
        for n in (len(p),)
    ]


class FastStemmingAnalyzer(Analyzer):
    """Whoosh-compatible analyzer doing in one pass what RegexTokenizer | LowercaseFilter |
    StopFilter | StemFilter does (see the module docstring), with PyStemmer; with ``fold``,
    accents are folded first (``fold_accents``).

    ``fold`` is True for new schemas. An analyzer unpickled from the TOC of an index written
    before folding existed has no ``fold`` attribute: ``__setstate__`` makes it False, so that
    index keeps being searched and grown exactly as it was written (it gets folding with
    ``cablesearch index --rebuild``)."""

    def __init__(self, stem: bool = True, fold: bool = True):
        self.stem = stem
        self.fold = fold

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("fold", False)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(stem={self.stem}, fold={self.fold})"

    def __eq__(self, other: object) -> bool:
        # ``fold`` is left out on purpose: an index whose analyzer predates folding is still an
        # index of this schema (the store's schema check compares analyzers), searched and
        # grown with its own analyzer
        return isinstance(other, FastStemmingAnalyzer) and other.stem == self.stem

    def __hash__(self) -> int:
        return hash((self.__class__.__name__, self.stem))

    def terms(self, text: str) -> list[str]:
        return analyze_terms(text, self.stem, self.fold)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if self.fold and not value.isascii():
            folded = fold_accents(value)
            # folding can change the length (ligatures): character offsets then need the original
            if not chars or len(folded) == len(value):
                value = folded
        if not tokenize:
            # Whoosh passes whole query terms this way; still lower-case and stem them.
            text = value.lower()
            t.original = value
            t.text = _stem_words([text])[0] if self.stem else text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        pos = start_pos
        for match in _TOKEN_RE.finditer(value):
            word = match.group(0).lower()
            stopped = len(word) < 2 or word in _STOPS
            if stopped and removestops:
                continue
            t.original = match.group(0) if keeporiginal else word
            t.text = _stem_words([word])[0] if (self.stem and not stopped) else word
            t.boost = 1.0
            t.stopped = stopped
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            if not stopped:
                pos += 1
            yield t


class WholeValueAnalyzer(Analyzer):
    """One token per line of the value, whole and as written (``HUMAN RIGHTS``,
    ``STEINBERG, JAMES B.``): the analyzer of the ``tags`` field. Tags never hold a newline
    (:func:`cable_to_doc` joins them with one and collapses the white space inside each).

    It is pickled into the schema of every index written since tags are whole values, so this
    class must stay importable here under this name. Indexes written before keep Whoosh's
    space-splitting KeywordAnalyzer (pickled in their TOC) and so their word-split tags, until
    ``cablesearch index --rebuild``. In queries, a term or a phrase (``tag:PREL``,
    ``tag:"HUMAN RIGHTS"``) is one whole value."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def values(self, value: str, tokenize: bool, mode: str) -> list[str]:
        """The terms of a value."""
        if not tokenize:
            return [value.strip()] if value.strip() else []
        return [v for v in (line.strip() for line in value.split("\n")) if v]

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, text in enumerate(self.values(value, tokenize, mode)):
            t.text = t.original = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                at = max(0, value.find(text))
                t.startchar = start_char + at
                t.endchar = start_char + at + len(text)
            yield t


class PersonAnalyzer(WholeValueAnalyzer):
    """The ``person`` field's analyzer (pickled in the schema: keep this name importable here).

    Indexing: each line is a normalised name (``BURNS, WILLIAM J.``); it gives that name as
    one term and its surname key (``burns``, lower case, so keys never equal a name).
    Queries: a text with a comma or several words is normalised to one whole name
    (``person:"William J. Burns"`` = ``BURNS, WILLIAM J.``); one word is a surname
    (``person:Burns`` -> ``burns``: everyone of that surname); wildcards are lower-cased
    (``person:bur*`` runs over surnames)."""

    def values(self, value: str, tokenize: bool, mode: str) -> list[str]:
        if mode != "query":
            out: list[str] = []
            for name in super().values(value, True, mode):
                out.append(name)
                key = surname_key(name)
                if key:
                    out.append(key)
            return out
        text = " ".join(value.split())
        if not text:
            return []
        if not tokenize or ("," not in text and " " not in text):
            return [surname_key(text) or text.lower()] if tokenize else [text.lower()]
        whole = normalise_name(text)
        return [whole] if whole else []


TEXT_ANALYZER = FastStemmingAnalyzer(stem=True, fold=True)
NAME_ANALYZER = FastStemmingAnalyzer(stem=False, fold=True)


class FastText(fields.TEXT):
    """A TEXT field (Positions format) that indexes through :func:`analyze_terms` directly,
    skipping Whoosh's per-token generator chain; queries use the same analyzer."""

    def index(self, value: Any, **kwargs: Any) -> Any:
        analyzer = self.analyzer
        if isinstance(value, str) and isinstance(analyzer, FastStemmingAnalyzer):
            return positions_postings(analyzer.terms(value), self.format.field_boost)
        return super().index(value, **kwargs)

    def postings_and_length(self, value: Any) -> tuple[list[tuple[bytes, int, float, bytes]], int] | None:
        """(postings as :meth:`index` gives them, the field length) for the writer, or None
        where :meth:`index` would go through Whoosh's generic path."""
        analyzer = self.analyzer
        if not isinstance(value, str) or not isinstance(analyzer, FastStemmingAnalyzer):
            return None
        terms = analyzer.terms(value)
        return positions_postings(terms, self.format.field_boost), len(terms)


def word_analysis(analyzer: Any) -> tuple[Callable[[str], tuple[str, ...]], str | None]:
    """(word -> index terms, the tokenizer's regex pattern or None) of a field's analyzer: the
    highlighter analyses surface words with exactly what indexed them."""
    pattern = TOKEN_PATTERN if isinstance(analyzer, FastStemmingAnalyzer) else None
    if pattern is None:
        items = getattr(analyzer, "items", None)
        expr = getattr(items[0] if items else analyzer, "expression", None)
        pattern = getattr(expr, "pattern", None)

    def analyze(word: str) -> tuple[str, ...]:
        return tuple(t.text for t in analyzer(word))

    return analyze, pattern


def build_schema() -> fields.Schema:
    """The schema of a new index (see the module docstring for what each field holds)."""
    return fields.Schema(
        reference_id=fields.ID(stored=True, unique=True, sortable=True),
        subject=FastText(analyzer=TEXT_ANALYZER, stored=True, phrase=True),
        body=FastText(analyzer=TEXT_ANALYZER, stored=False, phrase=True),
        tags=fields.KEYWORD(stored=True, scorable=False, analyzer=WholeValueAnalyzer()),
        origin=fields.ID(stored=True, sortable=True),
        classification=fields.ID(stored=True, sortable=True),
        created=fields.DATETIME(stored=True, sortable=True),
        released=fields.DATETIME(stored=True, sortable=True),
        year=fields.NUMERIC(int, bits=32, stored=True, sortable=True),
        references=fields.KEYWORD(stored=True, lowercase=False, scorable=False),
        recipients=FastText(analyzer=NAME_ANALYZER, stored=False, phrase=True),
        signers=FastText(analyzer=NAME_ANALYZER, stored=True, phrase=True),
        record=fields.STORED(),  # zlib-compressed pickle of the whole Cable, for show/cable view
        warning=fields.KEYWORD(stored=False, commas=True, lowercase=False, scorable=False),
        person=fields.KEYWORD(stored=False, scorable=False, analyzer=PersonAnalyzer()),
    )


def warning_kinds(warnings: list[str]) -> list[str]:
    """The kinds of a cable's parse warnings: each warning's text before its first ':'
    (``"subject: the telegram says ..."`` -> ``subject``), ``other`` for a warning without
    one (or whose colon comes inside a quoted value); distinct, in first-seen order. Commas (the field's separator) become spaces."""
    kinds: dict[str, None] = {}
    for w in warnings:
        head, sep, _ = w.partition(":")
        kind = " ".join(head.replace(",", " ").split()) if sep else ""
        if len(kind) > 60 or "'" in kind or '"' in kind:  # a colon inside a quoted value
            kind = ""
        kinds[kind or "other"] = None
    return list(kinds)


#: Fields added after indexes were first written: an index without them still opens and grows
#: (their values are left out when writing to it; a facet of such a field is empty).
LATER_FIELDS = frozenset({"warning", "person"})


def same_field(name: str, found: Any, expected: Any) -> bool:
    """Whether an index's field ``found`` may stand for this version's field ``expected``:
    the same type and analysis, or a form older indexes keep (``tags`` split on spaces, from
    before tags were whole values: searched and grown as they were written)."""
    if type(found) is not type(expected):
        return False
    mine = getattr(expected, "analyzer", None)
    theirs = getattr(found, "analyzer", None)
    if theirs == mine:
        return True
    return name == "tags" and not isinstance(theirs, WholeValueAnalyzer)


def pack_cable(cable: Cable) -> bytes:
    """The ``record`` value: the whole Cable, pickled and zlib-compressed."""
    return zlib.compress(pickle.dumps(cable, protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack_cable(data: bytes) -> Cable:
    """The Cable stored in a document's ``record`` field."""
    return pickle.loads(zlib.decompress(data))


def cable_to_doc(cable: Cable) -> dict[str, Any]:
    """The keyword arguments for ``writer.update_document`` for one cable."""
    doc: dict[str, Any] = {
        "reference_id": cable.reference_id,
        "subject": cable.subject,
        "body": cable.body,
        "tags": "\n".join(" ".join(t.split()) for t in cable.tags if t.strip()),
        "origin": cable.origin,
        "classification": cable.classification,
        "references": " ".join(cable.references),
        "recipients": "\n".join(cable.to + cable.info),
        "signers": "\n".join(cable.signers),
        "record": pack_cable(cable),
        "warning": ",".join(warning_kinds(cable.warnings)),
        "person": "\n".join(p.name for p in cable_people(cable)),
    }
    if cable.created:
        doc["created"] = cable.created
        doc["year"] = cable.created.year
    if cable.released:
        doc["released"] = cable.released
    return {k: v for k, v in doc.items() if v != ""}
