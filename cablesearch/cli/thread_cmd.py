"""``cablesearch thread ID``: the cables connected to one through citations, oldest first.

Calls :meth:`~cablesearch.search.service.SearchService.thread` and prints the
:class:`~cablesearch.search.graph.Thread` (``--json``: ``Thread.to_json()``).
"""

from __future__ import annotations

import json

import click

from ..search.graph import Thread, ThreadCable
from . import get_config
from .search_cmd import open_service

_SHOWN_LINKS = 6


def _links(label: str, ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_LINKS])
    more = f" (+{len(ids) - _SHOWN_LINKS} more)" if len(ids) > _SHOWN_LINKS else ""
    return f"{' ' * 16}{label}: {shown}{more}"


def format_cable(c: ThreadCable, start: str) -> list[str]:
    """One cable of a thread: date, ID, steps from the start, origin, subject, links."""
    date = c.created.strftime("%Y-%m-%d") if c.created else "----------"
    rid = click.style(c.reference_id, bold=True) if c.reference_id == start else c.reference_id
    what = f"{c.origin}  {c.subject or '(no subject)'}" if c.in_index else "(not in the index)"
    lines = [f"{date}  {rid}  [{c.depth}]  {what}"]
    if c.cites:
        lines.append(_links("cites", c.cites))
    if c.cited_by:
        lines.append(_links("cited by", c.cited_by))
    return lines


def format_thread(t: Thread) -> str:
    """The readable form of a thread: a summary line, a note if cut, then each cable."""
    kept = sum(c.in_index for c in t.cables)
    steps = f", at most {t.depth} step(s)" if t.depth is not None else ""
    lines = [
        f"Thread of {t.reference_id}: {len(t.cables):,} cables ({kept:,} in the index, "
        f"{len(t.cables) - kept:,} cited but missing){steps}; oldest first, [steps from {t.reference_id}]"
    ]
    if t.notice:
        lines.append(f"Note: {t.notice}")
    for c in t.cables:
        lines.extend(format_cable(c, t.reference_id))
    return "\n".join(lines)


@click.command("thread")
@click.argument("reference_id")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    help="At most this many citation steps from the cable (default: all, up to the caps).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the thread as one JSON object.")
@click.pass_context
def thread_command(ctx: click.Context, reference_id: str, depth: int | None, as_json: bool) -> None:
    """List the cables connected to REFERENCE_ID through citations (REF lines), either way:
    the cables it cites, those citing it, and so on, oldest first, with who cites whom. Cited
    cables missing from the index are listed as such. The same set as the query
    thread:REFERENCE_ID (which combines with words, filters and facets).

    Example:

        cablesearch thread 08TRIPOLI505 --depth 2
    """
    with open_service(get_config(ctx)) as service:
        t = service.thread(reference_id, depth)
    if as_json:
        click.echo(json.dumps(t.to_json(), ensure_ascii=False))
    else:
        click.echo(format_thread(t))


COMMANDS: list[click.Command] = [thread_command]
