"""``cablesearch parse``: read cable files, folders or a cables.csv and print what was read."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ParseError
from ..model import Cable
from ..parse import iter_cables
from . import get_config


def _date(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"  # type: ignore[attr-defined]


def format_summary(cable: Cable) -> str:
    """A readable summary of one cable: its identity, dates, people, subject and warnings."""
    title = "  ".join(
        x for x in (cable.reference_id or "(no reference ID)", cable.classification, cable.origin) if x
    )
    lines = [
        title,
        f"  created {_date(cable.created)}   released {_date(cable.released)}   "
        f"[{cable.format}] {cable.source}",
    ]
    rows = (
        ("subject", cable.subject.replace("\n", " ")),
        ("to", "; ".join(cable.to)),
        ("info", "; ".join(cable.info)),
        ("tags", " ".join(cable.tags)),
        ("references", " ".join(cable.references)),
        ("signers", "; ".join(cable.signers)),
        ("classified", cable.classified_by),
        ("declassify", cable.declassify_on),
        ("articles", " ".join(cable.articles)),
        ("summary", _shorten(cable.summary, 200)),
        ("body", f"{len(cable.body.split())} words"),
    )
    lines += [f"  {label:<11}{value}" for label, value in rows if value]
    lines += [f"  warning    {w}" for w in cable.warnings]
    return "\n".join(lines)


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per cable (JSON lines) instead of a readable summary.",
)
@click.option(
    "--procs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes parsing cables.csv rows (default: setting procs).",
)
@click.pass_context
def parse_command(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, procs: int | None) -> None:
    """Parse cables from files, folders (recursively) or a cables.csv and print them.

    The form of each file (cablegate page HTML, page text scrape, bare telegram, cables.csv) is
    detected from its content. A file or CSV row that cannot be read is named on stderr as
    one "Error: ..." line; the rest is parsed, and the exit status is 1 at the end.

    Example:

        cablesearch parse samples/ --json | head -1
    """
    rejected = 0

    def on_error(err: ParseError) -> None:
        nonlocal rejected
        rejected += 1
        click.echo(f"Error: {err}", err=True)

    if procs is None:
        procs = get_config(ctx).procs
    count = 0
    for cable in iter_cables(paths, on_error=on_error, procs=procs):
        count += 1
        if as_json:
            click.echo(json.dumps(cable.to_json(), ensure_ascii=False))
        else:
            click.echo(format_summary(cable) + "\n")
    if not as_json:
        click.echo(
            f"{count} cable{'s' if count != 1 else ''} parsed"
            + (f", {rejected} rejected" if rejected else "")
        )
    if rejected:
        ctx.exit(1)


COMMANDS: list[click.Command] = [parse_command]
