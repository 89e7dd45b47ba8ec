"""The cable index as the rest of cablesearch sees it: :class:`CableIndex` (open or create the
index in a folder, searchers on the latest commit, its write lock) and :class:`CableWriter`
(put and delete cables, one reference ID never twice). The Whoosh side is in
:mod:`cablesearch.engine` (storage, writer, flush, merge); the lock in :mod:`.lock`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cablesearch.engine import flush, storage, verify
from cablesearch.engine import writer as engine_writer
from cablesearch.engine.storage import SegmentInfo, per_segment
from cablesearch.engine.writer import FastCodec, FastSegmentWriter, PreparedDoc, SegmentIds, prepare
from cablesearch.errors import IndexDamaged, IndexError_, IndexNotFound
from cablesearch.index.lock import LockHolder, WriteLock, current_holder, read_lock_holder
from cablesearch.index.manifest import MANIFEST_NAME, IndexState, read_state
from cablesearch.model import Cable

# FastCodec: indexes written between the package move and the engine split pickle it as
# ``cablesearch.index.store.FastCodec``.
__all__ = [
    "CableIndex",
    "CableWriter",
    "FastCodec",
    "LockHolder",
    "PreparedDoc",
    "prepare",
    "read_lock_holder",
]

log = logging.getLogger(__name__)

DEFAULT_LIMITMB = 512
# After this many lookups of reference IDs in the committed segments, a writer reads each
# segment's reference-ID column into a dict instead: a lookup probes the term table of every
# segment (~5 us each; the whole release has 25 and more), which for a 5,000-cable batch on it
# came to more than a CPU-second. The dicts are kept with the index for the next writers.
ID_MAP_AFTER = 200


class CableWriter:
    """Adds and deletes cables while holding the index lock; see :meth:`CableIndex.writer`.

    Putting a cable whose reference ID is already in the index replaces it. Putting one that was
    put earlier by this same writer marks the earlier copy deleted in the segment being written
    (Whoosh's own ``update_document`` misses those), so there is never a duplicate.
    """

    def __init__(self, index: CableIndex, limitmb: int):
        self._index = index
        self._limitmb = limitmb
        self._w: FastSegmentWriter | None = None
        self._open()

    def _open(self) -> None:
        self._w = engine_writer.open_writer(self._index.whoosh_index, self._limitmb)
        self._has_docs = self._w.has_committed_documents()
        self._pending: set[str] = set()
        self._new: dict[str, int] = {}  # reference ID -> docnum in the segment being written
        self._lookups = 0
        self._id_maps: list[tuple[int, SegmentIds]] | None = None

    @property
    def schema(self) -> Any:
        return self._index.schema

    @property
    def pending(self) -> int:
        """Cables put or deleted since the last commit."""
        return len(self._pending)

    def _existing(self, reference_id: str) -> list[int]:
        """Document numbers of ``reference_id`` in the committed segments (deleted ones too)."""
        if not self._has_docs:
            return []
        assert self._w is not None
        reader = self._w.committed_reader()
        self._lookups += 1
        if self._id_maps is None and self._lookups > ID_MAP_AFTER:
            self._id_maps = self._index._segment_id_maps(reader)
        if self._id_maps is None:
            return storage.term_docnums(reader, "reference_id", reference_id)
        found: list[int] = []
        for offset, ids in self._id_maps:
            local = ids.first.get(reference_id)
            if local is not None:
                found.append(offset + local)
                found.extend(offset + d for d in ids.more.get(reference_id, ()))
        return found

    def _delete_existing(self, reference_id: str) -> bool:
        assert self._w is not None
        found = False
        for docnum in self._existing(reference_id):
            if not self._w.is_deleted(docnum):
                self._w.delete_document(docnum)
                found = True
        return found

    def put(self, cable: Cable | PreparedDoc) -> bool:
        """Add or replace one cable; True if it replaced one already in the index."""
        prep = cable if isinstance(cable, PreparedDoc) else prepare(cable, self._index.schema)
        if not prep.reference_id:
            raise ValueError("a cable without a reference ID cannot be indexed")
        replaced = self._delete_existing(prep.reference_id) | self._delete_new(prep.reference_id)
        assert self._w is not None
        self._new[prep.reference_id] = self._w.docnum
        self._w.add_prepared(prep)
        self._pending.add(prep.reference_id)
        return replaced

    def _delete_new(self, reference_id: str) -> bool:
        docnum = self._new.pop(reference_id, None)
        if docnum is None:
            return False
        assert self._w is not None
        self._w.delete_added(docnum)
        return True

    def delete(self, reference_id: str) -> bool:
        """Remove one cable; True if it was in the index."""
        found = self._delete_existing(reference_id) | self._delete_new(reference_id)
        if found:
            self._pending.add(reference_id)
        return found

    def commit(self, merge: bool = True) -> None:
        """Commit what was written so far (it becomes searchable) and go on writing."""
        self._commit(merge)
        self._open()

    def _commit(self, merge: bool = True) -> None:
        """Commit the new segment; then, in a commit of its own, the merges the policy asks for
        (:mod:`cablesearch.engine.merge`): the new cables are searchable without waiting for
        older small segments to be merged (a tenth of a second or more at the end of a burst)."""
        w, self._w = self._w, None
        assert w is not None
        engine_writer.commit(w)
        ix = self._index.whoosh_index
        if merge and engine_writer.merges_due(ix):
            try:
                engine_writer.commit(engine_writer.open_writer(ix, self._limitmb), merge=True)
            except Exception as exc:
                log.warning("merging small segments failed (%s); the next commit tries again", exc)

    def index_state(self, known: IndexState | None = None) -> IndexState:
        """What the index holds after the last commit (for the manifest's record)."""
        return self._index.state(known)

    def _cancel(self) -> None:
        if self._w is not None:
            engine_writer.cancel(self._w)
        self._w = None


class CableIndex:
    """The cable index in one folder (Whoosh files plus our bookkeeping)."""

    def __init__(self, index_dir: Path, ix: Any):
        self.index_dir = Path(index_dir)
        self._ix = ix
        self._segment_ids: dict[str, SegmentIds] = {}  # by segment id (segments never change)

    def _segment_id_maps(self, reader: Any) -> list[tuple[int, SegmentIds]]:
        """(document number offset, reference IDs) of each segment of ``reader`` (a writer's),
        read once per segment and kept while the segment exists."""
        return per_segment(self._segment_ids, reader, SegmentIds.read)

    @classmethod
    def open(cls, index_dir: Path | str, create: bool = True) -> CableIndex:
        """Open the index in ``index_dir``; create it (and the folder) when absent and ``create``.

        A commit by another process replaces the table of contents (and a merge deletes old
        segment files) while this one may be reading them: a file that vanishes while opening
        means "read the newer commit", so opening is tried again (see engine.storage)."""
        index_dir = Path(index_dir)
        return storage.while_files_change(index_dir, "open", lambda: cls._open_once(index_dir, create))

    @classmethod
    def _open_once(cls, index_dir: Path, create: bool) -> CableIndex:
        # the manifest's record is read before the index: a commit by another process between
        # the two only makes the index newer than the record, never older
        recorded = _recorded_state(index_dir)
        try:
            if storage.exists(index_dir):
                ix = storage.open_existing(index_dir)
            elif recorded is not None and recorded[1]:
                raise IndexDamaged(
                    index_dir,
                    f"its table of contents (_MAIN_*.toc) is missing while {MANIFEST_NAME} lists "
                    "indexed cables",
                )
            elif create:
                index_dir.mkdir(parents=True, exist_ok=True)
                # creating takes the write lock too, so two processes creating at once do not clash
                lock = WriteLock(index_dir)
                lock.acquire(timeout=30.0)
                try:
                    ix = storage.create(index_dir)
                finally:
                    lock.release()
            else:
                raise IndexNotFound(
                    f"no index at {index_dir}; build one with `cablesearch index PATH...` "
                    "(or point --index / CABLESEARCH_INDEX at an existing one)"
                )
        except IndexError_:
            raise
        except FileNotFoundError:
            if index_dir.is_dir():
                raise storage.Vanished() from None  # a commit replaced what was being read
            raise IndexNotFound(
                f"no index at {index_dir}; build one with `cablesearch index PATH...`"
            ) from None
        except OSError as exc:
            raise IndexError_(f"cannot open the index at {index_dir}: {exc.strerror or exc}") from None
        except Exception as exc:
            raise IndexDamaged(
                index_dir, f"its table of contents cannot be read ({exc.__class__.__name__}: {exc})"
            ) from None
        index = cls(index_dir, ix)
        try:
            index._verify_files(recorded[0] if recorded else None)
        except FileNotFoundError:
            raise storage.Vanished() from None  # a commit replaced the table of contents
        return index

    def _verify_files(self, recorded: IndexState | None) -> None:
        """The cheap check at open: the generation did not go back, and every segment file is
        there with the size recorded at its commit (segment files never change once written).
        A file missing because another process's commit merged it away means: open again."""
        generation = self.generation
        if recorded is not None and generation < recorded.generation:
            raise IndexDamaged(
                self.index_dir,
                f"its table of contents is older (commit {generation}) than the one recorded in "
                f"{MANIFEST_NAME} (commit {recorded.generation})",
            )
        present = verify.segment_files(self.index_dir, self._ix)
        problem = _missing_file(verify.toc_segments(self._ix), present)
        if problem is None and recorded is not None:
            prefixes = tuple(seg.prefix for seg in verify.toc_segments(self._ix))
            for name in recorded.files:
                if name.startswith(prefixes) and name not in present:
                    problem = f"file {name} is missing"
                    break
        if problem is None and recorded is not None:
            for name, size in present.items():
                want = recorded.files.get(name)
                if want is not None and want != size:
                    problem = f"file {name} has {size} bytes where its commit wrote {want}"
                    break
        if problem is None and recorded is not None and recorded.generation == generation:
            documents = sum(s.doc_count_all - s.deleted for s in self.segments())
            if documents != recorded.documents:
                problem = f"it holds {documents} cables where its last commit recorded {recorded.documents}"
        if problem is not None:
            if self.generation != generation:
                raise storage.Vanished()
            raise IndexDamaged(self.index_dir, problem)

    def state(self, known: IndexState | None = None) -> IndexState:
        """What the latest commit holds, as the manifest records it after each commit; the
        checksums of files ``known`` already has are taken from it (segment files never change),
        so only a commit's new files are read."""
        generation = self.generation
        documents = sum(s.doc_count_all - s.deleted for s in self.segments())
        files = verify.segment_files(self.index_dir, self._ix)
        checksums = {}
        for name, size in files.items():
            if known is not None and known.files.get(name) == size and name in known.checksums:
                checksums[name] = known.checksums[name]
            else:
                checksums[name] = verify.checksum(self.index_dir / name)
        return IndexState(generation, documents, files, checksums)

    @property
    def schema(self) -> Any:
        return self._ix.schema

    @property
    def whoosh_index(self) -> Any:
        """The underlying Whoosh index (for the search package)."""
        return self._ix

    @property
    def generation(self) -> int:
        """The number of the last commit; changes after every commit by any process."""
        return storage.generation(self._ix)

    def segments(self) -> list[SegmentInfo]:
        """The segments of the latest commit (their sizes and deletions), in order."""
        return storage.segments(self._ix)

    def searcher(self, **kwargs: Any) -> Any:
        """A fresh Whoosh searcher on the latest commit (the caller closes it), every column
        file of it open already (see engine.storage)."""
        try:
            return storage.open_searcher(self._ix, self.index_dir, **kwargs)
        except IndexError_:
            raise
        except verify.DAMAGE_ERRORS as exc:
            raise IndexDamaged(
                self.index_dir, f"a file cannot be read ({type(exc).__name__}: {exc})"
            ) from None

    def doc_count(self) -> int:
        """Cables in the index (the latest commit)."""
        with self.searcher() as s:
            return int(s.doc_count())

    def lock_holder(self) -> LockHolder | None:
        """The process recorded as holding the write lock, if the lock is held."""
        return current_holder(self.index_dir)

    @contextmanager
    def writer(
        self,
        timeout: float = 30.0,
        on_wait: Callable[[LockHolder | None], None] | None = None,
        limitmb: int = DEFAULT_LIMITMB,
    ) -> Iterator[CableWriter]:
        """Hold the write lock (waiting up to ``timeout`` s, calling ``on_wait(holder)`` once if
        it has to wait) and yield a :class:`CableWriter`. Leaving the block commits; an exception
        (Ctrl-C included) cancels what was not committed yet and releases the lock."""
        lock = WriteLock(self.index_dir)
        lock.acquire(timeout, on_wait)
        try:
            flush.clear_leftovers(self.index_dir)  # no flush runs now: we hold the lock
            cw = CableWriter(self, limitmb)
            try:
                yield cw
            except BaseException:
                cw._cancel()
                raise
            cw._commit()
        finally:
            lock.release()


def _recorded_state(index_dir: Path) -> tuple[IndexState | None, bool] | None:
    """The manifest's record of the index (see :func:`manifest.read_state`); a damaged manifest
    is :class:`IndexDamaged`."""
    try:
        return read_state(index_dir)
    except sqlite3.OperationalError:
        return None  # busy, or a full disk ("disk I/O error"): no damage; the record is not checked
    except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(index_dir, f"{MANIFEST_NAME} cannot be read ({exc})") from None


def _missing_file(segments: list[verify.SegmentTOC], present: dict[str, int]) -> str | None:
    """The first file every segment must have that is not there (None: all there)."""
    for seg in segments:
        names = [name for name in present if name.startswith(seg.prefix)]
        if not names:
            return f"the files of segment {seg.segment_id} ({seg.documents} cables) are missing"
        if seg.prefix + "seg" in present or not seg.documents:
            continue  # a compound segment written by plain Whoosh
        for ext in ("trm", "pst", "_stored.col", "reference_id.col"):
            if seg.prefix + ext not in present:
                return f"file {seg.prefix}{ext} is missing"
    return None
