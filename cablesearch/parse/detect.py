"""Telling the four forms of a cable apart by their content (never by the file name)."""

from __future__ import annotations

import re

HTML = "html"
PAGE = "page"
TELEGRAM = "telegram"
CSV = "csv"

# A cables.csv row starts with the running number and the created date, each maybe quoted.
_CSV_START = re.compile(r'^\ufeff?"?\d+"?\s*,\s*"?\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2})?"?\s*,')
# A cables.csv with a header line (the release has none, but exports of it may).
_CSV_HEADER = re.compile(r'^\ufeff?"?(?:id|no|number|#)"?\s*,\s*"?(?:created|date)"?\s*,', re.I)
_HTML_START = re.compile(
    r"^\ufeff?\s*<(?:!doctype|\?xml|html|head|body|meta|title|div|table|pre|code|p|h\d)\b", re.I
)
_HTML_TAG = re.compile(r"<(?:html|body|table|pre|div)\b[^>]*>", re.I)
PAGE_TABLE = re.compile(
    r"^[ \t]*Reference ID[ \t]*\|[ \t]*Created[ \t]*\|[ \t]*Released[ \t]*\|[ \t]*Classification[ \t]*\|"
    r"[ \t]*Origin[ \t]*\|?[ \t]*$",
    re.M,
)


def detect(text: str) -> str:
    """The form of a cable text: ``html``, ``page``, ``telegram`` or ``csv``.

    HTML is markup from its first character (or a cable table/pre in the first 64 KB); a
    page scrape has the pipe table's header line; a cables.csv starts with a running number
    and an ``MM/DD/YYYY`` date; everything else is read as a bare telegram.
    """
    head = text[:65536]
    first = head.lstrip()[:4096]
    if detect_csv(first):
        return CSV
    if _HTML_START.match(first) or (first.startswith("<") and _HTML_TAG.search(head)):
        return HTML
    if PAGE_TABLE.search(text):
        return PAGE
    return TELEGRAM


def detect_csv(first: str) -> bool:
    """Whether the start of a file is a cables.csv (its first line, maybe a header line)."""
    line = first.split("\n", 1)[0]
    return bool(_CSV_START.match(line) or _CSV_HEADER.match(line))
