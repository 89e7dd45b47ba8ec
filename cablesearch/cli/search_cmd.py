"""``cablesearch search``, ``show``, ``similar`` and ``stats``: the read side of the index.

Each command opens the index, calls one :class:`~cablesearch.search.SearchService` method and
renders the answer (``--json`` for machines; a readable list otherwise, with matched words in
bold colour on a terminal and plain when piped). Library errors become one ``Error:`` line in
the CLI group.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..config import Config
from ..index.store import CableIndex
from ..investigate.export import iter_lines, parse_fields, write_export
from ..model import Cable
from ..results import Hit, SearchRequest, SearchResult
from ..search.service import SearchService, check_page
from ..vocab import tag_label
from . import get_config
from .filters import filter_options

_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def open_service(config: Config) -> SearchService:
    """A SearchService on the configured index (IndexNotFound when there is none)."""
    return SearchService(CableIndex.open(config.index_dir, create=False), config)


def terminal_snippet(snippet: str) -> str:
    """An HTML snippet as terminal text: entities decoded, <mark>ed words bold and coloured
    (click strips the styling when the output is not a terminal)."""
    parts = []
    pos = 0
    for m in _MARK.finditer(snippet):
        parts.append(html.unescape(snippet[pos : m.start()]))
        parts.append(click.style(html.unescape(m.group(1)), bold=True, fg="yellow"))
        pos = m.end()
    parts.append(html.unescape(snippet[pos:]))
    return "".join(parts)


def _date(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else "----------"


def format_hit(n: int, hit: Hit, show_score: bool = True) -> str:
    """One hit as a few readable lines."""
    head = (
        f"{n:>3}. {click.style(hit.reference_id, bold=True)}  {_date(hit.created)}  "
        f"{hit.origin}  {hit.classification}"
    )
    if show_score:
        head += f"  score {hit.score:.2f}"
    lines = [head, f"     {hit.subject or '(no subject)'}"]
    if hit.tags:
        lines.append(f"     tags: {' '.join(hit.tags)}")
    if hit.snippet:
        lines.append(f"     {terminal_snippet(hit.snippet)}")
    return "\n".join(lines)


def format_result(result: SearchResult, sort: str) -> str:
    """The readable form of a search result: summary line, hits, facet counts."""
    pages = max(1, -(-result.total // result.page_size))
    noun = f"{result.total:,} cable{'s' if result.total != 1 else ''}"
    if result.query:
        verb = "matches" if result.total == 1 else "match"
        shown = result.query if '"' in result.query else f'"{result.query}"'
        noun += f" {verb} {shown}"
    lines = [f"{noun} (page {result.page} of {pages:,}, {result.elapsed_ms:.1f} ms)"]
    if result.notice:
        lines.append(f"Note: {result.notice}")
    if result.suggestions:
        variants = ", ".join(
            f"{click.style(text, bold=True)} ({n:,} cable{'s' if n != 1 else ''})"
            for text, n in result.suggestions
        )
        lines.append(f"Did you mean: {variants}?")
    elif result.suggestion:
        lines.append(f"Did you mean: {click.style(result.suggestion, bold=True)}?")
    first = (result.page - 1) * result.page_size
    for i, hit in enumerate(result.hits, start=first + 1):
        lines.append("")
        lines.append(format_hit(i, hit, show_score=sort == "relevance" and bool(result.query)))
    if result.total and result.facets:
        lines.append("")
        for name in ("tag", "person", "origin", "classification", "year"):
            values = result.facets.get(name) or []
            if values:
                if name == "tag":  # codes explained: "PREL (External Political Relations) 12"
                    shown = ", ".join(f"{tag_label(v)} {n:,}" for v, n in values[:8])
                else:
                    shown = ", ".join(f"{v} ({n:,})" for v, n in values[:8])
                lines.append(f"{name}: {shown}")
    return "\n".join(lines)


def format_cable(cable: Cable) -> str:
    """A whole cable as text: the top box, the header, then the body."""

    def dt(v: Any) -> str:
        return v.strftime("%Y-%m-%d %H:%M") if v else "-"

    rows = [
        ("Reference ID", cable.reference_id),
        ("Created", dt(cable.created)),
        ("Released", dt(cable.released)),
        ("Classification", cable.classification),
        ("Origin", cable.origin),
        ("Subject", cable.subject),
        ("Tags", ", ".join(tag_label(t) for t in cable.tags)),
        ("References", " ".join(cable.references)),
        ("Signers", "; ".join(cable.signers)),
        ("Source", cable.source),
    ]
    lines = [f"{label + ':':<16}{value}" for label, value in rows if value]
    if cable.header:
        lines += ["", cable.header.rstrip()]
    lines += ["", cable.body.rstrip()]
    return "\n".join(lines)


@click.command("search", options_metavar="[OPTIONS]")
@click.argument("words", nargs=-1)
@filter_options
@click.option(
    "--facet-limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Values per facet counted and shown in --json (0: every value; the readable list shows 8).",
)
@click.option(
    "--sort",
    default="relevance",
    show_default=True,
    help="relevance, created (oldest first), -created (newest first), released, -released.",
)
@click.option("--limit", type=int, default=None, help="Hits per page (default: setting page_size).")
@click.option("--page", type=int, default=1, show_default=True, help="Page number, from 1.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--explain", is_flag=True, help="Print the parsed query and filters, then stop.")
@click.option(
    "--export",
    "export_format",
    type=click.Choice(["csv", "jsonl"], case_sensitive=False),
    help="Write ALL matches (not a page), streamed, in sort order: csv or jsonl.",
)
@click.option(
    "--fields",
    metavar="A,B,...",
    help="Export these fields (default: reference_id,created,released,classification,origin,tags,subject).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the export to this file (complete or not at all) instead of stdout.",
)
@click.pass_context
def search_command(
    ctx: click.Context,
    words: tuple[str, ...],
    tags: tuple[str, ...],
    origins: tuple[str, ...],
    classifications: tuple[str, ...],
    years: tuple[int, ...],
    warnings: tuple[str, ...],
    facet_limit: int,
    persons: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    sort: str,
    limit: int | None,
    page: int,
    as_json: bool,
    explain: bool,
    export_format: str | None,
    fields: str | None,
    output: Path | None,
) -> None:
    """Search the cables: total, one page of hits with highlighted snippets, facet counts.

    QUERY (one argument, or several words joined by spaces) uses Whoosh's query language: words (all must match), AND / OR / NOT, -word,
    "a phrase", "a phrase"~3, wildcards (embass*), fuzzy (embasy~), field:value for any field
    (tag:PREL, tag:"HUMAN RIGHTS", person:burns, from:Tripoli, id:08TRIPOLI505, ref:08TRIPOLI505, classification:SECRET) and
    dates (created:2008-06, created:[2008 to 2009-06], released:>=2011). An empty QUERY with
    filters lists the matching cables, newest first.

    Example:

        cablesearch search '"human rights" AND libya' --tag PREL --from 2008 --limit 5

    Every match to a file, with chosen fields (--export; see --fields for the list):

        cablesearch search libya --export csv --fields reference_id,created,subject -o libya.csv
    """
    config = get_config(ctx)
    query = " ".join(words)
    request = SearchRequest(
        query=query,
        tags=tags,
        origins=origins,
        classifications=classifications,
        years=years,
        warnings=warnings,
        facet_limit=facet_limit,
        persons=persons,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        page_size=limit if limit is not None else config.page_size,
    )
    export_fields = _export_options(export_format, fields, output)
    with open_service(config) as service:
        if explain:
            click.echo(service.build(request).explain())
            return
        if export_format:
            _export(service, request, export_format, export_fields, output)
            return
        result = service.search(request)
    check_page(result)  # page 999 of 1: one error line naming the last page
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(format_result(result, sort))


def _export_options(fmt: str | None, fields: str | None, output: Path | None) -> tuple[str, ...]:
    """Checked before the index is opened: a wrong field is one error line listing the known."""
    if not fmt:
        if fields is not None or output is not None:
            raise click.UsageError("--fields and --output go with --export csv|jsonl")
        return ()
    return parse_fields(fields)


def _export(
    service: SearchService, request: SearchRequest, fmt: str, fields: tuple[str, ...], output: Path | None
) -> None:
    lines = iter_lines(service, replace(request, page=1, highlight=False), fmt.lower(), fields)
    if output is not None:
        count = write_export(lines, output)
        click.echo(f"{max(count - (fmt.lower() == 'csv'), 0):,} cables written to {output}", err=True)
        return
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 256:
            click.echo("".join(chunk), nl=False)
            chunk.clear()
    if chunk:
        click.echo("".join(chunk), nl=False)


@click.command("show")
@click.argument("reference_id")
@click.option("--json", "as_json", is_flag=True, help="Print the cable as one JSON object.")
@click.pass_context
def show_command(ctx: click.Context, reference_id: str, as_json: bool) -> None:
    """Print one whole cable from the index.

    Example:

        cablesearch show 08TRIPOLI505
    """
    with open_service(get_config(ctx)) as service:
        cable = service.get(reference_id)
    if as_json:
        click.echo(json.dumps(cable.to_json(), ensure_ascii=False))
    else:
        click.echo(format_cable(cable))


@click.command("similar")
@click.argument("reference_id")
@click.option("--limit", type=int, default=10, show_default=True, help="How many cables.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.pass_context
def similar_command(ctx: click.Context, reference_id: str, limit: int, as_json: bool) -> None:
    """List cables like the given one (by the key words of its subject and body).

    Example:

        cablesearch similar 08TRIPOLI505 --limit 5
    """
    with open_service(get_config(ctx)) as service:
        hits = service.similar(reference_id, limit=limit)
    if as_json:
        click.echo(json.dumps([h.to_json() for h in hits], ensure_ascii=False))
        return
    click.echo(f"{len(hits)} cable{'s' if len(hits) != 1 else ''} like {reference_id}")
    for i, hit in enumerate(hits, start=1):
        click.echo("")
        click.echo(format_hit(i, hit))


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def stats_command(ctx: click.Context, as_json: bool) -> None:
    """Print what the index holds: counts, date ranges, size on disk and last update.

    Example:

        cablesearch stats
    """
    with open_service(get_config(ctx)) as service:
        stats = service.stats()
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    size = stats["index_bytes"] or 0
    lines = [
        f"cables          {stats['cables']:,}",
        f"created         {stats['created_first'] or '-'} … {stats['created_last'] or '-'}",
        f"released        {stats['released_first'] or '-'} … {stats['released_last'] or '-'}",
        f"origins         {stats['origins']:,}",
        f"tags            {stats['tags']:,}",
        "classifications " + ", ".join(f"{v} ({n:,})" for v, n in stats["classifications"]),
        (
            f"index           {stats['index_dir']}  {size / 1048576:,.1f} MB, "
            f"{stats['segments']} segment{'s' if stats['segments'] != 1 else ''}"
        ),
        f"last update     {stats['last_update'] or '-'}",
    ]
    click.echo("\n".join(lines))


COMMANDS: list[click.Command] = [search_command, show_command, similar_command, stats_command]
