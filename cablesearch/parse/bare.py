"""A bare telegram: header block, blank line, body; perhaps with a few metadata lines before it
(``Reference ID: ...``, ``Subject: ...``, ``Date: ...``, ``Classification: ...``,
``Origin: ...``), perhaps without its header. The split itself is ``telegram.split_telegram``;
this module reads the metadata lines and decides whether the text is a cable at all."""

from __future__ import annotations

import re

from ..errors import ParseError
from ..model import Cable
from . import telegram
from .site import fill_table, id_from_name

_PARTIAL = re.compile(r"^[ \t]*This record is a partial extract of the original cable", re.I)
_DTG_LINE = re.compile(r"^[ \t]*\d{6}Z[ \t]+[A-Za-z]{3}[ \t]+\d{2}[ \t]*$")
# The fields a text needs at least one of to be taken for a cable.
_EVIDENCE = ("reference_id", "created", "classification", "origin", "subject", "tags", "to")


def parse_bare(text: str, source: str, name: str | None = None, warnings: list[str] | None = None) -> Cable:
    """Read one cable from a bare telegram (maybe with metadata lines, maybe headerless).

    Raises ``ParseError`` when the text holds nothing of a cable, or has a header and no body.
    """
    meta, rest = telegram.read_metadata(text)
    if set(meta) == {"subject"}:
        # a headerless telegram's own SUBJECT line, not a metadata block
        meta, rest = {}, text
    cable = Cable(format="telegram", source=source, warnings=list(warnings or []))
    if meta:
        fill_table(
            cable,
            meta.get("reference_id", ""),
            meta.get("created", ""),
            meta.get("released", ""),
            meta.get("classification", ""),
            meta.get("origin", ""),
        )
    header, body = _split_partial_extract(rest) or telegram.split_telegram(rest)
    if header.strip() and not body.strip():
        raise ParseError(source, "truncated file: the telegram has a header but no body")
    # the file name's ID is one piece of evidence among the text's (evidence.choose_id)
    cable = telegram.extract(header, body, cable, name_id=id_from_name(name))
    subject = meta.get("subject", "").strip()
    if subject and not cable.subject:
        cable.subject = subject
    if meta.get("tags") and not cable.tags:
        cable.tags = meta["tags"].replace(",", " ").split()
    if not any(getattr(cable, field) for field in _EVIDENCE):
        raise ParseError(
            source, "not a cable: no telegram header, classification line, TAGS or SUBJECT line found"
        )
    return cable


def _split_partial_extract(text: str) -> tuple[str, str] | None:
    """A "partial extract" record: its note (and a bare date-time group after it) is the
    header, as on the site's page; the rest is the body. None for any other text."""
    lines = text.lstrip("\n").split("\n")
    if not _PARTIAL.match(lines[0]):
        return None
    header = [lines[0].strip()]
    i = 1
    while i < len(lines) and (not lines[i].strip() or _DTG_LINE.match(lines[i])):
        if lines[i].strip():
            header.append(lines[i].strip())
        i += 1
    return "\n".join(header), "\n".join(lines[i:]).strip("\n")
