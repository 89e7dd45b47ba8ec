"""Files as the parser meets them: folder walks, opening a file safely, reading it within a cap,
and naming what a path is when it is not a file that can be read.

Contract:

- ``walk(paths, on_error)`` — the non-folder entries under ``paths`` in name order, with an
  explicit stack (no recursion, so a tree thousands of levels deep is walked, not a
  ``RecursionError``). Symlinked folders are not followed (no loops); a folder that cannot be
  listed (permission, deeper than PATH_MAX) goes to ``on_error`` when one is given.
- ``open_regular(path)`` — a binary file object for a *regular* file only. It is opened with
  ``O_NONBLOCK`` (a FIFO never blocks the open) and checked with ``fstat`` on the open
  descriptor, so a path swapped for a FIFO or a device after the check cannot fool it.
  Anything else raises ``ParseError`` naming what it is ("not a regular file (a FIFO)").
- ``read_rest(f, head, cap, source)`` — the whole file, at most ``cap`` bytes; one byte more
  raises ``ParseError``. The cap counts bytes read, never the size the file system claims.
- ``describe(exc, path)`` — the one-line reason for an ``OSError`` on ``path``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import ParseError

OnError = Callable[[ParseError], None]

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
# Paths longer than this are shown shortened in messages (the whole path is still the source).
_SHOWN_PATH = 240


def shown(path: str | Path) -> str:
    """A path as a message shows it: whole, or for a very long (very deep) one its start and
    end around an ellipsis with the number of folders in it."""
    text = str(path)
    if len(text) <= _SHOWN_PATH:
        return text
    depth = text.count(os.sep)
    return f"{text[:100]}…{text[-100:]} ({depth} folders deep)"


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a FIFO", "a character device", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def not_regular(mode: int) -> str:
    """The reason given for a path that is no regular file."""
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return f"not a regular file ({kind(mode)}): only regular files are read; remove it or name the files"


def describe(exc: OSError, path: str | Path) -> str:
    """The one-line reason for an ``OSError`` met on ``path``."""
    code = exc.errno
    if code == errno.ENOENT:
        if os.path.islink(path):
            return "a broken symlink: what it points to does not exist"
        return "no such file or folder"
    if code == errno.ELOOP:
        return "a symlink loop: the symlinks in this path point at each other; remove or fix them"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EISDIR:
        return "is a folder, not a file"
    if code == errno.ENOTDIR:
        return "no such file or folder (a part of the path is a file)"
    if code == errno.ENAMETOOLONG:
        return "path longer than the system allows (PATH_MAX): move the files to a shorter path"
    return f"cannot be read ({exc.strerror or exc})"


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading in binary; ``ParseError`` for anything else.

    The path is checked with ``stat`` first (so a device or FIFO is never even opened), then
    opened with ``O_NONBLOCK`` and checked again on the descriptor: a swap between the two
    checks is caught too. (``O_NONBLOCK`` has no effect on reading a regular file.)
    """
    source = shown(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ParseError(source, not_regular(st.st_mode))
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ParseError(source, describe(exc, path)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ParseError(source, not_regular(st.st_mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_rest(f: BinaryIO, head: bytes, cap: int, source: str) -> bytes:
    """``head`` (the bytes already read from ``f``) and the rest of ``f``, at most ``cap`` bytes
    in all: one byte more raises ``ParseError``, whatever size the file system claims."""
    rest = f.read(max(cap - len(head), 0) + 1)
    if len(head) + len(rest) > cap:
        raise ParseError(
            source, f"too large for a cable file (over {cap // 1048576} MB read) and not a cables.csv"
        )
    return head + rest


def walk(root: str | Path, on_error: OnError | None, skip: Callable[[str], bool]) -> Iterator[Path]:
    """The non-folder entries under the folder ``root``: a folder's own entries in name order,
    then each of its subfolders in name order, depth first (the order of ``os.walk``), with
    names for which ``skip`` is true left out.

    Iterative (an explicit stack), so depth is bounded by PATH_MAX only; a folder that cannot be
    listed goes to ``on_error`` (when given) and the walk goes on.
    """
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            if on_error is not None:
                on_error(ParseError(shown(folder), f"folder cannot be listed: {describe(exc, folder)}"))
            continue
        files: list[str] = []
        folders: list[str] = []
        for entry in entries:
            if skip(entry.name):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                files.append(entry.name)
            elif not entry.is_symlink():
                folders.append(entry.name)
        for name in sorted(files):
            yield Path(folder, name)
        stack.extend(os.path.join(folder, name) for name in sorted(folders, reverse=True))
