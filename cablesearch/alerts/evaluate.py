"""Evaluating saved searches: when added (the baseline), and after every index commit on the
cables that commit added or changed -- never on the whole index again.

How "what changed" is known: each alert records the index segments it has been evaluated on.
A commit writes its new and updated cables into NEW segments and never changes a committed
one (deletions are kept apart), so the cables to evaluate are the live ones in segments the
alert has not seen (:meth:`SearchService.match_since`). The state and the matches advance in
one store transaction AFTER the index commit; if the process dies between the two, the state
still names the old segments and the next evaluation -- by ``cablesearch index``, the daemon,
or ``alerts list``/``show`` -- looks at those cables then. Nothing is lost, and the store's
unique (alert, reference ID) key records nothing twice. A cable that is updated and still
matches is recorded already (found earlier, or part of the baseline), so it is no new match;
one that newly matches after an update is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cablesearch.config import Config
from cablesearch.errors import CablesearchError
from cablesearch.model import Cable
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

from .notify import notify_pending
from .store import AlertState, AlertStore, Match, SavedSearch, check_name, now_iso, saved_request

SUMMARY_CHARS = 400


@dataclass
class AlertRun:
    """What one evaluation did: the new matches per alert and the alerts that failed."""

    new: dict[str, list[Match]] = field(default_factory=dict)
    evaluated: int = 0  # cables looked at (summed over distinct alert states)
    errors: list[str] = field(default_factory=list)
    notified: int = 0

    def lines(self) -> list[str]:
        """One line per alert with new matches, and per failure."""
        out = []
        for name, matches in sorted(self.new.items()):
            n = len(matches)
            out.append(
                f"alert {name}: {n} new match{'es' if n != 1 else ''} (cablesearch alerts show {name})"
            )
        out.extend(self.errors)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "new": {k: [m.to_json() for m in v] for k, v in self.new.items()},
            "evaluated": self.evaluated,
            "errors": self.errors,
            "notified": self.notified,
        }


def add_alert(service: SearchService, store: AlertStore, name: str, request: SearchRequest) -> SavedSearch:
    """Validate and save a search. The query and filters are checked as ``search`` checks them
    (QuerySyntaxError), the name too (AlertError, AlertExists); the cables matching now are the
    baseline (never reported). Nothing is written when anything is wrong."""
    check_name(name)
    request = saved_request(request)
    since = service.match_since([request], ())
    return store.add(name, request, since.segments, int(since.generation or 0), since.matches[0])


def _normalised_head(text: str) -> str:
    """``" ".join(text.split())``, or a head of it long enough for a summary: a cable's body
    runs to tens of kilobytes, and a burst's matches would split every one of them whole."""
    size = SUMMARY_CHARS * 4
    while size < len(text):
        words = text[:size].split()
        if len(" ".join(words[:-1])) > SUMMARY_CHARS:  # the last word may be cut: left out
            return " ".join(words[:-1])
        size *= 4
    return " ".join(text.split())


def summary_of(text: str) -> str:
    """A match's summary: the text with its white space made single spaces, cut after at most
    SUMMARY_CHARS - 1 characters at a space (with "…")."""
    summary = _normalised_head(text)
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return summary


def _match_fields(cable: Cable, found: str) -> tuple[Any, ...]:
    """The fields of a :class:`Match` of ``cable`` after its alert's name, in order."""
    summary = summary_of(cable.summary or cable.body)
    return (
        cable.reference_id,
        found,
        cable.subject,
        cable.created.strftime("%Y-%m-%dT%H:%M") if cable.created else None,
        cable.released.strftime("%Y-%m-%dT%H:%M") if cable.released else None,
        cable.origin,
        cable.classification,
        list(cable.tags),
        summary,
    )


def evaluate(service: SearchService, store: AlertStore, config: Config | None = None) -> AlertRun:
    """Evaluate every saved search on the cables added or changed since it was last evaluated,
    and record the new matches durably (one transaction) before returning them. A saved
    search that fails (e.g. a query the index's schema no longer accepts) is named in
    ``errors`` and keeps its state; the others go on."""
    config = config or service.config
    commands = dict(config.alert_commands)
    run = AlertRun()
    groups: dict[tuple[str, ...], list[AlertState]] = {}
    for state in store.states():
        groups.setdefault(state.segments, []).append(state)
    found: dict[str, list[Match]] = {}
    advance: dict[str, tuple[tuple[str, ...], int]] = {}
    results: list[tuple[AlertState, Any, list[str]]] = []
    for seen, states in groups.items():
        for state, (since, ids) in _match_group(service, states, seen, run).items():
            run.evaluated += since.evaluated
            advance[state.name] = (since.segments, int(since.generation or 0))
            results.append((state, since, ids))
    # every match found goes to record(), which keeps only those not recorded before (found
    # earlier or baseline: an updated cable that still matches) in the same transaction
    made: dict[str, tuple[Any, ...]] = {}  # each cable's Match fields but the alert's name
    stamp = now_iso()
    for state, since, ids in results:
        for rid in ids:
            fields = made.get(rid)
            if fields is None:
                cable = since.cables.get(rid)
                if cable is None:
                    continue
                fields = made[rid] = _match_fields(cable, stamp)
            found.setdefault(state.name, []).append(Match(state.name, *fields))
    run.new = store.record(found, advance, notify={n for n in found if n in commands})
    return run


def _match_group(
    service: SearchService, states: list[AlertState], seen: tuple[str, ...], run: AlertRun
) -> dict[AlertState, tuple[Any, list[str]]]:
    """All alerts sharing one state in one pass; if one of them fails, each on its own."""
    try:
        since = service.match_since([s.request for s in states], seen, with_cables=True)
        return {s: (since, ids) for s, ids in zip(states, since.matches, strict=True)}
    except CablesearchError:
        pass
    out = {}
    for s in states:
        try:
            since = service.match_since([s.request], seen, with_cables=True)
        except CablesearchError as exc:
            run.errors.append(f"alert {s.name}: not evaluated: {exc}")
            continue
        out[s] = (since, since.matches[0])
    return out


def after_commit(
    index: Any,
    config: Config,
    log: Callable[[str], None] | None = None,
    service: SearchService | None = None,
) -> AlertRun:
    """THE SEAM for writers: call after every successful index commit (``cablesearch index``
    after its sync, the daemon after each batch). Evaluates the saved searches on what changed,
    records the new matches, then runs the alert commands for matches not yet given to them.
    Never raises: any failure is one line given to ``log`` and in ``errors``. Costs nothing
    when no alert was ever saved for this index."""
    run = AlertRun()
    if not AlertStore.exists(index.index_dir):
        return run
    own = service is None
    try:
        with AlertStore(index.index_dir) as store:
            svc = service if service is not None else SearchService(index, config)
            try:
                run = evaluate(svc, store, config)
            finally:
                if own:
                    svc.close()
            run.notified = notify_pending(store, config, run.errors.append)
    except Exception as exc:  # indexing must go on whatever the alerts do
        run.errors.append(f"alerts not evaluated: {type(exc).__name__}: {exc}")
    if log is not None:
        for line in run.lines():
            log(line)
    return run
