"""The cable record every stage passes along: parser -> indexer -> search -> CLI/web."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

FORMATS = ("html", "page", "telegram", "csv")

# The JSON keys of `cablesearch parse --json`, in order.
JSON_KEYS = (
    "reference_id",
    "created",
    "released",
    "classification",
    "origin",
    "to",
    "info",
    "tags",
    "subject",
    "references",
    "summary",
    "classified_by",
    "signers",
    "declassify_on",
    "articles",
    "header",
    "body",
    "format",
    "source",
    "warnings",
)


@dataclass
class Cable:
    """One diplomatic cable, as parsed from any of the four input forms.

    Empty string / empty list / ``None`` mean "not present in the source and not derivable";
    the parser never invents a value.
    """

    reference_id: str = ""  # canonical, e.g. "08TRIPOLI505"
    created: datetime | None = None  # minute precision, naive (times are as the site gives)
    released: datetime | None = None
    classification: str = ""  # e.g. "CONFIDENTIAL", "SECRET//NOFORN"
    origin: str = ""  # as the site names posts, e.g. "Embassy Tripoli"
    to: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    subject: str = ""
    references: list[str] = field(default_factory=list)  # canonical IDs cited in the REF line
    summary: str = ""
    classified_by: str = ""
    signers: list[str] = field(default_factory=list)
    declassify_on: str = ""  # as written, normalised to ISO date where possible
    articles: list[str] = field(default_factory=list)  # press article URLs
    header: str = ""
    body: str = ""
    format: str = ""  # one of FORMATS
    source: str = ""  # path, and "#row=N" for CSV rows
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with exactly JSON_KEYS; dates as ``YYYY-MM-DDTHH:MM`` or None."""
        d = asdict(self)
        for key in ("created", "released"):
            value = d[key]
            d[key] = value.strftime("%Y-%m-%dT%H:%M") if value else None
        return {k: d[k] for k in JSON_KEYS}
