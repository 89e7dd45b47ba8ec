"""Saved searches and alerts (see evaluate.py for how new matches are found and kept).

The seam other layers call:

* writers (``cablesearch index``, the daemon), after each successful commit:
  ``after_commit(index, config, log=None, service=None) -> AlertRun``;
* readers (CLI, web, API): ``AlertStore(index_dir)`` -- ``all()``, ``get(name)``,
  ``matches(name, unseen_only, limit)``, ``take_unseen(name)``, ``remove(name)`` -- with
  ``add_alert(service, store, name, request)`` and ``evaluate(service, store)`` (catch up
  before showing), and ``atom_feed(alert, matches, base_url)`` for ``/alerts/NAME.atom``.
  Every returned object has ``to_json()``.
"""

from .evaluate import AlertRun, add_alert, after_commit, evaluate
from .feed import FEED_ENTRIES, atom_feed
from .store import AlertError, AlertExists, AlertNotFound, AlertStore, Match, SavedSearch

__all__ = [
    "FEED_ENTRIES",
    "AlertError",
    "AlertExists",
    "AlertNotFound",
    "AlertRun",
    "AlertStore",
    "Match",
    "SavedSearch",
    "add_alert",
    "after_commit",
    "atom_feed",
    "evaluate",
]
