"""The manifest: which source file gave which cable, so indexing can be incremental.

An SQLite database in the index folder (``manifest.sqlite``) with two tables:

- ``files``: one row per source file -- path, size, mtime_ns, content hash, whether all of its
  cables were committed (``complete``; a cables.csv interrupted half-way is recorded with the
  cables committed so far and ``complete = 0``, so the next run reads it again), its cable count.
- ``entries``: one row per (file, reference ID) with the cable's released date, whether this
  file's text is the one in the index (``indexed``) and, for cables.csv rows, a digest of the
  row (so a changed cables.csv only re-reads the rows that changed) and ``text``, a digest of
  the cable's subject and body (``engine.writer.text_digest``; "" in entries written before it
  existed). The same ID in several files has several entries; the one with the latest release
  is indexed (:mod:`.conflicts` reports them: identical texts are copies, others conflicts).

The manifest is written in the same rhythm as the index: the sync layer changes it inside one
transaction and commits that transaction right after the index commit, so what the manifest
records is what the index holds (a crash between the two only makes the next run re-read files).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 1,
    cables INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    path TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    released TEXT NOT NULL DEFAULT '',
    indexed INTEGER NOT NULL DEFAULT 0,
    digest TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (path, reference_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_id ON entries (reference_id);
CREATE TABLE IF NOT EXISTS index_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    hash: str
    complete: bool
    cables: int


_FILE_COLUMNS = "path, size, mtime_ns, hash, complete, cables"


def _file_record(row: tuple[Any, ...]) -> FileRecord:
    """A FileRecord from a row of ``SELECT _FILE_COLUMNS FROM files``."""
    return FileRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


@dataclass(frozen=True)
class Entry:
    path: str
    reference_id: str
    released: str  # "YYYY-MM-DDTHH:MM" or ""
    indexed: bool
    digest: str = ""  # of the cables.csv row the cable came from ("" for other files)
    text: str = ""  # digest of the subject and body ("" when not known: an older manifest)

    @property
    def rank(self) -> tuple[str, str]:
        """Which entry wins for one ID: the latest release, then (for a stable choice) the path."""
        return (self.released, self.path)


@dataclass(frozen=True)
class IndexState:
    """What the index held at the last commit the manifest recorded (see :meth:`Manifest.put_state`):
    its generation, its live cables and the size of every segment file."""

    generation: int
    documents: int
    files: dict[str, int]
    checksums: dict[str, int] = field(default_factory=dict)  # CRC-32 of each file, for `check`


def read_state(index_dir: Path | str) -> tuple[IndexState | None, bool] | None:
    """(the recorded :class:`IndexState` or None, whether any cable is recorded as indexed),
    read without creating or changing anything; None when there is no manifest. Raises
    ``sqlite3.DatabaseError`` when the manifest is damaged."""
    path = Path(index_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60.0)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        any_indexed = "entries" in tables and (
            db.execute("SELECT 1 FROM entries WHERE indexed = 1 LIMIT 1").fetchone() is not None
        )
        state = None
        if "index_state" in tables:
            row = db.execute("SELECT value FROM index_state WHERE key = 'state'").fetchone()
            if row is not None:
                state = _state_from_json(row[0])
        return state, any_indexed
    finally:
        db.close()


def _state_from_json(text: str) -> IndexState:
    data = json.loads(text)
    return IndexState(
        int(data["generation"]), int(data["documents"]), dict(data["files"]), dict(data.get("checksums", {}))
    )


class Manifest:
    """Access to ``manifest.sqlite``. Changes are collected in one transaction until
    :meth:`commit` (or dropped by :meth:`rollback`)."""

    def __init__(self, index_dir: Path | str):
        self.path = Path(index_dir) / MANIFEST_NAME
        self._db = sqlite3.connect(str(self.path), timeout=60.0, isolation_level="DEFERRED")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(entries)")}
        if "digest" not in columns:  # a manifest written before row digests existed
            self._db.execute("ALTER TABLE entries ADD COLUMN digest TEXT NOT NULL DEFAULT ''")
        if "text" not in columns:  # a manifest written before text digests existed
            self._db.execute("ALTER TABLE entries ADD COLUMN text TEXT NOT NULL DEFAULT ''")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def finish(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        """As a context exit: commit when the block succeeded, roll back when it raised."""
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    def put_state(self, state: IndexState) -> None:
        """Record what the index holds after a commit (in the open transaction, committed with it)."""
        value = json.dumps(
            {
                "generation": state.generation,
                "documents": state.documents,
                "files": state.files,
                "checksums": state.checksums,
            }
        )
        self._db.execute("INSERT OR REPLACE INTO index_state (key, value) VALUES ('state', ?)", (value,))

    def recorded_state(self) -> IndexState | None:
        """The state recorded by the last :meth:`put_state` (None: none yet)."""
        row = self._db.execute("SELECT value FROM index_state WHERE key = 'state'").fetchone()
        return _state_from_json(row[0]) if row is not None else None

    def indexed_count(self) -> int:
        """Cables the manifest says are in the index."""
        return int(self._db.execute("SELECT count(*) FROM entries WHERE indexed = 1").fetchone()[0])

    # files

    def files(self) -> dict[str, FileRecord]:
        """Every recorded file by path."""
        return {r[0]: _file_record(r) for r in self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files")}

    def files_for(self, paths: Iterable[str]) -> dict[str, FileRecord]:
        """The records of those of ``paths`` that are recorded (for a few paths, much cheaper
        than ``files()`` on a manifest of the whole release)."""
        out: dict[str, FileRecord] = {}
        paths = list(paths)
        for i in range(0, len(paths), 500):
            chunk = paths[i : i + 500]
            for r in self._db.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE path IN ({','.join('?' * len(chunk))})", chunk
            ):
                out[r[0]] = _file_record(r)
        return out

    def files_under(self, roots: Iterable[str]) -> list[str]:
        """Recorded paths equal to or inside one of ``roots`` (absolute path strings)."""
        out: list[str] = []
        for root in roots:
            prefix = root.rstrip("/") + "/"
            out.extend(
                r[0]
                for r in self._db.execute(
                    "SELECT path FROM files WHERE path = ? OR substr(path, 1, ?) = ?",
                    (root, len(prefix), prefix),
                )
            )
        return sorted(set(out))

    def put_file(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        hash_: str,
        complete: bool = True,
        cables: int | None = None,
    ) -> None:
        """Record a file (``cables``: its entry count, counted here when not given)."""
        count = (
            cables
            if cables is not None
            else self._db.execute("SELECT count(*) FROM entries WHERE path = ?", (path,)).fetchone()[0]
        )
        self._db.execute(
            "INSERT OR REPLACE INTO files (path, size, mtime_ns, hash, complete, cables, indexed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (path, size, mtime_ns, hash_, int(complete), count, time.time()),
        )

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime for a file whose content hash did not change."""
        self._db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))

    def drop_file(self, path: str) -> None:
        self._db.execute("DELETE FROM entries WHERE path = ?", (path,))
        self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    # entries

    def entries_of_file(self, path: str) -> dict[str, Entry]:
        return {
            r[1]: Entry(r[0], r[1], r[2], bool(r[3]), r[4], r[5])
            for r in self._db.execute(
                "SELECT path, reference_id, released, indexed, digest, text FROM entries WHERE path = ?",
                (path,),
            )
        }

    def entries_of_id(self, reference_id: str) -> list[Entry]:
        return [
            Entry(r[0], r[1], r[2], bool(r[3]), r[4], r[5])
            for r in self._db.execute(
                "SELECT path, reference_id, released, indexed, digest, text FROM entries "
                "WHERE reference_id = ?",
                (reference_id,),
            )
        ]

    def ids_in_several_files(self) -> list[str]:
        """The reference IDs that more than one file (or cables.csv) gives, sorted."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT reference_id FROM entries GROUP BY reference_id HAVING count(*) > 1 "
                "ORDER BY reference_id"
            )
        ]

    def has_entries(self) -> bool:
        return self._db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None

    def put_entry(
        self,
        path: str,
        reference_id: str,
        released: str,
        indexed: bool,
        digest: str = "",
        others_indexed: bool = True,
        text: str = "",
    ) -> None:
        """Record that ``path`` has the cable; ``indexed``: it is the copy in the index (any
        other file's entry for the ID stops being it; ``others_indexed=False`` says the caller
        knows there is none, which saves a statement per cable; ``text``: the cable's text digest)."""
        if indexed and others_indexed:
            self._db.execute(
                "UPDATE entries SET indexed = 0 WHERE reference_id = ? AND indexed = 1", (reference_id,)
            )
        self._db.execute(
            "INSERT OR REPLACE INTO entries (path, reference_id, released, indexed, digest, text) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (path, reference_id, released, int(indexed), digest, text),
        )

    def set_indexed(self, path: str, reference_id: str) -> None:
        self._db.execute(
            "UPDATE entries SET indexed = (path = ?) WHERE reference_id = ?", (path, reference_id)
        )

    def drop_entry(self, path: str, reference_id: str) -> None:
        self._db.execute("DELETE FROM entries WHERE path = ? AND reference_id = ?", (path, reference_id))

    def indexed_ids(self) -> Iterator[tuple[str, str]]:
        """(reference ID, path) of every cable the manifest says is in the index."""
        yield from self._db.execute("SELECT reference_id, path FROM entries WHERE indexed = 1")
