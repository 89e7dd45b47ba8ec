"""The citation graph of one snapshot: who cites whom, as NumPy arrays, and walks over it.

Nodes are the snapshot's document numbers ``0 .. n-1`` followed by one node per reference ID
that some live cable cites but no live cable has (a cable missing from the index: ``n + i``
is ``missing[i]``). An edge ``a -> b`` means cable ``a``'s REF line cites ``b``. Edges come
from the ``references`` postings of live documents (deleted documents cite nothing and are
cited as missing IDs unless another live document has their ID); a cable citing itself is
left out. Adjacency is CSR both ways (``out_ptr``/``out_idx`` for what a node cites,
``in_ptr``/``in_idx`` for who cites it), so a walk is a loop over levels of array gathers.

Built once per snapshot by :func:`graph_of` (a snapshot never changes) and then only read,
from per-segment pieces kept across snapshots (:mod:`cablesearch.engine.citations`): after a
commit only the new segments are read, and the CSR arrays are assembled with NumPy. Open
snapshots of the same segments and deletions (searchers of one commit) share one graph.

Threads (``thread:ID``) walk both directions, through missing cables too: two cables that
both cite one instruction cable absent from the release belong to one thread. A walk stops
after ``THREAD_MAX_LEVELS`` levels or before the level that would take it past
``THREAD_MAX_NODES`` nodes (the first level is always taken whole); :class:`Walk` says
whether and where it was cut.

:class:`GraphQuery` is the query-tree node of ``cites:ID`` / ``citedby:ID`` / ``thread:ID~N``;
:class:`~cablesearch.engine.matcher.Matcher` evaluates it with :func:`graph_mask`.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.matching import NullMatcher

from cablesearch.engine.citations import Assembled, Interner, PieceCache, SegmentKey, assemble, layout
from cablesearch.engine.snapshot import Snapshot

THREAD_MAX_NODES = 5_000  # cables (in the index or missing) a thread query may reach
THREAD_MAX_LEVELS = 50  # citation steps from the starting cable
GRAPH_KINDS = ("cites", "citedby", "thread")


def _csr(src: np.ndarray, dst: np.ndarray, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of edges already sorted by ``(src, dst)``."""
    ptr = np.zeros(nodes + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=nodes), out=ptr[1:])
    return ptr, dst


def _gather(ptr: np.ndarray, idx: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """The concatenated neighbour lists of ``nodes``."""
    starts = ptr[nodes]
    lens = ptr[nodes + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    return idx[offsets]


@dataclass
class Walk:
    """Nodes reached from a start: ``nodes`` sorted, ``depths`` the step count of each (the
    start has 0); ``cut`` is the level the walk stopped before (None: it ran out of nodes or
    reached the asked depth)."""

    nodes: np.ndarray
    depths: np.ndarray
    cut: int | None = None


class CitationGraph:
    """The citation graph of one snapshot (see the module doc)."""

    def __init__(
        self,
        n: int,
        layout: tuple[SegmentKey | None, ...],
        live: np.ndarray,
        interner: Interner,
        parts: Assembled,
    ):
        self.n = n
        self.layout = layout  # the snapshot's segments, in order (whose pieces it was built from)
        self.segments = set(layout)
        self.live = live  # the snapshot's live mask (a graph is shared only with the same one)
        self._names = interner.names
        self._codes = interner.codes
        self._code_node = parts.code_node
        self._missing = parts.missing
        self.nodes = n + int(parts.missing.size)
        self.edges = int(parts.src.size)
        self.out_ptr, self.out_idx = _csr(parts.src, parts.dst, self.nodes)
        order = np.argsort(parts.dst * self.nodes + parts.src, kind="stable")
        self.in_ptr, self.in_idx = _csr(parts.dst[order], parts.src[order], self.nodes)

    @classmethod
    def build(cls, snap: Snapshot, cache: PieceCache | None = None) -> CitationGraph:
        """The snapshot's graph from the pieces of its segments in ``cache`` (reading those
        not there yet; None: a fresh cache, i.e. every segment read)."""
        cache = cache if cache is not None else PieceCache()
        with snap.io:
            pieces, keys = cache.pieces_of(snap.reader)
        interner = cache.interner
        parts = assemble(pieces, snap.n, snap.arrays.live, len(interner))
        return cls(snap.n, tuple(keys), snap.arrays.live, interner, parts)

    def fits(self, layout: tuple[SegmentKey | None, ...], live: np.ndarray) -> bool:
        """Whether this is also the graph of a snapshot with these segments and deletions."""
        return (
            None not in layout
            and layout == self.layout
            and (live is self.live or bool(np.array_equal(live, self.live)))
        )

    @property
    def missing(self) -> list[str]:
        """The IDs cited by a live cable but in no live cable (node ``n + i`` is the i-th)."""
        return [self._names[c] for c in self._missing.tolist()]

    @property
    def missing_count(self) -> int:
        return int(self._missing.size)

    def node(self, reference_id: str) -> int | None:
        """The node of a (canonical) reference ID: its live document, its missing-ID node, or
        None when the ID is neither in the index nor cited by any cable in it."""
        for rid in dict.fromkeys([reference_id, reference_id.upper()]):
            code = self._codes.get(rid)
            if code is None or code >= self._code_node.size:
                continue  # not seen, or first seen after this graph was built
            d = int(self._code_node[code])
            if d >= 0:
                return d
            i = int(np.searchsorted(self._missing, code))
            if i < self._missing.size and int(self._missing[i]) == code:
                return self.n + i
        return None

    def label(self, node: int) -> str | None:
        """The reference ID of a missing-ID node, None for a document."""
        return self._names[int(self._missing[node - self.n])] if node >= self.n else None

    def cited(self, node: int) -> np.ndarray:
        """The nodes ``node`` cites (sorted)."""
        return self.out_idx[self.out_ptr[node] : self.out_ptr[node + 1]]

    def citing(self, node: int) -> np.ndarray:
        """The nodes citing ``node`` (sorted)."""
        return self.in_idx[self.in_ptr[node] : self.in_ptr[node + 1]]

    def walk(self, start: int, depth: int | None = None) -> Walk:
        """Breadth-first over citations in both directions from ``start``, at most ``depth``
        levels (None: up to ``THREAD_MAX_LEVELS``) and ``THREAD_MAX_NODES`` nodes."""
        limit = THREAD_MAX_LEVELS if depth is None else min(depth, THREAD_MAX_LEVELS)
        dist = np.full(self.nodes, -1, np.int32)
        dist[start] = 0
        frontier = np.asarray([start], np.int64)
        reached = 1
        level = 0
        cut: int | None = None
        while frontier.size:
            if level >= limit:
                if depth is None or depth > THREAD_MAX_LEVELS:
                    nxt = self._next_level(frontier, dist)
                    cut = level + 1 if nxt.size else None
                break
            nxt = self._next_level(frontier, dist)
            if nxt.size == 0:
                break
            if level > 0 and reached + nxt.size > THREAD_MAX_NODES:
                cut = level + 1
                break
            level += 1
            dist[nxt] = level
            reached += nxt.size
            frontier = nxt
        nodes = np.flatnonzero(dist >= 0)
        return Walk(nodes, dist[nodes], cut)

    def _next_level(self, frontier: np.ndarray, dist: np.ndarray) -> np.ndarray:
        nb = np.concatenate(
            [_gather(self.out_ptr, self.out_idx, frontier), _gather(self.in_ptr, self.in_idx, frontier)]
        )
        nb = np.unique(nb)
        return nb[dist[nb] < 0]


_GRAPHS: weakref.WeakKeyDictionary[Snapshot, CitationGraph] = weakref.WeakKeyDictionary()
_GRAPHS_LOCK = threading.Lock()
_PIECES = PieceCache()


def graph_of(snap: Snapshot) -> CitationGraph:
    """The snapshot's citation graph, built on first use (one build per snapshot, even when
    several threads ask at once) from the pieces of its segments kept since earlier snapshots:
    after a commit only the new segments are read. An open snapshot of the same segments and
    deletions (another searcher of the same commit, e.g. the web's pool) shares its graph.
    After a build, the pieces of segments that no open snapshot's graph uses are dropped."""
    with _GRAPHS_LOCK:
        g = _GRAPHS.get(snap)
        if g is not None:
            return g
        others = [og for other, og in list(_GRAPHS.items()) if not other.closed]
        with snap.io:
            keys = layout(snap.reader)
        g = next((og for og in others if og.fits(keys, snap.arrays.live)), None)
        if g is None:
            g = CitationGraph.build(snap, _PIECES)
            keep = set(g.segments)
            for og in others:
                keep.update(og.segments)
            _PIECES.prune(keep)
        _GRAPHS[snap] = g
        return g


def cached_segments() -> set[str]:
    """The segment ids whose pieces :func:`graph_of` keeps now (for tests and diagnostics)."""
    with _GRAPHS_LOCK:
        return {segment_id for _, segment_id, _ in _PIECES.pieces}


def segment_reads() -> int:
    """How many segments :func:`graph_of` has read since the program started."""
    with _GRAPHS_LOCK:
        return _PIECES.reads


class GraphQuery(wq.Query):
    """``cites:ID`` (cables citing ID), ``citedby:ID`` (the cables ID cites) or ``thread:ID``
    (``depth`` None: unlimited up to the caps) as a node of a Whoosh query tree. Evaluated
    only by cablesearch's matcher (Whoosh's own matcher finds nothing for it)."""

    def __init__(self, kind: str, reference_id: str, depth: int | None = None, boost: float = 1.0):
        self.kind = kind
        self.reference_id = reference_id
        self.depth = depth
        self.boost = boost
        self.fieldname = None  # no field: Whoosh's tree walks ask

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphQuery) and (self.kind, self.reference_id, self.depth) == (
            other.kind,
            other.reference_id,
            other.depth,
        )

    def __hash__(self) -> int:
        return hash((GraphQuery, self.kind, self.reference_id, self.depth))

    def __repr__(self) -> str:
        return f"GraphQuery({self.kind!r}, {self.reference_id!r}, depth={self.depth!r})"

    def __str__(self) -> str:
        suffix = f"~{self.depth}" if self.depth is not None else ""
        return f"{self.kind}:{self.reference_id}{suffix}"

    def is_leaf(self) -> bool:
        return True

    def children(self) -> list[wq.Query]:
        return []

    def estimate_size(self, ixreader: Any) -> int:
        return 0

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        return NullMatcher()


def graph_mask(snap: Snapshot, q: GraphQuery) -> tuple[np.ndarray, str | None]:
    """(the documents matching a graph query, a notice for the user or None)."""
    g = graph_of(snap)
    mask = np.zeros(snap.n, bool)
    rid = q.reference_id
    node = g.node(rid)
    if node is None:
        return mask, f"no cable {rid} in the index and none cites it: {q} matches nothing; check the ID"
    notice = None
    if q.kind == "cites":
        found = g.citing(node)
    elif q.kind == "citedby":
        if node >= g.n:
            return (
                mask,
                f"{rid} is cited but not in the index, so what it cites is unknown: {q} matches nothing",
            )
        found = g.cited(node)
        absent = [g.label(int(x)) for x in found if x >= g.n]
        if absent:
            shown = ", ".join(str(a) for a in absent[:5]) + (", ..." if len(absent) > 5 else "")
            notice = f"{rid} cites {len(absent)} cable(s) not in the index: {shown}"
    else:
        walk = g.walk(node, q.depth)
        found = walk.nodes
        if walk.cut is not None:
            notice = (
                f"the thread of {rid} was cut at {walk.cut - 1} step(s) from it "
                f"({found.size:,} cables; a thread stops at {THREAD_MAX_NODES:,} cables or "
                f"{THREAD_MAX_LEVELS} steps); write thread:{rid}~N for fewer steps"
            )
    mask[found[found < g.n]] = True
    return mask, notice
