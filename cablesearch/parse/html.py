"""The cablegate site's cable page (HTML): the top table, the "Appears in these articles" row,
the header ``<pre>`` and the body ``<pre>`` (whose paragraph anchors are dropped)."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..errors import ParseError
from ..model import Cable
from . import telegram
from .site import fill_subject_from_title, fill_table, page_title

_PRE_OPEN = re.compile(r"<pre\b", re.I)
_PRE_CLOSE = re.compile(r"</pre\s*>", re.I)
_HTML_OPEN = re.compile(r"<html\b", re.I)
_HTML_CLOSE = re.compile(r"</html\s*>", re.I)
_TABLE_CLOSE = re.compile(r"</table\s*>", re.I)

# Limits no cable page comes near (they nest ~5 levels and have under 2,000 tags); at 1,000
# levels the parser takes a few ms.
MAX_DEPTH = 1000
MAX_TAGS = 100_000
# A start or end tag (1: "/" of an end tag, 2: its name); comments and script/style elements
# with their text match with an empty name. (A "/>" does not close a non-void HTML element.)
_TAG = re.compile(
    r"<(?:!--.*?(?:-->|\Z)|(?:script|style)\b.*?(?:</(?:script|style)\s*>|\Z)|(/?)([A-Za-z][A-Za-z0-9:-]*))",
    re.I | re.S,
)
# Elements that do not nest: void elements, and those whose end tag may be left out (the parser
# closes them when the next one starts).
_FLAT_NAMES = (
    "area base br col embed hr img input link meta param source track wbr keygen "
    "p li dt dd tr td th option optgroup rb rt rp rtc thead tbody tfoot colgroup caption "
    "html head body"
)
_FLAT = frozenset(_FLAT_NAMES.split()) | frozenset(_FLAT_NAMES.upper().split())


def parse_html(text: str, source: str, warnings: list[str] | None = None) -> Cable:
    """Read one cable from the HTML of a cablegate page.

    Raises ``ParseError`` for a page without the cable table ("no cable") and for a page cut
    off before the end of the cable's body.
    """
    check_markup(text, source)
    tree = LexborHTMLParser(text)
    table = tree.css_first("table.cable")
    if table is None:
        raise ParseError(source, "HTML page without a cable (no table of class 'cable')")
    if not _TABLE_CLOSE.search(text) or len(_PRE_OPEN.findall(text)) != len(_PRE_CLOSE.findall(text)):
        raise ParseError(source, "truncated file: the page ends before the end of the cable")
    page_warnings = list(warnings or [])
    if _HTML_OPEN.search(text) and not _HTML_CLOSE.search(text):
        page_warnings.append("the page ends before </html> (cut short?); the cable's text is complete")
    cells: list[str] = []
    articles: list[str] = []
    for row in table.css("tr"):
        tds = row.css("td")
        if len(tds) >= 5 and not cells:
            cells = [td.text(strip=True) for td in tds[:5]]
        elif tds and "Appears in these articles" in (row.text() or ""):
            articles = [_link_text(a) for a in row.css("a")]
    if not cells:
        raise ParseError(source, "HTML page without a cable (its cable table has no row of values)")
    pres = tree.css("pre")[:2]  # the header's, then the body's
    if not pres:
        raise ParseError(source, "truncated file: the page has the cable table but no cable text")
    if len(pres) == 1:
        header, body = "", _pre_text(pres[0])
    else:
        header, body = _pre_text(pres[0]), _pre_text(pres[1])
    cable = Cable(format="html", source=source, warnings=page_warnings)
    fill_table(cable, *cells)
    cable.articles = [a for a in articles if a]
    cable = telegram.extract(header, body, cable)
    title = next((t for t in (page_title(h.text() or "") for h in tree.css("h3")) if t), "")
    return fill_subject_from_title(cable, title)


def check_markup(text: str, source: str) -> None:
    """Refuse, before parsing, markup no cable page has and the HTML parser is slow on: nesting
    deeper than ``MAX_DEPTH`` (the parser's time grows with the square of the depth: 40,000
    nested ``<div>`` took 17 s) or more than ``MAX_TAGS`` tags (memory for every node).

    A streaming scan of the tags: elements that are void (``<br>``) or whose end tag may be left
    out (``<p>``, ``<li>``, ``<td>`` ...) do not nest, comments and script/style text are passed
    over.
    """
    brackets = text.count("<")
    if brackets - text.count("</") <= MAX_DEPTH:
        return  # too few start tags to nest that deep (real pages have ~850): no scan needed
    # A page's few thousand tags are found at once; a huge file is scanned as a stream.
    found = _TAG.findall(text) if brackets <= 20_000 else (m.groups() for m in _TAG.finditer(text))
    depth = tags = 0
    for end, name in found:
        if not name:
            continue  # a comment, or script/style with its text
        tags += 1
        if tags > MAX_TAGS:
            raise ParseError(source, f"HTML with more than {MAX_TAGS:,} tags: not a cable page")
        if name in _FLAT:
            continue  # an element that does not nest
        if end:
            if depth:
                depth -= 1
        elif name.lower() not in _FLAT:
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(source, f"HTML nested deeper than {MAX_DEPTH} levels: not a cable page")


def _link_text(a: LexborNode) -> str:
    """An article link as the page shows it (its text), or its address if it has no text."""
    return (a.text(strip=True) or a.attributes.get("href") or "").strip()


def _pre_text(pre: LexborNode) -> str:
    """The text of a ``<pre>``: entities unescaped, line breaks kept, tag links reduced to
    their text and the site's paragraph anchors (``<a id='par1'>¶</a>``) dropped."""
    for anchor in pre.css("a[id^='par']"):
        anchor.decompose()
    return pre.text(deep=True) or ""
