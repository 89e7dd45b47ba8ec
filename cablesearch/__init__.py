"""cablesearch: full-text search and an indexing daemon for the Cablegate diplomatic cables."""

__version__ = "0.1.0"
