"""Tools for investigations over many searches: batch summaries (:mod:`.batch`) and exports
of every match (:mod:`.export`). Both use only the public surface of ``SearchService``."""
