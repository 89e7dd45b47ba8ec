"""``cablesearch conflicts [--copies] [--json]``: reference IDs that several files give."""

from __future__ import annotations

import json

import click

from ..index.conflicts import COPIES, read_conflicts
from . import get_config


@click.command("conflicts")
@click.option("--copies", is_flag=True, help="Also list IDs whose files all give the same text.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def conflicts_command(ctx: click.Context, copies: bool, as_json: bool) -> None:
    """List the reference IDs that several indexed files give, with the files and which one
    the index shows.

    The index keeps one cable per reference ID: the one released latest (then the file whose
    path sorts last). A conflict is an ID whose files give different texts (subject and body);
    copies -- the same text in several files, such as a cables.csv row and the cable's HTML
    page -- are only counted unless --copies is given.

    Example:

        cablesearch conflicts --copies
    """
    config = get_config(ctx)
    found = read_conflicts(config.index_dir, copies=True)
    true = [c for c in found if c.kind != COPIES]
    shown = found if copies else true
    if as_json:
        data = {
            "conflicts": len(true),
            "copies": len(found) - len(true),
            "ids": [c.to_dict() for c in shown],
        }
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for c in shown:
        click.echo(c.line())
    n_copies = len(found) - len(true)
    summary = f"{len(true)} conflict{'s' if len(true) != 1 else ''} (different texts)"
    summary += f", {n_copies} ID{'s' if n_copies != 1 else ''} with identical copies"
    if n_copies and not copies:
        summary += " (--copies lists them)"
    click.echo(summary)


COMMANDS: list[click.Command] = [conflicts_command]
