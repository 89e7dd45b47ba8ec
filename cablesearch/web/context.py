"""What every route needs, in one object on ``app.state.web``: the settings, the service pool
(:mod:`cablesearch.web.services`), the renderer and the export slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request

from ..config import Config
from .render import Renderer
from .services import ExportSlots, Service, ServicePool

T = TypeVar("T")


@dataclass
class WebContext:
    config: Config
    pool: ServicePool
    render: Renderer
    exports: ExportSlots

    async def run(self, job: Callable[[Service], T]) -> T:
        """``job(service)`` on a search thread (see :class:`ServicePool`)."""
        return await self.pool.run(job)


def web(request: Request) -> WebContext:
    """The app's :class:`WebContext` (a FastAPI dependency)."""
    ctx = request.app.state.web
    assert isinstance(ctx, WebContext)
    return ctx
