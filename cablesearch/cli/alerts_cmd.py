"""``cablesearch alerts``: saved searches that report the cables each index run adds.

``add`` checks the query and filters as ``search`` does and saves them; the cables that match
already are not reported. After every commit (``cablesearch index``, the daemon) each saved
search is evaluated on the cables added or changed, and new matches are kept in the index
folder. ``list`` and ``show`` first catch up on anything not yet evaluated.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from ..alerts import FEED_ENTRIES, AlertStore, Match, add_alert, atom_feed, evaluate
from ..config import Config
from ..errors import IndexNotFound
from ..index.store import CableIndex
from ..results import SearchRequest
from ..search.service import SearchService
from . import get_config
from .filters import filter_options


def _catch_up(config: Config, store: AlertStore) -> None:
    """Evaluate what the writers have not evaluated yet (e.g. after a crash); quietly nothing
    when there is no index."""
    try:
        index = CableIndex.open(config.index_dir, create=False)
    except IndexNotFound:
        return
    with SearchService(index, config) as service:
        run = evaluate(service, store, config)
    for line in run.errors:
        click.echo(line, err=True)


def _format_match(m: Match) -> str:
    when = (m.created or "----------")[:10]
    head = f"{click.style(m.reference_id, bold=True)}  {when}  {m.origin}  {m.classification}"
    lines = [head, f"    {m.subject or '(no subject)'}"]
    if m.tags:
        lines.append(f"    tags: {' '.join(m.tags)}")
    lines.append(f"    found {m.found}")
    return "\n".join(lines)


@click.group("alerts")
def alerts_group() -> None:
    """Saved searches that report the cables each index run adds or changes.

    Example:

        cablesearch alerts add libya-arms 'libya AND (arms OR weapons)' --from 2008

        cablesearch alerts show libya-arms
    """


@alerts_group.command("add")
@click.argument("name")
@click.argument("words", nargs=-1)
@filter_options
@click.pass_context
def add_command(
    ctx: click.Context,
    name: str,
    words: tuple[str, ...],
    tags: tuple[str, ...],
    origins: tuple[str, ...],
    classifications: tuple[str, ...],
    years: tuple[int, ...],
    persons: tuple[str, ...],
    warnings: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
) -> None:
    """Save a search as NAME: QUERY (as for `search`) and filters. Cables matching now are not
    reported; each later index run reports the cables it adds or changes that match."""
    config = get_config(ctx)
    request = SearchRequest(
        query=" ".join(words),
        tags=tags,
        origins=origins,
        classifications=classifications,
        years=years,
        persons=persons,
        warnings=warnings,
        date_from=date_from,
        date_to=date_to,
    )
    index = CableIndex.open(config.index_dir, create=False)
    with SearchService(index, config) as service, AlertStore(config.index_dir) as store:
        alert = add_alert(service, store, name, request)
    click.echo(f"Saved alert {alert.name}: {alert.describe()}")


@alerts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List the saved searches with their unseen and total new matches."""
    config = get_config(ctx)
    with AlertStore(config.index_dir) as store:
        _catch_up(config, store)
        alerts = store.all()
    if as_json:
        click.echo(json.dumps([a.to_json() for a in alerts], ensure_ascii=False))
        return
    if not alerts:
        click.echo("No saved search yet; add one with: cablesearch alerts add NAME QUERY")
        return
    width = max(len(a.name) for a in alerts)
    for a in alerts:
        click.echo(f"{a.name:<{width}}  {a.unseen:>5,} unseen  {a.matches:>6,} found  {a.describe()}")


@alerts_group.command("show")
@click.argument("name")
@click.option("--all", "show_all", is_flag=True, help="List every match found, not only the unseen ones.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def show_command(ctx: click.Context, name: str, show_all: bool, as_json: bool) -> None:
    """Print the matches of NAME not seen yet (newest last), then mark them seen."""
    config = get_config(ctx)
    with AlertStore(config.index_dir) as store:
        store.get(name)
        _catch_up(config, store)
        matches = list(reversed(store.matches(name))) if show_all else store.take_unseen(name)
    if as_json:
        click.echo(json.dumps([m.to_json() for m in matches], ensure_ascii=False))
        return
    what = "match" if show_all else "new match"
    click.echo(f"{len(matches):,} {what}{'es' if len(matches) != 1 else ''} for alert {name}")
    for m in matches:
        click.echo("")
        click.echo(_format_match(m))


@alerts_group.command("rm")
@click.argument("name")
@click.pass_context
def rm_command(ctx: click.Context, name: str) -> None:
    """Remove the saved search NAME and its matches."""
    config = get_config(ctx)
    with AlertStore(config.index_dir) as store:
        store.remove(name)
    click.echo(f"Removed alert {name}")


@alerts_group.command("feed")
@click.argument("name")
@click.option("--base-url", required=True, help="Where the web UI is served, e.g. http://127.0.0.1:8080.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=FEED_ENTRIES, show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.pass_context
def feed_command(ctx: click.Context, name: str, base_url: str, limit: int, output: Path | None) -> None:
    """Print the Atom feed of NAME (its newest matches), e.g. for a feed reader."""
    config = get_config(ctx)
    with AlertStore(config.index_dir) as store:
        alert = store.get(name)
        _catch_up(config, store)
        xml = atom_feed(alert, store.matches(name, limit=limit), base_url)
    if output is None:
        click.echo(xml, nl=False)
        return
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(xml)
    os.replace(tmp, output)


COMMANDS: list[click.Command] = [alerts_group]
