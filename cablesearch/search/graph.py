"""Threads: the cables connected to one through citations, listed with who cites whom.

:func:`thread` walks the snapshot's citation graph (:mod:`cablesearch.engine.graph`) both ways
from one cable and returns a :class:`Thread`: every cable reached, oldest first (cables cited
but missing from the index, which have no date, last, by ID), each with its distance in
citation steps from the start and the IDs it cites / is cited by within the thread.
``Thread.to_json()`` is the ``cablesearch thread --json`` object and what the web page
``/cable/ID/thread`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cablesearch.engine.graph import THREAD_MAX_LEVELS, THREAD_MAX_NODES, graph_of
from cablesearch.engine.snapshot import Snapshot
from cablesearch.errors import CableNotFound, QuerySyntaxError
from cablesearch.parse.ids import canonical_id


@dataclass
class ThreadCable:
    """One cable of a thread. ``in_index`` False: cited by the thread but not in the index
    (then only ``reference_id``, ``depth`` and ``cited_by`` are known)."""

    reference_id: str
    depth: int
    in_index: bool
    created: datetime | None = None
    subject: str = ""
    origin: str = ""
    classification: str = ""
    cites: list[str] = field(default_factory=list)  # thread cables this one cites
    cited_by: list[str] = field(default_factory=list)  # thread cables citing this one

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "depth": self.depth,
            "in_index": self.in_index,
            "created": self.created.strftime("%Y-%m-%dT%H:%M") if self.created else None,
            "subject": self.subject,
            "origin": self.origin,
            "classification": self.classification,
            "cites": self.cites,
            "cited_by": self.cited_by,
        }


@dataclass
class Thread:
    """The thread of ``reference_id`` (canonical), walked at most ``depth`` steps (None: up to
    the caps). ``cut`` is the step the walk stopped before because of the caps (None: whole);
    ``notice`` says so in words."""

    reference_id: str
    depth: int | None
    cables: list[ThreadCable]
    cut: int | None = None
    notice: str | None = None

    @property
    def missing(self) -> list[str]:
        """IDs the thread's cables cite that are not in the index."""
        return [c.reference_id for c in self.cables if not c.in_index]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "depth": self.depth,
            "total": len(self.cables),
            "in_index": sum(c.in_index for c in self.cables),
            "missing": self.missing,
            "cut": self.cut,
            "notice": self.notice,
            "cables": [c.to_json() for c in self.cables],
        }


def thread(snap: Snapshot, reference_id: str, depth: int | None = None) -> Thread:
    """The thread of a cable (see the module doc). Raises CableNotFound for an ID neither in
    the index nor cited by a cable in it, QuerySyntaxError for a negative depth."""
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
        raise QuerySyntaxError(f"depth must be a whole number from 0 up, not {depth!r}")
    rid = canonical_id(reference_id)
    g = graph_of(snap)
    start = g.node(rid) if rid else None
    if start is None:
        raise CableNotFound(
            f"no cable {reference_id!r} in the index and none cites it; check the ID "
            f"(search for it with: cablesearch search 'id:{rid or reference_id}*')"
        )
    walk = g.walk(start, depth)
    nodes = walk.nodes
    ids = [_node_id(snap, g.label(int(x)), int(x)) for x in nodes]
    index_of = {int(x): i for i, x in enumerate(nodes.tolist())}
    cables = [
        _cable(snap, ids[i], int(d), int(x), g.n)
        for i, (x, d) in enumerate(zip(nodes, walk.depths, strict=True))
    ]
    for i, x in enumerate(nodes.tolist()):
        for y in g.cited(x).tolist():
            j = index_of.get(y)
            if j is not None:
                cables[i].cites.append(ids[j])
                cables[j].cited_by.append(ids[i])
    cables.sort(key=lambda c: (c.created is None, c.created or datetime.min, c.reference_id))
    notice = None
    if walk.cut is not None:
        notice = (
            f"the thread was cut at {walk.cut - 1} step(s) from {rid}: it stops at "
            f"{THREAD_MAX_NODES:,} cables or {THREAD_MAX_LEVELS} steps"
        )
    return Thread(rid, depth, cables, walk.cut, notice)


def _node_id(snap: Snapshot, label: str | None, node: int) -> str:
    if label is not None:
        return label
    return str(snap.stored(node).get("reference_id", ""))


def _cable(snap: Snapshot, rid: str, depth: int, node: int, n: int) -> ThreadCable:
    if node >= n:
        return ThreadCable(rid, depth, False)
    f = snap.stored(node)
    created = f.get("created")
    return ThreadCable(
        rid,
        depth,
        True,
        created if isinstance(created, datetime) else None,
        str(f.get("subject", "")),
        str(f.get("origin", "")),
        str(f.get("classification", "")),
    )
