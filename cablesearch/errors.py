"""Every error the library raises on purpose.

The library raises these; the CLI and the web layer turn them into a one-line message (and an
exit code or HTTP status) in exactly one place each. The message of every error says what was
wrong and, where there is something to do, what to do next.
"""

from __future__ import annotations


class CablesearchError(Exception):
    """Base of all cablesearch errors. ``str(err)`` is the one-line message shown to users."""

    exit_code = 1
    http_status = 400


class ParseError(CablesearchError):
    """A file (or CSV row) could not be read as a cable."""

    def __init__(self, source: str, reason: str, line: int | None = None, row: int | None = None):
        self.source = source
        self.reason = reason
        self.line = line
        self.row = row
        where = source
        if row is not None:
            where += f", row {row}"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {reason}")


class ConfigError(CablesearchError):
    """A setting has a value that cannot be used (config.toml, environment or option)."""

    exit_code = 2


class IndexError_(CablesearchError):
    """Base of index problems (missing, corrupt, wrong version). Named with a trailing underscore
    so it does not shadow the builtin ``IndexError``."""


class IndexNotFound(IndexError_):
    http_status = 503


class IndexLocked(IndexError_):
    """Another writer holds the index lock and did not release it within the timeout."""

    http_status = 503


class QuerySyntaxError(CablesearchError):
    """The query string (or a filter/date/sort parameter) cannot be understood."""


class QueryTimeout(CablesearchError):
    """A query ran past the time limit; partial results are not returned."""

    http_status = 503  # the server is too busy for this query now: try again (or narrow it)


class CableNotFound(CablesearchError):
    http_status = 404


class DaemonError(CablesearchError):
    """Talking to (or starting) the indexing daemon failed."""


class IndexDamaged(IndexError_):
    """A file of the index (or its manifest) is missing, truncated or unreadable, or the index
    and its manifest disagree. The message names the file and says to run ``cablesearch check``
    / ``cablesearch index --rebuild``."""

    http_status = 503

    def __init__(self, index_dir: object, what: str):
        self.index_dir = index_dir
        self.what = what
        super().__init__(
            f"the index at {index_dir} is damaged: {what}; run `cablesearch check` to see which "
            "cables are affected, then `cablesearch index --rebuild` to rebuild it from its sources"
        )


def decode_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged index file raises deep in the engine (flipped bytes, a truncated
    block): the edges (CLI, web) turn these into :class:`IndexDamaged` with :func:`damaged`."""
    import pickle
    import struct
    import zlib

    return (zlib.error, struct.error, pickle.UnpicklingError, EOFError, OverflowError)


def damaged(index_dir: object, exc: BaseException) -> IndexDamaged:
    """The one-line damage report for a decode error met while reading the index."""
    return IndexDamaged(index_dir, f"a file of it cannot be decoded ({type(exc).__name__}: {exc})")


class DiskFull(IndexError_):
    """The index's disk filled up while writing; what was committed before is intact."""

    http_status = 507
