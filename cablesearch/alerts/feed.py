"""An Atom 1.0 feed (RFC 4287) per saved search: one entry per cable it found.

The feed has the elements RFC 4287 requires -- ``id``, ``title``, ``updated`` and an
``author`` -- and a ``self`` link; each entry has ``id`` (a URN stable for the pair alert and
cable, whatever the base URL), ``title`` (the cable's subject), ``updated`` (when it was
found), a ``link`` to the cable's page ``BASE/cable/ID`` and a text ``summary``.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote
from xml.etree import ElementTree as ET

from .store import Match, SavedSearch

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 100
_NAMESPACE = uuid.UUID("6f1d0b6e-3c5e-4d55-9d0e-2f1c6a0b7a13")  # cablesearch alert feeds


def _id(*parts: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    el.text = text
    return el


def _summary(m: Match) -> str:
    head = ", ".join(
        p for p in (m.reference_id, m.origin, (m.created or "")[:10], m.classification, " ".join(m.tags)) if p
    )
    return f"{head}. {m.summary}" if m.summary else head


def atom_feed(alert: SavedSearch, matches: list[Match], base_url: str, self_url: str | None = None) -> str:
    """The feed of ``alert`` as an XML document (str), its entries the ``matches`` given (the
    caller passes the newest, e.g. ``store.matches(name, limit=FEED_ENTRIES)``). Links are
    ``base_url`` + ``/cable/ID``; ``self_url`` defaults to ``base_url/alerts/NAME.atom``."""
    base = base_url.rstrip("/")
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "id", _id("feed", alert.name))
    _text(feed, "title", f"cablesearch alert {alert.name}: {alert.describe()}")
    _text(feed, "subtitle", f"Cables newly matching the saved search {alert.name!r}")
    updated = max((m.found for m in matches), default=alert.added)
    _text(feed, "updated", updated)
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "cablesearch")
    ET.SubElement(
        feed,
        f"{{{ATOM_NS}}}link",
        {
            "rel": "self",
            "type": "application/atom+xml",
            "href": self_url or f"{base}/alerts/{quote(alert.name)}.atom",
        },
    )
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "alternate", "type": "text/html", "href": f"{base}/"})
    _text(feed, "generator", "cablesearch")
    for m in matches:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(entry, "id", _id("entry", alert.name, m.reference_id))
        _text(entry, "title", m.subject or m.reference_id, type="text")
        _text(entry, "updated", m.found)
        if m.created:
            _text(entry, "published", m.created + ":00Z")
        ET.SubElement(
            entry,
            f"{{{ATOM_NS}}}link",
            {"rel": "alternate", "type": "text/html", "href": f"{base}/cable/{quote(m.reference_id)}"},
        )
        for tag in m.tags:
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", {"term": tag})
        _text(entry, "summary", _summary(m), type="text")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
