"""A bare telegram's reference ID, decided from the evidence that agrees.

A telegram says who sent it and its number in several places: the classification line
(``C O N F I D E N T I A L PARIS 002725``), the routing header's DE line (``DE RUEHFR #2725``,
whose routing indicator names the station, ``AMEMBASSY PARIS``), the FM line, a page-break
line (``PARIS 00002725 002 OF 003``) — and the file it came in may be named by its ID
(``07PARIS2725.txt``). These can disagree: a classification line copied from another cable
(``MOSCOW 005154`` in Paris's telegram) must not give the cable that other cable's ID, which
would replace the real one in the index.

``choose_id`` scores each candidate ID by how many of those sources agree with its post and
its number (the body's classification line and page-break lines count as one source), keeps the best (ties: classification line, file name, page-break line, header),
and returns warnings that start with a stable kind:

- ``reference ID from the file name:`` — the text gives no ID; the file name's is used;
- ``reference ID from the header:`` — no readable classification line; the ID is read from a
  page-break line or the FM post and DE number;
- ``header and body disagree:`` — the classification line names another post or number than
  the routing header (DE, FM);
- ``file name and text disagree:`` — the file name gives another ID than the one kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from cablesearch.parse.ids import make_id, post_token
from cablesearch.parse.vocab import station

__all__ = ["Evidence", "choose_id", "fm_post", "header_disagreement"]

_NAME_ID = re.compile(r"^(\d{2})([A-Z]+?)(\d+)$")


@dataclass
class Evidence:
    """What a telegram says about its own ID (empty where it says nothing)."""

    year: str = ""  # two digits, from the date-time group (or the container's date)
    class_post: str = ""  # post token of the classification line
    class_num: str = ""
    de_route: str = ""  # DE line's routing indicator, e.g. RUEHFR
    de_num: str = ""  # DE line's message number (up to four digits)
    fm_post: str = ""  # post token of the FM line
    page_post: str = ""  # post token and number of a page-break line
    page_num: str = ""
    name_id: str = ""  # canonical ID the file name gives


def _num(n: str) -> int:
    return int(n) if n.isdigit() else -1


def choose_id(ev: Evidence) -> tuple[str, list[str]]:
    """(reference ID or "", warnings) from the evidence; see the module docstring."""
    if ev.class_post and ev.year and not ev.page_post:
        # the usual case first: the classification line, the header and the file name agree
        ref = make_id(ev.year, ev.class_post, ev.class_num)
        if ref and (not ev.name_id or ev.name_id == ref) and not header_disagreement(ev):
            return ref, []
    de_post = _station_post(ev.de_route)
    if ev.class_post and ev.page_post:
        # a page-break line repeats the classification line (both are the body's): it counts
        # only where the classification line cannot be read
        ev = replace(ev, page_post="", page_num="")
    name = _NAME_ID.match(ev.name_id)
    name_year, name_post, name_num = name.groups() if name else ("", "", "")
    posts = [p for p in (ev.class_post, de_post, ev.fm_post, ev.page_post, name_post) if p]

    def score(post: str, num: str) -> int:
        s = sum(p == post for p in posts)
        n = _num(num)
        for other in (ev.class_num, ev.page_num, name_num):
            s += other != "" and _num(other) == n
        if ev.de_num and n >= 0:
            s += n % 10 ** len(ev.de_num) == _num(ev.de_num)
        return s

    header_post = de_post or ev.fm_post
    if de_post and ev.fm_post and not _same_post(de_post, ev.fm_post):
        header_post = ""  # the routing indicator and the FM line name different posts
    candidates = [
        ("class", ev.class_post, ev.class_num),
        ("name", name_post, name_num),
        ("page", ev.page_post, ev.page_num),
        ("header", header_post if header_post != "STATE" else "", ev.de_num),
    ]
    best: tuple[int, int, str, str, str] | None = None
    for rank, (kind, post, num) in enumerate(candidates):
        if post and num:
            key = (score(post, num), -rank, kind, post, num)
            if best is None or key[:2] > best[:2]:
                best = key
    if best is None:
        return "", []
    _, _, kind, post, num = best
    year = ev.year or name_year
    if name and post == name_post and _num(num) == _num(name_num):
        year = name_year  # the file name agrees: its year is the ID's
    ref = make_id(year, post, num) if year else ""
    if not ref:
        return "", []
    warnings = []
    if kind == "name" or (name and not ev.year):
        if kind != "name" or not (ev.class_post or ev.page_post):
            reason = "the text gives none" if kind == "name" else "the text gives no year"
        else:
            reason = "the header agrees with it"
        warnings.append(f"reference ID from the file name: {ref} ({reason})")
    elif kind != "class":
        how = "a page-break line" if kind == "page" else "the FM post and the DE line's number"
        warnings.append(
            f"reference ID from the header: {ref} read from {how} (no readable classification line)"
        )
    disagree = _header_disagrees(ev, de_post)
    if disagree:
        warnings.append(f"header and body disagree: {disagree}; kept {ref}")
    if ev.name_id and ev.name_id != ref:
        warnings.append(f"file name and text disagree: the file name gives {ev.name_id}; kept {ref}")
    return ref, warnings


@lru_cache(maxsize=4096)
def _station_post(route: str) -> str:
    """The post token of the station a routing indicator names (RUEHFR → PARIS), or ""."""
    name = station(route) if route else ""
    return fm_post(name) if name else ""


def header_disagreement(ev: Evidence) -> str:
    """How the classification line and the routing header (DE, FM) disagree, or ""."""
    return _header_disagrees(ev, _station_post(ev.de_route))


def _header_disagrees(ev: Evidence, de_post: str) -> str:
    if not ev.class_post:
        return ""
    header_post = ev.fm_post or de_post
    if header_post and not _same_post(header_post, ev.class_post):
        return f"the classification line names {ev.class_post} {ev.class_num}, the header {header_post}"
    if ev.de_num and ev.class_num and header_post != "STATE":
        n = _num(ev.class_num)
        if n % 10 ** len(ev.de_num) != _num(ev.de_num):
            return f"the classification line numbers it {ev.class_num}, the DE line #{ev.de_num}"
    return ""


def _same_post(a: str, b: str) -> bool:
    return a == b or a.endswith(b) or b.endswith(a)


_FM_PREFIX = re.compile(
    r"^(?:[A-Z]{4,8}/)?(?:AMEMBASSY|AMCONSUL|AMCONGEN|USMISSION|USINT|USOFFICE|REO|AMEMB|CONGEN)\s+"
)


@lru_cache(maxsize=4096)
def fm_post(fm: str) -> str:
    """The post token an FM line or station names (``AMEMBASSY TRIPOLI`` → ``TRIPOLI``), or ""."""
    fm = fm.upper()
    if fm.startswith("SECSTATE"):
        return "STATE"
    words = _FM_PREFIX.sub("", fm).split()
    for k in range(len(words), 0, -1):
        token = post_token("".join(words[:k]))
        if token:
            return token
    return ""
