"""A per-file time limit for parsing, so that no single file holds a batch hostage.

``time_limit(seconds, source)`` is a context manager: when the block runs longer than
``seconds``, it is interrupted and ``ParseError`` ("took longer than N s to parse") is raised.

It uses ``SIGALRM`` (``setitimer``), so it works in the main thread of a process only (the CLI,
and the worker processes of a pool, which run tasks in their main thread); elsewhere (a thread
of the daemon or the web server), or while another timer of the process is running, the block
runs without a limit. The alarm interrupts Python code and regular expressions; C code that
never returns to Python (the HTML parser) is bounded instead by checks before it runs
(``html.check_markup``).
"""

from __future__ import annotations

import _signal
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ..errors import ParseError

# Far above any real cable (the largest parse in 1 ms..50 ms), far below "hung".
PARSE_SECONDS = 20.0


class TimeUp(BaseException):
    """Raised by the alarm inside the block; a BaseException so no ``except Exception`` of the
    parser swallows it."""


_armed = False
_USE_ALARM = hasattr(signal, "setitimer")
# signal.getsignal wraps the C function's answer in an enum, which costs microseconds per call
# (once per cables.csv row here); the C function answers the same question directly.
_getsignal = getattr(_signal, "getsignal", signal.getsignal)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _armed:
        raise TimeUp


def _can_use_alarm() -> bool:
    """Whether this thread may set the alarm: the main thread, with SIGALRM ours or unclaimed
    (default, and no timer running). Ours is installed once and stays: unarmed it does nothing
    (where the default would have ended the process). Asked each time, so that an alarm someone
    installs later is left alone."""
    if not _USE_ALARM or threading.get_ident() != threading.main_thread().ident:
        return False
    handler = _getsignal(signal.SIGALRM)
    if handler is _on_alarm:
        return True
    if handler not in (signal.SIG_DFL, None) or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        return False  # someone else's alarm
    signal.signal(signal.SIGALRM, _on_alarm)
    return True


def arm(seconds: float | None) -> bool:
    """Start the limit; True when it runs (then ``disarm`` must follow, and ``TimeUp`` may be
    raised in between). The cheap form of ``time_limit``, for one call per CSV row."""
    global _armed
    if not seconds or _armed or not _can_use_alarm():
        return False
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return True


def disarm() -> None:
    """End the limit that ``arm`` started."""
    global _armed
    _armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)


def reason(seconds: float) -> str:
    """The rejection of a file (or row) that ran past the limit."""
    return f"took longer than {seconds:g} s to parse: not a cable, or a pathological file"


@contextmanager
def time_limit(seconds: float | None, source: str) -> Iterator[None]:
    """Run the block with a time limit of ``seconds`` (None: none); see the module's notes."""
    if not arm(seconds):
        yield
        return
    try:
        try:
            yield
        finally:
            disarm()
    except TimeUp:
        raise ParseError(source, reason(seconds or 0)) from None
