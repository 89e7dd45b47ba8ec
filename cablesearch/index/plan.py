"""Planning a sync: which files to read (changed by size or mtime, or unknown), which are
skipped unread, and which recorded files are gone."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cablesearch import parse
from cablesearch.errors import ParseError
from cablesearch.index.manifest import Manifest
from cablesearch.index.report import SyncReport
from cablesearch.index.work import MISSING

# Planning this many files reads the whole manifest at once (~4 us a record); fewer are looked
# up by path (~10 us each): a daemon batch or catch-up round of 5,000 files on an index of the
# whole release must not read its 250,000 records each time.
LOAD_ALL_FILES = 20_000

# (path, known content hash or None, size)
Todo = list[tuple[str, str | None, int]]


def expand(changed: Iterable[str | Path]) -> list[str]:
    """Absolute paths of the files named, folders replaced by the files inside."""
    files: list[str] = []
    for p in changed:
        if Path(p).is_dir():
            files.extend(str(Path(f).absolute()) for f in parse.iter_files([p]))
        else:
            files.append(str(Path(p).absolute()))
    return list(dict.fromkeys(files))


def plan(
    manifest: Manifest,
    stats: list[tuple[str, os.stat_result | None]],
    removed: list[str] | None,
    prune_roots: list[str] | None,
    report: SyncReport,
) -> tuple[Todo, list[str], dict[str, Any]]:
    """Which files to read and which recorded files are gone; counts the skipped files into
    ``report``. ``known``: the manifest's records of those files (of all files for a big or
    pruning run, see LOAD_ALL_FILES)."""
    if prune_roots or len(stats) + len(removed or ()) >= LOAD_ALL_FILES:
        known = manifest.files()
    else:
        known = manifest.files_for([p for p, _ in stats] + list(removed or ()))
    todo: Todo = []
    gone = list(removed or [])
    report.files_seen = len(stats)
    report.files_skipped = report.unchanged = 0
    for path, st in stats:
        rec = known.get(path)
        if st is None:
            if rec is not None:
                gone.append(path)
            else:
                report.rejected.append(ParseError(path, MISSING))
            continue
        item = to_read(path, rec, st, report)
        if item is not None:
            todo.append(item)
    if prune_roots:
        present = {p for p, _ in stats}
        gone += [p for p in manifest.files_under(prune_roots) if p not in present and not os.path.exists(p)]
    gone = [p for p in dict.fromkeys(gone) if p in known]
    return todo, gone, known


def top_up(
    more: Callable[[bool], Iterable[str | Path]],
    manifest: Manifest,
    known: dict[str, Any],
    report: SyncReport,
    seen: set[str],
) -> Callable[[bool], Todo]:
    """Wraps ``more`` (see ``Syncer.apply``): its paths, planned like the first ones (unchanged
    files skipped), as further work; paths already in this sync are left out. Their manifest
    records join ``known``."""

    def take(idle: bool) -> Todo:
        todo: Todo = []
        paths = [p for p in expand(more(idle)) if p not in seen]
        known.update(manifest.files_for([p for p in paths if p not in known]))
        for path in paths:
            seen.add(path)
            report.files_seen += 1
            rec = known.get(path)
            try:
                st = os.stat(path)
            except OSError:
                todo.append((path, None, 0))  # reading it says what is wrong
                continue
            item = to_read(path, rec, st, report)
            if item is not None:
                todo.append(item)
        return todo

    return take


def to_read(
    path: str, rec: Any, st: os.stat_result, report: SyncReport
) -> tuple[str, str | None, int] | None:
    """The work item (path, known hash, size) for a file that exists, or None when its record
    has the same size and mtime: unchanged, not even read (counted into ``report``)."""
    if rec is not None and rec.complete and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
        report.files_skipped += 1
        report.unchanged += rec.cables
        return None
    return (path, rec.hash if rec and rec.complete else None, st.st_size)
