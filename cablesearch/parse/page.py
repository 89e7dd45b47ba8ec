"""A text scrape of a cablegate page, laid out like the seed ``08TRIPOLI505.txt``: site chrome,
the top table as pipes, maybe an "Appears in these articles" line, the header lines, then the
body (its first lines kept, the rest partly run together on one line)."""

from __future__ import annotations

import re

from ..errors import ParseError
from ..model import Cable
from . import telegram
from .detect import PAGE_TABLE
from .site import fill_subject_from_title, fill_table, page_title

_SEPARATOR = re.compile(r"^\s*-{3,}\s*(?:\|\s*-{3,}\s*)+\|?\s*$")
_ARTICLES = re.compile(r"^\s*Appears in these articles\s*:?\s*(.*)$", re.I)
_PARTIAL = re.compile(r"^\s*This record is a partial extract of the original cable", re.I)


def _spaced(word: str) -> str:
    return r"\s?".join(word)


# Also the mistyped ones of the release: "SS E C R E T", "E C R E T", "CC O N F I D ...".
_LEVEL = (
    "|".join(_spaced(w) for w in ("SECRET", "CONFIDENTIAL", "UNCLASSIFIED", "UNCLAS"))
    + r"|LIMITED OFFICIAL USE|[A-Z]{0,2}(?: [A-Z]){4,}"
)
# The first line of a telegram's body: its classification line (with more than the bare
# word: "SECTION 01 OF 03", the post and number), the E.O./TAGS/SUBJECT lines, a weekday date.
_BODY_START = re.compile(
    rf"^\s*(?:(?:{_LEVEL})(?:\s*/+\s*\w+)*\s+\S"
    r"|E\.?\s?O\.?\s+\d|TAGS\b|SUBJ(?:ECT)?\b|SIPDIS\b"
    r"|(?:MON|TUES|WEDNES|THURS|FRI|SATUR|SUN)DAY,\s+\d{1,2}\s+[A-Z]+\s+\d{4})",
    re.I,
)


def parse_page(text: str, source: str, warnings: list[str] | None = None) -> Cable:
    """Read one cable from the text scrape of a cablegate page.

    Raises ``ParseError`` when the pipe table is malformed or the page ends before the
    cable's text.
    """
    lines = text.split("\n")
    match = PAGE_TABLE.search(text)
    if match is None:
        raise ParseError(source, "no cable table (Reference ID | Created | ...) in the page")
    i = text.count("\n", 0, match.start()) + 1
    while i < len(lines) and (not lines[i].strip() or _SEPARATOR.match(lines[i])):
        i += 1
    if i >= len(lines):
        raise ParseError(source, "truncated file: the page ends after the cable table's header")
    cells = [c.strip() for c in lines[i].split("|")]
    if cells and not cells[-1]:
        cells.pop()
    if len(cells) != 5:
        raise ParseError(source, f"the cable table's row has {len(cells)} cells, expected 5", line=i + 1)
    i += 1
    cable = Cable(format="page", source=source, warnings=list(warnings or []))
    fill_table(cable, *cells)
    rest = [line.strip() for line in lines[i:]]
    rest = [line for line in rest if line]
    if rest:
        m = _ARTICLES.match(rest[0])
        if m:
            cable.articles = [u for u in m.group(1).replace("|", " ").split() if u]
            rest = rest[1:]
    if not rest:
        raise ParseError(source, "truncated file: the page ends after the cable table")
    cut = body_start(rest)
    header, body = "\n".join(rest[:cut]), "\n".join(rest[cut:])
    cable = telegram.extract(header, body, cable)
    return fill_subject_from_title(cable, page_title(text[: match.start()]))


_DTG = re.compile(r"^\s*(?:[A-Z]{1,2}\s+){0,2}\d{6}Z\s+[A-Za-z]{3}\s+\d{2}\b")
_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


def _header_like(line: str) -> bool:
    """Routing lines, date-time groups, addressees, office lists: capitals, no lower case."""
    return bool(_DTG.match(line) or (_UPPER.search(line) and not _LOWER.search(line)) or _PARTIAL.match(line))


def body_start(lines: list[str]) -> int:
    """Index of the first body line among a page's header-then-body lines (0 when the header
    is missing)."""
    start = 1 if lines and _PARTIAL.match(lines[0]) else 0
    for i in range(start, len(lines)):
        line = lines[i]
        if _BODY_START.match(line) or not _header_like(line):
            return i
    # No recognisable first line: everything after a partial-extract note is body.
    return start
