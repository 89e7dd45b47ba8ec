"""Fast, HTML-safe highlighting of query terms in cable text.

Whoosh's highlighter re-analyses the whole text with the full analyzer chain and stops at 32K
characters. Here a text is scanned with the analyzer's own tokenizer pattern in C (``re``),
each distinct word is analysed once (memoised across calls), and only the words whose indexed
form is a query term are marked. Output is always escaped: cable text ``<script>`` comes out as
``&lt;script&gt;``; matches are wrapped in ``<mark>…</mark>``.

What is marked is a :class:`Marks`: single words (any occurrence whose analysed form is one of
them) and phrases (only where the words stand as the phrase matched: adjacent for ``"a b"``,
each word within ``slop`` positions after the one before for ``"a b"~3``, positions counted
over the indexed words, stop words left out, exactly as the index counts them). An exact
phrase is one mark from its first word to its last; a phrase with slop marks its words.
At most :data:`MAX_MARK_WORDS` single words are used (a wildcard can stand for thousands).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from cablesearch.engine.schema import word_analysis

_DEFAULT_TOKEN = r"\w+(?:\.?\w+)*"
MARK_OPEN = "<mark>"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _non_ascii_words(lowered: str) -> set[str]:
    """The words of ``lowered`` that hold a non-ASCII letter ("córdoba"), found from those
    letters outwards: cables are ASCII but for a few marks (¶, ’), so this is ten times cheaper
    than tokenizing the whole text."""
    out: set[str] = set()
    if not any(ch.isalnum() for ch in set(_NON_ASCII.findall(lowered))):
        return out  # only marks such as "¶" and curly quotes: no word holds them
    n = len(lowered)
    for m in _NON_ASCII.finditer(lowered):
        i = m.start()
        if not lowered[i].isalnum():
            continue
        start = end = i
        while start > 0 and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):
            start -= 1
        while end < n and (lowered[end].isalnum() or lowered[end] == "_"):
            end += 1
        out.add(lowered[start:end])
    return out


MARK_CLOSE = "</mark>"
SNIPPET_SPANS = 100  # matches looked at when choosing a snippet's windows
MAX_MARK_WORDS = 500  # single words (index terms) used for marking, at most
MAX_ALTERNATION = 300  # distinct surface words put in one regex; past it, a token scan


@dataclass(frozen=True)
class Marks:
    """What to mark in a text: index terms (``terms``) and phrases (``(words, slop)``)."""

    terms: frozenset[str] = frozenset()
    phrases: tuple[tuple[tuple[str, ...], int], ...] = ()

    @classmethod
    def from_units(cls, units: Iterable[tuple[Sequence[str], int]]) -> Marks:
        """From the matcher's highlight units: one word (or slop 0) is a term, else a phrase."""
        terms: list[str] = []
        phrases: dict[tuple[tuple[str, ...], int], None] = {}
        for words, slop in units:
            if len(words) == 1 or slop == 0:
                terms.extend(words)
            elif words:
                phrases[(tuple(words), max(1, slop))] = None
        return cls(frozenset(terms[:MAX_MARK_WORDS]), tuple(phrases))

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)


def as_marks(marks: Marks | frozenset[str] | set[str]) -> Marks:
    return marks if isinstance(marks, Marks) else Marks(frozenset(marks))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _non_ascii_word_chars(text: str) -> bool:
    """Does ``text`` hold a non-ASCII letter or digit? Cables mark paragraphs with "¶" and use
    curly quotes and dashes: those are not word characters, so the fast ASCII paths still hold
    (only letters such as "ó" can fold to a term without starting with its letters)."""
    return not text.isascii() and any(ch.isalnum() for ch in set(_NON_ASCII.findall(text)))


_TAIL = re.compile(r"\w*(?:\.\w+)*")
_WORD_PREFIX = re.compile(r"\w+")


class _CandidateScan:
    r"""Finds the words starting with one of ``prefixes`` (given longest first) that do not
    stand after a word character, each with the rest of its word and any ``.more``: exactly
    the matches of ``(?<!\w)(?:prefix|...)\w*(?:\.\w+)*``, as ``(start, end)`` spans.

    A new query has new prefixes, and compiling that regex cost more than scanning ten cables
    with it. Here the prefixes alone are looked for (``str.find`` for one; a regex of the bare
    prefixes, quick to compile, for several), each find not after a word character is
    extended by one precompiled regex, and the search goes on after it. A find after a word
    character is skipped whole: every place inside it stands after a letter of the prefix too.
    That holds only for prefixes of word characters; any other prefix ("u.") gets the regex."""

    __slots__ = ("_alternation", "_full", "_single")

    def __init__(self, prefixes: list[str]):
        self._single: str | None = None
        self._alternation: re.Pattern[str] | None = None
        self._full: re.Pattern[str] | None = None
        if not all(_WORD_PREFIX.fullmatch(p) for p in prefixes):
            self._full = re.compile(r"(?<!\w)(?:{})\w*(?:\.\w+)*".format("|".join(map(re.escape, prefixes))))
        elif len(prefixes) == 1:
            self._single = prefixes[0]
        else:
            self._alternation = re.compile("|".join(map(re.escape, prefixes)))

    def spans(self, lowered: str) -> list[tuple[int, int]]:
        if self._full is not None:
            return [m.span() for m in self._full.finditer(lowered)]
        out: list[tuple[int, int]] = []
        single, alternation, tail = self._single, self._alternation, _TAIL.match
        pos = 0
        while True:
            if single is not None:
                start = lowered.find(single, pos)
                if start < 0:
                    return out
                found_end = start + len(single)
            else:
                assert alternation is not None
                m = alternation.search(lowered, pos)
                if m is None:
                    return out
                start, found_end = m.span()
            before = lowered[start - 1] if start else " "
            if before.isalnum() or before == "_":
                pos = found_end
                continue
            end = tail(lowered, found_end).end()  # type: ignore[union-attr]
            out.append((start, end))
            pos = end


class Highlighter:
    """Marks words of a text whose analysed form is in a set of index terms.

    ``analyze`` maps one surface word to the index terms it produces (usually one, none for a
    stop word). Build one per analyzer and reuse it: the word → terms memo is what makes it fast.
    Candidate words are first found with one regex of the terms' leading letters (stemming
    changes only the end of a word), then checked by analysing them.
    """

    def __init__(
        self,
        analyze: Callable[[str], tuple[str, ...]],
        token_pattern: str | None = None,
        memo_size: int = 200_000,
    ):
        self._analyze_fn = analyze
        self._memo: dict[str, tuple[str, ...]] = {}
        self._memo_size = memo_size
        pattern = (
            (token_pattern or _DEFAULT_TOKEN).replace("(?:", "(").replace("(", "(?:").replace("(?:?", "(?")
        )
        self._token_re = re.compile(pattern, re.UNICODE)
        self._prefix_cache: dict[frozenset[str], _CandidateScan | None] = {}

    def analyze(self, word: str) -> tuple[str, ...]:
        """The index terms one surface word produces (memoised)."""
        got = self._memo.get(word)
        if got is None:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            got = self._memo[word] = tuple(self._analyze_fn(word))
        return got

    @classmethod
    def for_analyzer(cls, analyzer: object, token_pattern: str | None = None) -> Highlighter:
        """A highlighter using an index's analyzer (and its tokenizer's pattern)."""
        analyze, pattern = word_analysis(analyzer)
        return cls(analyze, token_pattern or pattern)

    def _candidates(self, terms: frozenset[str]) -> _CandidateScan | None:
        """The scan for the words starting like one of ``terms`` (:class:`_CandidateScan`);
        None for no terms or too many."""
        got = self._prefix_cache.get(terms, False)
        if got is False:
            prefixes = sorted({t[: max(2, len(t) - 3)] for t in terms if t}, key=len, reverse=True)
            got = _CandidateScan(prefixes) if prefixes and len(prefixes) <= 300 else None
            if len(self._prefix_cache) > 1000:
                self._prefix_cache.clear()
            self._prefix_cache[terms] = got
        return got  # type: ignore[return-value]

    def matching_words(self, text: str, terms: frozenset[str]) -> set[str]:
        """The distinct surface words (lower-cased) of ``text`` that analyse to one of ``terms``."""
        if not terms:
            return set()
        return self._match(text.lower(), terms)[0]

    def _match(self, lowered: str, terms: frozenset[str]) -> tuple[set[str], list[tuple[int, str]] | None]:
        """(:meth:`matching_words` of the lower-cased text ``lowered``, the candidate words as
        ``(start, word)`` in text order -- None when there is no candidate regex)."""
        scan = self._candidates(terms)
        cands: list[tuple[int, str]] | None = None
        if scan is not None:
            cands = [(a, lowered[a:b]) for a, b in scan.spans(lowered)]
            words = {w for _, w in cands}
            if not lowered.isascii():
                # "córdoba" folds to the term "cordoba" but does not start with its letters: the
                # words holding a non-ASCII letter are looked at too (found directly, not by
                # tokenizing the whole text)
                words.update(_non_ascii_words(lowered))
        else:
            words = set(self._token_re.findall(lowered))
        found = set()
        analyze = self.analyze
        for word in words:
            for a in analyze(word):
                if a in terms:
                    found.add(word)
                    break
        if scan is not None:
            # a candidate like "u.s.-based" may hold several tokens: check the tokens too
            for word in [w for w in words if w not in found and "." in w]:
                for tok in self._token_re.findall(word):
                    if any(a in terms for a in analyze(tok)):
                        found.add(tok)
        return found, cands

    def spans(
        self, text: str, marks: Marks | frozenset[str], limit: int | None = None
    ) -> list[tuple[int, int]]:
        """(start, end) character spans of the matching words and phrases, in order (the first
        ``limit``)."""
        marks = as_marks(marks)
        spans = self._word_spans(text, marks.terms, None if marks.phrases else limit)
        if marks.phrases:
            spans = _merge(spans, self._phrase_spans(text, marks.phrases))
            if limit is not None:
                spans = spans[:limit]
        return spans

    def _word_spans(self, text: str, terms: frozenset[str], limit: int | None) -> list[tuple[int, int]]:
        if not terms:
            return []
        lowered = text.lower()
        words, cands = self._match(lowered, terms)
        if not words:
            return []
        if cands is not None and len(lowered) == len(text) and len(words) <= MAX_ALTERNATION:
            fast = _spans_from_candidates(lowered, words, cands, limit)
            if fast is not None:
                return fast
        if len(words) > MAX_ALTERNATION:  # no huge regex: scan the tokens
            same = len(lowered) == len(text)
            found_iter = (
                m.span()
                for m in self._token_re.finditer(lowered if same else text)
                if m.group(0).lower() in words
            )
            return list(islice(found_iter, limit))
        alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        if len(lowered) == len(text):  # same offsets: match the lowered text, no IGNORECASE
            pattern = re.compile(rf"(?<![\w.])(?:{alternation})(?!\w)")
            found = pattern.finditer(lowered)
        else:
            pattern = re.compile(rf"(?<![\w.])(?:{alternation})(?!\w)", re.IGNORECASE)
            found = pattern.finditer(text)
        return [m.span() for m in islice(found, limit)]

    def _phrase_spans(
        self, text: str, phrases: tuple[tuple[tuple[str, ...], int], ...]
    ) -> list[tuple[int, int]]:
        """Spans of the phrases' occurrences (see the module docstring)."""
        wanted = frozenset(w for words, _ in phrases for w in words)
        lowered = text.lower()
        scan = self._candidates(wanted)
        if scan is None or len(lowered) != len(text) or _non_ascii_word_chars(lowered):
            where = self._positions_by_scan(text, wanted)
        else:
            where = self._positions_near_candidates(lowered, wanted, scan, max(s for _, s in phrases))
        out: list[tuple[int, int]] = []
        for words, slop in phrases:
            out.extend(_phrase_occurrences(words, slop, where))
        return sorted(set(out))

    def _positions_by_scan(self, text: str, wanted: frozenset[str]) -> dict[str, list[tuple[int, int, int]]]:
        """(position, start, end) of each indexed word of the text that is a phrase word, by
        analysing every token (any text; positions counted from the start)."""
        same = len(text.lower()) == len(text)
        source = text.lower() if same else text
        where: dict[str, list[tuple[int, int, int]]] = {}
        pos = 0
        for m in self._token_re.finditer(source):
            got = self.analyze(m.group(0).lower())
            if not got:
                continue  # a stop word: no position, as in the index
            if got[0] in wanted:
                where.setdefault(got[0], []).append((pos, m.start(), m.end()))
            pos += 1
        return where

    def _positions_near_candidates(
        self, lowered: str, wanted: frozenset[str], scan: _CandidateScan, slop: int
    ) -> dict[str, list[tuple[int, int, int]]]:
        """The same as :meth:`_positions_by_scan` for the distances that matter (up to
        ``slop``), fast: only the words starting like a phrase word are analysed, and between
        two of them the indexed words are counted only up to ``slop`` -- and only while the
        last phrase word seen is at most ``slop`` positions back (past that, no later word can
        stand in a phrase with it or any word before it). Positions are relative: a distance
        up to ``slop`` is exact, a wider one is only known to be wider."""
        where: dict[str, list[tuple[int, int, int]]] = {}
        analyze = self.analyze
        pos = 0
        last: int | None = None  # the position of the last phrase word
        prev_end: int | None = None
        for start, end in scan.spans(lowered):
            if prev_end is not None and last is not None and pos - last <= slop:
                between = 0
                for tok in self._token_re.finditer(lowered, prev_end, start):
                    if analyze(tok.group(0)):
                        between += 1
                        if between > slop:
                            break
                pos += between
            got = analyze(lowered[start:end])
            if not got:
                prev_end = end
                continue
            if got[0] in wanted:
                where.setdefault(got[0], []).append((pos, start, end))
                last = pos
            pos += 1
            prev_end = end
        return where

    def mark(self, text: str, marks: Marks | frozenset[str]) -> str:
        """The whole text, escaped, with every matching word and phrase marked."""
        return render(text, self.spans(text, marks), 0, len(text))

    def snippet(
        self,
        text: str,
        marks: Marks | frozenset[str],
        width: int = 240,
        max_fragments: int = 2,
        lead: str | Callable[[], str] | None = None,
    ) -> str:
        """Up to ``max_fragments`` windows of about ``width`` characters with the most distinct
        matching words, escaped and marked, joined with " … ". Without matches: the opening of
        ``lead`` when given (the cable's summary or first real paragraph; a callable is called
        only then), else of the text."""
        text = text.strip()
        # the best windows are chosen among the first matches: a word that occurs hundreds of
        # times in a long cable need not be located hundreds of times for two fragments
        spans = self.spans(text, marks, limit=SNIPPET_SPANS) if marks else []
        if not spans:
            lead = lead() if callable(lead) else lead
            if lead and lead.strip():
                text = lead.strip()
            return _escape_window(text, 0, min(len(text), width))
        windows = _best_windows(text, spans, width, max_fragments)
        parts = []
        for start, end in windows:
            inner = [(s, e) for s, e in spans if s >= start and e <= end]
            piece = render(text, inner, start, end)
            if start > 0:
                piece = "… " + piece
            if end < len(text):
                piece = piece + " …"
            parts.append(piece)
        return " ".join(parts).replace("… …", "…")


def _spans_from_candidates(
    lowered: str, words: set[str], cands: list[tuple[int, str]], limit: int | None
) -> list[tuple[int, int]] | None:
    r"""The spans of ``words`` in ``lowered`` read off the candidate scan that found them, with
    no second regex (compiling one per cable was a third of a snippet's time) -- exactly what
    the regex ``(?<![\w.])(?:word|...)(?!\w)`` finds, or None when that cannot be shown here.

    It can when no word holds a "." and every word is itself a candidate: then a word matches
    only where it is the whole run of word characters starting after neither a word character
    nor a ".", and every such place is where a candidate starts (a word begins with a
    candidate prefix, and nothing before that place can have consumed it), the candidate being
    that run possibly followed by ``.more``."""
    starts = {w for _, w in cands}
    if any("." in w or w not in starts for w in words):
        return None
    out: list[tuple[int, int]] = []
    for start, cand in cands:
        run = cand.split(".", 1)[0] if "." in cand else cand
        if run in words and (start == 0 or lowered[start - 1] != "."):
            out.append((start, start + len(run)))
            if limit is not None and len(out) >= limit:
                break
    return out


def _phrase_occurrences(
    words: tuple[str, ...], slop: int, where: dict[str, list[tuple[int, int, int]]]
) -> list[tuple[int, int]]:
    """Spans of one phrase: each word within ``slop`` positions after the one before (exactly
    the next position for slop 1). An exact phrase gives one span per occurrence; with slop,
    each word of an occurrence is a span."""
    lists = [where.get(w, []) for w in words]
    if not all(lists):
        return []
    by_pos = [{p: (s, e) for p, s, e in lst} for lst in lists]
    reach = [set(by_pos[0])]
    for i in range(1, len(words)):
        prev = reach[-1]
        reach.append({p for p in by_pos[i] if any(p - step in prev for step in range(1, slop + 1))})
    keep = [reach[-1]]
    for i in range(len(words) - 2, -1, -1):
        nxt = keep[0]
        keep.insert(0, {p for p in reach[i] if any(p + step in nxt for step in range(1, slop + 1))})
    if slop == 1:
        return [(by_pos[0][p][0], by_pos[-1][p + len(words) - 1][1]) for p in keep[0]]
    return [by_pos[i][p] for i in range(len(words)) for p in keep[i]]


def _merge(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of both lists in order, a span inside (or overlapping) an earlier one left out."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(set(a) | set(b), key=lambda x: (x[0], -x[1])):
        if out and s < out[-1][1]:
            continue
        out.append((s, e))
    return out


def render(text: str, spans: Iterable[tuple[int, int]], start: int, end: int) -> str:
    """Escape ``text[start:end]`` with ``spans`` wrapped in <mark>, whitespace runs collapsed."""
    out = []
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out.append(_esc(text[pos:s]))
        out.append(MARK_OPEN + _esc(text[s:e]) + MARK_CLOSE)
        pos = e
    out.append(_esc(text[pos:end]))
    return "".join(out)


_WS = re.compile(r"\s+")


def _esc(s: str) -> str:
    return html.escape(_WS.sub(" ", s), quote=False)


def _escape_window(text: str, start: int, end: int) -> str:
    end = _word_end(text, end)
    piece = _esc(text[start:end])
    return piece + (" …" if end < len(text) else "")


def _word_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    m = re.compile(r"\s").search(text, pos)
    return m.start() if m and m.start() - pos < 30 else pos


def _word_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    i = text.rfind(" ", max(0, pos - 30), pos)
    return i + 1 if i >= 0 else pos


def _best_windows(text: str, spans: list[tuple[int, int]], width: int, count: int) -> list[tuple[int, int]]:
    """Greedy: the window (starting a little before some match) covering the most distinct
    matched words, then the best window not overlapping it, and so on; in text order."""
    lowered = [text[s:e].lower() for s, e in spans]
    starts = [s for s, _ in spans]
    chosen: list[tuple[int, int]] = []
    for _ in range(count):
        best: tuple[int, int] | None = None
        best_key: tuple[int, int, int] | None = None
        for s, _e in spans:
            start = max(0, s - width // 4)
            stop = start + width
            if any(start < ce and stop > cs for cs, ce in chosen):
                continue
            a = bisect_left(starts, start)
            b = bisect_left(starts, stop)
            inside = [lowered[x] for x in range(a, b) if spans[x][1] <= stop]
            key = (len(set(inside)), len(inside), -start)
            if best_key is None or key > best_key:
                best_key, best = key, (start, stop)
        if best is None:
            break
        chosen.append((_word_start(text, best[0]), _word_end(text, min(len(text), best[1]))))
    return sorted(chosen)
