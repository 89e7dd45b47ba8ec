"""Single cables of a snapshot: by reference ID, the cables citing one, and similar cables
(the cable's key terms, tf·idf over subject and body, searched as a weighted OR)."""

from __future__ import annotations

import math

import numpy as np

from cablesearch.engine.snapshot import Snapshot
from cablesearch.model import Cable
from cablesearch.search.hits import stored_cable
from cablesearch.search.query import SUBJECT_BOOST

__all__ = ["citing", "docnum", "key_terms", "similar_docs", "stored_cable"]


def docnum(snap: Snapshot, reference_id: str) -> int | None:
    """The live document of a reference ID (as given, or upper-cased), or None."""
    rid = reference_id.strip()
    for candidate in dict.fromkeys([rid, rid.upper()]):
        if not candidate:
            continue
        p = snap.term_postings("reference_id", candidate.encode("utf-8"))
        live = p.docs[snap.arrays.live[p.docs]] if p.df else p.docs
        if live.size:
            return int(live[-1])
    return None


def citing(snap: Snapshot, reference_id: str, limit: int) -> list[int]:
    """Live documents whose REF line cites ``reference_id``, oldest first."""
    p = snap.term_postings("references", reference_id.strip().upper().encode("utf-8"))
    docs = p.docs[snap.arrays.live[p.docs]] if p.df else p.docs
    order = np.lexsort((docs, snap.arrays.created[docs]))
    return docs[order][:limit].tolist()


def key_terms(snap: Snapshot, cable: Cable, count: int = 20) -> list[tuple[str, float]]:
    """The ``count`` most characteristic index terms of a cable (tf·idf), weights up to 1."""
    analyzer = snap.schema["body"].analyzer
    tf: dict[str, int] = {}
    for t in analyzer(cable.subject + "\n" + cable.subject + "\n" + cable.body):
        if len(t.text) > 2 and not t.text.isdigit():
            tf[t.text] = tf.get(t.text, 0) + 1
    n = snap.n or 1
    scored = []
    for term, f in tf.items():
        df = snap.doc_frequency("body", term)
        if df <= 1 or df > max(2.0, n * 0.3):
            continue
        scored.append((f * (math.log(n / (df + 1)) + 1), term))
    scored.sort(reverse=True)
    top = scored[:count]
    if not top:
        return []
    best = top[0][0]
    return [(term, s / best) for s, term in top]


def similar_docs(
    snap: Snapshot, terms: list[tuple[str, float]], exclude: int | None, limit: int
) -> list[tuple[int, float]]:
    """(doc, score) of the best live documents for weighted ``terms``, ``exclude`` left out."""
    scores = np.zeros(snap.n, np.float32)
    for term, weight in terms:
        for fieldname, boost in (("subject", SUBJECT_BOOST), ("body", 1.0)):
            if fieldname not in snap.schema:
                continue
            docs, s = snap.term_scores(fieldname, snap.to_bytes(fieldname, term))
            scores[docs] += s * boost * weight
    scores[~snap.arrays.live] = 0
    if exclude is not None:
        scores[exclude] = 0
    cand = np.flatnonzero(scores > 0)
    if cand.size > limit:
        cand = cand[np.argpartition(-scores[cand], limit - 1)[:limit]]
    order = np.lexsort((cand, -scores[cand]))
    return [(int(d), float(scores[d])) for d in cand[order]]
