"""The index as the rest of cablesearch sees it: opening it, its one writer and lock, the
manifest of which file gave which cable, planning what changed, and the sync driver."""
