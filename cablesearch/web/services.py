"""How the web layer uses the search service: the ONE serialisation mechanism of the web path.

A :class:`cablesearch.search.service.SearchService` is used by one thread at a time: its Whoosh
readers share file positions, and concurrent stored-field reads returned corrupt (zlib) data.
So the app keeps a small pool of services — ``size`` of them, each with its own searcher — and
as many search threads. A request's work (searching, then rendering) runs on one of those
threads with one service lent to it for the whole job:

* at most ``size`` jobs run at once, so each service is only ever in one thread;
* a slow job (a fuzzy query highlighted across a long cable) holds one service, and the other
  requests go on with the rest: one slow request never stalls the others;
* a request waits (on the event loop, holding nothing) at most ``wait_limit`` seconds for a free
  service; past that it answers 503 with ``Retry-After`` (:class:`ServerBusy`).

Time spent waiting is Server-Timing's ``wait``; each service call's own time is the entry
named after it (``search``, ``get``, ...).

Exports (:class:`ExportSlots`) are the one kind of work that holds a service for as long as a
client takes to download: a streamed export reads one snapshot from its first line to its
last. So exports never borrow from the search pool: they have ``slots`` services of their own
(one by default, opened on the first export and kept), each on its own thread, and an export
asked for while every slot streams is refused at once with 503 + ``Retry-After`` rather than
queued. A long export therefore cannot starve searches, and searches cannot stall an export.
Nothing else in :mod:`cablesearch.web` locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import CablesearchError
from ..model import Cable
from ..results import Hit, SearchRequest, SearchResult
from .middleware import add_timing

if TYPE_CHECKING:
    from ..search.graph import Thread
    from ..search.person import PersonProfile

T = TypeVar("T")


class Service(Protocol):
    """What the web layer uses of :class:`cablesearch.search.service.SearchService`."""

    def search(self, request: SearchRequest) -> SearchResult: ...
    def get(self, reference_id: str) -> Cable: ...
    def cited_by(self, reference_id: str) -> list[Hit]: ...
    def similar(self, reference_id: str, limit: int = 10) -> list[Hit]: ...
    def stats(self) -> dict[str, Any]: ...
    def browse(self) -> dict[str, list[tuple[str, int]]]: ...
    def known_ids(self, ids: Iterable[str]) -> set[str]: ...
    def highlight_text(self, text: str, query: str, reference_id: str | None = None) -> str: ...
    def warm(self) -> None: ...
    def iter_matches(self, request: SearchRequest) -> Iterator[tuple[Cable, float]]: ...
    def thread(self, reference_id: str, depth: int | None = None) -> Thread: ...
    def person(self, name: str) -> PersonProfile: ...


class ServerBusy(CablesearchError):
    """Every search service stayed busy for longer than the wait limit."""

    http_status = 503


class Timed:
    """A service whose calls are measured into the request's Server-Timing entries."""

    def __init__(self, service: Service):
        self.service = service

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.service, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                add_timing(
                    "highlight" if name == "highlight_text" else name, (time.perf_counter() - t0) * 1000.0
                )

        return timed


def _close_holder(holder: ServicePool | ExportSlots) -> None:
    """Stop a holder's threads (after the running jobs) and close the services it opened: what
    closing means for the search pool and the export slots alike."""
    threads, holder._threads = holder._threads, None
    if threads is not None:
        threads.shutdown(wait=True, cancel_futures=True)
    with holder._lock:
        services, holder._free = holder._free, []
    for service in services:
        close = getattr(service, "close", None)
        if callable(close):
            close()


class ServicePool:
    """``size`` services, each lent to one job at a time on one of ``size`` threads.

    ``factory`` opens a service; services are opened on first use, so a pool over a missing
    index opens nothing until a request needs it (and that request reports why it cannot)."""

    def __init__(self, factory: Callable[[], Service], size: int = 2, wait_limit: float = 10.0):
        if size < 1:
            raise ValueError("a service pool needs at least one service")
        self.size = size
        self.wait_limit = wait_limit
        self._factory = factory
        self._free: list[Service] = []
        self._opened = 0
        self._lock = threading.Lock()  # guards the free list only, never held during a job
        self._open_lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._threads: ThreadPoolExecutor | None = None

    def _checkout(self) -> Service:
        with self._lock:
            if self._free:
                return self._free.pop()
            self._opened += 1
        try:
            with self._open_lock:  # one at a time: opening may create the index folder
                return self._factory()
        except BaseException:
            with self._lock:
                self._opened -= 1
            raise

    def _checkin(self, service: Service) -> None:
        with self._lock:
            self._free.append(service)

    def _executor(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="cablesearch-search")
        return self._threads

    async def run(self, job: Callable[[Service], T]) -> T:
        """``job(service)`` on a search thread with a service of its own; raises
        :class:`ServerBusy` if no service came free within ``wait_limit`` seconds."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        queued = time.perf_counter()
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_limit)
            except TimeoutError:
                raise ServerBusy(
                    f"the server is busy: no search finished within {self.wait_limit:g} s; try again shortly"
                ) from None
        else:  # a free slot: taken at once (wait_for would cost a task, ~30 us a request)
            await self._slots.acquire()
        try:
            add_timing("wait", (time.perf_counter() - queued) * 1000.0)

            def work() -> T:
                service = self._checkout()
                try:
                    return job(Timed(service))
                finally:
                    self._checkin(service)

            ctx = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self._executor(), ctx.run, work)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stops the threads (after the running jobs) and closes the services opened."""
        _close_holder(self)
        self._slots = None


class ExportSlots:
    """At most ``slots`` streamed exports at once, each with a service of its own (opened by
    ``factory`` on first use and kept for the next export), never one of the search pool's.

    :meth:`open` runs ``job(service)`` (which returns an iterator of text lines) and takes its
    first chunk on the export's thread, so a bad query or a time-out raises there, before any
    response starts; it returns the rest as an async iterator that gives the slot back when it
    ends, fails, or is abandoned (a client that disconnects cancels it)."""

    def __init__(self, factory: Callable[[], Service], slots: int = 1, chunk_chars: int = 64 * 1024):
        if slots < 1:
            raise ValueError("exports need at least one slot")
        self.slots = slots
        self.chunk_chars = chunk_chars
        self._factory = factory
        self._free: list[Service] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None

    @property
    def busy(self) -> int:
        """How many exports are streaming now."""
        return self._busy

    def _take_slot(self) -> None:
        with self._lock:
            if self._busy >= self.slots:
                noun = "export is" if self.slots == 1 else "exports are"
                raise ServerBusy(
                    f"the server is busy: {self.slots} {noun} already being downloaded; "
                    "try again when it has finished"
                )
            self._busy += 1
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    max_workers=self.slots, thread_name_prefix="cablesearch-export"
                )

    def _give_back(self, service: Service | None) -> None:
        with self._lock:
            self._busy -= 1
            if service is not None:
                self._free.append(service)

    def _service(self) -> Service:
        with self._lock:
            if self._free:
                return self._free.pop()
        return self._factory()

    async def open(self, job: Callable[[Service], Iterator[str]]) -> AsyncIterator[str]:
        """The export's text in chunks; raises :class:`ServerBusy` when every slot streams, and
        whatever the first chunk raises (the query runs there)."""
        self._take_slot()
        assert self._threads is not None
        threads = self._threads
        loop = asyncio.get_running_loop()
        held: list[Service] = []

        def start() -> tuple[Iterator[str], str]:
            service = self._service()
            held.append(service)
            lines = job(service)
            return lines, self._chunk(lines)

        try:
            lines, first = await loop.run_in_executor(threads, start)
        except BaseException:
            self._give_back(held[0] if held else None)
            raise
        return ExportStream(self, threads, lines, first, held[0])

    def _chunk(self, lines: Iterator[str]) -> str:
        parts: list[str] = []
        size = 0
        for line in lines:
            parts.append(line)
            size += len(line)
            if size >= self.chunk_chars:
                break
        return "".join(parts)

    def close(self) -> None:
        """Stops the export threads and closes the services opened."""
        _close_holder(self)


class ExportStream:
    """One export's remaining chunks (an async iterator). Its slot and service go back when it
    is exhausted, fails, is closed (``aclose``), or is dropped unstarted."""

    def __init__(
        self,
        slots: ExportSlots,
        threads: ThreadPoolExecutor,
        lines: Iterator[str],
        first: str,
        service: Service,
    ):
        self._slots = slots
        self._threads = threads
        self._lines = lines
        self._next: str | None = first
        self._service = service
        self._done = False

    def __aiter__(self) -> ExportStream:
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        try:
            chunk = self._next
            if chunk is None:
                chunk = await asyncio.get_running_loop().run_in_executor(
                    self._threads, self._slots._chunk, self._lines
                )
            self._next = None
        except BaseException:  # a failure or a cancelled download (the client went away)
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Ends the export: closes its lines (and so its snapshot) on its thread, then gives
        the slot back — also when the wait for that is cancelled."""
        if self._done:
            return
        self._done = True
        future = self._threads.submit(self._finish)
        with contextlib.suppress(Exception):  # a cancelled wait still cancels; _finish runs
            await asyncio.shield(asyncio.wrap_future(future))

    def _finish(self) -> None:
        try:
            close = getattr(self._lines, "close", None)
            if callable(close):
                close()
        finally:
            self._slots._give_back(self._service)

    def __del__(self) -> None:
        if not self._done:  # dropped before it was read to the end: the slot goes back
            self._done = True
            try:
                self._threads.submit(self._finish)
            except RuntimeError:  # the threads were shut down with the app
                self._slots._give_back(self._service)
