"""Turning a document of a snapshot into a :class:`~cablesearch.results.Hit`: stored fields,
the whole cable from its stored record, and a highlighted snippet of its text.

Where nothing is marked (browsing, or the match was in the subject only) the snippet is the
cable's lead: its summary, else the first real paragraph of the body -- the telegram's header
block (classification, ``SECTION 01 OF 03``, SIPDIS, E.O., TAGS, SUBJECT, REF, Classified By,
addressees) is skipped, and a paragraph number and ``(C)`` marking are taken off."""

from __future__ import annotations

import re

from cablesearch.engine.schema import unpack_cable
from cablesearch.engine.snapshot import Snapshot
from cablesearch.model import Cable
from cablesearch.results import Hit
from cablesearch.search.highlight import Highlighter, Marks

_PARAGRAPHS = re.compile(r"\n\s*\n")
_HEADER_LINE = re.compile(
    r"""^\s*(?:
        (?:[A-Z]\s){3,}[A-Z]\b                              # S E C R E T, C O N F I D E N T I A L
      | (?:UNCLAS|UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED\ OFFICIAL\ USE)\b
      | SECTION\s+\d+\s+OF\s+\d+
      | SIPDIS | NOFORN | SENSITIVE | STADIS | EXDIS | NODIS | LIMDIS
      | E\.\s?O\.\s | TAGS\b | SUBJ(?:ECT)?\b | REFS?\b | REFTEL | REASONS?\b
      | (?i:classified\s+by|derived\s+from|subj(?:ect)?\s*:|refs?\s*:|tags\s*:|e\.\s?o\.\s) | DECL\b | (?:AM)?EMBASSY\b | AMCONSUL\b | (?:DEPT|DEPARTMENT)\b
      | [A-Z][A-Z/ ]+\bFOR\b | [A-Z][A-Z ]+\s0*\d+\s*$ | PASS\b | E\.O\b | INFO\b | ACTION\b
    )""",
    re.VERBOSE,
)
_PARA_NUMBER = re.compile(
    r"^\s*(?:\d{1,2}\.\s*)?(?:\([A-Z/]{1,5}\)\s*)?(?:SUMMARY(?:\s+AND\s+COMMENT)?\s*[.:-]\s*)?"
)


def lead_text(cable: Cable) -> str:
    """The cable's summary, else the first paragraph of its body that is not header block."""
    if cable.summary and cable.summary.strip():
        return cable.summary.strip()
    body = cable.body or ""
    mixed_case = any(ch.islower() for ch in body[:4000])
    for para in _PARAGRAPHS.split(body):
        text = para.strip()
        if not text or _HEADER_LINE.match(text):
            continue
        letters = [ch for ch in text if ch.isalpha()]
        if mixed_case and letters and sum(ch.isupper() for ch in letters) > 0.7 * len(letters):
            continue  # an all-capitals addressee or caption paragraph in a mixed-case cable
        if len(letters) < 20:
            continue
        return _PARA_NUMBER.sub("", text, count=1) or text
    return body.strip() or cable.subject


def stored_cable(snap: Snapshot, docnum: int) -> Cable | None:
    """The whole cable of a document, None when it has no stored record."""
    record = snap.stored(docnum).get("record")
    return unpack_cable(record) if record else None


def make_hit(
    snap: Snapshot,
    docnum: int,
    score: float,
    marks: Marks | frozenset[str],
    highlighter: Highlighter | None,
) -> Hit:
    """A hit; with a highlighter its snippet marks ``marks`` (the cable's lead when nothing
    is marked), else the snippet is empty."""
    sf = snap.stored(docnum)
    record = sf.get("record")
    cable: Cable | None = unpack_cable(record) if record else None
    text = (cable.body or cable.summary or cable.subject) if cable is not None else ""
    # the cable's own tags (whole values); the stored field holds them joined by newlines, or
    # by spaces in documents written before tags were whole values
    tags = sf.get("tags", "")
    tag_list = list(cable.tags) if cable is not None else tags.split("\n" if "\n" in tags else None)
    snippet = ""
    if highlighter is not None and text:
        # the lead is found only when nothing is marked (a scan of the body's paragraphs)
        lead = (lambda: lead_text(cable)) if cable is not None else None
        snippet = highlighter.snippet(text, marks, lead=lead)
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
