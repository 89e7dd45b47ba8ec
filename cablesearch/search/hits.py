"""Turning a document of a snapshot into a :class:`~cablesearch.results.Hit`: stored fields,
the whole cable from its stored record, and a highlighted snippet of its text."""

from __future__ import annotations

from cablesearch.engine.schema import unpack_cable
from cablesearch.engine.snapshot import Snapshot
from cablesearch.model import Cable
from cablesearch.results import Hit
from cablesearch.search.highlight import Highlighter


def stored_cable(snap: Snapshot, docnum: int) -> Cable | None:
    """The whole cable of a document, None when it has no stored record."""
    record = snap.stored(docnum).get("record")
    return unpack_cable(record) if record else None


def make_hit(
    snap: Snapshot, docnum: int, score: float, terms: frozenset[str], highlighter: Highlighter | None
) -> Hit:
    """A hit; with a highlighter its snippet marks ``terms``, else the snippet is empty."""
    sf = snap.stored(docnum)
    record = sf.get("record")
    cable: Cable | None = unpack_cable(record) if record else None
    text = (cable.body or cable.summary or cable.subject) if cable is not None else ""
    # the cable's own tags (whole values); the stored field holds them joined by newlines, or
    # by spaces in documents written before tags were whole values
    tags = sf.get("tags", "")
    tag_list = list(cable.tags) if cable is not None else tags.split("\n" if "\n" in tags else None)
    snippet = highlighter.snippet(text, terms) if highlighter is not None and text else ""
    return Hit(
        reference_id=sf.get("reference_id", ""),
        subject=sf.get("subject", "") or (cable.subject if cable else ""),
        created=sf.get("created") or (cable.created if cable else None),
        released=sf.get("released") or (cable.released if cable else None),
        origin=sf.get("origin", ""),
        classification=sf.get("classification", ""),
        tags=tag_list,
        score=score,
        snippet=snippet,
    )
