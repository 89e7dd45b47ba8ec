"""Timing and security headers on every response (``Server-Timing``, ``X-Response-Time``,
CSP and friends), and :func:`add_timing` for the steps a handler measures."""

from __future__ import annotations

import time
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The Server-Timing entries of the request being handled (a fresh dict per request, set by
# TimingMiddleware; the search threads run each handler's work in a copy of this context).
_TIMINGS: ContextVar[dict[str, float] | None] = ContextVar("cablesearch_timings", default=None)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def add_timing(name: str, ms: float) -> None:
    """Adds ``ms`` to the current request's Server-Timing entry ``name``."""
    timings = _TIMINGS.get()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + ms


class Timer:
    """Measures a named step of a handler into the request's Server-Timing entries."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        add_timing(self.name, (time.perf_counter() - self.start) * 1000.0)


class TimingMiddleware:
    """Adds ``Server-Timing`` / ``X-Response-Time`` (time from the request's arrival to the start
    of the response, in ms, plus what the handler measured) and the security headers."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        timings: dict[str, float] = {}
        token = _TIMINGS.set(timings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                total = (time.perf_counter() - start) * 1000.0
                headers = MutableHeaders(scope=message)
                parts = [f"{name};dur={dur:.2f}" for name, dur in timings.items()]
                parts.append(f"total;dur={total:.2f}")
                headers.append("Server-Timing", ", ".join(parts))
                headers.append("X-Response-Time", f"{total:.2f}ms")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _TIMINGS.reset(token)
