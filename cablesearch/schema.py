"""Pickle shim. Indexes written before the engine package was made pickle these class paths in
their table of contents (``cablesearch.schema.FastText``, ``...FastStemmingAnalyzer``); they
must keep opening, so the names stay importable here. New code imports cablesearch.engine."""

from cablesearch.engine.schema import FastStemmingAnalyzer, FastText

__all__ = ["FastStemmingAnalyzer", "FastText"]
