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
named after it (``search``, ``get``, ...). Nothing else in :mod:`cablesearch.web` locks.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from ..errors import CablesearchError
from ..model import Cable
from ..results import Hit, SearchRequest, SearchResult
from .middleware import add_timing

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
    def highlight_text(self, text: str, query: str) -> str: ...
    def warm(self) -> None: ...


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
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_limit)
        except TimeoutError:
            raise ServerBusy(
                f"the server is busy: no search finished within {self.wait_limit:g} s; try again shortly"
            ) from None
        try:
            add_timing("wait", (time.perf_counter() - queued) * 1000.0)

            def work() -> T:
                service = self._checkout()
                try:
                    return job(Timed(service))  # type: ignore[arg-type]
                finally:
                    self._checkin(service)

            ctx = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(self._executor(), ctx.run, work)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stops the threads (after the running jobs) and closes the services opened."""
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            services, self._free = self._free, []
        for service in services:
            close = getattr(service, "close", None)
            if callable(close):
                close()
        self._slots = None
