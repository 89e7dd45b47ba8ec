"""What the TAGS codes of a cable mean: ``describe_tag("PREL")`` is "External Political Relations".

The table ships in the package (no network, no shared folder needed at run time) and is built
from four data modules, each naming its source:

* :mod:`.subjects` — the State Department's subject codes (PREL, PGOV, ...), every code of the
  shared corpus's ``vocab/subject-tags.txt``; plus common program (K...) and regional (X...)
  codes entered by hand;
* :mod:`.countries` — FIPS 10-4 country codes (LY Libya, IZ Iraq, RS Russia, ...);
* :mod:`.organizations` — organization codes (UN, NATO, ...), every code of
  ``vocab/organization-tags.txt``; the best known with their full names.

When a code is in more than one list, the subject and program meanings come first, then a
named organization, then the country, then an unnamed organization (AL is Albania; EU, which
the cables use for the European Union, is the organization).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from .countries import COUNTRIES
from .organizations import ORGANIZATIONS
from .subjects import PROGRAMS, SUBJECTS

KINDS = ("subject", "program", "region", "country", "organization")

SOURCES = {
    "subject": "State Department TAGS subject codes (code list: cablemap, vocab/subject-tags.txt)",
    "program": "State Department TAGS program codes (entered by hand)",
    "region": "State Department TAGS regional codes (entered by hand)",
    "country": "FIPS 10-4 country codes",
    "organization": "State Department TAGS organization codes (cablemap, vocab/organization-tags.txt)",
    "usage": "entered by hand: how the cables use the code",
}

# Codes the cables use that are on no list, or whose list meaning is not how they are used.
_EXTRA = {"EU": ("organization", "European Union")}


@dataclass(frozen=True)
class TagInfo:
    """One tag code explained: its kind (one of KINDS), its name ("" when only the kind is
    known, as for most organizations) and where the table got it (one of SOURCES' texts)."""

    code: str
    kind: str
    name: str
    source: str

    @property
    def description(self) -> str:
        return self.name or self.kind

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "name": self.name, "source": self.source}


def _rows(table: str) -> list[tuple[str, str]]:
    out = []
    for line in table.strip().splitlines():
        code, _, name = line.partition("|")
        out.append((code.strip(), name.strip()))
    return out


@cache
def table() -> dict[str, TagInfo]:
    """Every known code, upper-cased → its TagInfo (built once; ``TagInfo.code`` keeps the
    list's spelling, e.g. "Bundesbank")."""
    out: dict[str, TagInfo] = {}

    def put(code: str, kind: str, name: str, source: str) -> None:
        if code.upper() not in out:
            out[code.upper()] = TagInfo(code, kind, name, SOURCES[source])

    for code, name in _rows(SUBJECTS):
        put(code, "subject", name, "subject")
    for code, name in _rows(PROGRAMS):
        kind = "region" if name.endswith("(region)") else "program"
        put(code, kind, name.removesuffix(" (region)") if kind == "region" else name, kind)
    for code, (kind, name) in _EXTRA.items():
        put(code, kind, name, "usage")
    orgs = _rows(ORGANIZATIONS)
    for code, name in orgs:
        if name:
            put(code, "organization", name, "organization")
    for code, name in _rows(COUNTRIES):
        put(code, "country", name, "country")
    for code, name in orgs:
        put(code, "organization", name, "organization")
    return out


def lookup(code: str) -> TagInfo | None:
    """The TagInfo of a tag code (case and surrounding spaces ignored), or None if unknown."""
    return table().get(code.strip().upper())


def describe_tag(code: str) -> str | None:
    """What a tag code means: "External Political Relations" for PREL, "Libya" for LY,
    "North Atlantic Treaty Organization" for NATO, "organization" for an organization known
    by code only; None for a code on no list."""
    info = lookup(code)
    return info.description if info else None


def tag_label(code: str) -> str:
    """A tag as shown to readers: ``PREL (External Political Relations)``, or the bare code
    when it is unknown."""
    described = describe_tag(code)
    return f"{code} ({described})" if described else code
