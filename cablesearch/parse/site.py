"""What the containers share: the site's table fields (reference ID, dates, classification,
origin) put into a Cable, and reference IDs taken from a file name."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePath

from ..model import Cable
from .ids import canonical_id

_SITE_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?\s*$")
_CSV_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}))?\s*$")
# A file named like a reference ID: 08TRIPOLI505.txt, 08TRIPOLI505.html, ...
_ID_NAME = re.compile(r"^(\d{2}[A-Z][A-Z0-9]*?\d+)$")


def parse_site_date(raw: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` (the site's tables) or ``MM/DD/YYYY HH:MM`` (cables.csv) to a
    datetime; None when it is neither or not a real date."""
    m = _SITE_DATE.match(raw)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _CSV_DATE.match(raw)
        if not m:
            return None
        month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour, minute = (int(m.group(4)), int(m.group(5))) if m.group(4) else (0, 0)
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def fill_table(
    cable: Cable, reference_id: str, created: str, released: str, classification: str, origin: str
) -> Cable:
    """Put the fields of the site's top table (or the CSV's columns) into ``cable``.

    Values that cannot be read become a warning, never a guess.
    """
    raw_id = reference_id.strip()
    if raw_id:
        cable.reference_id = canonical_id(raw_id)
        if cable.reference_id != raw_id:
            cable.warnings.append(f"reference ID {raw_id!r} read as {cable.reference_id}")
    for name, raw in (("created", created), ("released", released)):
        if raw.strip():
            value = parse_site_date(raw)
            if value is None:
                cable.warnings.append(f"{name} date {raw.strip()!r} not understood; left empty")
            setattr(cable, name, value)
    cable.classification = " ".join(classification.split())
    cable.origin = " ".join(origin.split())
    return cable


def id_from_name(name: str | None) -> str:
    """The canonical reference ID a file name gives (``08TRIPOLI505.txt``), or ``""``."""
    if not name:
        return ""
    stem = PurePath(name).name.split(".", 1)[0].strip().upper()
    if not _ID_NAME.match(stem):
        return ""
    return canonical_id(stem)


_VIEWING = re.compile(r"^[ \t]*Viewing cable[ \t]+(\S+?),[ \t]*(.*?)[ \t]*$", re.M)


def page_title(text: str) -> str:
    """The site's one-line title of a cable ("Viewing cable 10DOHA71, TITLE" → "TITLE")."""
    m = _VIEWING.search(text)
    return m.group(2) if m else ""


_LEADING = re.compile(r"^[^0-9A-Za-z]+")


def fill_subject_from_title(cable: Cable, title: str) -> Cable:
    """A cable whose text gave no subject takes the site's one-line title as its subject.

    The site titles ``SUBJECT: (S) X`` as ``S) X``, and the subject read from the text follows
    that; a page whose title keeps the leading punctuation (``(S) X``) is followed instead."""
    title = " ".join(title.split())
    if not title:
        return cable
    if not cable.subject:
        cable.subject = title
        cable.warnings.append("subject taken from the page's title (the text has no SUBJECT line)")
        return cable
    lead = _LEADING.match(title)
    if lead and not _LEADING.match(cable.subject):
        rest = title[lead.end() :]
        if rest and cable.subject.startswith(rest[:60]):
            cable.subject = lead.group(0) + cable.subject
    return cable
