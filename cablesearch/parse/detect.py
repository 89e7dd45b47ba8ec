"""Telling the four forms of a cable apart by their content (never by the file name)."""

from __future__ import annotations

import csv
import io
import re

HTML = "html"
PAGE = "page"
TELEGRAM = "telegram"
CSV = "csv"

# A cables.csv row starts with the running number and the created date, each maybe quoted.
_CSV_START = re.compile(r'^\ufeff?"?\d+"?\s*,\s*"?\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2})?"?\s*,')
# A later line of head that starts a cables.csv row (the first line is looked at separately).
# (It starts with the line feed, a literal the regex engine searches for quickly.)
_CSV_ROW_LINE = re.compile(r'\n"?\d+"?\s*,\s*"?\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2})?"?\s*,')
COLUMNS = 8
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
    if "," in first and detect_csv(head.lstrip()):
        return CSV
    if _HTML_START.match(first) or (first.startswith("<") and _HTML_TAG.search(head)):
        return HTML
    if PAGE_TABLE.search(text):
        return PAGE
    return TELEGRAM


def detect_csv(head: str, name: str = "") -> bool:
    """Whether a text starting with ``head`` (its first KB, leading blanks stripped) is a
    cables.csv; ``name`` is the file's name or path, where there is one.

    Its first line starting like a cables.csv row (running number, ``MM/DD/YYYY`` date) or a
    header line says so at once. A first row that is malformed (its number not digits, empty,
    an impossible date) must not turn the whole file into one telegram, so the file is also a
    cables.csv when further lines in ``head`` start like rows and its first record has the 8
    columns, when two or more lines do, or when it is named ``*.csv`` and its first record has
    8 quoted columns. Its bad rows are then rejected one by one, with their row numbers.
    """
    end = head.find("\n")
    line = head if end < 0 else head[:end]
    if _CSV_START.match(line) or _CSV_HEADER.match(line):
        return True
    if "," not in line:  # no CSV row at all (and the scan below is skipped for telegrams)
        return False
    starts = len(_CSV_ROW_LINE.findall(head, len(line)))
    if starts >= 2:
        return True
    if starts == 0 and not (line.startswith('"') and name.lower().endswith(".csv")):
        return False
    return _first_record_columns(head) == COLUMNS


def _first_record_columns(head: str) -> int:
    """The number of fields of the first complete CSV record in ``head`` (0 if none)."""
    reader = csv.reader(io.StringIO(head, newline=""), escapechar="\\", doublequote=False, strict=True)
    try:
        return len(next(reader))
    except (csv.Error, StopIteration):
        return 0
