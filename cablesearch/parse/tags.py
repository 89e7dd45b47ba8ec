"""The TAGS line of a telegram, as real cables write it.

``find_tags(top)`` finds the TAGS block in the opening of a body and returns its tags;
``read_tags(value)`` reads the tags of a block's text (what follows the key).

What it understands (every case from real cables):

- the key in any case, misspelt or clipped (``Tags``, ``tAgs``, ``TAS:``, ``TABS:``, ``TGS:``,
  ``TAGES:``, ``AGS:``), with or without a colon, at the start of a line or after the E.O. line;
- items continued on the next lines (when the line ends with a comma, or the next line holds
  only codes) up to SUBJECT, a blank line or another field; page-break lines in between are
  skipped; items separated by spaces, commas or both; an item repeated is kept once;
- multi-word tags (``HUMAN RIGHTS``; comma-separated items are whole tags, space-separated
  words are cut by the known multi-word tags), person tags as ``SURNAME, GIVEN``
  (``OVIP (STEINBERG, JAMES B.)``, ``OVIP CLINTON HILLARY``), items with punctuation whole
  (``UNGA/C-6``);
- codes glued together, split by the known codes (``PHUMBA`` → PHUM BA), and near-miss
  codes corrected where only one code is one letter away (``MOPPS`` → MOPS).
"""

from __future__ import annotations

import re
from functools import lru_cache

from cablesearch.parse.residue import is_page_line
from cablesearch.parse.vocab import codes, country_codes, glue_codes, multiword

__all__ = ["find_tags", "read_tags"]

_KEY = re.compile(
    r"(?:^[ \t]*(?:(?i:tags)\b[ \t]*:?|TAG[ \t]*:|TAG[ \t]+(?=[A-Z]{2,6}\b)|(?i:tas|tabs|tgs|tages|tag|ags)[ \t]*:)"
    r"|(?<=\s)(?i:tags|tas|tabs|tgs|tages|ags)[ \t]*:)[ \t]*",
    re.M,
)
# where the block ends on a line: the subject, another field, SIPDIS
_END = re.compile(
    r"(?:^|\s)(?:(?:SUBJECT|Subject|subject|SUBJ|Subj)\b|(?:REF|Ref|REFS|Refs|Ref\(s\)|REFTELS?)\s*:|"
    r"CLASSIFIED\s+BY|Classified\s+[Bb]y|E\.\s?[Oo]\.\s*1\d{4}|EO\s1\d{4}|SIPDIS\b|NOFORN\b|\d{1,2}\.\s+\()|¶"
)
_FIELD_LINE = re.compile(
    r"^[ \t]*(?:(?i:subj(?:ect)?)\b|(?i:refs?|reftels?|ref\(s\))\b|(?i:classified\s+by)|E\.\s?O\.|(?i:sipdis)|"
    r"\d{1,2}\.\s|¶|\()"
)
_MAX_LINES = 5
_CONNECT = frozenset(("AND", "OF", "WITH", "FOR", "THE"))
_STRIP = ".;:'\"*()[]"  # a bracket left over once balanced (person) groups are taken is noise


def find_tags(top: str) -> list[str]:
    """The tags of the TAGS block in ``top`` (the opening of a body); [] without one."""
    # most cables write the key plainly: look for it by substring first (much faster than
    # the full pattern over the opening), from the start of its line
    pos = _first_plain_key(top)
    m = _KEY.search(top, top.rfind("\n", 0, pos) + 1, 6000) if pos >= 0 else None
    if m is None:
        m = _KEY.search(top, 0, 6000)
    if not m:
        return []
    return read_tags(top[m.end() : m.end() + 1500])


def _first_plain_key(top: str) -> int:
    best = -1
    for needle in ("TAGS", "Tags", "tags"):
        i = top.find(needle, 0, 6000)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def read_tags(value: str) -> list[str]:
    """The tags of a TAGS block's text (after the key): upper case, each once, in order."""
    return _items(_block(value))


def _block(value: str) -> str:
    """The block's text: its first line, and the lines that continue it."""
    lines = value.split("\n", _MAX_LINES + 1)
    first = lines[0]
    e = _END.search(first)
    if e:
        return first[: e.start()]
    if len(first) > 400:
        return first[:400]
    parts = [first]
    for line in lines[1 : _MAX_LINES + 1]:
        if not line.strip():
            break
        if is_page_line(line):
            continue
        if _FIELD_LINE.match(line):
            break
        e = _END.search(line)
        text = line[: e.start()] if e else line
        if not (parts[-1].rstrip().endswith(",") or _all_codes(text)):
            break
        parts.append(text)
        if e:
            break
    return "\n".join(parts)


def _all_codes(line: str) -> bool:
    """Whether a line holds only codes: known ones, glued ones, or short upper-case ones."""
    words = [w.strip(_STRIP) for w in line.replace(",", " ").split()]
    return bool(words) and all(
        w.upper() in codes() or _split_glued(w.upper()) or (w.isupper() and len(w) <= 5) for w in words if w
    )


# ---------------------------------------------------------------------------------------------
# items

_PAREN = re.compile(r"\(([^()]*)\)")


def _items(block: str) -> list[str]:
    text = block.upper().replace("\n", " ").replace("\x00", " ")
    if "(" not in text:
        # the usual case first: nothing but known codes
        words = text.replace(",", " ").split()
        known = codes()
        if all(w in known for w in words):
            return list(dict.fromkeys(words))
    people: list[str] = []

    def person(m: re.Match[str]) -> str:
        people.append(_person(m.group(1)))
        return f" \x00{len(people) - 1} "

    if "(" in text:
        text = _PAREN.sub(person, text)
    has_commas = "," in text
    out: list[str] = []
    for chunk in text.split(","):
        words = [w.strip(_STRIP) for w in chunk.split()]
        words = [w for w in words if w.startswith("\x00") or any(c.isalnum() for c in w)]
        _read_chunk(words, has_commas, people, out)
    seen: set[str] = set()
    tags = []
    for tag in out:
        if tag and tag not in seen:
            seen.add(tag)
            tags.append(tag)
    return tags


def _read_chunk(words: list[str], has_commas: bool, people: list[str], out: list[str]) -> None:
    run: list[str] = []
    known_codes = codes()
    for w in words:
        if w.startswith("\x00"):
            _flush(run, has_commas and len(run) == len(words), out)
            run = []
            person = people[int(w[1:])]
            if person:
                out.append(person)
            continue
        known = [w] if w in known_codes else _split_glued(w)
        if known:
            _flush(run, False, out)
            run = []
            out.extend(known)
        else:
            run.append(w)
    _flush(run, has_commas and len(run) == len(words), out)


def _flush(run: list[str], whole: bool, out: list[str]) -> None:
    """Tags from a run of words that are no codes: a whole comma-separated item is one tag;
    otherwise known multi-word tags, names after OVIP, and single words."""
    if not run:
        return
    if whole and len(run) > 1:
        key = tuple(run)
        if out and out[-1] == "OVIP" and len(run) in (2, 3) and key not in multiword():
            out.append(f"{run[0]}, {' '.join(run[1:])}")
        else:
            out.append(multiword().get(key, " ".join(run)))
        return
    i = 0
    n = len(run)
    while i < n:
        for k in range(min(5, n - i), 1, -1):
            tag = multiword().get(tuple(run[i : i + k]))
            if tag:
                out.append(tag)
                i += k
                break
        else:
            if out and out[-1] == "OVIP" and i + 1 < n and not _is_connector(run, i):
                out.append(f"{run[i]}, {run[i + 1]}")  # OVIP CLINTON HILLARY
                i += 2
                continue
            out.append(_near_miss(run[i]))
            i += 1


def _is_connector(run: list[str], i: int) -> bool:
    return run[i] in _CONNECT or run[i + 1] in _CONNECT


def _person(inner: str) -> str:
    """``STEINBERG, JAMES B.`` → ``STEINBERG, JAMES B.``; ``STEINBERG JAMES`` → ``STEINBERG, JAMES``."""
    inner = " ".join(inner.split()).strip(" ,;")
    if not inner or "," in inner:
        return inner
    words = inner.split()
    return f"{words[0]}, {' '.join(words[1:])}" if len(words) > 1 else inner


def _as_codes(word: str) -> list[str]:
    """The code(s) a word is: itself when known, its parts when glued, else []."""
    if word in codes():
        return [word]
    return _split_glued(word)


@lru_cache(maxsize=4096)
def _split_glued(word: str) -> list[str]:
    """``PHUMBA`` → [PHUM, BA]: the fewest subject, program and country codes that spell the
    word, with at least one code longer than a country code; [] when there is none.
    (Organization acronyms are left out: with them, words such as COUNTER would split.)"""
    if len(word) < 5 or not word.isalpha() or len(word) > 60:
        return []
    known = glue_codes()
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        prev = best[i]
        if prev is None:
            continue
        for k in range(2, min(8, n - i) + 1):
            piece = word[i : i + k]
            if piece in known:
                cand = [*prev, piece]
                cur = best[i + k]
                if cur is None or len(cand) < len(cur):
                    best[i + k] = cand
    parts = best[n]
    if not parts or len(parts) < 2 or all(p in country_codes() for p in parts):
        return []
    return parts


def _near_miss(word: str) -> str:
    """A word one letter longer than exactly one known code (``MOPPS`` → ``MOPS``,
    ``UNDESCO`` → ``UNESCO``), corrected; any other word as it is."""
    if len(word) < 5 or not word.isalpha():
        return word
    hits = {word[:i] + word[i + 1 :] for i in range(len(word))} & codes()
    hits = {h for h in hits if len(h) >= 4}
    return hits.pop() if len(hits) == 1 else word
