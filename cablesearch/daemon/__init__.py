"""The indexing daemon: file events, settling, batch scheduling, the indexer process, status,
and the client other commands use to find a running daemon and hand it paths."""
