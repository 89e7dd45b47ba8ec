"""People named by a cable, one spelling per person (issue 13, part 2). Pure: no index here.

Three sources per cable (:func:`cable_people`), each a role:

* ``signer`` — the signature lines (mostly a bare surname: ``BROWNFIELD``);
* ``classified by`` — the name in "Classified By:", without title and reasons
  ("Ambassador Gene A. Cretz for reasons 1.4 (b) and (d)" -> ``CRETZ, GENE A.``);
* ``tag`` — person tags of the TAGS line (``STEINBERG, JAMES B.``, ``CLINTON, HILLARY``).

Spelling (:func:`normalise_name`): ``SURNAME, GIVEN NAMES`` upper case, accents folded,
initials with a period, Jr./Sr./III dropped; a bare surname stays ``SURNAME``.

Merging (:func:`fold_names`) runs over every (name, post, year) the index knows -- at search
time, once per index snapshot (:mod:`cablesearch.engine.columns`), not at commit, so it
needs nothing from the write path and a new cable can change earlier merges at once. Rules:

* never across surnames;
* given names merge when compatible word by word from the first (``W.`` = ``WILLIAM``,
  ``WILLIAM`` = ``WILLIAM J.``) into the one fullest compatible name known; with several
  (``BURNS, W.`` beside ``BURNS, WILLIAM J.`` and ``BURNS, WALTER``) only a single candidate
  seen at the same post in the same year decides, else the name stays as it is;
* a bare surname merges only when exactly one fuller name with that surname is known at that
  post in that year (the usual case: the signer ``BURNS`` and "Classified By: Ambassador
  William J. Burns").

Limits: a person whose name is spelt two incompatible ways (a nickname, a typo) stays two
people; two people of one surname and compatible initials at one post in one year are one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from cablesearch.model import Cable

__all__ = [
    "ROLES",
    "Mention",
    "cable_people",
    "fold_names",
    "given_names",
    "name_in_text",
    "normalise_name",
    "surname",
    "surname_key",
]

ROLES = ("signer", "classified by", "tag")

_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})
# words that are titles, offices or clutter before (or after) a name in "Classified By:"
_TITLES = frozenset(
    [
        "ambassador",
        "amb",
        "ambassador-designate",
        "charge",
        "chargé",
        "d'affaires",
        "affaires",
        "cda",
        "cdm",
        "dcm",
        "pol",
        "econ",
        "polcouns",
        "econcouns",
        "poloff",
        "econoff",
        "polecon",
        "pol/econ",
        "political",
        "economic",
        "commercial",
        "consular",
        "public",
        "affairs",
        "counselor",
        "counsellor",
        "minister",
        "minister-counselor",
        "principal",
        "officer",
        "director",
        "deputy",
        "assistant",
        "secretary",
        "acting",
        "chief",
        "mission",
        "section",
        "head",
        "consul",
        "general",
        "congen",
        "consul-general",
        "conoff",
        "attache",
        "attaché",
        "defense",
        "military",
        "advisor",
        "adviser",
        "special",
        "envoy",
        "representative",
        "coordinator",
        "officer-in-charge",
        "das",
        "pdas",
        "a/s",
        "under",
        "undersecretary",
        "senior",
        "regional",
        "political-military",
        "and",
        "of",
        "the",
        "for",
        "by",
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "hon",
        "honorable",
        "a/dcm",
        "a/pol",
        "a/cda",
        "ad",
        "interim",
        "interim",
        "classified",
        "reason",
        "reasons",
        "nara",
        "tags",
        "subject",
        "ref",
        "refs",
        "e.o.",
        "eo",
    ]
)
_NAME_WORD = re.compile(r"^[A-Z][A-Z'\-]*\.?$")
_CUT = re.compile(
    r"(?i)\b(?:for\s+reasons?|reasons?\b|rea\s*sons?\b|reas\s*ons?\b|1\.[4-6]\b|e\.\s?o\.)|[;:(\[]|\s-\s|\d"
)


def _fold(text: str) -> str:
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _word(token: str) -> str:
    """A name word upper case: ``j`` -> ``J.``, ``burns,`` -> ``BURNS``; '' if no name word."""
    w = _fold(token).upper().replace("’", "'").replace("`", "'").strip(',;:"()[]{}*')
    w = w.strip(".'-")
    if not w or not re.fullmatch(r"[A-Z][A-Z'\-.]*", w):
        return ""
    return w + "." if len(w) == 1 else w


def normalise_name(text: str) -> str | None:
    """``SURNAME, GIVEN`` (or ``SURNAME``) for a name as written, None when it holds none.

    ``Ambassador William J. Burns``, ``Burns, William J.`` and ``BURNS, WILLIAM J., JR`` all
    give ``BURNS, WILLIAM J.``; idempotent; the surname keeps at least two letters."""
    text = " ".join(text.split())
    given: list[str] = []
    if "," in text:
        head, _, rest = text.partition(",")
        sur = [w for w in (_word(t) for t in head.split()) if w]
        given = [w for w in (_word(t) for t in rest.replace(",", " ").split()) if w]
        if not sur:
            return None
        if not [g for g in given if g.rstrip(".") not in _SUFFIXES]:
            text = head  # "SURNAME," reads as "SURNAME": the output must read back the same
    if "," not in text or not given:
        words = [w for w in (_word(t) for t in text.split()) if w]
        while words and words[-1].rstrip(".") in _SUFFIXES and len(words) > 1:
            words.pop()
        while len(words) > 1 and words[0].rstrip(".").casefold() in _TITLES:
            words.pop(0)
        if not words:
            return None
        sur, given = words[-1:], words[:-1]
    given = [g for g in given if g.rstrip(".") not in _SUFFIXES]
    last = " ".join(sur)
    # a surname of initials only ("A. A.") is no surname: read again it would split differently
    if not any(sum(ch.isalpha() for ch in w) >= 2 for w in sur):
        return None
    return f"{last}, {' '.join(given)}" if given else last


def surname(name: str) -> str:
    """The surname of a normalised name (``BURNS, WILLIAM J.`` -> ``BURNS``)."""
    return name.partition(",")[0].strip()


def surname_key(name: str) -> str:
    """The lower-case key of a name's surname (``BURNS, WILLIAM J.`` -> ``burns``)."""
    return _fold(surname(name)).casefold().replace("’", "'")


def given_names(name: str) -> tuple[str, ...]:
    """The given names of a normalised name (``BURNS, WILLIAM J.`` -> (WILLIAM, J.))."""
    return tuple(name.partition(",")[2].split())


def name_in_text(text: str) -> str | None:
    """The person named in a "Classified By:" value, without title and reasons: the last run
    of at least two name words (given names and surname) of the first comma part that has one.
    "Ambassador Gene A. Cretz for reasons 1.4 (b) and (d)" -> ``CRETZ, GENE A.``."""
    cut = _CUT.search(text)
    text = text[: cut.start()] if cut else text
    for part in text.split(","):
        tokens = part.split()
        while tokens and _word(tokens[-1]).rstrip(".") in _SUFFIXES:
            tokens.pop()
        run: list[str] = []
        for tok in reversed(tokens):
            w = _word(tok)
            plain = _fold(tok).replace("’", "'").strip(",.").casefold()
            if not w or not tok[0].isupper() or plain in _TITLES or "/" in tok or not _NAME_WORD.match(w):
                break
            run.append(tok)
            if len(run) == 4:
                break
        if len(run) >= 2:
            name = normalise_name(" ".join(reversed(run)))
            if name and given_names(name):
                return name
    return None


@dataclass(frozen=True)
class Mention:
    """One person named by one cable, in one role (see :data:`ROLES`)."""

    name: str
    role: str


def cable_people(cable: Cable) -> list[Mention]:
    """The people a cable names: signers, the classifying officer, person tags (a name once
    per role, in that order)."""
    out: dict[Mention, None] = {}
    for s in cable.signers:
        name = normalise_name(s) if not re.search(r"\d", s) else None
        if name:
            out[Mention(name, "signer")] = None
    if cable.classified_by:
        name = name_in_text(cable.classified_by)
        if name:
            out[Mention(name, "classified by")] = None
    for tag in cable.tags:
        if "," in tag:
            name = normalise_name(tag)
            if name:
                out[Mention(name, "tag")] = None
    return list(out)


# ---------------------------------------------------------------------------------------------
# merging


def _agree(a: str, b: str) -> bool:
    a, b = a.rstrip("."), b.rstrip(".")
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def compatible(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """Whether given names ``short`` may be an abbreviation of ``full`` (word by word)."""
    return len(short) <= len(full) and all(_agree(a, b) for a, b in zip(short, full, strict=False))


def fuller(full: tuple[str, ...], short: tuple[str, ...]) -> bool:
    """Whether ``full`` says more than ``short`` and agrees with it."""
    if not compatible(short, full) or full == short:
        return False
    return len(full) > len(short) or any(
        len(b.rstrip(".")) > len(a.rstrip(".")) for a, b in zip(short, full, strict=False)
    )


Place = Hashable  # (post, year): where and when a name was seen


def fold_names(
    entries: Iterable[tuple[str, Hashable, Hashable]],
) -> dict[tuple[str, Hashable, Hashable], str]:
    """The one spelling of each (normalised name, post, year), by the module's rules."""
    entries = set(entries)
    groups: dict[str, list[tuple[str, Hashable, Hashable]]] = defaultdict(list)
    for e in entries:
        groups[surname(e[0])].append(e)
    out: dict[tuple[str, Hashable, Hashable], str] = {}
    for group in groups.values():
        out.update(_fold_group(group))
    return out


def _fold_group(group: list[tuple[str, Hashable, Hashable]]) -> dict[tuple[str, Hashable, Hashable], str]:
    names = {e[0] for e in group}
    given = {n: given_names(n) for n in names}
    seen_at: dict[tuple[Hashable, Hashable], set[str]] = defaultdict(set)
    for name, post, year in group:
        seen_at[(post, year)].add(name)
    tops: dict[str, tuple[str, ...]] = {}
    for n in names:
        sups = [m for m in names if fuller(given[m], given[n])] if given[n] else []
        tops[n] = tuple(sorted(m for m in sups if not any(fuller(given[o], given[m]) for o in sups)))
    out = {}
    for e in group:
        name, post, year = e
        here = seen_at[(post, year)]
        if not given[name]:
            local = {_top(m, tops, here) for m in here if given[m]}
            out[e] = local.pop() if len(local) == 1 else name
        else:
            out[e] = _top(name, tops, here)
    return out


def _top(name: str, tops: dict[str, tuple[str, ...]], here: set[str]) -> str:
    cands = tops[name]
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        local = [c for c in cands if c in here]
        if len(local) == 1:
            return local[0]
    return name
