"""The engine: every line of cablesearch that knows Whoosh's internals lives in this package.

(Contract being written while the code moves in; see docs/ARCHITECTURE.md.)
"""
