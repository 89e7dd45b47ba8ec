"""Worker processes, one way for the whole program: the pool that parses files and cables.csv
rows in parallel (:func:`make_pool`, :func:`worker_pool`), started from the context
:func:`start_context` chooses.

Forking a process that runs other threads is unsafe (a lock held by another thread stays held
in the child) and Python 3.12+ warns about it; so a process with one thread forks (fast: the
child has everything already), and one with more threads starts processes from a fork server
that preloads the modules workers need. Workers ignore Ctrl-C: the process that started them
stops them. The pool's pipes are widened so workers are not stalled sending big results.
"""

from __future__ import annotations

import fcntl
import gc
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# What a worker started by the fork server needs (imported once, there).
PRELOAD = ["cablesearch.index.work"]
PIPE_BYTES = 1 << 20


def start_context() -> Any:
    """The multiprocessing context to start processes with now (see the module docstring)."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def init_worker() -> None:
    """Workers leave Ctrl-C to the process that started them, and collect garbage rarely (they
    make many short-lived objects and keep none)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(50_000, 50, 50)


def make_pool(procs: int) -> Any:
    """A ``multiprocessing`` pool of ``procs`` workers (see the module docstring); the caller
    ends it with ``terminate()`` and ``join()`` (or uses :func:`worker_pool`)."""
    pool = start_context().Pool(procs, initializer=init_worker)
    _widen_pipes(pool)
    return pool


@contextmanager
def worker_pool(procs: int) -> Iterator[Any]:
    """:func:`make_pool` for the length of a block."""
    pool = make_pool(procs)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def pipe_size() -> int:
    """The size the pool's pipes get (1 MB, or the system's limit for unprivileged processes)."""
    try:
        return min(PIPE_BYTES, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
    except (OSError, ValueError):
        return 0


def _widen_pipes(pool: Any) -> None:
    """Give the pool's task and result pipes room for a whole batch's results (Linux only).
    With the default 64 KB a worker sending a result of a few hundred KB stalls until this
    process's result thread, which shares the interpreter lock with the indexing, has read each
    piece: measured, 8% of a 5,000-file batch's time. Where the pipe cannot be resized the pool
    works as it is."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    size = pipe_size()
    if setsize is None or not size:
        return
    try:
        conns = [pool._outqueue._reader, pool._outqueue._writer, pool._inqueue._reader, pool._inqueue._writer]
    except AttributeError:
        return
    for conn in conns:
        try:
            fcntl.fcntl(conn.fileno(), setsize, size)
        except (OSError, ValueError):
            pass
