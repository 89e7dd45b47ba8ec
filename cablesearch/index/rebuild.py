"""``cablesearch index --rebuild``: a new index built beside the old one from the sources the
old manifest lists (plus any paths given), swapped in atomically, the old one removed after.

The old index may be unreadable: only its manifest's list of files is read (and with a damaged
manifest, the paths given). The new index is built in a hidden sibling folder
``.<name>.rebuild``; the files of the old folder that are no index files (saved searches,
the daemon's inbox) are copied into it; then the two folders are exchanged with one
``renameat2(RENAME_EXCHANGE)`` (two renames where the file system cannot), and the old one is
deleted. Until the exchange the old index is untouched; a rebuild that fails or is interrupted
leaves it as it was (the half-built folder is removed at the next rebuild). Refused while an
indexing daemon keeps the index current. The old index's write lock is held throughout, so no
``cablesearch index`` writes to it meanwhile.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cablesearch.config import Config
from cablesearch.errors import IndexError_
from cablesearch.index.lock import LOCK_NAME, WriteLock
from cablesearch.index.manifest import MANIFEST_NAME
from cablesearch.index.report import SyncProgress, SyncReport
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer

RENAME_EXCHANGE = 2
_INDEX_PREFIXES = ("_MAIN_", "MAIN_", MANIFEST_NAME, LOCK_NAME)


@dataclass
class RebuildReport:
    sources: int = 0  # paths the old manifest (and the command line) named
    missing: list[str] = field(default_factory=list)  # of those, gone from the disk
    manifest_readable: bool = True
    sync: SyncReport = field(default_factory=SyncReport)


def rebuild_sources(index_dir: Path) -> list[str] | None:
    """The source files the manifest lists (None when it cannot be read at all; a damaged
    manifest is read as far as it goes)."""
    path = Path(index_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return None
    out: list[str] = []
    try:
        for (name,) in db.execute("SELECT path FROM files"):
            out.append(str(name))
    except sqlite3.DatabaseError:
        if not out:
            return None
    finally:
        db.close()
    return out


def rebuild(
    index_dir: Path,
    config: Config,
    paths: list[Path] | None = None,
    procs: int | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
) -> RebuildReport:
    """Rebuild the index at ``index_dir`` (see the module docstring)."""
    index_dir = Path(index_dir).absolute()
    _refuse_if_daemon(index_dir)
    report = RebuildReport()
    listed = rebuild_sources(index_dir)
    report.manifest_readable = listed is not None
    sources = list(dict.fromkeys([*(listed or []), *(str(Path(p).absolute()) for p in paths or [])]))
    if not sources:
        why = "its manifest cannot be read" if listed is None else "its manifest lists no source files"
        raise IndexError_(
            f"cannot rebuild the index at {index_dir}: {why}; give the sources: "
            "`cablesearch index --rebuild PATH...`"
        )
    report.sources = len(sources)
    report.missing = [p for p in sources if not os.path.exists(p)]
    present = [p for p in sources if os.path.exists(p)]
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = WriteLock(index_dir)
    lock.acquire(timeout=config.lock_timeout)
    new_dir = index_dir.parent / f".{index_dir.name}.rebuild"
    try:
        if new_dir.exists():
            shutil.rmtree(new_dir)  # left by a rebuild that was interrupted
        new = CableIndex.open(new_dir, create=True)
        report.sync = Syncer(new, config, procs=procs).sync_paths(present, progress=progress)
        _carry_over(index_dir, new_dir)
        _exchange(new_dir, index_dir)
        shutil.rmtree(new_dir, ignore_errors=True)  # now the old index
    except BaseException:
        shutil.rmtree(new_dir, ignore_errors=True)
        raise
    finally:
        lock.release()
    return report


def _refuse_if_daemon(index_dir: Path) -> None:
    try:
        from cablesearch.daemon import client
    except ImportError:
        return
    info = client.find_running(index_dir)
    if info is not None:
        raise IndexError_(
            f"an indexing daemon (pid {info.pid}) keeps {index_dir} current; stop it first "
            f"(Ctrl-C in its terminal, or `kill {info.pid}`), then run `cablesearch index --rebuild`"
        )


def _carry_over(old_dir: Path, new_dir: Path) -> None:
    """Copy what is not the index itself (saved searches, the daemon's inbox...) into the new
    folder."""
    for entry in old_dir.iterdir():
        if entry.name.startswith(_INDEX_PREFIXES):
            continue
        target = new_dir / entry.name
        if target.exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True)
        elif entry.is_file():
            shutil.copy2(entry, target)


def _exchange(a: Path, b: Path) -> None:
    """Swap the folders ``a`` and ``b`` atomically where the system allows, else by renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd = -100
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE) == 0:
            return
    aside = b.parent / f".{b.name}.old"
    if aside.exists():
        shutil.rmtree(aside)
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
