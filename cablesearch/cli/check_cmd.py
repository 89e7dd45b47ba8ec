"""``cablesearch check``: verify every file of the index; name the damage and the cables it affects."""

from __future__ import annotations

import json
import sys

import click

from ..index.check import check_index
from . import get_config

SHOW_IDS = 20


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--all-ids", is_flag=True, help="List every affected reference ID (default: the first 20).")
@click.pass_context
def check_command(ctx: click.Context, as_json: bool, all_ids: bool) -> None:
    """Verify every file of the index and its manifest (every posting list, stored record and
    column is read). Exit status 1 when something is damaged; then run
    `cablesearch index --rebuild`.

    Example:

        cablesearch check
    """
    config = get_config(ctx)
    report = check_index(config.index_dir)
    affected = sorted(report.affected)
    if as_json:
        data = {
            "index": str(report.index_dir),
            "damaged": report.damaged,
            "problems": report.problems,
            "affected": affected,
            "affected_unknown": report.unknown_lost,
            "cables": report.cables,
            "segments": report.segments,
            "notes": report.notes,
        }
        click.echo(json.dumps(data, indent=2))
    elif not report.damaged:
        click.echo(f"{report.index_dir}: sound ({report.cables:,} cables in {report.segments} segments)")
        for note in report.notes:
            click.echo(f"note: {note}")
    else:
        click.echo(f"{report.index_dir}: DAMAGED")
        for problem in report.problems:
            click.echo(f"  {problem}")
        shown = affected if all_ids else affected[:SHOW_IDS]
        if affected:
            more = f" (first {len(shown)}; --all-ids for all)" if len(shown) < len(affected) else ""
            click.echo(f"affected cables: {len(affected):,}{more}")
            for rid in shown:
                click.echo(f"  {rid}")
        if report.unknown_lost:
            click.echo(f"  and {report.unknown_lost:,} cable(s) whose reference IDs cannot be read")
        click.echo("Run `cablesearch index --rebuild` to rebuild the index from its sources.")
    if report.damaged:
        sys.exit(1)


COMMANDS: list[click.Command] = [check_command]
