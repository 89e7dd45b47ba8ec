"""Pickle shim. Indexes written before the engine package was made pickle the codec class as
``cablesearch.indexer.FastCodec`` in their table of contents; they must keep opening, so the
name stays importable here. New code imports cablesearch.engine."""

from cablesearch.engine.writer import FastCodec

__all__ = ["FastCodec"]
