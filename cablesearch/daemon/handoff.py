"""Hand-offs: `cablesearch index` run while the daemon runs leaves a request in
``<index_dir>/inbox/`` (client.hand_off); the daemon reads it, vets its paths, has the indexer
sync them, writes ``<id>.progress`` meanwhile and ``<id>.done`` with the report at the end.

Only regular files and folders go on to the indexer: a FIFO, socket or device would block (or
never end) when opened. The request file itself is read without blocking (client.read_regular).
"""

from __future__ import annotations

import json
import os
import stat as stat_module
from pathlib import Path
from typing import Any

from cablesearch.parse import is_skipped

from . import client
from .messages import BatchResult, Progress, Rejection, SyncPaths
from .settle import special_kind
from .status import StatusBoard


def read_request(request_path: Path, board: StatusBoard) -> tuple[SyncPaths, list[Rejection]] | None:
    """The request in ``request_path`` and the paths refused from it; None (the file is then
    named in the status and removed) when it cannot be read."""
    try:
        data = json.loads(client.read_regular(request_path))
        paths = [str(p) for p in data["paths"]]
        prune = bool(data.get("prune", False))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        board.error(str(request_path), f"unreadable hand-off request ({exc}); removed")
        request_path.unlink(missing_ok=True)
        return None
    sent, refused = vet_paths(paths)
    return SyncPaths(sent, prune), refused


def write_progress(request_path: Path, progress: Progress) -> None:
    try:
        client.write_json_atomic(request_path.with_suffix(client.PROGRESS_SUFFIX), vars(progress))
    except OSError:
        pass  # progress is a courtesy; the report still comes


def answer(request_path: Path, paths: list[str], result: BatchResult, board: StatusBoard) -> None:
    """Leave the report (``<id>.done``) for the waiting command, and remove the request."""
    report: dict[str, Any] = result.counts() | {
        "doc_count": result.doc_count,
        "seconds": result.seconds,
        "pid": os.getpid(),
        "paths": paths,
        "rejected": [r.line for r in result.rejected],  # as SyncReport.to_dict() words them
        "conflicts": result.conflicts,
    }
    try:
        client.write_json_atomic(request_path.with_suffix(client.DONE_SUFFIX), report)
        request_path.unlink(missing_ok=True)
        request_path.with_suffix(client.PROGRESS_SUFFIX).unlink(missing_ok=True)
    except OSError as exc:
        board.error(str(request_path), f"cannot answer the hand-off: {exc}")


def vet_paths(paths: list[str]) -> tuple[list[str], list[Rejection]]:
    """The hand-off paths that may go to the indexer, and the refused ones: a FIFO, socket or
    device would block (or never end) when opened, so only regular files and folders go on; a
    folder holding special files is handed on as its regular files (walked without recursion)."""
    sent: list[str] = []
    refused: list[Rejection] = []

    def refuse(path: str, mode: int) -> None:
        reason = f"{special_kind(mode)}, not a regular file; skipped"
        refused.append(Rejection(path, reason, f"{path}: {reason}"))

    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            sent.append(path)  # missing: the indexer names it
            continue
        if stat_module.S_ISREG(st.st_mode):
            sent.append(path)
        elif stat_module.S_ISDIR(st.st_mode):
            files, specials = _walk_regular(path)
            if not specials:
                sent.append(path)
                continue
            sent.extend(files)
            for special, mode in specials:
                refuse(special, mode)
        else:
            refuse(path, st.st_mode)
    return sent, refused


def _walk_regular(top: str) -> tuple[list[str], list[tuple[str, int]]]:
    files: list[str] = []
    specials: list[tuple[str, int]] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            if is_skipped(e.name):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                    continue
                mode = e.stat().st_mode
            except OSError:
                continue
            if stat_module.S_ISREG(mode):
                files.append(e.path)
            elif not stat_module.S_ISDIR(mode):
                specials.append((e.path, mode))
    return files, specials
