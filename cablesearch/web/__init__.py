"""The web interface (search, cable and browse pages) and the JSON API, served by ``cablesearch
serve``. ``create_app(config, daemon=None)`` in :mod:`cablesearch.web.app` builds the app."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
