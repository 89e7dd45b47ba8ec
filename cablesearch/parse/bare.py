"""A bare telegram: header block, blank line, body; perhaps with a few metadata lines before it
(``Reference ID: ...``, ``Subject: ...``, ``Date: ...``, ``Classification: ...``,
``Origin: ...``), perhaps without its header. The split itself is ``telegram.split_telegram``;
this module reads the metadata lines and decides whether the text is a cable at all."""

from __future__ import annotations

from ..errors import ParseError
from ..model import Cable
from . import telegram
from .origin import origin_from_post
from .site import fill_table, id_from_name

# The fields a text needs at least one of to be taken for a cable.
_EVIDENCE = ("reference_id", "created", "classification", "origin", "subject", "tags", "to")


def parse_bare(text: str, source: str, name: str | None = None,
               warnings: list[str] | None = None) -> Cable:
    """Read one cable from a bare telegram (maybe with metadata lines, maybe headerless).

    Raises ``ParseError`` when the text holds nothing of a cable, or has a header and no body.
    """
    meta, rest = telegram.read_metadata(text)
    if set(meta) == {"subject"}:
        # a headerless telegram's own SUBJECT line, not a metadata block
        meta, rest = {}, text
    cable = Cable(format="telegram", source=source, warnings=list(warnings or []))
    if meta:
        fill_table(cable, meta.get("reference_id", ""), meta.get("created", ""),
                   meta.get("released", ""), meta.get("classification", ""), meta.get("origin", ""))
    header, body = telegram.split_telegram(rest)
    if header.strip() and not body.strip():
        raise ParseError(source, "truncated file: the telegram has a header but no body")
    cable = telegram.extract(header, body, cable)
    subject = meta.get("subject", "").strip()
    if subject and not cable.subject:
        cable.subject = subject
    if meta.get("tags") and not cable.tags:
        cable.tags = meta["tags"].replace(",", " ").split()
    if not cable.reference_id:
        from_name = id_from_name(name)
        if from_name:
            cable.reference_id = from_name
            cable.warnings = [w for w in cable.warnings if not w.startswith("reference_id: not found")]
            cable.warnings.append(f"reference ID {from_name} taken from the file name")
            if not cable.origin:
                cable.origin = origin_from_post(from_name)
    if not any(getattr(cable, field) for field in _EVIDENCE):
        raise ParseError(source, "not a cable: no telegram header, classification line, TAGS or "
                                 "SUBJECT line found")
    return cable
