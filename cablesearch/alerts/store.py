"""The saved searches and their matches: ``alerts.sqlite`` in the index folder.

Tables:

- ``alerts``: one row per saved search -- its name, the query and filters (a JSON object of
  :class:`~cablesearch.results.SearchRequest` fields), when it was added, and the evaluation
  state: the index segments (and generation) whose cables it has been evaluated on.
- ``matches``: one row per (alert, reference ID), UNIQUE, with what a list and a feed show
  (subject, dates, origin, ...), when it was found, and flags: ``seen`` (shown by
  ``alerts show``), ``notified`` (given to the alert's command), ``baseline`` (already matched
  when the alert was added: never reported, kept so that an update of it is no new match).

Durability: WAL journal, ``synchronous=FULL``; the matches an evaluation found and the state
it advanced to are written in ONE transaction, so after a crash (even kill -9) the store holds
either both or neither -- and "neither" only means the next evaluation looks at those cables
again. The unique key makes recording a match twice impossible.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cablesearch.errors import CablesearchError
from cablesearch.results import SearchRequest
from cablesearch.search.execution import FACET_FILTERS

STORE_NAME = "alerts.sqlite"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The SearchRequest fields a saved search keeps: the query and EVERY filter the search knows
# (the library's table of facet filters), not page, sort and the like (matches are unordered).
REQUEST_FIELDS = ("query", *FACET_FILTERS.values(), "date_from", "date_to")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    name TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    added TEXT NOT NULL,
    segments TEXT NOT NULL DEFAULT '[]',
    generation INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS matches (
    alert TEXT NOT NULL REFERENCES alerts(name) ON DELETE CASCADE,
    reference_id TEXT NOT NULL,
    found TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    created TEXT,
    released TEXT,
    origin TEXT NOT NULL DEFAULT '',
    classification TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '',
    seen INTEGER NOT NULL DEFAULT 0,
    notified INTEGER NOT NULL DEFAULT 0,
    baseline INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alert, reference_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS matches_unseen ON matches (alert, seen, baseline);
CREATE INDEX IF NOT EXISTS matches_unnotified ON matches (alert, seq) WHERE notified = 0 AND baseline = 0;
"""


class AlertError(CablesearchError):
    """A saved-search command cannot be done (bad name, unknown or duplicate alert)."""


class AlertNotFound(AlertError):
    http_status = 404


class AlertExists(AlertError):
    http_status = 409


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_name(name: str) -> str:
    """The name, or AlertError: names appear in URLs (/alerts/NAME.atom) and config keys."""
    if not NAME_RE.match(name or ""):
        raise AlertError(
            f"alert name {name!r} is not usable: use 1 to 64 letters, digits, '-', '_' or '.', "
            f"starting with a letter or digit (e.g. libya-arms)"
        )
    return name


def request_to_json(request: SearchRequest) -> dict[str, Any]:
    d = asdict(request)
    return {k: (list(d[k]) if isinstance(d[k], tuple) else d[k]) for k in REQUEST_FIELDS}


def saved_request(request: SearchRequest) -> SearchRequest:
    """What a saved search keeps of a request: its query and every filter, nothing else."""
    return request_from_json(request_to_json(request))


def request_from_json(data: dict[str, Any]) -> SearchRequest:
    values: dict[str, Any] = {}
    for k in REQUEST_FIELDS:
        if k in data:
            v = data[k]
            values[k] = tuple(v) if isinstance(v, list) else v
    return SearchRequest(**values)


@dataclass(frozen=True)
class SavedSearch:
    """One saved search with its counts (for lists: ``alerts list``, the web, the API)."""

    name: str
    request: SearchRequest
    added: str
    unseen: int = 0
    matches: int = 0  # found since the alert was added (baseline not counted)
    generation: int = -1  # index generation last evaluated

    def describe(self) -> str:
        """The query and filters as one line, written like the search command's options."""
        r = self.request
        parts = [repr(r.query) if r.query else "(all cables)"]
        for facet, attr in FACET_FILTERS.items():
            parts += [f"--{facet} {shlex.quote(str(v))}" for v in getattr(r, attr)]
        if r.date_from:
            parts.append(f"--from {r.date_from}")
        if r.date_to:
            parts.append(f"--to {r.date_to}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **request_to_json(self.request),
            "added": self.added,
            "unseen": self.unseen,
            "matches": self.matches,
            "generation": self.generation,
        }


@dataclass(frozen=True)
class Match:
    """One cable a saved search found after it was added."""

    alert: str
    reference_id: str
    found: str  # UTC, "YYYY-MM-DDTHH:MM:SSZ"
    subject: str = ""
    created: str | None = None  # "YYYY-MM-DDTHH:MM"
    released: str | None = None
    origin: str = ""
    classification: str = ""
    tags: list[str] = field(default_factory=list)
    summary: str = ""
    seen: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlertState:
    name: str
    request: SearchRequest
    segments: tuple[str, ...]
    generation: int


_MATCH_COLUMNS = (
    "alert, reference_id, found, subject, created, released, origin, classification, tags, summary, seen"
)


def _match(row: Sequence[Any]) -> Match:
    return Match(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        json.loads(row[8]),
        row[9],
        bool(row[10]),
    )


class AlertStore:
    """Access to ``alerts.sqlite``. Every method is one transaction; several processes (the
    daemon, ``cablesearch index``, the CLI, the web) may use the store at once."""

    def __init__(self, index_dir: Path | str):
        self.path = Path(index_dir) / STORE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @staticmethod
    def exists(index_dir: Path | str) -> bool:
        """Whether an alert store was ever made here (no file: no alert to evaluate)."""
        return (Path(index_dir) / STORE_NAME).exists()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE): all of it or nothing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- saved searches ----------------------------------------------------------------------

    def add(
        self,
        name: str,
        request: SearchRequest,
        segments: Sequence[str],
        generation: int,
        baseline: Iterable[str],
    ) -> SavedSearch:
        """Record a new saved search evaluated up to ``segments`` and the cables that already
        match (``baseline``: never reported). AlertExists when the name is taken."""
        check_name(name)
        added = now_iso()
        with self._write() as db:
            if db.execute("SELECT 1 FROM alerts WHERE name = ?", (name,)).fetchone():
                raise AlertExists(
                    f"an alert named {name!r} exists already; pick another name or remove it "
                    f"first with: cablesearch alerts rm {name}"
                )
            db.execute(
                "INSERT INTO alerts (name, request, added, segments, generation) VALUES (?, ?, ?, ?, ?)",
                (name, json.dumps(request_to_json(request)), added, json.dumps(list(segments)), generation),
            )
            db.executemany(
                "INSERT OR IGNORE INTO matches (alert, reference_id, found, seen, notified, baseline) "
                "VALUES (?, ?, ?, 1, 1, 1)",
                ((name, rid, added) for rid in baseline),
            )
        return SavedSearch(name, request, added, generation=generation)

    def remove(self, name: str) -> None:
        with self._write() as db:
            self._require(name)
            db.execute("DELETE FROM matches WHERE alert = ?", (name,))
            db.execute("DELETE FROM alerts WHERE name = ?", (name,))

    def _require(self, name: str) -> sqlite3.Row | tuple[Any, ...]:
        row = self._db.execute(
            "SELECT name, request, added, generation FROM alerts WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            known = [r[0] for r in self._db.execute("SELECT name FROM alerts ORDER BY name")]
            hint = (
                f"known alerts: {', '.join(known)}"
                if known
                else "no alert is saved yet (cablesearch alerts add)"
            )
            raise AlertNotFound(f"no alert named {name!r}; {hint}")
        return tuple(row)

    def get(self, name: str) -> SavedSearch:
        """One saved search with its counts (AlertNotFound)."""
        row = self._require(name)
        return self._with_counts(row)

    def all(self) -> list[SavedSearch]:
        """Every saved search, by name, with its unseen and total match counts."""
        rows = self._db.execute(
            "SELECT name, request, added, generation FROM alerts ORDER BY name"
        ).fetchall()
        return [self._with_counts(r) for r in rows]

    def _with_counts(self, row: Sequence[Any]) -> SavedSearch:
        unseen, total = self._db.execute(
            "SELECT COALESCE(SUM(seen = 0), 0), COUNT(*) FROM matches WHERE alert = ? AND baseline = 0",
            (row[0],),
        ).fetchone()
        return SavedSearch(
            row[0], request_from_json(json.loads(row[1])), row[2], int(unseen), int(total), row[3]
        )

    def states(self) -> list[AlertState]:
        """Every saved search with the segments it has been evaluated on."""
        rows = self._db.execute("SELECT name, request, segments, generation FROM alerts ORDER BY name")
        return [
            AlertState(r[0], request_from_json(json.loads(r[1])), tuple(json.loads(r[2])), r[3]) for r in rows
        ]

    # -- matches -----------------------------------------------------------------------------

    def record(
        self,
        found: dict[str, list[Match]],
        states: dict[str, tuple[tuple[str, ...], int]],
        notify: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> dict[str, list[Match]]:
        """In ONE transaction: insert the matches found per alert (a match recorded already is
        left alone) and advance each alert's state to (segments, generation) -- never back.
        Returns the matches that were new. ``notify``: the alerts whose new matches await their
        command (the others are recorded as notified)."""
        new: dict[str, list[Match]] = {}
        tags_json: dict[int, str] = {}  # one Match's tags list is shared by the alerts finding it
        with self._write() as db:
            names = {r[0] for r in db.execute("SELECT name FROM alerts")}  # removed meanwhile: skipped
            seq0 = seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM matches").fetchone()[0]
            rows: list[tuple[Any, ...]] = []
            for name, matches in found.items():
                if name not in names:
                    continue
                notified = 0 if name in notify else 1
                for m in matches:
                    seq += 1
                    tags = tags_json.get(id(m.tags))
                    if tags is None:
                        tags = tags_json[id(m.tags)] = json.dumps(m.tags)
                    row = (name, m.reference_id, m.found, m.subject, m.created, m.released)
                    rows.append((*row, m.origin, m.classification, tags, m.summary, notified, seq))
            rows.sort(key=lambda r: (r[0], r[1]))  # in key order: inserted a third faster
            inserted = db.executemany(
                "INSERT OR IGNORE INTO matches (alert, reference_id, found, subject, created, released, "
                "origin, classification, tags, summary, seen, notified, baseline, seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?)",
                rows,
            ).rowcount
            ours = None if inserted == len(rows) else self._inserted_since(found, seq0)
            for name, matches in found.items():
                if name not in names:
                    continue
                kept: dict[str, Match] = {}
                for m in matches:
                    if m.reference_id not in kept and (ours is None or (name, m.reference_id) in ours):
                        kept[m.reference_id] = m
                if kept:
                    new[name] = list(kept.values())
            for name, (segments, generation) in states.items():
                db.execute(
                    "UPDATE alerts SET segments = ?, generation = ? WHERE name = ? AND generation <= ?",
                    (json.dumps(list(segments)), generation, name, generation),
                )
        return new

    def _inserted_since(self, found: dict[str, list[Match]], seq0: int) -> set[tuple[str, str]]:
        """Which (alert, reference ID) of ``found`` the current transaction inserted: their
        rows have a ``seq`` above ``seq0`` (rows recorded before have lower ones)."""
        out: set[tuple[str, str]] = set()
        for name, matches in found.items():
            ids = [m.reference_id for m in matches]
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                rows = self._db.execute(
                    f"SELECT reference_id FROM matches WHERE alert = ? AND seq > ? "
                    f"AND reference_id IN ({','.join('?' * len(chunk))})",
                    (name, seq0, *chunk),
                )
                out.update((name, r[0]) for r in rows)
        return out

    def matches(self, name: str, unseen_only: bool = False, limit: int | None = None) -> list[Match]:
        """The alert's matches (baseline excluded), the most recently found first."""
        self._require(name)
        sql = f"SELECT {_MATCH_COLUMNS} FROM matches WHERE alert = ? AND baseline = 0"
        if unseen_only:
            sql += " AND seen = 0"
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_match(r) for r in self._db.execute(sql, (name,))]

    def take_unseen(self, name: str) -> list[Match]:
        """The alert's unseen matches (oldest first), marked seen in the same transaction."""
        with self._write() as db:
            self._require(name)
            rows = db.execute(
                f"SELECT {_MATCH_COLUMNS} FROM matches WHERE alert = ? AND baseline = 0 AND seen = 0 ORDER BY seq",
                (name,),
            ).fetchall()
            db.execute("UPDATE matches SET seen = 1 WHERE alert = ? AND baseline = 0 AND seen = 0", (name,))
        return [_match(r) for r in rows]

    def unnotified(self) -> dict[str, list[Match]]:
        """Matches still waiting for their alert's command, per alert, oldest first."""
        out: dict[str, list[Match]] = {}
        rows = self._db.execute(
            f"SELECT {_MATCH_COLUMNS} FROM matches WHERE notified = 0 AND baseline = 0 ORDER BY alert, seq"
        )
        for r in rows:
            out.setdefault(r[0], []).append(_match(r))
        return out

    def mark_notified(self, name: str, ids: Iterable[str]) -> None:
        with self._write() as db:
            db.executemany(
                "UPDATE matches SET notified = 1 WHERE alert = ? AND reference_id = ?",
                ((name, rid) for rid in ids),
            )
