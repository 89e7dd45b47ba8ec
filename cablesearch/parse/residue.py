"""Page-break lines of the older telegram layout, which sit inside the opening fields when a
TAGS block, a two-line subject or a REF list crosses a page:
``UNCLASSIFIED PAGE 02 ROME 01059 01 OF 04 281501Z``, ``PAGE 02 ROME 01196 01 OF 02 082030Z``.
(The newer ``TRIPOLI 00000505 002 OF 003`` lines are ``telegram.remove_page_breaks``'s.)"""

from __future__ import annotations

import re

__all__ = ["drop_page_lines", "is_page_line"]

_PAGE_LINE = re.compile(
    r"^[ \t]*(?:(?:UNCLASSIFIED|UNCLAS|CONFIDENTIAL|SECRET|LIMITED\s+OFFICIAL\s+USE)\s+)?"
    r"PAGE\s+\d{1,3}\s+[A-Z][A-Z .'\-]*?\s+\d{2,7}(?:\s+\d{1,3}\s+OF\s+\d{1,3})?(?:\s+\d{6}Z)?[ \t]*$",
    re.M,
)
_PAGE_LINE_NL = re.compile(_PAGE_LINE.pattern + r"\n?", re.M)


def is_page_line(line: str) -> bool:
    """Whether ``line`` is an older-layout page-break line."""
    return "PAGE" in line and _PAGE_LINE.match(line) is not None


def drop_page_lines(text: str) -> str:
    """``text`` without its older-layout page-break lines (each removed with its line break)."""
    if "PAGE" not in text:
        return text
    return _PAGE_LINE_NL.sub("", text)
